"""The one exception hierarchy of holdtime.

::

    HoldtimeError
     +-- ConfigError            bad inventory, flags or scenario (exit code 2)
     +-- TransportError         could not talk to a device
     |    +-- ConnectError      unreachable, refused, DNS, TLS
     |    +-- AuthError         credentials rejected
     |    +-- HostKeyError      SSH host key unknown or changed
     |    +-- CommandTimeout    a command did not finish in time
     |    +-- CommandRefused    a command outside the read-only allowlist
     +-- ParseError             device or API output we cannot read
     +-- PrerequisiteError      the local machine lacks something (root, packages, TUN)
     +-- DrillAborted           a drill stopped early (budget exceeded, signal)

Library exceptions (paramiko, pyVmomi, scapy, OSError) are mapped at the boundary with
``raise ... from exc``; the runner turns any exception from one target into ERROR results for
that target only. A message never carries a secret: registered secrets are replaced by ``***``
when the error is built (holdtime.redaction).

Context travels as fields, never as text to be parsed back: ``device`` names the inventory
device an error is about (``str(error)`` then reads ``DEVICE: message``, ``error.detail`` is the
message alone), ``problems`` holds every line of an error that lists several (a bad inventory).
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.redaction import redact


class HoldtimeError(Exception):
    """Base of every error holdtime raises on purpose; its message is redacted when built."""

    def __init__(self, *args: object, device: str = "", problems: Sequence[str] = ()) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))
        self.device = device
        self.problems: list[str] = [redact(line) for line in problems]

    @property
    def detail(self) -> str:
        """The message without the device: what went wrong, for a line that names it already."""
        return super().__str__()

    def __str__(self) -> str:
        detail = self.detail
        return f"{self.device}: {detail}" if self.device else detail


class ConfigError(HoldtimeError):
    """Invalid inventory, CLI flag or scenario; the message names file:line where known."""


class TransportError(HoldtimeError):
    """Could not talk to a device."""


class ConnectError(TransportError):
    """The device could not be reached (refused, timed out, unreachable, TLS)."""


class AuthError(TransportError):
    """The device rejected our credentials."""


class HostKeyError(TransportError):
    """The device's SSH host key is unknown or does not match known_hosts."""


class CommandTimeout(TransportError):
    """A command did not complete within its timeout."""


class CommandRefused(TransportError):
    """A command is not on the read-only allowlist for this platform."""


class ParseError(HoldtimeError):
    """Output from a device or API could not be parsed."""


class PrerequisiteError(HoldtimeError):
    """The local machine lacks something holdtime needs (root, a package, /dev/net/tun)."""


class DrillAborted(HoldtimeError):
    """A drill stopped before its end (abort threshold, signal, failed steady state)."""

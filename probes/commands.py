"""How an allowlisted read-only command is checked and sent over SSH.

In check mode holdtime only ever runs commands that match one of the allowlist patterns of a
platform (probes/platforms.py) exactly (``re.fullmatch`` on the logical command, single spaces).
The logical command is what operators type: ``show bgp vrf all summary json`` for ``frr`` (sent
as ``vtysh -c '...'``, the platform's ``via``), ``swanctl --list-sas`` for ``strongswan``.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from holdtime.errors import CommandRefused
from holdtime.probes.platforms import PLATFORMS


@dataclass(frozen=True, slots=True)
class Command:
    """An allowlisted command: the logical text and the shell line sent to the device."""

    platform: str
    text: str  # what an operator types, e.g. "show bgp vrf all summary json"
    line: str  # what runs on the device, e.g. "vtysh -c 'show bgp vrf all summary json'"


def normalize(command: str) -> str:
    """Collapse runs of whitespace so allowlist matching does not depend on spacing."""
    return " ".join(command.split())


def is_allowed(platform: str, command: str) -> bool:
    """True if `command` is on the read-only allowlist of `platform`."""
    text = normalize(command)
    known = PLATFORMS.get(platform)
    return known is not None and any(re.fullmatch(p, text) for p in known.allowlist)


def build(platform: str, command: str, *, sudo: bool = False, device: str = "") -> Command:
    """The Command to send for an allowlisted logical command; CommandRefused otherwise."""
    text = normalize(command)
    built = _built(platform, text, sudo)
    if built is not None:
        return built
    if platform not in PLATFORMS:
        known = ", ".join(PLATFORMS)
        raise CommandRefused(f"{device or 'holdtime'}: unknown platform {platform!r} ({known})")
    raise CommandRefused(
        f"{device or 'holdtime'}: {text!r} is not on the read-only allowlist for {platform}"
    )


@functools.lru_cache(maxsize=4096)
def _built(platform: str, text: str, sudo: bool) -> Command | None:
    """The Command for a normalized text, None if refused (the allowlist is fixed at import).

    Memoized: a router run builds the same ~20 commands for every router, and matching each
    against its platform's allowlist patterns was ~0.2 ms of CPU per router.
    """
    if not is_allowed(platform, text):
        return None
    # The allowlist patterns admit no quote or metacharacter; quoting is belt and braces.
    via = PLATFORMS[platform].via
    line = f"{via} {shlex.quote(text)}" if via else text
    if sudo:
        line = f"sudo -n {line}"  # -n: fail at once instead of waiting for a password prompt
    return Command(platform=platform, text=text, line=line)


def build_vtysh_batch(texts: Sequence[str], *, sudo: bool = False, device: str = "") -> Command:
    """One ``vtysh -E -c A -c B ...`` for several allowlisted FRR commands.

    vtysh pays ~40 ms of CPU to start (it builds every daemon's command tree), more than most
    ``show`` commands cost, so the router probe sends its BGP reads in one call. ``-E`` echoes
    each command before its output, which is how :func:`split_vtysh_batch` attributes the output.
    """
    if not texts:
        raise ValueError("an empty vtysh batch")
    built = [build("frr", text, device=device) for text in texts]
    line = "vtysh -E " + " ".join(f"-c {shlex.quote(c.text)}" for c in built)
    if sudo:
        line = f"sudo -n {line}"
    return Command(platform="frr", text=" ; ".join(c.text for c in built), line=line)


def split_vtysh_batch(stdout: str, texts: Sequence[str]) -> list[str]:
    """The outputs of the batched commands, in order, for those vtysh echoed (ran).

    Each command's output is what follows its echo line (``PROMPT# COMMAND``) up to the next
    echo line. vtysh stops at the first command that fails, so the list may be shorter than
    ``texts``: the last element is then the failing command's (partial) output. An echo line is
    recognized only for the command expected next, so output that merely mentions a command
    cannot shift the attribution.
    """
    wanted = [normalize(t) for t in texts]
    outputs: list[list[str]] = []
    for line in stdout.splitlines(keepends=True):
        index = len(outputs)
        # an echo line holds its prompt mark: the JSON lines between them are not looked at
        # further (482 lines a router: this split was a fifth of holdtime's own parsing CPU)
        marked = "# " in line or "> " in line
        if index < len(wanted) and marked and _is_echo(line, wanted[index]):
            outputs.append([])
        elif outputs:
            outputs[-1].append(line)
        elif line.strip():
            return []  # output before the first echo: not a vtysh with -E, do not guess
    return ["".join(chunk) for chunk in outputs]


def _is_echo(line: str, command: str) -> bool:
    """``router# show bfd peers json`` (any hostname, `#` or `>` prompt)."""
    text = line.rstrip("\r\n")
    for mark in ("# ", "> "):
        head, sep, tail = text.rpartition(mark)
        if sep and head and " " not in head and normalize(tail) == command:
            return True
    return False

"""The read-only command allowlists per platform, and how each command is sent over SSH.

In check mode holdtime only ever runs commands that match one of these patterns exactly
(``re.fullmatch`` on the logical command, single spaces). Arguments a pattern accepts are
validated by the pattern itself (an IP prefix, a ``unix://`` vici URI), so nothing a user puts
in an inventory can smuggle a shell metacharacter or a configuration command into a session.
The logical command is what operators type: ``show bgp vrf all summary json`` for ``frr`` (sent
as ``vtysh -c '...'``), ``swanctl --list-sas`` for ``strongswan``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from holdtime.errors import CommandRefused

# 172.16.1.0/24, 2001:db8::/32
_PREFIX = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]{2,39}/[0-9]{1,3}"
# unix:///run/charon-esg1/charon.vici
_VICI_URI = r"unix:///[A-Za-z0-9_./-]+"
# 172.16.1.10, 2001:db8::10
_ADDRESS = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-fA-F:]{2,39}"
# db.example.net (never starts with "-": it could be read as an option)
_HOST = rf"{_ADDRESS}|[A-Za-z0-9][A-Za-z0-9.-]{{0,252}}"
# ping -D -O -i 0.2 -W 1 -w 1200 -I 192.168.1.1 172.16.1.10   (holdtime.probes.router_ping)
_ROUTER_PING = (
    r"ping -D -O -i (?:[0-9]{1,2}(?:\.[0-9]{1,3})?) -W [0-9]{1,2} -w [0-9]{1,6}"
    rf"(?: -I (?:{_ADDRESS}))? (?:{_HOST})"
)

ALLOWLISTS: dict[str, tuple[str, ...]] = {
    "frr": (
        r"show bgp vrf all summary( json)?",
        # the single-family spellings an operator may prefer (issue 12)
        r"show (?:ip )?bgp(?: vrf all)?(?: (?:ipv4|ipv6)(?: unicast)?)? summary( json)?",
        r"show bgp vrf all neighbors( json)?",
        r"show (?:ip )?bgp neighbors( json)?",
        rf"show bgp ipv4 unicast (?:{_PREFIX})( json)?",
        r"show bfd peers( json)?",
        r"show version",
    ),
    "strongswan": (
        rf"swanctl --list-sas( --uri {_VICI_URI})?",
        rf"swanctl --list-conns( --uri {_VICI_URI})?",
        r"swanctl --version",
        # the legacy stroke interface (strongSwan 5.x with the starter)
        r"ipsec (?:statusall|status|version)",
    ),
    "libreswan": (
        r"ipsec (?:status|trafficstatus|showstates|briefstatus)",
        r"ipsec auto --status",
        r"ipsec whack --(?:status|showstates|trafficstatus|briefstatus)",
        r"ipsec --version",
    ),
    "linux": (r"sysctl (?:-n )?net\.ipv4\.ip_forward", _ROUTER_PING),
}

PLATFORMS = tuple(ALLOWLISTS)


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
    return any(re.fullmatch(pattern, text) for pattern in ALLOWLISTS.get(platform, ()))


def build(platform: str, command: str, *, sudo: bool = False, device: str = "") -> Command:
    """The Command to send for an allowlisted logical command; CommandRefused otherwise."""
    text = normalize(command)
    if platform not in ALLOWLISTS:
        known = ", ".join(PLATFORMS)
        raise CommandRefused(f"{device or 'holdtime'}: unknown platform {platform!r} ({known})")
    if not is_allowed(platform, text):
        raise CommandRefused(
            f"{device or 'holdtime'}: {text!r} is not on the read-only allowlist for {platform}"
        )
    # The allowlist patterns admit no quote or metacharacter; quoting is belt and braces.
    line = f"vtysh -c {shlex.quote(text)}" if platform == "frr" else text
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
        if index < len(wanted) and _is_echo(line, wanted[index]):
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

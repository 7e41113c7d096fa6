"""The host every router is (`linux`): net.ipv4.ip_forward.

Registered in probes/platforms.py (not a `platform:` choice: every router has it). The parser
is :func:`holdtime.probes.frr.parse_sysctl_ip_forward` (`holdtime parse linux` names it there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from holdtime.probes import frr

if TYPE_CHECKING:
    from holdtime.probes.command_reader import CommandReader


def read_ip_forward(reader: CommandReader) -> bool:
    """net.ipv4.ip_forward of the device."""
    return frr.parse_sysctl_ip_forward(reader.text("linux", "sysctl net.ipv4.ip_forward"))

"""The `strongswan` platform's reader: swanctl (vici) or the legacy stroke `ipsec statusall`.

Registered in probes/platforms.py; the parsers are in probes/strongswan.py.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from holdtime.errors import ParseError
from holdtime.probes import strongswan
from holdtime.probes.ipsec_model import ConnectionConfig, IpsecStatus, merge

if TYPE_CHECKING:
    from holdtime.probes.command_reader import CommandReader
    from holdtime.probes.router_config import Router
    from holdtime.probes.ssh import CommandOutput


def _swanctl_unavailable(out: CommandOutput) -> bool:
    """swanctl is not installed, or charon has no vici socket (a stroke-only 5.x starter)."""
    if out.exit_status == 0:
        return False
    if out.exit_status == 127 or "command not found" in out.text:
        return True
    # connecting to 'unix:///var/run/charon.vici' failed: No such file or directory
    return bool(re.search(r"connecting to '\S+' failed", out.text))


def read_strongswan(reader: CommandReader, router: Router, *, again: bool = False) -> IpsecStatus:
    """strongSwan through the interface the inventory names (`ipsec_interface`), or auto.

    auto: swanctl when it answers; when it is missing or charon has no vici socket, the stroke
    `ipsec statusall` (strongSwan 5.x with the starter). The choice of the first read is kept
    for the second (traffic) read. Each of `swanctl_uris` (one charon each) is read and merged.
    """
    interface = router.ipsec_interface
    uris: tuple[str | None, ...] = router.swanctl_uris or (None,)
    if interface == "auto":
        interface = reader.chosen.get("strongswan", "")
    if interface == "stroke":
        return _read_stroke(reader)
    statuses: list[IpsecStatus] = []
    for uri in uris:
        suffix = f" --uri {uri}" if uri else ""
        command = f"swanctl --list-sas{suffix}"
        out = reader.run("strongswan", command)
        if interface != "swanctl" and uri is None and _swanctl_unavailable(out):
            reader.chosen["strongswan"] = "stroke"
            first = out.text.strip().splitlines()[0][:120] if out.text.strip() else "no output"
            try:
                return _read_stroke(reader)
            except ParseError as exc:
                raise ParseError(
                    f"{reader.device}: `{command}` failed ({first}) and the stroke fallback "
                    f"too: {exc}"
                ) from None
        reader.chosen["strongswan"] = "swanctl"
        sas = strongswan.parse_swanctl_list_sas(reader.checked(command, out))
        conns: tuple[ConnectionConfig, ...] = ()
        if not again:  # configuration does not change between the two reads
            conns = strongswan.parse_swanctl_list_conns(
                reader.text("strongswan", f"swanctl --list-conns{suffix}")
            )
        statuses.append(IpsecStatus("strongswan", sas, conns))
    return merge(statuses)


def _read_stroke(reader: CommandReader) -> IpsecStatus:
    """`ipsec statusall`: connections, SAs and counters in one read (also the second read)."""
    return strongswan.parse_stroke_statusall(reader.text("strongswan", "ipsec statusall"))

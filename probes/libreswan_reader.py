"""The `libreswan` platform's reader: `ipsec status` and `ipsec trafficstatus`.

Registered in probes/platforms.py; the parsers are in probes/libreswan.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from holdtime.probes import libreswan
from holdtime.probes.ipsec_model import IpsecStatus

if TYPE_CHECKING:
    from holdtime.probes.command_reader import CommandReader
    from holdtime.probes.router_config import Router


def read_libreswan(reader: CommandReader, router: Router, *, again: bool = False) -> IpsecStatus:
    """Connections and states (`ipsec status`) with their byte counters (`ipsec trafficstatus`).

    Both reads are needed on the second (traffic) read too: the counters come from one, the SAs
    they belong to from the other.
    """
    del router, again  # one way to read libreswan; the same two commands on every read
    status = libreswan.parse_libreswan_status(reader.text("libreswan", "ipsec status"))
    traffic = libreswan.parse_libreswan_trafficstatus(
        reader.text("libreswan", "ipsec trafficstatus")
    )
    return libreswan.libreswan_status(status, traffic)

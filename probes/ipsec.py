"""IPsec parsers, every one importable as `holdtime.probes.ipsec.parse_...`.

The strongSwan parsers (swanctl and the stroke `ipsec statusall` / `ipsec status`) live in
probes/strongswan.py, the libreswan ones in probes/libreswan.py; both return the vendor-neutral
model of probes/ipsec_model.py, which is not re-exported here.
"""

from __future__ import annotations

from holdtime.probes.libreswan import (
    LibreswanConnection,
    LibreswanCounts,
    LibreswanPending,
    LibreswanState,
    LibreswanStatus,
    LibreswanTraffic,
    libreswan_showstates_status,
    libreswan_status,
    parse_libreswan_briefstatus,
    parse_libreswan_showstates,
    parse_libreswan_status,
    parse_libreswan_trafficstatus,
)
from holdtime.probes.strongswan import (
    parse_stroke_status,
    parse_stroke_statusall,
    parse_swanctl_list_conns,
    parse_swanctl_list_sas,
    strongswan_status,
)

__all__ = [
    "LibreswanConnection",
    "LibreswanCounts",
    "LibreswanPending",
    "LibreswanState",
    "LibreswanStatus",
    "LibreswanTraffic",
    "libreswan_showstates_status",
    "libreswan_status",
    "parse_libreswan_briefstatus",
    "parse_libreswan_showstates",
    "parse_libreswan_status",
    "parse_libreswan_trafficstatus",
    "parse_stroke_status",
    "parse_stroke_statusall",
    "parse_swanctl_list_conns",
    "parse_swanctl_list_sas",
    "strongswan_status",
]

"""IPsec: one model for strongSwan and libreswan, and the parsers that fill it.

The model lives in probes/ipsec_model.py, the strongSwan readers (swanctl and the stroke
`ipsec statusall` / `ipsec status`) in probes/strongswan.py and the libreswan readers in
probes/libreswan.py. This module keeps every name importable as `holdtime.probes.ipsec.X`.
"""

from __future__ import annotations

from holdtime.probes.ipsec_model import (
    ChildConfig,
    ChildSa,
    ConnectionConfig,
    IkeSa,
    IpsecStatus,
    merge,
)
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
    "ChildConfig",
    "ChildSa",
    "ConnectionConfig",
    "IkeSa",
    "IpsecStatus",
    "LibreswanConnection",
    "LibreswanCounts",
    "LibreswanPending",
    "LibreswanState",
    "LibreswanStatus",
    "LibreswanTraffic",
    "libreswan_showstates_status",
    "libreswan_status",
    "merge",
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

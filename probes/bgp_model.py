"""The vendor-neutral BGP/BFD model: peers, neighbor details, routes, BFD sessions.

A routing platform's reader (probes/platforms.py; FRR's in probes/frr_reader.py) fills it; the
checks (checks/bgp.py) only ever see this model, so a VyOS or Junos reader needs no check change.
Field values follow the protocol, not one implementation: BGP FSM states as RFC 4271 names them
(``Established``, ``Idle``, ...), BFD states as RFC 5880 does, address families as
``ipv4Unicast``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BgpPeer:
    """One row of a BGP summary: a neighbor in one VRF and address family."""

    vrf: str
    afi_safi: str  # "ipv4Unicast"
    address: str
    remote_as: int | None
    local_as: int | None
    state: str  # "Established", "Idle (Admin)", "Connect", "Active", ...
    established: bool
    up_down_seconds: float | None  # time since it came up (Established) or went down
    prefixes_received: int | None
    prefixes_sent: int | None
    description: str = ""
    hostname: str = ""
    dynamic: bool = False  # accepted through a listen range (no configured neighbor)
    # Established but exchanging no routes: "Policy" (eBGP without a policy under RFC 8212),
    # "NoNeg" (the address family was not negotiated); "" otherwise
    held: str = ""


@dataclass(frozen=True, slots=True)
class BgpNeighbor:
    """One neighbor's details: state, timers, BFD, counters."""

    vrf: str
    address: str
    remote_as: int | None
    state: str
    established: bool
    up_seconds: float | None  # only while Established
    hold_time_seconds: float | None  # negotiated (the configured value while not Established)
    keepalive_seconds: float | None
    configured_hold_time_seconds: float | None
    configured_keepalive_seconds: float | None
    bfd_status: str | None  # "Up" / "Down" / "Unknown"; None: BFD not configured
    bfd_detect_multiplier: int | None
    bfd_rx_interval_ms: int | None
    bfd_tx_interval_ms: int | None
    accepted_prefixes: int | None  # ipv4 unicast
    sent_prefixes: int | None
    admin_shutdown: bool = False
    last_reset_reason: str = ""
    description: str = ""
    hostname: str = ""
    # since the last BGP message (a keepalive, at the least) read from the peer; FRR shows it to
    # the second (bgpTimerLastRead). The drill places "last keepalive seen" with it.
    last_read_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class BgpPath:
    """One path of a prefix in the BGP table."""

    peer: str  # neighbor address the path came from; "local" for our own origination
    nexthops: tuple[str, ...]
    best: bool
    multipath: bool
    valid: bool
    weight: int | None
    local_pref: int | None
    med: int | None
    as_path: str
    selection_reason: str = ""
    peer_hostname: str = ""


@dataclass(frozen=True, slots=True)
class BgpRoute:
    """A prefix with its paths and the neighbors it was advertised to ("" prefix: not in table)."""

    prefix: str
    paths: tuple[BgpPath, ...]
    advertised_to: tuple[str, ...]

    @property
    def best_path(self) -> BgpPath | None:
        """The path the router selected as best, if any."""
        return next((p for p in self.paths if p.best), None)


@dataclass(frozen=True, slots=True)
class BfdPeer:
    """One BFD session."""

    peer: str
    vrf: str
    status: str  # "up", "down", "init", "shutdown"
    local: str = ""
    interface: str = ""
    multihop: bool = False
    uptime_seconds: float | None = None
    downtime_seconds: float | None = None
    diagnostic: str = ""
    remote_diagnostic: str = ""
    detect_multiplier: int | None = None
    receive_interval_ms: int | None = None
    transmit_interval_ms: int | None = None


@dataclass(frozen=True, slots=True)
class BgpState:
    """Everything one routing reader read: peers, neighbor details, the expected prefixes, BFD."""

    peers: tuple[BgpPeer, ...]
    neighbors: tuple[BgpNeighbor, ...] = ()
    routes: Mapping[str, BgpRoute] = field(default_factory=dict)
    bfd_peers: tuple[BfdPeer, ...] | None = None  # None: not read (see errors["bfd"])
    # "json" or "text" (a plain-text summary: no timers/BFD then)
    source: str = "json"

    def peer(self, address: str) -> BgpPeer | None:
        """The summary row of a neighbor (IPv4 unicast preferred)."""
        rows = [p for p in self.peers if p.address == address]
        rows.sort(key=lambda p: p.afi_safi != "ipv4Unicast")
        return rows[0] if rows else None

    def neighbor(self, address: str) -> BgpNeighbor | None:
        """The detailed neighbor record, if the reader read neighbor details."""
        return next((n for n in self.neighbors if n.address == address), None)

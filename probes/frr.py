"""FRR BGP/BFD: parsers for vtysh output (JSON and the plain-text summary) and their models.

Every parser is a pure function of the command's text that returns frozen dataclasses or
raises ParseError (never anything else: the fuzz tests hold us to it). Recorded outputs from
FRR 8.4 live in tests/fixtures/frr/<command>/<case>/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from holdtime.errors import ParseError

# vtysh prints these instead of JSON when it cannot answer (bgpd down, old FRR, no BGP).
_VTYSH_TROUBLE = re.compile(r"^\s*(?:%|\S+ is not running|Exiting)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class BgpPeer:
    """One row of `show bgp vrf all summary`: a neighbor in one VRF and address family."""

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


@dataclass(frozen=True, slots=True)
class BgpNeighbor:
    """One neighbor from `show bgp vrf all neighbors json`: state, timers, BFD, counters."""

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


@dataclass(frozen=True, slots=True)
class BgpPath:
    """One path of a prefix in `show bgp ipv4 unicast PREFIX json`."""

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
        """The path FRR selected as best, if any."""
        return next((p for p in self.paths if p.best), None)


@dataclass(frozen=True, slots=True)
class BfdPeer:
    """One session from `show bfd peers json`."""

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


# -- helpers ---------------------------------------------------------------------------------
def load_json(text: str, command: str) -> Any:
    """Decode vtysh JSON output, turning vtysh's complaints into a one-line ParseError."""
    if not text.strip():
        raise ParseError(f"`{command}`: empty output")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        first = text.strip().splitlines()[0][:120]
        if _VTYSH_TROUBLE.match(text):
            raise ParseError(f"`{command}`: vtysh answered {first!r}") from None
        raise ParseError(f"`{command}`: not JSON (starts with {first!r})") from None


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _int(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(f"{where}: expected a number, got {value!r:.40}")
    return int(value)


def _seconds_from_ms(value: object, where: str) -> float | None:
    number = _int(value, where)
    return None if number is None else number / 1000.0


def _str(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    raise ParseError(f"{where}: expected a string, got {type(value).__name__}")


_UPTIME_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_frr_uptime(text: str) -> float | None:
    """FRR's Up/Down column in seconds: `00:00:35`, `1d02h03m`, `01w2d03h`; None for `never`."""
    text = text.strip()
    if text == "never":
        return None
    # 00:00:35
    match = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})", text)
    if match:
        hours, minutes, seconds = (int(g) for g in match.groups())
        return float(hours * 3600 + minutes * 60 + seconds)
    # 1d02h03m, 01w2d03h
    parts = re.findall(r"(\d+)([wdhms])", text)
    if parts and "".join(n + u for n, u in parts) == text:
        return float(sum(int(n) * _UPTIME_UNITS[u] for n, u in parts))
    raise ParseError(f"unreadable FRR uptime {text!r}")


# -- show bgp vrf all summary json -----------------------------------------------------------
def parse_frr_bgp_summary_json(text: str) -> tuple[BgpPeer, ...]:
    """Parse `show bgp vrf all summary json` (also `show bgp summary json`, one VRF)."""
    command = "show bgp vrf all summary json"
    data = _mapping(load_json(text, command), command)
    peers: list[BgpPeer] = []
    for vrf_name, vrf_data in data.items():
        if not isinstance(vrf_data, dict):
            raise ParseError(f"`{command}`: {vrf_name!r} is not an object")
        # `show bgp summary json` has no VRF level: {"ipv4Unicast": {...}}
        families = {vrf_name: vrf_data} if "peers" in vrf_data else vrf_data
        for afi_safi, family in families.items():
            if not isinstance(family, dict) or "peers" not in family:
                continue  # vrfId/vrfName scalars, or a family with no BGP instance
            vrf = _str(family.get("vrfName"), f"{afi_safi}.vrfName") or (
                vrf_name if vrf_name != afi_safi else "default"
            )
            local_as = _int(family.get("as"), f"{vrf}.{afi_safi}.as")
            for address, raw in _mapping(family["peers"], f"{vrf}.{afi_safi}.peers").items():
                peers.append(_summary_peer(vrf, afi_safi, address, raw, local_as))
    return tuple(peers)


def _summary_peer(
    vrf: str, afi_safi: str, address: str, raw: object, local_as: int | None
) -> BgpPeer:
    where = f"{vrf}.{afi_safi}.peers.{address}"
    peer = _mapping(raw, where)
    state = _str(peer.get("state"), f"{where}.state")
    if not state:
        raise ParseError(f"{where}: no state")
    uptime_ms = peer.get("peerUptimeMsec")
    return BgpPeer(
        vrf=vrf,
        afi_safi=afi_safi,
        address=address,
        remote_as=_int(peer.get("remoteAs"), f"{where}.remoteAs"),
        local_as=_int(peer.get("localAs"), f"{where}.localAs") or local_as,
        state=state,
        established=state == "Established",
        up_down_seconds=_seconds_from_ms(uptime_ms, f"{where}.peerUptimeMsec"),
        prefixes_received=_int(peer.get("pfxRcd"), f"{where}.pfxRcd"),
        prefixes_sent=_int(peer.get("pfxSnt"), f"{where}.pfxSnt"),
        description=_str(peer.get("desc"), f"{where}.desc"),
        hostname=_str(peer.get("hostname"), f"{where}.hostname"),
    )


# -- show bgp vrf all summary (text) ---------------------------------------------------------
# IPv4 Unicast Summary (VRF default):
_FAMILY_HEADER = re.compile(
    r"^(IPv4|IPv6|L2VPN|VPNv4|VPNv6)\s+(\S+)\s+Summary(?:\s+\(VRF ([^)]+)\))?:"
)
# BGP router identifier 10.10.10.1, local AS number 64555 vrf-id 0
_ROUTER_LINE = re.compile(
    r"^BGP router identifier (\S+), local AS number (\d+)(?: vrf-id (-?\d+))?"
)
# Instance default:   /   Instance blue:   (older `vrf all` output)
_INSTANCE = re.compile(r"^Instance (\S+):$")
# Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc  # noqa: E501
_COLUMNS = re.compile(
    r"^Neighbor\s+V\s+AS\s+MsgRcvd\s+MsgSent\s+TblVer\s+InQ\s+OutQ\s+Up/Down\s+State/PfxRcd"
)
# 10.10.10.2      4      65010        16        16        0    0    0 00:00:35            2        3 esg1  # noqa: E501
# 10.10.10.2      4      65010        19        20        0    0    0 00:00:02 Idle (Admin)        0 esg1  # noqa: E501
_ROW = re.compile(
    r"^(?P<address>\S+)\s+(?P<version>4)\s+(?P<remote_as>\d+)\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+"
    r"(?P<updown>\S+)\s+(?P<state>\d+|\(Policy\)|[A-Za-z]+(?: \([A-Za-z]+\))?)"
    r"(?:\s+(?P<sent>\d+|N/A|\(Policy\)))?(?:\s+(?P<desc>.*?))?\s*$"
)
# fe80::1234:5678:9abc:def0%eth0   (FRR wraps a long neighbor name onto its own line)
_WRAPPED_ADDRESS = re.compile(r"^(\S{16,})$")
_AFI_NAMES = {"IPv4": "ipv4", "IPv6": "ipv6", "L2VPN": "l2vpn", "VPNv4": "ipv4", "VPNv6": "ipv6"}


def parse_frr_bgp_summary_text(text: str) -> tuple[BgpPeer, ...]:
    """Parse the plain-text `show bgp vrf all summary` (for devices without JSON)."""
    command = "show bgp vrf all summary"
    if not text.strip():
        raise ParseError(f"`{command}`: empty output")
    vrf, afi_safi, local_as = "default", "ipv4Unicast", None
    in_table, seen_header = False, False
    pending = ""
    peers: list[BgpPeer] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        if match := _FAMILY_HEADER.match(line):
            afi, safi, vrf_name = match.groups()
            afi_safi = _AFI_NAMES[afi] + safi.capitalize()
            vrf = vrf_name or vrf
            seen_header, in_table = True, False
        elif match := _INSTANCE.match(line):
            vrf, in_table = match.group(1), False
        elif match := _ROUTER_LINE.match(line):
            local_as = int(match.group(2))
            seen_header = True
        elif _COLUMNS.match(line):
            in_table, seen_header = True, True
        elif not line.strip() or line.startswith("Total number of neighbors"):
            in_table = False if line.startswith("Total") else in_table
        elif in_table:
            if pending:
                line, pending = f"{pending} {line.strip()}", ""
            elif _WRAPPED_ADDRESS.match(line) and not _ROW.match(line):
                pending = line
                continue
            peers.append(_text_row(line, number, vrf, afi_safi, local_as))
    if not seen_header:
        first = text.strip().splitlines()[0][:120]
        raise ParseError(f"`{command}`: not a BGP summary (starts with {first!r})")
    return tuple(peers)


def _text_row(line: str, number: int, vrf: str, afi_safi: str, local_as: int | None) -> BgpPeer:
    match = _ROW.match(line)
    if not match:
        raise ParseError(f"line {number}: unreadable neighbor row {line.strip()[:80]!r}")
    state_or_count = match.group("state")
    # "(Policy)": Established, but eBGP without a policy exchanges nothing (RFC 8212)
    established = state_or_count.isdigit() or state_or_count == "(Policy)"
    sent = match.group("sent")
    desc = (match.group("desc") or "").strip()
    return BgpPeer(
        vrf=vrf,
        afi_safi=afi_safi,
        address=match.group("address"),
        remote_as=int(match.group("remote_as")),
        local_as=local_as,
        state="Established" if established else state_or_count,
        established=established,
        up_down_seconds=_uptime_or_error(match.group("updown"), number),
        prefixes_received=int(state_or_count) if state_or_count.isdigit() else 0,
        prefixes_sent=int(sent) if sent and sent.isdigit() else None,
        description="" if desc == "N/A" else desc,
    )


def _uptime_or_error(text: str, number: int) -> float | None:
    try:
        return parse_frr_uptime(text)
    except ParseError as exc:
        raise ParseError(f"line {number}: {exc}") from None


# -- show bgp vrf all neighbors json ---------------------------------------------------------
def parse_frr_bgp_neighbors_json(text: str) -> tuple[BgpNeighbor, ...]:
    """Parse `show bgp vrf all neighbors json` (also `show bgp neighbors json`, one VRF)."""
    command = "show bgp vrf all neighbors json"
    data = _mapping(load_json(text, command), command)
    # `vrf all` nests by VRF name; a single-VRF output is {address: {...}} directly.
    single = any(isinstance(v, dict) and "bgpState" in v for v in data.values())
    vrfs = {"default": data} if single else data
    neighbors: list[BgpNeighbor] = []
    for vrf_key, vrf_data in vrfs.items():
        vrf_map = _mapping(vrf_data, f"`{command}`: {vrf_key!r}")
        vrf = _str(vrf_map.get("vrfName"), f"{vrf_key}.vrfName") or vrf_key
        for address, raw in vrf_map.items():
            if address in {"vrfId", "vrfName"}:
                continue
            neighbors.append(_neighbor(vrf, address, raw))
    return tuple(neighbors)


def _neighbor(vrf: str, address: str, raw: object) -> BgpNeighbor:
    where = f"{vrf}.{address}"
    item = _mapping(raw, where)
    state = _str(item.get("bgpState"), f"{where}.bgpState")
    if not state:
        raise ParseError(f"{where}: no bgpState")
    bfd = item.get("peerBfdInfo")
    bfd_info = _mapping(bfd, f"{where}.peerBfdInfo") if bfd is not None else {}
    families = _mapping(item.get("addressFamilyInfo") or {}, f"{where}.addressFamilyInfo")
    ipv4 = _mapping(families.get("ipv4Unicast") or {}, f"{where}.addressFamilyInfo.ipv4Unicast")
    established = state == "Established"
    return BgpNeighbor(
        vrf=vrf,
        address=address,
        remote_as=_int(item.get("remoteAs"), f"{where}.remoteAs"),
        state=state,
        established=established,
        up_seconds=(
            _seconds_from_ms(item.get("bgpTimerUpMsec"), f"{where}.bgpTimerUpMsec")
            if established
            else None
        ),
        hold_time_seconds=_seconds_from_ms(
            item.get("bgpTimerHoldTimeMsecs"), f"{where}.bgpTimerHoldTimeMsecs"
        ),
        keepalive_seconds=_seconds_from_ms(
            item.get("bgpTimerKeepAliveIntervalMsecs"), f"{where}.bgpTimerKeepAliveIntervalMsecs"
        ),
        configured_hold_time_seconds=_seconds_from_ms(
            item.get("bgpTimerConfiguredHoldTimeMsecs"), f"{where}.bgpTimerConfiguredHoldTimeMsecs"
        ),
        configured_keepalive_seconds=_seconds_from_ms(
            item.get("bgpTimerConfiguredKeepAliveIntervalMsecs"),
            f"{where}.bgpTimerConfiguredKeepAliveIntervalMsecs",
        ),
        bfd_status=_str(bfd_info.get("status"), f"{where}.peerBfdInfo.status") or None
        if bfd is not None
        else None,
        bfd_detect_multiplier=_int(bfd_info.get("detectMultiplier"), f"{where}.bfd.multiplier"),
        bfd_rx_interval_ms=_int(bfd_info.get("rxMinInterval"), f"{where}.bfd.rxMinInterval"),
        bfd_tx_interval_ms=_int(bfd_info.get("txMinInterval"), f"{where}.bfd.txMinInterval"),
        accepted_prefixes=_int(ipv4.get("acceptedPrefixCounter"), f"{where}.acceptedPrefixCounter"),
        sent_prefixes=_int(ipv4.get("sentPrefixCounter"), f"{where}.sentPrefixCounter"),
        admin_shutdown=item.get("adminShutDown") is True,
        last_reset_reason=_str(item.get("lastResetDueTo"), f"{where}.lastResetDueTo"),
        description=_str(item.get("nbrDesc"), f"{where}.nbrDesc"),
        hostname=_str(item.get("hostname"), f"{where}.hostname"),
    )


# -- show bgp ipv4 unicast PREFIX json -------------------------------------------------------
def parse_frr_bgp_route_json(text: str) -> BgpRoute:
    """Parse `show bgp ipv4 unicast PREFIX json`; `{}` (not in table): prefix "" and no paths."""
    command = "show bgp ipv4 unicast PREFIX json"
    data = _mapping(load_json(text, command), command)
    if not data:
        return BgpRoute(prefix="", paths=(), advertised_to=())
    prefix = _str(data.get("prefix"), "prefix")
    if not prefix:
        raise ParseError(f"`{command}`: no prefix in the answer")
    raw_paths = data.get("paths", [])
    if not isinstance(raw_paths, list):
        raise ParseError(f"{prefix}.paths: expected a list")
    advertised = _mapping(data.get("advertisedTo") or {}, f"{prefix}.advertisedTo")
    return BgpRoute(
        prefix=prefix,
        paths=tuple(_path(raw, f"{prefix}.paths[{i}]") for i, raw in enumerate(raw_paths)),
        advertised_to=tuple(advertised),
    )


def _path(raw: object, where: str) -> BgpPath:
    path = _mapping(raw, where)
    peer_info = _mapping(path.get("peer") or {}, f"{where}.peer")
    best_info = path.get("bestpath")
    best_map = best_info if isinstance(best_info, dict) else {}
    best = best_map.get("overall") is True
    reason = _str(best_map.get("selectionReason"), f"{where}.bestpath") if best else ""
    hops = path.get("nexthops") or []
    if not isinstance(hops, list):
        raise ParseError(f"{where}.nexthops: expected a list")
    nexthops = tuple(
        _str(_mapping(h, f"{where}.nexthops").get("ip"), f"{where}.nexthops.ip") for h in hops
    )
    local = path.get("local") is True or path.get("sourced") is True
    as_path = path.get("aspath")
    as_string = (
        _str(_mapping(as_path, f"{where}.aspath").get("string"), f"{where}.aspath")
        if as_path is not None
        else ""
    )
    return BgpPath(
        peer="local" if local else _str(peer_info.get("peerId"), f"{where}.peer.peerId"),
        nexthops=nexthops,
        best=best,
        multipath=path.get("multipath") is True,
        valid=path.get("valid") is True,
        weight=_int(path.get("weight"), f"{where}.weight"),
        local_pref=_int(path.get("locPrf"), f"{where}.locPrf"),
        med=_int(path.get("metric"), f"{where}.metric"),
        as_path=as_string,
        selection_reason=reason,
        peer_hostname=_str(peer_info.get("hostname"), f"{where}.peer.hostname"),
    )


# -- show bfd peers json ---------------------------------------------------------------------
def parse_frr_bfd_peers_json(text: str) -> tuple[BfdPeer, ...]:
    """Parse `show bfd peers json` (a list of sessions; `[]` when none)."""
    command = "show bfd peers json"
    data = load_json(text, command)
    if not isinstance(data, list):
        raise ParseError(f"`{command}`: expected a JSON list, got {type(data).__name__}")
    peers: list[BfdPeer] = []
    for index, raw in enumerate(data):
        where = f"bfd[{index}]"
        item = _mapping(raw, where)
        peer = _str(item.get("peer"), f"{where}.peer")
        status = _str(item.get("status"), f"{where}.status")
        if not peer or not status:
            raise ParseError(f"{where}: no peer or status")
        peers.append(
            BfdPeer(
                peer=peer,
                vrf=_str(item.get("vrf"), f"{where}.vrf") or "default",
                status=status,
                local=_str(item.get("local"), f"{where}.local"),
                interface=_str(item.get("interface"), f"{where}.interface"),
                multihop=item.get("multihop") is True,
                uptime_seconds=_float(item.get("uptime"), f"{where}.uptime"),
                downtime_seconds=_float(item.get("downtime"), f"{where}.downtime"),
                diagnostic=_str(item.get("diagnostic"), f"{where}.diagnostic"),
                remote_diagnostic=_str(item.get("remote-diagnostic"), f"{where}.remote-diag"),
                detect_multiplier=_int(item.get("detect-multiplier"), f"{where}.multiplier"),
                receive_interval_ms=_int(item.get("receive-interval"), f"{where}.rx"),
                transmit_interval_ms=_int(item.get("transmit-interval"), f"{where}.tx"),
            )
        )
    return tuple(peers)


def _float(value: object, where: str) -> float | None:
    number = _int(value, where)
    return None if number is None else float(number)


# -- sysctl net.ipv4.ip_forward --------------------------------------------------------------
# net.ipv4.ip_forward = 1
_SYSCTL = re.compile(r"^\s*(?:net\.ipv4\.ip_forward\s*=\s*)?([01])\s*$")


def parse_sysctl_ip_forward(text: str) -> bool:
    """Parse `sysctl net.ipv4.ip_forward` (or `sysctl -n ...`): True when forwarding is on."""
    match = _SYSCTL.match(text.strip()) if text.strip() else None
    if match is None:
        first = text.strip().splitlines()[0][:120] if text.strip() else ""
        raise ParseError(f"`sysctl net.ipv4.ip_forward`: unreadable output {first!r}")
    return match.group(1) == "1"

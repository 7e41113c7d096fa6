"""IPsec: one model for strongSwan and libreswan, and the parsers that fill it.

The model is an :class:`IpsecStatus` holding IKE SAs, each with its child SAs, plus the
configured connection names. strongSwan is read from `swanctl --list-sas` and
`swanctl --list-conns`; libreswan from `ipsec status` (= `ipsec whack --status`),
`ipsec whack --showstates` and `ipsec trafficstatus`. libreswan 4.x prefixes every line with a
three-digit code (`000 `, `006 `); 5.x does not; both are accepted.

Empty output from an SA listing is a real answer (no SAs), not an error; output that is not
what the command prints raises ParseError naming the first line it could not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from holdtime.errors import ParseError


@dataclass(frozen=True, slots=True)
class ChildSa:
    """A CHILD_SA (IPsec SA): the data-plane half of a tunnel."""

    name: str
    unique_id: str  # strongSwan "#5", libreswan state serial "#2"
    state: str  # strongSwan INSTALLED/REKEYING/...; libreswan STATE_V2_ESTABLISHED_CHILD_SA
    installed: bool
    mode: str = ""  # TUNNEL, TUNNEL-in-UDP, TRANSPORT
    protocol: str = ""  # ESP, AH
    bytes_in: int | None = None
    bytes_out: int | None = None
    packets_in: int | None = None
    packets_out: int | None = None
    last_in_seconds: int | None = None  # last inbound traffic this long ago (None: never/unknown)
    last_out_seconds: int | None = None
    installed_seconds: int | None = None
    rekey_in_seconds: int | None = None
    expires_in_seconds: int | None = None
    local_ts: tuple[str, ...] = ()
    remote_ts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IkeSa:
    """An IKE SA (the control-plane half) with its child SAs."""

    name: str  # connection name, e.g. "esg1" (libreswan: without the [N] instance suffix)
    unique_id: str
    state: str
    established: bool
    version: str = ""  # IKEv1 / IKEv2
    local_host: str = ""
    remote_host: str = ""
    local_id: str = ""
    remote_id: str = ""
    instance: str = ""  # libreswan instance, e.g. "[2] 192.1.2.45"
    established_seconds: int | None = None
    rekey_in_seconds: int | None = None
    reauth_in_seconds: int | None = None
    expires_in_seconds: int | None = None
    children: tuple[ChildSa, ...] = ()


@dataclass(frozen=True, slots=True)
class ChildConfig:
    """A configured child (strongSwan `--list-conns`)."""

    name: str
    mode: str
    rekey_seconds: int | None
    local_ts: tuple[str, ...] = ()
    remote_ts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """A configured connection: what should exist even when no SA does."""

    name: str
    version: str = ""
    rekey_seconds: int | None = None  # IKE SA rekey interval (None: no rekeying/unknown)
    reauth_seconds: int | None = None
    local_addrs: tuple[str, ...] = ()
    remote_addrs: tuple[str, ...] = ()
    children: tuple[ChildConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class IpsecStatus:
    """Everything one IPsec stack reported: SAs and configured connections."""

    stack: str  # "strongswan" | "libreswan"
    ike_sas: tuple[IkeSa, ...] = ()
    connections: tuple[ConnectionConfig, ...] = ()

    def sas_named(self, name: str) -> tuple[IkeSa, ...]:
        """IKE SAs of one connection (a tunnel may have two during a rekey)."""
        return tuple(sa for sa in self.ike_sas if sa.name == name)

    def connection(self, name: str) -> ConnectionConfig | None:
        """The configured connection of that name, if listed."""
        return next((c for c in self.connections if c.name == name), None)


def merge(statuses: Iterable[IpsecStatus]) -> IpsecStatus:
    """One status from several (one charon per tunnel in the lab, one vici socket each)."""
    items = list(statuses)
    stack = items[0].stack if items else "strongswan"
    return IpsecStatus(
        stack=stack,
        ike_sas=tuple(sa for s in items for sa in s.ike_sas),
        connections=tuple(c for s in items for c in s.connections),
    )


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0][:120] if stripped else ""


# == strongSwan ==============================================================================
# esg1: #3, ESTABLISHED, IKEv2, 0b1c5b0e6a2c1f2d_i* 8a7b6c5d4e3f2a1b_r
_SW_IKE = re.compile(
    r"^(?P<name>[^\s:][^:]*): #(?P<id>\d+), (?P<state>[A-Z_]+), (?P<version>IKEv\d)"
    r"(?:, (?P<spis>.*))?$"
)
#   local  'router' @ 10.0.0.1[4500]
#   remote 'esg1' @ 10.0.0.2[4500] EAP: 'x'
_SW_ENDPOINT = re.compile(
    r"^  (?P<side>local|remote)\s+'(?P<id>[^']*)' @ (?P<host>\S+?)\[(?P<port>\d+)\]"
)
#   established 123s ago, rekeying in 13795s, reauth in 3000s, expires in 15000s
_SW_ESTABLISHED = re.compile(r"^  established (?P<ago>\d+)s ago(?P<rest>.*)$")
#   esg1: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256
_SW_CHILD = re.compile(
    r"^  (?P<name>[^\s:][^:]*): #(?P<id>\d+), reqid (?P<reqid>\d+), (?P<state>[A-Z_]+), "
    r"(?P<mode>[A-Z_]+(?:-in-UDP)?), (?P<proto>[A-Z]+):(?P<algs>.*)$"
)
#     installed 123s ago, rekeying in 3290s, expires in 3837s
_SW_INSTALLED = re.compile(r"^    installed (?P<ago>\d+)s ago(?P<rest>.*)$")
#     in  c1a2b3c4,   1234 bytes,    12 packets,     3s ago
#     out c5d6e7f8 (0x00000001/0xffffffff),   2345 bytes,    15 packets
_SW_TRAFFIC = re.compile(
    r"^    (?P<dir>in|out)\s+\S+(?: \([^)]*\))?,\s+(?P<bytes>\d+) bytes,\s+(?P<packets>\d+) packets"
    r"(?:,\s+(?P<ago>\d+)s ago)?\s*$"
)
#     local  0.0.0.0/0
#     remote 10.1.0.0/16 10.2.0.0/16
_SW_TS = re.compile(r"^    (?P<side>local|remote)\s+(?P<ts>\S.*)$")
#   AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048    (algorithms)
#   queued:  CHILD_REKEY     active:  IKE_DPD     passive: ...
_SW_IGNORED = re.compile(r"^  (?:[A-Z0-9_]+[-/]\S*|[A-Z0-9_]+|(?:queued|active|passive):\s+.*)$")
# , rekeying in 13795s   , reauth in 3000s   , expires in 15000s
_SW_TIMER = re.compile(r", (rekeying|reauth|expires) in (\d+)s")

_INSTALLED_STATES = frozenset({"INSTALLED", "REKEYING", "REKEYED"})


def _timers(rest: str) -> dict[str, int]:
    return {key: int(value) for key, value in _SW_TIMER.findall(rest)}


def parse_swanctl_list_sas(text: str) -> tuple[IkeSa, ...]:
    """Parse `swanctl --list-sas` (strongSwan 5.9); empty output means no SAs."""
    sas: list[IkeSa] = []
    ike: IkeSa | None = None
    child: ChildSa | None = None

    def flush_child() -> None:
        nonlocal ike, child
        if ike is not None and child is not None:
            ike = replace(ike, children=(*ike.children, child))
        child = None

    def flush_ike() -> None:
        nonlocal ike
        flush_child()
        if ike is not None:
            sas.append(ike)
        ike = None

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        if not line.strip():
            continue
        if match := _SW_IKE.match(line):
            flush_ike()
            state = match.group("state")
            ike = IkeSa(
                name=match.group("name"),
                unique_id=f"#{match.group('id')}",
                state=state,
                established=state == "ESTABLISHED",
                version=match.group("version"),
            )
            continue
        if ike is None:
            raise ParseError(
                f"`swanctl --list-sas` line {number}: expected an IKE SA header, got {line[:80]!r}"
            )
        if match := _SW_CHILD.match(line):
            flush_child()
            state = match.group("state")
            child = ChildSa(
                name=match.group("name"),
                unique_id=f"#{match.group('id')}",
                state=state,
                installed=state in _INSTALLED_STATES,
                mode=match.group("mode"),
                protocol=match.group("proto"),
            )
        elif child is None and (match := _SW_ENDPOINT.match(line)):
            host, ident = match.group("host"), match.group("id")
            if match.group("side") == "local":
                ike = replace(ike, local_host=host, local_id=ident)
            else:
                ike = replace(ike, remote_host=host, remote_id=ident)
        elif child is None and (match := _SW_ESTABLISHED.match(line)):
            timers = _timers(match.group("rest"))
            ike = replace(
                ike,
                established_seconds=int(match.group("ago")),
                rekey_in_seconds=timers.get("rekeying"),
                reauth_in_seconds=timers.get("reauth"),
                expires_in_seconds=timers.get("expires"),
            )
        elif child is None and _SW_IGNORED.match(line):
            continue
        elif child is not None and (match := _SW_INSTALLED.match(line)):
            timers = _timers(match.group("rest"))
            child = replace(
                child,
                installed_seconds=int(match.group("ago")),
                rekey_in_seconds=timers.get("rekeying"),
                expires_in_seconds=timers.get("expires"),
            )
        elif child is not None and (match := _SW_TRAFFIC.match(line)):
            ago = int(match.group("ago")) if match.group("ago") else None
            if match.group("dir") == "in":
                child = replace(
                    child,
                    bytes_in=int(match.group("bytes")),
                    packets_in=int(match.group("packets")),
                    last_in_seconds=ago,
                )
            else:
                child = replace(
                    child,
                    bytes_out=int(match.group("bytes")),
                    packets_out=int(match.group("packets")),
                    last_out_seconds=ago,
                )
        elif child is not None and (match := _SW_TS.match(line)):
            selectors = tuple(match.group("ts").split())
            if match.group("side") == "local":
                child = replace(child, local_ts=selectors)
            else:
                child = replace(child, remote_ts=selectors)
        else:
            raise ParseError(
                f"`swanctl --list-sas` line {number}: unreadable {line.strip()[:80]!r}"
            )
    flush_ike()
    return tuple(sas)


# esg1: IKEv2, no reauthentication, rekeying every 14400s, dpd delay 30s
_SWC_CONN = re.compile(r"^(?P<name>[^\s:][^:]*): (?P<version>IKEv[12](?:/2)?|IKE), (?P<rest>.*)$")
#   local:  10.0.0.1        remote: 10.0.0.2
_SWC_ADDRS = re.compile(r"^  (?P<side>local|remote):\s+(?P<addrs>.*)$")
#   local pre-shared key authentication:
_SWC_AUTH = re.compile(r"^  (?:local|remote) .+ authentication:$")
#     id: router        certs: ...
_SWC_AUTH_ITEM = re.compile(r"^    (?:id|eap_id|xauth_id|aaa_id|groups|certs|cacerts): .*$")
#   esg1: TUNNEL, rekeying every 3600s, dpd action is clear
_SWC_CHILD = re.compile(
    r"^  (?P<name>[^\s:][^:]*): (?P<mode>TUNNEL|TRANSPORT|TRANSPORT_PROXY|BEET|PASS|DROP), "
    r"(?P<rest>.*)$"
)
#     local:  0.0.0.0/0       remote: 0.0.0.0/0
_SWC_CHILD_TS = re.compile(r"^    (?P<side>local|remote):\s+(?P<ts>.*)$")
#     interface: eth0         priority: 100
_SWC_CHILD_EXTRA = re.compile(r"^    (?:interface|priority): .*$")
# rekeying every 14400s
_EVERY = re.compile(r"rekeying every (\d+)s")
# reauthentication every 3600s
_REAUTH = re.compile(r"reauthentication every (\d+)s")


def parse_swanctl_list_conns(text: str) -> tuple[ConnectionConfig, ...]:
    """Parse `swanctl --list-conns` (strongSwan 5.9); empty output means none loaded."""
    conns: list[ConnectionConfig] = []
    conn: ConnectionConfig | None = None
    child: ChildConfig | None = None

    def flush_child() -> None:
        nonlocal conn, child
        if conn is not None and child is not None:
            conn = replace(conn, children=(*conn.children, child))
        child = None

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        if not line.strip():
            continue
        if match := _SWC_CONN.match(line):
            flush_child()
            if conn is not None:
                conns.append(conn)
            rest = match.group("rest")
            every, reauth = _EVERY.search(rest), _REAUTH.search(rest)
            conn = ConnectionConfig(
                name=match.group("name"),
                version=match.group("version"),
                rekey_seconds=int(every.group(1)) if every else None,
                reauth_seconds=int(reauth.group(1)) if reauth else None,
            )
            continue
        if conn is None:
            raise ParseError(
                f"`swanctl --list-conns` line {number}: expected a connection, got {line[:80]!r}"
            )
        if match := _SWC_CHILD.match(line):
            flush_child()
            every = _EVERY.search(match.group("rest"))
            child = ChildConfig(
                name=match.group("name"),
                mode=match.group("mode"),
                rekey_seconds=int(every.group(1)) if every else None,
            )
        elif child is None and (match := _SWC_ADDRS.match(line)):
            addrs = tuple(match.group("addrs").split())
            if match.group("side") == "local":
                conn = replace(conn, local_addrs=addrs)
            else:
                conn = replace(conn, remote_addrs=addrs)
        elif child is not None and (match := _SWC_CHILD_TS.match(line)):
            selectors = tuple(match.group("ts").split())
            if match.group("side") == "local":
                child = replace(child, local_ts=selectors)
            else:
                child = replace(child, remote_ts=selectors)
        elif _SWC_AUTH.match(line):
            flush_child()
        elif _SWC_AUTH_ITEM.match(line) or _SWC_CHILD_EXTRA.match(line):
            continue
        else:
            raise ParseError(
                f"`swanctl --list-conns` line {number}: unreadable {line.strip()[:80]!r}"
            )
    flush_child()
    if conn is not None:
        conns.append(conn)
    return tuple(conns)


def strongswan_status(sas_text: str, conns_text: str | None = None) -> IpsecStatus:
    """The model from `swanctl --list-sas` and (optionally) `swanctl --list-conns` outputs."""
    return IpsecStatus(
        stack="strongswan",
        ike_sas=parse_swanctl_list_sas(sas_text),
        connections=parse_swanctl_list_conns(conns_text) if conns_text is not None else (),
    )


# == libreswan ===============================================================================
@dataclass(frozen=True, slots=True)
class LibreswanState:
    """One state line of `ipsec whack --showstates` / `ipsec status`."""

    serial: int
    connection: str
    instance: str  # "[2] 192.1.2.45" or ""
    state: str  # STATE_V2_ESTABLISHED_IKE_SA
    description: str  # "established IKE SA"
    is_child: bool
    established: bool
    parent_serial: int | None = None  # the IKE SA of a child ("IKE SA #1" / "isakmp#1")
    rekey_in_seconds: int | None = None
    replace_in_seconds: int | None = None
    newest: bool = False
    bytes_in: int | None = None  # from the state's "Traffic:" line in `ipsec status`
    bytes_out: int | None = None


@dataclass(frozen=True, slots=True)
class LibreswanTraffic:
    """One line of `ipsec trafficstatus`: an established child SA and its byte counters."""

    serial: int
    connection: str
    instance: str
    sa_type: str  # ESP / AH
    add_time: int | None  # epoch seconds when the SA was added
    bytes_in: int
    bytes_out: int
    peer_id: str = ""
    username: str = ""
    lease: str = ""


@dataclass(frozen=True, slots=True)
class LibreswanConnection:
    """A connection from the `Connection list:` of `ipsec status`."""

    name: str
    instance: str
    local_ts: tuple[str, ...]
    remote_ts: tuple[str, ...]
    local_host: str
    remote_host: str
    routing: str  # unrouted, routed, erouted, ...


@dataclass(frozen=True, slots=True)
class LibreswanStatus:
    """What `ipsec status` says: connections, states and their traffic."""

    connections: tuple[LibreswanConnection, ...] = ()
    states: tuple[LibreswanState, ...] = field(default_factory=tuple)


# 000 #6: "east"[2] 192.1.2.45:500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 28523s; REPLACE in 28793s; newest; idle;  # noqa: E501
# #2: "westnet-eastnet":500 ESTABLISHED_CHILD_SA (IPsec SA established); REKEY in 27841s; ...; IKE SA #1; idle;  # noqa: E501
_LS_STATE = re.compile(
    r"^(?:\d{3} )?#(?P<serial>\d+): \"(?P<conn>[^\"]+)\"(?P<inst>\[\d+\])?(?: (?P<peer>\S+?))?"
    r":(?P<port>\d+) (?P<state>[A-Z][A-Z0-9_]+) \((?P<desc>[^)]*)\);?(?P<rest>.*)$"
)
# 000 #2: "westnet-eastnet" esp.a1b2c3d4@192.1.2.23 esp.e5f6a7b8@192.1.2.45 tun.0@192.1.2.23 tun.0@192.1.2.45 Traffic: ESPin=84B ESPout=84B ESPmax=2^63B  # noqa: E501
_LS_STATE_TRAFFIC = re.compile(
    r"^(?:\d{3} )?#(?P<serial>\d+): \"[^\"]+\"(?:\[\d+\])?(?: \S+)*? Traffic: (?P<rest>.*)$"
)
# 000 #2: "westnet-eastnet" esp.a1b2c3d4@192.1.2.23 ... (SPI line without counters)
_LS_STATE_SPIS = re.compile(r"^(?:\d{3} )?#\d+: \"[^\"]+\"(?:\[\d+\])?(?: \S+)?(?: \S+@\S+)+\s*$")
# ESPin=84B ESPout=1KB
_LS_ESP = re.compile(r"\b(?:ESP|AH|IPCOMP)(in|out)=(\d+)([KMGT]?)B\b")
# REKEY in 28523s   REPLACE in 28793s   EVENT_SA_REPLACE in 27896s   EXPIRE in 100s
_LS_TIMER = re.compile(
    r"(?:EVENT_)?(?:v2_)?(SA_REPLACE|REPLACE|REKEY|SA_EXPIRE|EXPIRE) in (-?\d+)s"
)
# IKE SA #1   isakmp#1
_LS_PARENT = re.compile(r"(?:IKE SA #|isakmp#)(\d+)")
# 006 #2: "westnet-eastnet", type=ESP, add_time=1234567890, inBytes=84, outBytes=84, maxBytes=2^63B, id='@east'  # noqa: E501
# #154: "ikev2-cp"[27] 5.149.159.35, type=ESP, add_time=1755279621, inBytes=90686439, ..., lease=192.168.43.13/32  # noqa: E501
_LS_TRAFFIC = re.compile(
    r"^(?:\d{3} )?#(?P<serial>\d+): \"(?P<conn>[^\"]+)\"(?P<inst>\[\d+\])?(?: (?P<peer>[^,\s]+))?,"
    r" (?P<fields>.*)$"
)
# type=ESP   id='CN=vpnclient, O=IKEv2 VPN'   maxBytes=2^63B
_LS_FIELD = re.compile(r"(\w+)=('[^']*'|[^,]*)(?:,\s*|$)")
# 000 "east"[2]: 192.0.2.0/24===192.1.2.23[@east]...192.1.2.45[@road]===192.0.3.0/24; unrouted; eroute owner: #0  # noqa: E501
_LS_CONN = re.compile(
    r"^(?:\d{3} )?\"(?P<conn>[^\"]+)\"(?P<inst>\[\d+\])?(?: (?P<peer>\S+))?: "
    r"(?P<left>[^;]+?)\.\.\.(?P<right>[^;]+?); (?P<routing>[\w-]+);"
)
# 000 Connection list:     000 State Information: ...    State Information
_LS_MARKERS = re.compile(r"^(?:\d{3} )?(?:Connection list:|State Information|IKE SAs: total)")
# 000   (and "000 " alone: libreswan's blank separator line)
_LS_BLANK = re.compile(r"^(?:\d{3})?\s*$")

_LS_IKE_ESTABLISHED = frozenset(
    {"STATE_MAIN_I4", "STATE_MAIN_R3", "STATE_AGGR_I2", "STATE_AGGR_R2", "STATE_PARENT_I3",
     "STATE_PARENT_R2", "MAIN_I4", "MAIN_R3", "AGGR_I2", "AGGR_R2"}
)  # fmt: skip
_LS_CHILD_ESTABLISHED = frozenset(
    {"STATE_QUICK_I2", "STATE_QUICK_R2", "STATE_V2_IPSEC_I", "STATE_V2_IPSEC_R", "QUICK_I2",
     "QUICK_R2"}
)  # fmt: skip
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _libreswan_state(match: re.Match[str]) -> LibreswanState:
    state, desc, rest = match.group("state"), match.group("desc"), match.group("rest")
    is_child = bool(re.search(r"CHILD|QUICK|IPSEC", state)) or "IPsec SA" in desc
    if is_child:
        established = "ESTABLISHED" in state or state in _LS_CHILD_ESTABLISHED
    else:
        established = "ESTABLISHED" in state or state in _LS_IKE_ESTABLISHED
    timers = {key: int(value) for key, value in _LS_TIMER.findall(rest)}
    parent = _LS_PARENT.search(rest)
    peer = match.group("peer") or ""
    inst = match.group("inst") or ""
    return LibreswanState(
        serial=int(match.group("serial")),
        connection=match.group("conn"),
        instance=f"{inst} {peer}".strip() if inst else "",
        state=state,
        description=desc,
        is_child=is_child,
        established=established,
        parent_serial=int(parent.group(1)) if parent else None,
        rekey_in_seconds=timers.get("REKEY"),
        replace_in_seconds=timers.get("REPLACE", timers.get("SA_REPLACE")),
        newest="newest" in rest,
    )


def _esp_counters(rest: str) -> dict[str, int]:
    return {
        direction: int(amount) * _UNITS[unit] for direction, amount, unit in _LS_ESP.findall(rest)
    }


def parse_libreswan_showstates(text: str) -> tuple[LibreswanState, ...]:
    """Parse `ipsec whack --showstates` (libreswan 4.x/5.x); empty output means no states."""
    states: list[LibreswanState] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _LS_BLANK.match(line):
            continue
        if match := _LS_STATE.match(line):
            states.append(_libreswan_state(match))
        elif match := _LS_STATE_TRAFFIC.match(line):
            states = _with_traffic(states, int(match.group("serial")), match.group("rest"))
        elif _LS_STATE_SPIS.match(line):
            continue
        else:
            raise ParseError(
                f"`ipsec whack --showstates` line {number}: unreadable {line.strip()[:80]!r}"
            )
    return tuple(states)


def _with_traffic(states: list[LibreswanState], serial: int, rest: str) -> list[LibreswanState]:
    counters = _esp_counters(rest)
    return [
        replace(s, bytes_in=counters.get("in"), bytes_out=counters.get("out"))
        if s.serial == serial
        else s
        for s in states
    ]


def parse_libreswan_status(text: str) -> LibreswanStatus:
    """Parse `ipsec status` / `ipsec whack --status`: connection list, states, traffic."""
    if not text.strip():
        raise ParseError("`ipsec status`: empty output")
    if not any(_LS_MARKERS.match(line) for line in text.splitlines()):
        raise ParseError(f"`ipsec status`: not libreswan status output ({_first_line(text)!r})")
    connections: list[LibreswanConnection] = []
    states: list[LibreswanState] = []
    for line in text.splitlines():
        if match := _LS_STATE.match(line):
            states.append(_libreswan_state(match))
        elif match := _LS_STATE_TRAFFIC.match(line):
            states = _with_traffic(states, int(match.group("serial")), match.group("rest"))
        elif match := _LS_CONN.match(line):
            connections.append(_libreswan_connection(match))
        # every other line is configuration detail we do not need
    return LibreswanStatus(connections=tuple(connections), states=tuple(states))


def _libreswan_connection(match: re.Match[str]) -> LibreswanConnection:
    # left:  192.0.2.0/24===192.1.2.23[@east]---192.1.2.254
    # right: 192.1.2.254---192.1.2.45[@road]===192.0.3.0/24
    left, right = match.group("left"), match.group("right")
    left_subnet, _, left_host = left.rpartition("===")
    right_host, _, right_subnet = right.partition("===")
    left_host = re.sub(r"\[.*?\]|---.*$", "", left_host)
    right_host = re.sub(r"\[.*?\]|^.*?---", "", right_host)
    right_host = re.sub(r"\[.*$", "", right_host)
    inst = match.group("inst") or ""
    peer = match.group("peer") or ""
    return LibreswanConnection(
        name=match.group("conn"),
        instance=f"{inst} {peer}".strip() if inst else "",
        local_ts=(left_subnet or left_host,),
        remote_ts=(right_subnet or right_host,),
        local_host=left_host,
        remote_host=right_host,
        routing=match.group("routing"),
    )


def parse_libreswan_trafficstatus(text: str) -> tuple[LibreswanTraffic, ...]:
    """Parse `ipsec trafficstatus` / `ipsec whack --trafficstatus`; empty means no child SAs."""
    rows: list[LibreswanTraffic] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _LS_BLANK.match(line):
            continue
        match = _LS_TRAFFIC.match(line)
        fields = (
            {k: v.strip("'") for k, v in _LS_FIELD.findall(match.group("fields"))} if match else {}
        )
        if match is None or "inBytes" not in fields or "outBytes" not in fields:
            raise ParseError(
                f"`ipsec trafficstatus` line {number}: unreadable {line.strip()[:80]!r}"
            )
        if not (fields["inBytes"].isdigit() and fields["outBytes"].isdigit()):
            raise ParseError(f"`ipsec trafficstatus` line {number}: byte counters are not numbers")
        add_time = fields.get("add_time", "")
        inst, peer = match.group("inst") or "", match.group("peer") or ""
        rows.append(
            LibreswanTraffic(
                serial=int(match.group("serial")),
                connection=match.group("conn"),
                instance=f"{inst} {peer}".strip() if inst else "",
                sa_type=fields.get("type", ""),
                add_time=int(add_time) if add_time.isdigit() else None,
                bytes_in=int(fields["inBytes"]),
                bytes_out=int(fields["outBytes"]),
                peer_id=fields.get("id", ""),
                username=fields.get("username", ""),
                lease=fields.get("lease", ""),
            )
        )
    return tuple(rows)


def _inst_key(instance: str) -> str:
    return instance.split(" ", 1)[0]


def libreswan_status(
    status: LibreswanStatus,
    traffic: Sequence[LibreswanTraffic] = (),
    now_epoch: float | None = None,
) -> IpsecStatus:
    """The common model from parsed `ipsec status` (+ `ipsec trafficstatus`).

    Child SAs hang under the IKE SA their line names (`IKE SA #1`), else under the newest IKE
    SA of the same connection instance. trafficstatus byte counters win over the rounded
    `Traffic:` figures of `ipsec status`; `now_epoch` (the device's clock) turns add_time into
    an age.
    """
    by_serial = {t.serial: t for t in traffic}
    # connection lines say `"east"[2]:`, state lines `"east"[2] 192.1.2.45`: key on "[2]"
    conns = {(c.name, _inst_key(c.instance)): c for c in status.connections}
    ike_states = [s for s in status.states if not s.is_child]
    children: dict[int, list[ChildSa]] = {s.serial: [] for s in ike_states}
    orphans: list[tuple[LibreswanState, ChildSa]] = []
    for state in (s for s in status.states if s.is_child):
        row = by_serial.get(state.serial)
        conn = conns.get((state.connection, _inst_key(state.instance)))
        child = ChildSa(
            name=state.connection,
            unique_id=f"#{state.serial}",
            state=state.state,
            installed=state.established,
            protocol=row.sa_type if row else "",
            bytes_in=row.bytes_in if row else state.bytes_in,
            bytes_out=row.bytes_out if row else state.bytes_out,
            installed_seconds=(
                int(now_epoch - row.add_time) if row and row.add_time and now_epoch else None
            ),
            rekey_in_seconds=state.rekey_in_seconds,
            expires_in_seconds=state.replace_in_seconds,
            local_ts=conn.local_ts if conn else (),
            remote_ts=conn.remote_ts if conn else (),
        )
        if state.parent_serial in children:
            children[state.parent_serial].append(child)
        else:
            orphans.append((state, child))
    for state, child in orphans:
        parents = [
            s
            for s in ike_states
            if s.connection == state.connection and s.instance == state.instance
        ]
        if parents:
            newest = max(parents, key=lambda s: (s.newest, s.serial))
            children[newest.serial].append(child)
    ike_sas = []
    for state, child in orphans:
        if any(
            s.connection == state.connection and s.instance == state.instance for s in ike_states
        ):
            continue
        # IKEv1: the IPsec SA outlives its ISAKMP SA; keep the child visible under a
        # placeholder so a missing IKE SA is reported, not the whole tunnel dropped.
        ike_sas.append(
            IkeSa(
                name=state.connection,
                unique_id="",
                state="NO_IKE_SA",
                established=False,
                instance=state.instance,
                children=(child,),
            )
        )
    for state in ike_states:
        conn = conns.get((state.connection, _inst_key(state.instance)))
        ike_sas.append(
            IkeSa(
                name=state.connection,
                unique_id=f"#{state.serial}",
                state=state.state,
                established=state.established,
                version="IKEv2"
                if "V2" in state.state or "ESTABLISHED_IKE" in state.state
                else "IKEv1",
                local_host=conn.local_host if conn else "",
                remote_host=conn.remote_host if conn else "",
                instance=state.instance,
                rekey_in_seconds=state.rekey_in_seconds,
                expires_in_seconds=state.replace_in_seconds,
                children=tuple(children[state.serial]),
            )
        )
    names = list(dict.fromkeys(c.name for c in status.connections))
    return IpsecStatus(
        stack="libreswan",
        ike_sas=tuple(ike_sas),
        connections=tuple(ConnectionConfig(name=n) for n in names),
    )

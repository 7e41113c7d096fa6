"""libreswan readers: `ipsec status`, `ipsec showstates`, `ipsec trafficstatus`, `ipsec
briefstatus` (3.x, 4.x, 5.0 to 5.4), into the vendor-neutral IPsec model.

Every spelling is accepted: `ipsec status` = `ipsec whack --status` = `ipsec auto --status`,
`ipsec showstates` = `ipsec whack --showstates`, `ipsec trafficstatus` =
`ipsec whack --trafficstatus`. libreswan up to 4.x prefixes each line with a three-digit code
(`000 `, `006 `); 5.x does not; both are read.

State lines changed three times: 3.x/4.x `STATE_V2_ESTABLISHED_IKE_SA (established IKE SA)`,
5.2 `ESTABLISHED_IKE_SA (established IKE SA)`, 5.4 only the description
(`ISAKMP SA established; REPLACE in 28s`). All three are read.

The contract: each line is parsed, or it is noise listed below with a sample, or the parser
raises ParseError naming the command, the line number and the text. A count pluto printed
itself (`IKE SAs: total(1)`) must agree with the states read, else ParseError too: a partial
reading never becomes "no SAs".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from holdtime.errors import ParseError
from holdtime.probes.ipsec_model import ChildSa, ConnectionConfig, IkeSa, IpsecStatus


@dataclass(frozen=True, slots=True)
class LibreswanState:
    """One state line of `ipsec showstates` / `ipsec status`."""

    serial: int
    connection: str
    instance: str  # "[2] 192.1.2.45", "[1][1] 192.1.2.45" (labelled), or ""
    state: str  # STATE_V2_ESTABLISHED_IKE_SA; 5.4 has no token: its description then
    description: str  # "established IKE SA"
    is_child: bool
    established: bool
    version: str = ""  # IKEv1 / IKEv2
    parent_serial: int | None = None  # the IKE SA of a child ("IKE SA #1" / "isakmp#1")
    rekey_in_seconds: int | None = None
    replace_in_seconds: int | None = None
    newest: bool = False
    bytes_in: int | None = None  # from the state's "Traffic:" line in `ipsec status`
    bytes_out: int | None = None


@dataclass(frozen=True, slots=True)
class LibreswanPending:
    """`#1: pending CHILD SA for "conn"`: IKE SA #1 still has to negotiate that child."""

    serial: int
    connection: str
    instance: str


@dataclass(frozen=True, slots=True)
class LibreswanTraffic:
    """One line of `ipsec trafficstatus`: an established child SA and its byte counters.

    The counters are None (unknown, not zero) when pluto printed none (kernel without them).
    """

    serial: int
    connection: str
    instance: str
    sa_type: str  # ESP / AH
    add_time: int | None  # epoch seconds when the SA was added
    bytes_in: int | None
    bytes_out: int | None
    peer_id: str = ""
    username: str = ""
    lease: str = ""


@dataclass(frozen=True, slots=True)
class LibreswanConnection:
    """A connection of `ipsec status`: its main line (and 5.x `routing:` detail line)."""

    name: str
    instance: str
    local_ts: tuple[str, ...]
    remote_ts: tuple[str, ...]
    local_host: str
    remote_host: str
    routing: str  # unrouted, prospective erouted, erouted HOLD, routed-ondemand, ... ("" unknown)


@dataclass(frozen=True, slots=True)
class LibreswanCounts:
    """The totals pluto printed itself (`IKE SAs: total(1), ...`, `IPsec SAs: total(1), ...`)."""

    ike_sas: int | None = None
    ipsec_sas: int | None = None
    loaded_connections: int | None = None  # `Total IPsec connections: loaded 9, ...`


@dataclass(frozen=True, slots=True)
class LibreswanStatus:
    """What `ipsec status` says: connections, states, pending children and pluto's totals."""

    connections: tuple[LibreswanConnection, ...] = ()
    states: tuple[LibreswanState, ...] = ()
    pending: tuple[LibreswanPending, ...] = ()
    counts: LibreswanCounts = LibreswanCounts()


# 000 #6: ...   006 #2: ...   (4.x message codes; 5.x prints none)
_CODE = re.compile(r"^\d{3}(?: |$)")
# "east"[2]   "labeled"[1][1]   "private-or-clear#192.1.2.0/24"[1]
_NAME = r"\"(?P<conn>[^\"]+)\"(?P<inst>(?:\[\d+\])*)"
# #6: "east"[2] 192.1.2.45:500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 28523s; ...  # noqa: E501
# #2: "westnet-eastnet":500 ESTABLISHED_CHILD_SA (IPsec SA established); ...; IKE SA #1; idle;
# #1: "northnet-westnet":500 ISAKMP SA established; REPLACE in 28s; newest; ...   (5.4)
# #2: "private-or-clear#192.1.2.0/24"[1] 10.0.10.1/32=== ...192.1.2.23:500 established Child SA;
_STATE = re.compile(
    rf"^#(?P<serial>\d+): {_NAME}(?: (?P<peer>[^;\"]+?))?:(?P<port>\d+) (?P<body>\S.*)$"
)
# STATE_V2_PARENT_R1 (sent IKE_SA_INIT (or IKE_INTERMEDIATE) response); REKEY in 3s
_TOKEN_BODY = re.compile(
    r"^(?P<state>[A-Z][A-Z0-9_]+) \((?P<desc>[^()]*(?:\([^()]*\)[^()]*)*)\);?(?P<rest>.*)$"
)
# ISAKMP SA established; REPLACE in 28s; ...     sent QI2, IPsec SA established; ...  (5.4)
_DESC_BODY = re.compile(r"^(?P<desc>[A-Za-z][A-Za-z0-9_ ,()/-]*?);(?P<rest>.*)$")
# #2: "westnet-eastnet" esp.a1b2c3d4@192.1.2.23 esp.e5f6a7b8@192.1.2.45 tun.0@192.1.2.23 ...
# #2: "labeled"[1][1] 192.1.2.45 esp.ESPSPIi@192.1.2.45 ... Traffic: ESPin=64B ESPout=64B ESPmax=2^63B  # noqa: E501
_SPIS = re.compile(
    rf"^#(?P<serial>\d+): {_NAME}(?P<mid>.*? (?:esp|ah|comp|tun)\.[0-9A-Za-z]+@\S+.*?)"
    r"(?: Traffic: (?P<traffic>.*?))?\s*$"
)
# ESPin=84B ESPout=1KB ESPmax=2^63B   (AHin=.. IPCOMPin=..)
_COUNTER = re.compile(r"\b(?:ESP|AH|IPCOMP)(in|out)=(\d+)([KMGT]?)B\b")
# #4: pending Child SA for "static"      #1: pending CHILD SA for "private#192.1.2.0/24"[1] ...192.1.2.23  # noqa: E501
_PENDING = re.compile(
    rf"^#(?P<serial>\d+): pending (?:CHILD|Child|IPsec) SA for {_NAME}(?P<peer> .*)?$"
)
# REKEY in 28523s   REPLACE in 28793s   EVENT_SA_REPLACE in 27896s   EXPIRE in 100s
_TIMER = re.compile(r"(?:EVENT_)?(?:v2_)?(SA_REPLACE|REPLACE|REKEY|SA_EXPIRE|EXPIRE) in (-?\d+)s")
# IKE SA #1   ISAKMP SA #1 (5.4)   isakmp#1
_PARENT = re.compile(r"(?:IKE SA #|ISAKMP SA #|isakmp#)(\d+)")
# "east"[2]: 192.0.2.0/24===192.1.2.23[@east]...192.1.2.45[@road]===192.0.3.0/24; unrouted; ...
# "north-dpd/0x1":   CAs: '...'     (detail line: two or more spaces after the colon)
_CONN_LINE = re.compile(rf"^{_NAME}(?: (?P<peer>[^\"]*?))?:(?P<rest>(?: .*)?)$")
#  192.0.2.0/24===192.1.2.23[@east]...192.1.2.45===192.0.3.0/24; prospective erouted; eroute owner: #0  # noqa: E501
_CONN_MAIN = re.compile(r"^ (?P<left>[^; ]?[^;]*?)\.\.\.(?P<right>[^;]*?);(?P<fields>.*)$")
# prospective erouted   erouted HOLD   routed-ondemand   unrouted   (never `key=value`)
_ROUTING_WORDS = re.compile(r"^[a-zA-Z][a-zA-Z -]*$")
#   routing: unrouted;       (5.x detail line)
_CONN_ROUTING = re.compile(r"^\s+routing: (?P<routing>[^;]+);")
# #2: "westnet-eastnet", type=ESP, add_time=1234567890, inBytes=84, outBytes=84, maxBytes=2^63B, id='@east'  # noqa: E501
# #2: "private-or-clear#192.1.2.0/24"[1] 10.0.10.1/32=== ...192.1.2.23, type=ESP, add_time=..., ...
# #2: "interop", type=ESP, add_time=1234567890, id='@east'     (no counters: unknown, not zero)
# #2: "road-east", username=xroad, type=ESP, ...   (IKEv1 XAUTH user first)
_TRAFFIC = re.compile(
    rf"^#(?P<serial>\d+): {_NAME}(?: (?P<peer>[^,\"]*))?, (?P<fields>(?:username|type)=.*)$"
)
# type=ESP   id='CN=vpnclient, O=IKEv2 VPN'   lease=192.3.1.0/32,2001:db8:0:3:1::/128
_FIELD = re.compile(r"(?P<key>[A-Za-z_]+)=(?P<value>'[^']*'|.*?)(?:, (?=[A-Za-z_]+=)|,?\s*$)")
# IKE SAs: total(1), half-open(0), open(0), authenticated(1), anonymous(0)
_IKE_TOTAL = re.compile(r"^IKE SAs: total\((?P<total>\d+)\)(?:, [a-z-]+\(\d+\))*\s*$")
# IPsec SAs: total(1), authenticated(1), anonymous(0)
_IPSEC_TOTAL = re.compile(r"^IPsec SAs: total\((?P<total>\d+)\)(?:, [a-z-]+\(\d+\))*\s*$")
# Total IPsec connections: loaded 9, routed 0, active 0
_LOADED = re.compile(r"^Total IPsec connections: loaded (?P<loaded>\d+)(?:, [a-z]+ \d+)*\s*$")

# Lines of `ipsec status` that carry no SA or connection state, each with a sample. The global
# section (pluto's settings, interfaces, algorithms) comes first; its noise is accepted only
# there, before the first connection, state or section line, so a stray `key=value` line
# among the states is not silently taken for configuration.
_GLOBAL_NOISE = tuple(
    re.compile(pattern)
    for pattern in (
        r"^using kernel interface: \S+$",  # using kernel interface: xfrm
        # interface lo UDP 127.0.0.1:500   interface lo 127.0.0.1:UDP/4500 (NAT fixed)
        # interface lo/lo 127.0.0.1:4500   interface eth2/eth2 2001:db8:9:2::23@500  (3.x)
        r"^interface \S+ (?:(?:UDP|TCP) )?\S+(?: \([A-Za-z ]+\))?$",
        r"^nat-traversal: .*$",  # nat-traversal: keep-alive=20, nat-ikeport=4500
        r"^- excluded subnets: .*$",  # - excluded subnets: 192.0.1.0/24, 2001:db8:0:1::/64
        r"^fips mode=\S+;?$|^SElinux=\S+$|^seccomp=\S+$",  # fips mode=disabled;  SElinux=disabled
        r"^config setup options:$|^debug:?(?: .*)?$",  # config setup options:   debug: none
        r"^virtual-private \(%priv\):$",  # virtual-private (%priv):
        r"^- (?:allowed|disallowed) \d+ subnets?: .*$",  # - allowed 3 subnets: 10.0.0.0/8, ...
        r"^- (?:allowed|disallowed) subnets: .*$",
        # configdir=/etc, configfile=/etc/ipsec.conf, ...   nat-traversal=yes, keep-alive=20
        r"^[a-z][a-z0-9_-]*=[^,]*(?:, [a-z][a-z0-9_-]*=.*)*$",
        r"^(?:Kernel|IKE) algorithms supported:$",  # Kernel algorithms supported:
        # algorithm ESP encrypt: name=AES_CBC   algorithm IKE Key Exchange Method (DH): name=MODP1536  # noqa: E501
        r"^algorithm (?:ESP|AH/ESP|IKE) [A-Za-z /()]+: .*$",
        r"^stats db_ops: .*$",  # stats db_ops: {curr_cnt, total_cnt, maxsz} :context={0,0,0} ...
    )
)
# Section lines and shunts, anywhere:
_STATUS_NOISE = tuple(
    re.compile(pattern)
    for pattern in (
        r"^\s*$",  # "000 " / " ": blank separators
        r"^Connection list:$",  # Connection list:
        # State Information: DDoS cookies not required, Accepting new IKE connections
        r"^State Information: .*$|^State list:$",
        r"^Bare Shunt list:$",  # Bare Shunt list:
        # 192.1.3.209/32 -0-> 192.1.2.23/32 => %hold 0    oe-failing   (shunts: no SA state)
        r"^\S+ -\d+-> \S+ => \S+ \d+\s+\S.*$",
    )
)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its 4.x message code)."""
    for number, raw in enumerate(text.splitlines(), start=1):
        yield number, _CODE.sub("", raw, count=1).rstrip()


def _not_understood(command: str, number: int, line: str) -> ParseError:
    return ParseError(f"line {number} of `{command}` not understood: {line.strip()[:100]!r}")


def _instance(inst: str, peer: str | None) -> str:
    return f"{inst} {(peer or '').strip()}".strip() if inst else ""


def _version(state: str, desc: str) -> str:
    if state:
        v1 = re.match(r"^(?:STATE_)?(?:MAIN|AGGR|QUICK|XAUTH|MODE_CFG|INFO)", state)
        return "IKEv1" if v1 else "IKEv2"
    if re.search(r"IKE_SA_INIT|IKE_AUTH|IKE_INTERMEDIATE|CREATE_CHILD_SA|Child SA|IKE SA", desc):
        return "IKEv2"
    return "IKEv1"  # ISAKMP SA, IPsec SA, Main/Aggressive/Quick Mode


_IKE_ESTABLISHED = frozenset(
    {"STATE_MAIN_I4", "STATE_MAIN_R3", "STATE_AGGR_I2", "STATE_AGGR_R2", "STATE_PARENT_I3",
     "STATE_PARENT_R2", "MAIN_I4", "MAIN_R3", "AGGR_I2", "AGGR_R2"}
)  # fmt: skip
_CHILD_ESTABLISHED = frozenset(
    {"STATE_QUICK_I2", "STATE_QUICK_R2", "STATE_V2_IPSEC_I", "STATE_V2_IPSEC_R", "QUICK_I2",
     "QUICK_R2"}
)  # fmt: skip
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _state(match: re.Match[str]) -> LibreswanState | None:
    """The state of a `#N: "conn":port ...` line, None if its body is in no known form."""
    body = match.group("body")
    if token := _TOKEN_BODY.match(body):
        state, desc, rest = token.group("state"), token.group("desc"), token.group("rest")
        is_child = bool(re.search(r"CHILD|QUICK|IPSEC", state)) or "IPsec SA" in desc
        known = _CHILD_ESTABLISHED if is_child else _IKE_ESTABLISHED
        established = "ESTABLISHED" in state or state in known
    elif described := _DESC_BODY.match(body + ("" if body.endswith(";") else ";")):
        state, desc, rest = "", described.group("desc").strip(), described.group("rest")
        is_child = bool(re.search(r"Child SA|IPsec SA|Quick Mode", desc))
        established = bool(re.search(r"\bestablished\b", desc))
    else:
        return None
    timers = {key: int(value) for key, value in _TIMER.findall(rest)}
    parent = _PARENT.search(rest)
    return LibreswanState(
        serial=int(match.group("serial")),
        connection=match.group("conn"),
        instance=_instance(match.group("inst"), match.group("peer")),
        state=state or desc,
        description=desc,
        is_child=is_child,
        established=established,
        version=_version(state, desc),
        parent_serial=int(parent.group(1)) if parent else None,
        rekey_in_seconds=timers.get("REKEY"),
        replace_in_seconds=timers.get("REPLACE", timers.get("SA_REPLACE")),
        newest=bool(re.search(r";\s*newest\b", rest)),
    )


def _with_traffic(states: list[LibreswanState], serial: int, traffic: str) -> list[LibreswanState]:
    counters = {
        direction: int(amount) * _UNITS[unit]
        for direction, amount, unit in _COUNTER.findall(traffic)
    }
    return [
        replace(s, bytes_in=counters.get("in"), bytes_out=counters.get("out"))
        if s.serial == serial
        else s
        for s in states
    ]


def _state_lines(
    command: str,
    number: int,
    line: str,
    states: list[LibreswanState],
    pending: list[LibreswanPending],
) -> list[LibreswanState] | None:
    """Read a `#N: ...` line into states/pending; None when the line is not a state line."""
    if match := _STATE.match(line):
        state = _state(match)
        if state is None:
            raise _not_understood(command, number, line)
        return [*states, state]
    if match := _SPIS.match(line):
        traffic = match.group("traffic")
        return _with_traffic(states, int(match.group("serial")), traffic) if traffic else states
    if match := _PENDING.match(line):
        pending.append(
            LibreswanPending(
                serial=int(match.group("serial")),
                connection=match.group("conn"),
                instance=_instance(match.group("inst"), match.group("peer")),
            )
        )
        return states
    return None


def parse_libreswan_showstates(text: str) -> tuple[LibreswanState, ...]:
    """Parse `ipsec showstates` / `ipsec whack --showstates`; empty output means no states."""
    return _parse_showstates(text, "ipsec showstates")[0]


def libreswan_showstates_status(text: str) -> LibreswanStatus:
    """`ipsec showstates` as a LibreswanStatus: its states and pending children, no connections."""
    states, pending = _parse_showstates(text, "ipsec showstates")
    return LibreswanStatus(states=states, pending=pending)


def _parse_showstates(
    text: str, command: str
) -> tuple[tuple[LibreswanState, ...], tuple[LibreswanPending, ...]]:
    states: list[LibreswanState] = []
    pending: list[LibreswanPending] = []
    for number, line in _lines(text):
        if not line.strip():
            continue  # "000 ": blank separator
        read = _state_lines(command, number, line, states, pending)
        if read is None:
            raise _not_understood(command, number, line)
        states = read
    return tuple(states), tuple(pending)


def parse_libreswan_status(text: str) -> LibreswanStatus:
    """Parse `ipsec status` / `ipsec whack --status` / `ipsec auto --status`.

    Connections are every name a connection line mentions (an on-demand or template
    connection with no SA is still configured); states, pending children and pluto's own
    totals, which must agree with the states read.
    """
    command = "ipsec status"
    if not text.strip():
        raise ParseError(f"`{command}`: empty output")
    connections: dict[tuple[str, str], LibreswanConnection] = {}
    states: list[LibreswanState] = []
    pending: list[LibreswanPending] = []
    counts = LibreswanCounts()
    recognised = False  # a connection, state, count or section line was read
    for number, line in _lines(text):
        if not recognised and any(noise.match(line) for noise in _GLOBAL_NOISE):
            continue
        read = _state_lines(command, number, line, states, pending)
        if read is not None:
            states, recognised = read, True
            continue
        if match := _CONN_LINE.match(line):
            key = (match.group("conn"), match.group("inst"))
            conn = connections.get(key) or LibreswanConnection(
                name=key[0],
                instance=_instance(key[1], match.group("peer")),
                local_ts=(),
                remote_ts=(),
                local_host="",
                remote_host="",
                routing="",
            )
            connections[key] = _connection_line(command, number, line, match.group("rest"), conn)
            recognised = True
            continue
        if (counted := _counted(line, counts)) is not None:
            counts = counted
        elif not any(noise.match(line) for noise in _STATUS_NOISE):
            raise _not_understood(command, number, line)
        recognised = recognised or counts != LibreswanCounts() or bool(line.strip(" -"))
    if not recognised:
        raise ParseError(f"`{command}`: not libreswan status output ({text.strip()[:80]!r})")
    _check_counts(command, counts, states, len(connections))
    return LibreswanStatus(
        connections=tuple(connections.values()),
        states=tuple(states),
        pending=tuple(pending),
        counts=counts,
    )


def _counted(line: str, counts: LibreswanCounts) -> LibreswanCounts | None:
    """counts updated from a totals line, None if the line is not one."""
    if total := _IKE_TOTAL.match(line):
        return replace(counts, ike_sas=int(total.group("total")))
    if total := _IPSEC_TOTAL.match(line):
        return replace(counts, ipsec_sas=int(total.group("total")))
    if loaded := _LOADED.match(line):
        return replace(counts, loaded_connections=int(loaded.group("loaded")))
    return None


def _check_counts(
    command: str, counts: LibreswanCounts, states: Sequence[LibreswanState], connections: int
) -> None:
    """pluto's totals win: a disagreement with what was read is a ParseError, not a guess.

    `Total IPsec connections: loaded N` counts templates and instances, as the connection
    lines do (equal in every 3.28 to 5.4 test transcript of libreswan's suite).
    """
    if counts.loaded_connections is not None and counts.loaded_connections != connections:
        raise ParseError(
            f"`{command}` says Total IPsec connections: loaded {counts.loaded_connections} but "
            f"{connections} connections were read"
        )
    ike = sum(1 for s in states if not s.is_child)
    child = sum(1 for s in states if s.is_child)
    if counts.ike_sas is not None and counts.ike_sas != ike:
        raise ParseError(
            f"`{command}` says IKE SAs: total({counts.ike_sas}) but {ike} IKE SA state lines "
            "were read"
        )
    if counts.ipsec_sas is not None and counts.ipsec_sas != child:
        raise ParseError(
            f"`{command}` says IPsec SAs: total({counts.ipsec_sas}) but {child} child SA state "
            "lines were read"
        )


def _connection_line(
    command: str, number: int, line: str, rest: str, conn: LibreswanConnection
) -> LibreswanConnection:
    """A connection's main line fills hosts, selectors and routing; detail lines are noise.

    Detail lines (`"east":   oriented; my_ip=unset; ...`, `"east":   CAs: ...`) hold
    configuration, not state; only their 5.x `routing:` entry is read.
    """
    if rest.startswith("  ") or not rest.strip():
        detail = _CONN_ROUTING.match(rest)
        return replace(conn, routing=detail.group("routing").strip()) if detail else conn
    main = _CONN_MAIN.match(rest)
    if main is None:
        raise _not_understood(command, number, line)
    # left:  192.0.2.0/24===192.1.2.23[@east]---192.1.2.254
    # right: 192.1.2.254---192.1.2.45[@road]===192.0.3.0/24
    left, right = main.group("left").strip(), main.group("right").strip()
    left_subnet, _, left_host = left.rpartition("===")
    right_host, _, right_subnet = right.partition("===")
    left_host = re.sub(r"\[.*?\]|---.*$", "", left_host)
    right_host = re.sub(r"\[.*?\]|^.*?---", "", right_host)
    right_host = re.sub(r"\[.*$", "", right_host)
    fields = [f.strip() for f in main.group("fields").split(";")]
    routing = fields[0] if fields and _ROUTING_WORDS.match(fields[0]) else conn.routing
    return replace(
        conn,
        local_ts=(left_subnet or left_host,),
        remote_ts=(right_subnet or right_host,),
        local_host=left_host,
        remote_host=right_host,
        routing=routing,
    )


def _fields(command: str, number: int, line: str, text: str) -> dict[str, str]:
    """`type=ESP, add_time=1, id='a, b'` as a dict; ParseError if anything is left over."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _FIELD.match(text, position)
        if match is None or match.end() == position:
            raise _not_understood(command, number, line)
        fields[match.group("key")] = match.group("value").strip().strip("'")
        position = match.end()
    return fields


def _counter(command: str, number: int, fields: dict[str, str], key: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None  # not printed: unknown, never zero
    if not value.isdecimal():
        raise ParseError(f"line {number} of `{command}`: {key}={value!r} is not a number")
    return int(value)


def parse_libreswan_trafficstatus(text: str) -> tuple[LibreswanTraffic, ...]:
    """Parse `ipsec trafficstatus` / `ipsec whack --trafficstatus`; empty means no child SAs."""
    command = "ipsec trafficstatus"
    rows: list[LibreswanTraffic] = []
    for number, line in _lines(text):
        if not line.strip():
            continue  # "006 ": blank separator
        match = _TRAFFIC.match(line)
        if match is None:
            raise _not_understood(command, number, line)
        fields = _fields(command, number, line, match.group("fields"))
        add_time = fields.get("add_time", "")
        rows.append(
            LibreswanTraffic(
                serial=int(match.group("serial")),
                connection=match.group("conn"),
                instance=_instance(match.group("inst"), match.group("peer")),
                sa_type=fields.get("type", ""),
                add_time=int(add_time) if add_time.isdecimal() else None,
                bytes_in=_counter(command, number, fields, "inBytes"),
                bytes_out=_counter(command, number, fields, "outBytes"),
                peer_id=fields.get("id", ""),
                username=fields.get("username", ""),
                lease=fields.get("lease", ""),
            )
        )
    return tuple(rows)


def parse_libreswan_briefstatus(text: str) -> LibreswanCounts:
    """Parse `ipsec briefstatus` / `ipsec whack --briefstatus`: pluto's own totals."""
    command = "ipsec briefstatus"
    counts = LibreswanCounts()
    for number, line in _lines(text):
        if (counted := _counted(line, counts)) is not None:
            counts = counted
        elif not any(noise.match(line) for noise in _STATUS_NOISE):
            raise _not_understood(command, number, line)
    if counts.ike_sas is None or counts.ipsec_sas is None:
        raise ParseError(f"`{command}`: no `IKE SAs: total(N)` / `IPsec SAs: total(N)` lines")
    return counts


def _inst_key(instance: str) -> str:
    return instance.split(" ", 1)[0]


def libreswan_status(
    status: LibreswanStatus,
    traffic: Sequence[LibreswanTraffic] = (),
    now_epoch: float | None = None,
) -> IpsecStatus:
    """The common model from parsed `ipsec status` (+ `ipsec trafficstatus`).

    Child SAs hang under the IKE SA their line names (`IKE SA #1`), else under the newest IKE
    SA of the same connection instance; a pending child (`pending CHILD SA for`) is a child
    that is not installed. trafficstatus byte counters win over the rounded `Traffic:` figures
    of `ipsec status`; `now_epoch` (the device's clock) turns add_time into an age.
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
            bytes_in=row.bytes_in if row and row.bytes_in is not None else state.bytes_in,
            bytes_out=row.bytes_out if row and row.bytes_out is not None else state.bytes_out,
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
    for waiting in status.pending:
        if waiting.serial in children:
            children[waiting.serial].append(
                ChildSa(name=waiting.connection, unique_id="", state="PENDING", installed=False)
            )
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
                version=state.version,
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

"""strongSwan readers: `swanctl --list-sas` / `--list-conns` (vici) and the legacy stroke
interface `ipsec statusall` / `ipsec status` (5.x with the starter), into one IPsec model.

Empty output from an SA listing is a real answer (no SAs), not an error; any line that is
neither parsed nor listed here as noise raises ParseError naming the command, the line number
and the text, so a check never concludes presence or absence from a partial reading.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from holdtime.errors import ParseError
from holdtime.probes.ipsec_model import ChildConfig, ChildSa, ConnectionConfig, IkeSa, IpsecStatus

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
    """Parse `swanctl --list-sas` (strongSwan 5.9); empty output means no SAs.

    Each SA's fields are gathered in a dict and the frozen IkeSa / ChildSa built once, at the
    SA's end (a ``dataclasses.replace`` per line was most of this parser's CPU).
    """
    sas: list[IkeSa] = []
    ike: dict[str, Any] | None = None
    children: list[ChildSa] = []
    child: dict[str, Any] | None = None

    def flush_child() -> None:
        nonlocal child
        if ike is not None and child is not None:
            children.append(ChildSa(**child))
        child = None

    def flush_ike() -> None:
        nonlocal ike, children
        flush_child()
        if ike is not None:
            sas.append(IkeSa(**ike, children=tuple(children)))
        ike, children = None, []

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        if not line.strip():
            continue
        if match := _SW_IKE.match(line):
            flush_ike()
            state = match.group("state")
            ike = {
                "name": match.group("name"),
                "unique_id": f"#{match.group('id')}",
                "state": state,
                "established": state == "ESTABLISHED",
                "version": match.group("version"),
            }
            continue
        if ike is None:
            raise ParseError(
                f"line {number} of `swanctl --list-sas` not understood (no IKE SA header above): "
                f"{line.strip()[:100]!r}"
            )
        if match := _SW_CHILD.match(line):
            flush_child()
            state = match.group("state")
            child = {
                "name": match.group("name"),
                "unique_id": f"#{match.group('id')}",
                "state": state,
                "installed": state in _INSTALLED_STATES,
                "mode": match.group("mode"),
                "protocol": match.group("proto"),
            }
        elif child is None and (match := _SW_ENDPOINT.match(line)):
            host, ident = match.group("host"), match.group("id")
            if match.group("side") == "local":
                ike.update(local_host=host, local_id=ident)
            else:
                ike.update(remote_host=host, remote_id=ident)
        elif child is None and (match := _SW_ESTABLISHED.match(line)):
            timers = _timers(match.group("rest"))
            ike.update(
                established_seconds=int(match.group("ago")),
                rekey_in_seconds=timers.get("rekeying"),
                reauth_in_seconds=timers.get("reauth"),
                expires_in_seconds=timers.get("expires"),
            )
        elif child is None and _SW_IGNORED.match(line):
            continue
        elif child is not None and (match := _SW_INSTALLED.match(line)):
            timers = _timers(match.group("rest"))
            child.update(
                installed_seconds=int(match.group("ago")),
                rekey_in_seconds=timers.get("rekeying"),
                expires_in_seconds=timers.get("expires"),
            )
        elif child is not None and (match := _SW_TRAFFIC.match(line)):
            ago = int(match.group("ago")) if match.group("ago") else None
            if match.group("dir") == "in":
                child.update(
                    bytes_in=int(match.group("bytes")),
                    packets_in=int(match.group("packets")),
                    last_in_seconds=ago,
                )
            else:
                child.update(
                    bytes_out=int(match.group("bytes")),
                    packets_out=int(match.group("packets")),
                    last_out_seconds=ago,
                )
        elif child is not None and (match := _SW_TS.match(line)):
            selectors = tuple(match.group("ts").split())
            if match.group("side") == "local":
                child["local_ts"] = selectors
            else:
                child["remote_ts"] = selectors
        else:
            raise ParseError(
                f"line {number} of `swanctl --list-sas` not understood: {line.strip()[:100]!r}"
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
                f"line {number} of `swanctl --list-conns` not understood (no connection above it): "
                f"{line.strip()[:100]!r}"
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
                f"line {number} of `swanctl --list-conns` not understood: {line.strip()[:100]!r}"
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


# == stroke: `ipsec statusall` / `ipsec status` (strongSwan 5.x with the starter) ============
# Every line is `NAME: ...` (a connection), `NAME[N]: ...` (an IKE SA), `NAME{N}: ...` (a
# CHILD SA), a section header or one of the noise lines below. Names are right-aligned to 12
# columns; leading blanks are not significant.

# Security Associations (2 up, 1 connecting):
_ST_SAS_HEADER = re.compile(
    r"^Security Associations \((?P<up>\d+) up, (?P<connecting>\d+) connecting\):$"
)
# Connections:   Routed Connections:   Shunted Connections:   Listening IP addresses:
_ST_SECTION = re.compile(
    r"^(?P<section>Connections|Routed Connections|Shunted Connections|Listening IP addresses|"
    r"Virtual IP pools \(size/online/offline\)):$"
)
# Status of IKE charon daemon (strongSwan 5.9.8, Linux 6.18.44, x86_64):
_ST_DAEMON = re.compile(r"^Status of IKE charon daemon(?: \((?P<about>[^)]*)\))?:$")
#   uptime: 12 seconds, since Dec 01 20:23:32 2026     malloc: sbrk 2297856, mmap 0, ...
#   worker threads: 7 of 16 idle, 5/0/4/0 working, ...  loaded plugins: charon random nonce ...
#   malloc sbrk XXXXXX,mmap X, used XXXXXX, free XXXXX   (libreswan's test sanitizer)
_ST_DAEMON_INFO = re.compile(r"^(?:uptime|malloc|worker threads|loaded plugins)[: ].*$")
#   10.77.0.1   2001:db8::1     (Listening IP addresses)
_ST_ADDRESS = re.compile(r"^[0-9A-Fa-f.:]+(?:%\S+)?$")
#   10.42.42.0/24: 254/0/0       (Virtual IP pools)
_ST_POOL = re.compile(r"^\S+: \d+/\d+/\d+$")
#   none          (Security Associations, Routed Connections without entries)
_ST_NONE = re.compile(r"^none$")
# tun:  10.77.0.1...10.77.0.2  IKEv2, dpddelay=30s
_ST_CONN = re.compile(
    r"^(?P<name>[^\s\[{:]+):  (?P<local>\S+)\.\.\.(?P<remote>\S+)  (?P<version>IKEv[12]|IKE)"
    r"(?:, .*)?$"
)
# tun:   local:  [side-a] uses pre-shared key authentication
# tun:   remote: [C=CH, O=strongSwan, CN=moon] uses public key authentication
_ST_CONN_AUTH = re.compile(r"^(?P<name>[^\s\[{:]+):   (?:local|remote): +\[.*\] uses .+$")
# tun:    cert:  "C=CH, O=strongSwan, CN=moon"    tun:    ca:    "..."   tun:    groups: x
_ST_CONN_AUTH_ITEM = re.compile(
    r"^(?P<name>[^\s\[{:]+):    (?:cert|ca|groups|eap_id|xauth_id|aaa_id|hashalg|cacert)s?: +.*$"
)
# tun:   child:  10.1.0.0/24 10.1.1.0/24 === 10.2.0.0/24 10.2.1.0/24 TUNNEL, dpdaction=restart
_ST_CONN_CHILD = re.compile(
    r"^(?P<name>[^\s\[{:]+):   child:  (?P<local>.+?) === (?P<remote>.+?) "
    r"(?P<mode>TUNNEL|TRANSPORT|TRANSPORT_PROXY|BEET|PASS|DROP)(?:, .*)?$"
)
# bypass:  10.1.0.0/24 === 10.1.0.0/24 PASS      (Shunted Connections: no tunnel state)
# Bypass LAN 192.0.2.0/24:  192.0.2.0/24 === 192.0.2.0/24 PASS     (bypass-lan plugin)
_ST_SHUNT = re.compile(r"^(?P<name>[^\[{:]+):  .+ === .+ (?:PASS|DROP)$")
# tun[1]: ESTABLISHED 12 seconds ago, 10.77.0.1[side-a]...10.77.0.2[side-b]
# dead[3]: CONNECTING, 10.77.0.1[%any]...10.77.0.9[%any]
_ST_IKE = re.compile(
    r"^(?P<name>[^\s\[{:]+)\[(?P<id>\d+)\]: (?P<state>[A-Z_]+)"
    r"(?: (?P<ago>\d+) (?P<unit>second|minute|hour|day)s? ago)?, "
    r"(?P<local>[^\[\]]*)\[(?P<local_id>[^\]]*)\]\.\.\.(?P<remote>[^\[\]]*)\[(?P<remote_id>[^\]]*)\]$"
)
# tun[1]: IKEv2 SPIs: 3f4efd96242c4f99_i* 4105fd036f5b680d_r, pre-shared key reauthentication in 2 hours  # noqa: E501
# site-2-site[141]: IKEv2 SPIs: 0ef6ad945e249aba_i f9e56bba03571271_r*, rekeying in 13 hours
_ST_IKE_SPIS = re.compile(
    r"^(?P<name>[^\s\[{:]+)\[(?P<id>\d+)\]: (?P<version>IKEv[12]) SPIs: \S+ \S+?"
    r"(?P<rest>(?:, .*)?)$"
)
# tun[1]: IKE proposal: AES_CBC_128/...   tun[1]: Tasks active: IKE_VENDOR ...
# tun[1]: Tasks queued: QUICK_MODE        tun[1]: Remote EAP identity: carol@strongswan.org
_ST_IKE_NOISE = re.compile(
    r"^[^\s\[{:]+\[\d+\]: (?:IKE proposal: .*|Tasks (?:queued|active|passive): .*|"
    r"Remote (?:EAP|XAuth) identity: .*)$"
)
# tun{1}:  INSTALLED, TUNNEL, reqid 1, ESP in UDP SPIs: 7fdc3d23_i 5cb2edd3_o
# net{1}:  ROUTED, TUNNEL, reqid 1         (Routed Connections: a trap policy, no SA)
_ST_CHILD = re.compile(
    r"^(?P<name>[^\s\[{:]+)\{(?P<id>\d+)\}:  (?P<state>[A-Z_]+), (?P<mode>[A-Z_]+), "
    r"reqid (?P<reqid>\d+)(?:, (?P<proto>ESP|AH)(?P<udp> in UDP)? SPIs: \S+ \S+)?"
    r"(?:, IPCOMP CPIs: \S+ \S+)?$"
)
# tun{1}:  AES_CBC_128/HMAC_SHA2_256_128, 252 bytes_i (3 pkts, 0s ago), 252 bytes_o (3 pkts, 0s ago), rekeying in 50 minutes  # noqa: E501
# foo{3}:  AES_CBC_128/HMAC_SHA1_96, 0 bytes_i (0 pkts, 4s ago), 0 bytes_o, rekeying disabled
_ST_CHILD_TRAFFIC = re.compile(
    r"^(?P<name>[^\s\[{:]+)\{(?P<id>\d+)\}:  \S+, (?P<bytes_in>\d+) bytes_i"
    r"(?: \((?P<packets_in>\d+) pkts?(?:, (?P<ago_in>\d+)s ago)?\))?, (?P<bytes_out>\d+) bytes_o"
    r"(?: \((?P<packets_out>\d+) pkts?(?:, (?P<ago_out>\d+)s ago)?\))?(?P<rest>(?:, .*)?)$"
)
# tun{1}:   10.1.0.0/24 10.1.1.0/24 === 10.2.0.0/24 10.2.1.0/24
_ST_CHILD_TS = re.compile(
    r"^(?P<name>[^\s\[{:]+)\{(?P<id>\d+)\}:   (?P<local>.+?) === (?P<remote>.+)$"
)
# rekeying in 42 minutes   reauthentication in 2 hours   expires in 3 days
_ST_TIMER = re.compile(
    r"\b(rekeying|reauthentication|expires) in (\d+) (second|minute|hour|day)s?\b"
)
_ST_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _stroke_timers(text: str) -> dict[str, int]:
    """`rekeying in 42 minutes` -> {"rekeying": 2520}: stroke rounds down to its unit."""
    return {key: int(value) * _ST_UNITS[unit] for key, value, unit in _ST_TIMER.findall(text)}


class _StrokeReader:
    """State of one pass over a stroke listing (children attach to the IKE SA above them)."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.section = ""
        self.sas: list[IkeSa] = []
        self.conns: dict[str, ConnectionConfig] = {}
        self.routed: list[str] = []
        self.counted: int | None = None
        self.seen_header = False

    def fail(self, number: int, line: str) -> ParseError:
        return ParseError(
            f"line {number} of `{self.command}` not understood: {line.strip()[:100]!r}"
        )

    def read(self, number: int, line: str) -> None:
        if header := _ST_SAS_HEADER.match(line):
            self.section, self.seen_header = "sas", True
            self.counted = int(header.group("up")) + int(header.group("connecting"))
        elif section := _ST_SECTION.match(line):
            self.section, self.seen_header = section.group("section"), True
        elif _ST_DAEMON.match(line):
            self.section, self.seen_header = "daemon", True
        elif self._noise(line):
            pass
        elif self.section == "Connections":
            self.read_connection(number, line)
        elif self.section == "Routed Connections":
            self.read_routed(number, line)
        elif self.section == "sas":
            self.read_sa(number, line)
        else:
            raise self.fail(number, line)

    def _noise(self, line: str) -> bool:
        """Lines of a section that carry no tunnel state (each pattern has a sample above)."""
        return bool(
            (self.section == "daemon" and _ST_DAEMON_INFO.match(line))
            or (self.section == "Listening IP addresses" and _ST_ADDRESS.match(line))
            or (self.section.startswith("Virtual IP pools") and _ST_POOL.match(line))
            or (self.section in ("sas", "Routed Connections") and _ST_NONE.match(line))
            or (self.section == "Shunted Connections" and _ST_SHUNT.match(line))
        )

    def read_connection(self, number: int, line: str) -> None:
        if match := _ST_CONN.match(line):
            name = match.group("name")
            self.conns[name] = ConnectionConfig(
                name=name,
                version=match.group("version"),
                local_addrs=tuple(match.group("local").split(",")),
                remote_addrs=tuple(match.group("remote").split(",")),
            )
        elif match := _ST_CONN_CHILD.match(line):
            name = match.group("name")
            conn = self.conns.get(name) or ConnectionConfig(name=name)
            child = ChildConfig(
                name=name,
                mode=match.group("mode"),
                rekey_seconds=None,  # stroke does not print the configured interval
                local_ts=tuple(match.group("local").split()),
                remote_ts=tuple(match.group("remote").split()),
            )
            self.conns[name] = replace(conn, children=(*conn.children, child))
        elif not (_ST_CONN_AUTH.match(line) or _ST_CONN_AUTH_ITEM.match(line)):
            raise self.fail(number, line)

    def read_routed(self, number: int, line: str) -> None:
        if (match := _ST_CHILD.match(line)) and match.group("state") == "ROUTED":
            self.routed.append(match.group("name"))
        elif not _ST_CHILD_TS.match(line):
            raise self.fail(number, line)

    def read_sa(self, number: int, line: str) -> None:
        if match := _ST_IKE.match(line):
            state = match.group("state")
            ago = match.group("ago")
            self.sas.append(
                IkeSa(
                    name=match.group("name"),
                    unique_id=f"#{match.group('id')}",
                    state=state,
                    established=state == "ESTABLISHED",
                    local_host=match.group("local"),
                    remote_host=match.group("remote"),
                    local_id=match.group("local_id"),
                    remote_id=match.group("remote_id"),
                    established_seconds=int(ago) * _ST_UNITS[match.group("unit")] if ago else None,
                )
            )
            return
        if _ST_IKE_NOISE.match(line):
            return
        ike = self.sas[-1] if self.sas else None
        if ike is None:
            raise self.fail(number, line)
        if (match := _ST_IKE_SPIS.match(line)) and f"#{match.group('id')}" == ike.unique_id:
            timers = _stroke_timers(match.group("rest"))
            ike = replace(
                ike,
                version=match.group("version"),
                rekey_in_seconds=timers.get("rekeying"),
                reauth_in_seconds=timers.get("reauthentication"),
            )
        elif match := _ST_CHILD.match(line):
            state = match.group("state")
            child = ChildSa(
                name=match.group("name"),
                unique_id=f"#{match.group('id')}",
                state=state,
                installed=state in _INSTALLED_STATES,
                mode=match.group("mode") + ("-in-UDP" if match.group("udp") else ""),
                protocol=match.group("proto") or "",
            )
            ike = replace(ike, children=(*ike.children, child))
        elif (match := _ST_CHILD_TRAFFIC.match(line)) and self._is_last_child(ike, match):
            timers = _stroke_timers(match.group("rest"))
            ago_in, ago_out = match.group("ago_in"), match.group("ago_out")
            packets_in, packets_out = match.group("packets_in"), match.group("packets_out")
            child = replace(
                ike.children[-1],
                bytes_in=int(match.group("bytes_in")),
                bytes_out=int(match.group("bytes_out")),
                packets_in=int(packets_in) if packets_in else None,
                packets_out=int(packets_out) if packets_out else None,
                last_in_seconds=int(ago_in) if ago_in else None,
                last_out_seconds=int(ago_out) if ago_out else None,
                rekey_in_seconds=timers.get("rekeying"),
                expires_in_seconds=timers.get("expires"),
            )
            ike = replace(ike, children=(*ike.children[:-1], child))
        elif (match := _ST_CHILD_TS.match(line)) and self._is_last_child(ike, match):
            child = replace(
                ike.children[-1],
                local_ts=tuple(match.group("local").split()),
                remote_ts=tuple(match.group("remote").split()),
            )
            ike = replace(ike, children=(*ike.children[:-1], child))
        else:
            raise self.fail(number, line)
        self.sas[-1] = ike

    @staticmethod
    def _is_last_child(ike: IkeSa, match: re.Match[str]) -> bool:
        return bool(ike.children) and ike.children[-1].unique_id == f"#{match.group('id')}"

    def status(self) -> IpsecStatus:
        if not self.seen_header:
            raise ParseError(
                f"`{self.command}`: no `Security Associations` or `Connections` section"
            )
        if self.counted is not None and self.counted != len(self.sas):
            raise ParseError(
                f"`{self.command}` says {self.counted} IKE SAs (up + connecting) but "
                f"{len(self.sas)} were read"
            )
        conns = dict(self.conns)
        for name in self.routed:  # an auto=route connection: configured, waiting for traffic
            conns.setdefault(name, ConnectionConfig(name=name))
        return IpsecStatus("strongswan", ike_sas=tuple(self.sas), connections=tuple(conns.values()))


def _parse_stroke(text: str, command: str) -> IpsecStatus:
    if not text.strip():
        raise ParseError(f"`{command}`: empty output (is the starter running?)")
    reader = _StrokeReader(command)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line:  # blank lines carry nothing
            reader.read(number, line)
    return reader.status()


def parse_stroke_statusall(text: str) -> IpsecStatus:
    """Parse `ipsec statusall` (stroke, strongSwan 5.x): connections, SAs, counters."""
    return _parse_stroke(text, "ipsec statusall")


def parse_stroke_status(text: str) -> IpsecStatus:
    """Parse `ipsec status` (stroke, strongSwan 5.x): SAs and selectors, no counters."""
    return _parse_stroke(text, "ipsec status")

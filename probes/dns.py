"""DNS probe: ask every resolver of a `dns:` group for every name, over UDP and TCP, and keep
each answer exactly as it came back.

One target per group, because `dns.consistent` compares the controllers with each other. The
queries run in parallel under one deadline (3 x the group's timeout): a controller that hangs
costs its own queries their timeout, never the others' answers.

1. reach: each resolver is asked for the first name's A record once over UDP and once over TCP
   (what `dns.transport` judges). A resolver that answered neither is not asked again: its
   checks say why at the deadline instead of waiting out every query.
2. lookups: A and AAAA of every name, over UDP (over TCP when only TCP answered, and again over
   TCP when a UDP answer came back truncated).
3. reverse: the PTR of every address a lookup returned (and of every expected address).

The bytes are sent and read here (UDP with a connected socket, so an ICMP port unreachable is
"connection refused" at once; TCP with the 2-byte length prefix); dnspython builds the query and
parses the answer (`holdtime.probes.dns_answer`). Sockets are created inside the group's netns,
a batch per namespace switch (`SocketSupply`).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from holdtime import netns
from holdtime.errors import ParseError
from holdtime.plugins import Target
from holdtime.probes.dns_answer import DnsAnswer, normal_name, parse_dns_wire
from holdtime.probes.dns_config import DNS, DnsGroup, Resolver

if TYPE_CHECKING:
    from holdtime.inventory import Inventory

Clock = Callable[[], float]
MAX_PARALLEL_QUERIES = 32
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}
_LENGTH = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class DnsObservation:
    """Every answer of one group's resolvers, by phase (see the module docstring)."""

    group: str
    reach: tuple[DnsAnswer, ...]  # per resolver: the first name's A over udp and over tcp
    lookups: tuple[DnsAnswer, ...]  # per resolver x name x (A, AAAA), the answer used
    reverse: tuple[DnsAnswer, ...]  # per resolver x address: PTR (qname: the reverse name)


def reverse_name(address: str) -> str:
    """`172.16.1.11` -> `11.1.16.172.in-addr.arpa`."""
    return ipaddress.ip_address(address).reverse_pointer


class SocketSupply:
    """Fresh sockets made inside one network namespace, a batch per namespace switch.

    A socket keeps the namespace it was made in and works from any thread; switching a thread's
    namespace costs more than a query here, so sockets are made ahead, BATCH at a time. Close
    the supply when done (the spare sockets are file descriptors).
    """

    BATCH = 64

    def __init__(self, netns_name: str | None = None) -> None:
        self.netns = netns_name
        self._spare: dict[tuple[int, int], list[socket.socket]] = {}
        self._lock = threading.Lock()

    def take(self, family: int, kind: int) -> socket.socket:
        """A new socket of `family`/`kind` created inside the supply's namespace."""
        with self._lock:
            spare = self._spare.setdefault((family, kind), [])
            if not spare:
                with netns.entered(self.netns):
                    spare.extend(socket.socket(family, kind) for _ in range(self.BATCH))
            return spare.pop()

    def close(self) -> None:
        """Close every socket not taken."""
        with self._lock:
            for spare in self._spare.values():
                for sock in spare:
                    sock.close()
            self._spare.clear()

    def __enter__(self) -> SocketSupply:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def exchange(
    resolver: Resolver,
    wire: bytes,
    transport: str,
    timeout_seconds: float,
    sockets: SocketSupply,
) -> bytes:
    """Send one query and return the response bytes (OSError / TimeoutError on failure)."""
    family = socket.AF_INET6 if ":" in resolver.address else socket.AF_INET
    query_id = wire[:2]
    deadline = time.monotonic() + timeout_seconds
    where = (resolver.address, resolver.port)
    if transport == "tcp":
        with sockets.take(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_seconds)
            sock.connect(where)
            sock.sendall(_LENGTH.pack(len(wire)) + wire)
            (length,) = _LENGTH.unpack(_read_exactly(sock, 2, deadline))
            return _read_exactly(sock, length, deadline)
    with sockets.take(family, socket.SOCK_DGRAM) as sock:
        sock.connect(where)
        sock.send(wire)
        while True:
            sock.settimeout(_remaining(deadline))
            data = sock.recv(65535)
            if data[:2] == query_id:  # anything else is a stray datagram: keep listening
                return data


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _read_exactly(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionResetError(errno.ECONNRESET, "the server closed the connection")
        data += chunk
    return data


def ask(
    resolver: Resolver,
    qname: str,
    rdtype: str,
    transport: str,
    timeout_seconds: float,
    sockets: SocketSupply,
    *,
    clock: Clock = time.perf_counter,
) -> DnsAnswer:
    """One query to one resolver, described (no exception for DNS or network outcomes)."""
    import dns.message

    base = DnsAnswer(resolver.name, normal_name(qname), rdtype, transport, "not_asked")
    if timeout_seconds <= 0:
        return _with(base, "not_asked", detail="not asked: the group's deadline had passed")
    query = dns.message.make_query(qname, rdtype, use_edns=False)
    began = clock()
    try:
        wire = exchange(resolver, query.to_wire(), transport, timeout_seconds, sockets)
    except OSError as exc:
        state, detail = socket_outcome(exc, timeout_seconds)
        return _with(base, state, seconds=clock() - began, detail=detail)
    took = clock() - began
    try:
        read = parse_dns_wire(wire, qname, rdtype)
    except ParseError as exc:
        return _with(base, "malformed", seconds=took, detail=str(exc))
    return DnsAnswer(
        resolver=resolver.name,
        qname=base.qname,
        rdtype=rdtype,
        transport=transport,
        outcome=read.outcome,
        rcode=read.rcode,
        records=read.records,
        aliases=read.aliases,
        unexpected=read.unexpected,
        authoritative=read.authoritative,
        seconds=took,
    )


def _with(base: DnsAnswer, outcome: str, **changes: object) -> DnsAnswer:
    import dataclasses

    return dataclasses.replace(base, outcome=outcome, **changes)  # type: ignore[arg-type]


def socket_outcome(exc: OSError, timeout_seconds: float) -> tuple[str, str]:
    """(outcome, detail) of a query that got no answer: timeout, connection_refused, ..."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout", f"waited {timeout_seconds:.3g} s"
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return "connection_refused", ""
    if exc.errno in _UNREACHABLE:
        return "unreachable", exc.strerror or "no route to the resolver"
    return "error", exc.strerror or str(exc) or type(exc).__name__


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class DnsCollector:
    """The three phases of one group's collection, with one deadline for all of them."""

    def __init__(self, group: DnsGroup, clock: Clock = time.monotonic) -> None:
        self.group = group
        self.clock = clock
        self.deadline = clock() + 3 * group.timeout_seconds
        self.sockets = SocketSupply(group.netns)

    def _ask(
        self, resolver: Resolver, qname: str, rdtype: str, transport: str, fallback: bool = True
    ) -> DnsAnswer:
        budget = min(self.group.timeout_seconds, self.deadline - self.clock())
        answer = ask(resolver, qname, rdtype, transport, budget, self.sockets)
        fallback = fallback and self.group.tcp_fallback
        if answer.outcome == "truncated" and transport == "udp" and fallback:
            retry = self._ask(resolver, qname, rdtype, "tcp", fallback=False)
            return _with(retry, retry.outcome, truncated_udp=True)
        return answer

    def collect(self) -> DnsObservation:
        """Ask everything; every answer (or why none came) is in the observation."""
        group = self.group
        first = group.names[0].name
        with self.sockets, ThreadPoolExecutor(max_workers=MAX_PARALLEL_QUERIES) as pool:
            reach = list(
                pool.map(
                    # no TCP retry here: a truncated UDP answer still proves UDP answers
                    lambda job: self._ask(job[0], first, "A", job[1], fallback=False),
                    [(r, t) for r in group.resolvers for t in ("udp", "tcp")],
                )
            )
            transports = {}
            for resolver in group.resolvers:
                answered = [
                    a.transport for a in reach if a.resolver == resolver.name and a.answered
                ]
                if answered:
                    transports[resolver.name] = "udp" if "udp" in answered else "tcp"
            jobs = [
                (resolver, name.name, rdtype)
                for resolver in group.resolvers
                if resolver.name in transports
                for name in group.names
                for rdtype in ("A", "AAAA")
            ]
            lookups = list(
                pool.map(
                    lambda job: self._ask(job[0], job[1], job[2], transports[job[0].name]), jobs
                )
            )
            wanted: dict[str, set[str]] = {}
            reversed_names = {n.name for n in group.names if n.reverse}
            for answer in lookups:
                if answer.qname in reversed_names and answer.outcome == "answer":
                    wanted.setdefault(answer.resolver, set()).update(
                        a for a in answer.records if _is_address(a)
                    )
            for name in group.names:
                if name.reverse:
                    for resolver_name in transports:
                        wanted.setdefault(resolver_name, set()).update(name.addresses)
            by_name = {r.name: r for r in group.resolvers}
            ptr_jobs = [
                (by_name[resolver_name], reverse_name(address))
                for resolver_name, addresses in wanted.items()
                for address in sorted(addresses)
            ]
            reverse = list(
                pool.map(
                    lambda job: self._ask(job[0], job[1], "PTR", transports[job[0].name]), ptr_jobs
                )
            )
        return DnsObservation(group.name, tuple(reach), tuple(lookups), tuple(reverse))


class DnsProbe:
    """Probe plugin `dns`: one target per `dns:` group (its resolvers compared together)."""

    name = "dns"
    section = DNS

    def targets(self, inventory: Inventory) -> Sequence[Target[DnsGroup]]:
        """One Target[DnsGroup] per group; deadline = its three query phases + 1 s slack."""
        return [
            Target(
                name=group.name,
                device=group.name,
                config=group,
                timeout_seconds=3 * group.timeout_seconds + 1.0,
            )
            for group in inventory.of(DnsGroup)
        ]

    def collect(self, target: Target[DnsGroup], timeout_seconds: float) -> DnsObservation:
        """Ask every resolver of the group (inside the group's netns if it names one)."""
        return DnsCollector(target.config).collect()

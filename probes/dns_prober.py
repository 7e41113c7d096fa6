"""DNS prober for failover drills: "query dc1 for vcenter.example.net every 200 ms".

The DNS counterpart of :class:`holdtime.probes.ping.PingProber`: each path sends one query at
absolute deadlines ``start + n * interval`` (a slow answer never shifts the queries after it:
each query waits in its own worker), and every attempt is recorded with its send time, its
answer time and what the answer said. An attempt counts as answered only when the resolver
returned records of the asked type within ``late_after_seconds``; NXDOMAIN, SERVFAIL, REFUSED, a
truncated or unreadable answer, a timeout and a refused connection are failed attempts, each
kept with its outcome (and rcode) for the drill report. The output is the event list
:func:`holdtime.gap.analyze` consumes, like the ping prober's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from holdtime.errors import ConfigError, ParseError
from holdtime.probes.dns import SocketSupply, exchange, socket_outcome
from holdtime.probes.dns_answer import parse_dns_wire
from holdtime.probes.dns_config import Resolver
from holdtime.probes.path_prober import PathProber, PathResult, PathState
from holdtime.probes.ping import ProgressCallback

Exchange = Callable[[Resolver, bytes, str, float, SocketSupply], bytes]


@dataclass(frozen=True, slots=True)
class DnsPath:
    """One query stream: ask `resolver` for `qname`/`rdtype` over `transport`."""

    resolver: Resolver
    qname: str
    rdtype: str = "A"
    transport: str = "udp"
    netns: str | None = None
    name: str = ""

    @property
    def label(self) -> str:
        """Name shown in progress and results (`dc1:vcenter.example.net/A`)."""
        return self.name or f"{self.resolver.name}:{self.qname}/{self.rdtype}"


@dataclass(frozen=True, slots=True)
class DnsAttempt:
    """One query of a path and what became of it."""

    seq: int
    sent_at: float
    answered_at: float | None  # when the answer (any answer) was read; None: none came
    outcome: str  # as holdtime.probes.dns_answer: answer, nxdomain, servfail, timeout, ...
    rcode: str = ""
    records: tuple[str, ...] = ()
    detail: str = ""

    @property
    def succeeded(self) -> bool:
        """Records of the asked type came back: the service worked for this query."""
        return self.outcome == "answer"


DnsPathResult = PathResult[DnsPath, DnsAttempt]
"""Everything one path saw: events for holdtime.gap plus every attempt with its outcome."""


class DnsProber(PathProber[DnsPath, DnsAttempt]):
    """Send one DNS query per path every interval and record every attempt's fate."""

    kind = "DNS"

    def __init__(
        self,
        paths: Sequence[DnsPath],
        interval_seconds: float,
        *,
        late_after_seconds: float | None = None,
        progress: ProgressCallback | None = None,
        progress_every_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        send: Exchange = exchange,
    ) -> None:
        super().__init__(
            paths,
            interval_seconds,
            late_after_seconds=late_after_seconds,
            progress=progress,
            progress_every_seconds=progress_every_seconds,
            clock=clock,
        )
        for path in paths:
            if path.transport not in {"udp", "tcp"}:
                raise ConfigError(f"DNS path {path.label}: transport must be udp or tcp")
        self.send = send
        self._sockets: list[SocketSupply] = []

    def _begin(self) -> None:
        import dns.message  # noqa: F401  (imported here, once, not in the first query's time)

        self._sockets = [SocketSupply(path.netns) for path in self.paths]

    def _end(self) -> None:
        for sockets in self._sockets:
            sockets.close()

    def _label(self, path: DnsPath) -> str:
        return path.label

    def _lost(self, seq: int, sent_at: float) -> DnsAttempt:
        return DnsAttempt(seq, sent_at, None, "timeout")

    def _attempt(
        self, state: PathState[DnsPath, DnsAttempt], seq: int, sent_at: float
    ) -> DnsAttempt:
        import dns.message

        path = state.path
        query = dns.message.make_query(path.qname, path.rdtype, use_edns=False)
        try:
            wire = self.send(
                path.resolver,
                query.to_wire(),
                path.transport,
                self.late_after_seconds,
                self._sockets[state.index],
            )
        except OSError as exc:
            outcome, detail = socket_outcome(exc, self.late_after_seconds)
            attempt = DnsAttempt(seq, sent_at, None, outcome, detail=detail)
        else:
            answered_at = self.clock()
            try:
                read = parse_dns_wire(wire, path.qname, path.rdtype)
            except ParseError as exc:
                attempt = DnsAttempt(seq, sent_at, answered_at, "malformed", detail=str(exc))
            else:
                late = answered_at - sent_at > self.late_after_seconds
                attempt = DnsAttempt(
                    seq,
                    sent_at,
                    answered_at,
                    "timeout" if late else read.outcome,
                    read.rcode,
                    read.records,
                    detail="answered after late_after_seconds" if late else "",
                )
        return attempt

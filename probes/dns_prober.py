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

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from holdtime.errors import ConfigError, ParseError
from holdtime.gap import ProbeEvent
from holdtime.probes.dns import SocketSupply, exchange, socket_outcome
from holdtime.probes.dns_answer import parse_dns_wire
from holdtime.probes.dns_config import Resolver
from holdtime.probes.ping import Progress, ProgressCallback

MIN_INTERVAL_SECONDS = 0.01
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


@dataclass(frozen=True, slots=True)
class DnsPathResult:
    """Everything one path saw: events for holdtime.gap plus every attempt with its outcome."""

    path: DnsPath
    interval_seconds: float
    late_after_seconds: float
    events: tuple[ProbeEvent, ...]  # successful answers in seq order, then the failed attempts
    attempts: tuple[DnsAttempt, ...]  # every attempt in seq order
    sent: int
    max_send_lag_seconds: float

    @property
    def failed(self) -> int:
        """Attempts without a usable answer (lost, refused, SERVFAIL, NXDOMAIN...)."""
        return sum(1 for a in self.attempts if not a.succeeded)

    @property
    def outcomes(self) -> dict[str, int]:
        """How many attempts ended in each outcome."""
        counts: dict[str, int] = {}
        for attempt in self.attempts:
            counts[attempt.outcome] = counts.get(attempt.outcome, 0) + 1
        return counts


@dataclass(slots=True)
class _PathState:
    path: DnsPath
    sockets: SocketSupply
    sent_at: list[float] = field(default_factory=list)
    attempts: dict[int, DnsAttempt] = field(default_factory=dict)
    lag_max_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class DnsProber:
    """Send one DNS query per path every interval and record every attempt's fate."""

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
        if not paths:
            raise ConfigError("DNS prober needs at least one path")
        if not interval_seconds >= MIN_INTERVAL_SECONDS:
            raise ConfigError(f"interval must be >= {MIN_INTERVAL_SECONDS} s: {interval_seconds}")
        for path in paths:
            if path.transport not in {"udp", "tcp"}:
                raise ConfigError(f"DNS path {path.label}: transport must be udp or tcp")
        self.paths = list(paths)
        self.interval_seconds = interval_seconds
        # The query's timeout: an answer later than this is lost (as a late ping reply is).
        self.late_after_seconds = (
            late_after_seconds if late_after_seconds is not None else max(1.0, 3 * interval_seconds)
        )
        self.progress = progress
        self.progress_every_seconds = progress_every_seconds
        self.clock = clock
        self.send = send
        self._states: list[_PathState] = []

    def run(
        self,
        duration_seconds: float | None = None,
        count: int | None = None,
        stop: threading.Event | None = None,
    ) -> list[DnsPathResult]:
        """Query until `count` queries per path, `duration_seconds`, or `stop` is set."""
        if duration_seconds is None and count is None and stop is None:
            raise ConfigError("DNS prober needs a duration, a count or a stop event")
        total = count
        if duration_seconds is not None:
            by_duration = max(1, round(duration_seconds / self.interval_seconds))
            total = by_duration if total is None else min(total, by_duration)
        import dns.message  # noqa: F401  (imported here, once, not in the first query's time)

        self._states = [_PathState(path, SocketSupply(path.netns)) for path in self.paths]
        # Enough workers that every query in flight (up to late_after / interval per path) has
        # its own: a hanging resolver must not delay the next send.
        in_flight = int(self.late_after_seconds / self.interval_seconds) + 2
        try:
            with ThreadPoolExecutor(max_workers=min(256, in_flight * len(self.paths))) as pool:
                self._send_loop(pool, total, stop)
        finally:
            for state in self._states:
                state.sockets.close()
        return [self._result(state) for state in self._states]

    def _send_loop(
        self, pool: ThreadPoolExecutor, total: int | None, stop: threading.Event | None
    ) -> None:
        interval = self.interval_seconds
        stagger = interval / len(self._states)
        start = self.clock() + 0.01
        next_progress = start + self.progress_every_seconds
        seq = 0
        while total is None or seq < total:
            if stop is not None and stop.is_set():
                break
            for index, state in enumerate(self._states):
                deadline = start + seq * interval + index * stagger
                delay = deadline - self.clock()
                if delay > 0:
                    time.sleep(delay)
                sent_at = self.clock()
                with state.lock:
                    state.sent_at.append(sent_at)
                    state.lag_max_seconds = max(state.lag_max_seconds, sent_at - deadline)
                pool.submit(self._attempt, state, seq, sent_at)
            seq += 1
            if self.progress is not None and self.clock() >= next_progress:
                next_progress += self.progress_every_seconds
                self.progress(self.snapshot(start))

    def _attempt(self, state: _PathState, seq: int, sent_at: float) -> None:
        import dns.message

        path = state.path
        query = dns.message.make_query(path.qname, path.rdtype, use_edns=False)
        try:
            wire = self.send(
                path.resolver,
                query.to_wire(),
                path.transport,
                self.late_after_seconds,
                state.sockets,
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
        with state.lock:
            state.attempts[seq] = attempt

    def settled_events(self, after_seq: int, path_index: int = 0) -> tuple[list[ProbeEvent], int]:
        """Events of the attempts after `after_seq` whose fate is known, and the new cursor.

        Like PingProber.settled_events: attempts sent more than late_after ago are settled
        (a query still without an outcome then is lost).
        """
        if path_index >= len(self._states):
            return [], after_seq
        state = self._states[path_index]
        cutoff = self.clock() - self.late_after_seconds
        with state.lock:
            last = bisect.bisect_left(state.sent_at, cutoff) - 1
            events = [
                _event(state.attempts.get(seq), seq, state.sent_at[seq])
                for seq in range(after_seq + 1, last + 1)
            ]
        return events, max(after_seq, last)

    def snapshot(self, start: float) -> list[Progress]:
        """Progress of every path now, as the ping prober reports it (the drill's abort rule)."""
        now = self.clock()
        reports = []
        for state in self._states:
            with state.lock:
                sent = len(state.sent_at)
                succeeded = [a for a in state.attempts.values() if a.succeeded]
                older = bisect.bisect_left(state.sent_at, now - self.late_after_seconds)
                lost = sum(
                    1
                    for seq in range(older)
                    if not (state.attempts.get(seq) and state.attempts[seq].succeeded)
                )
                last = max((a.answered_at or 0.0 for a in succeeded), default=None)
            silent = now - (last if last is not None else start)
            gap = silent if silent > 2 * self.interval_seconds else 0.0
            reports.append(Progress(state.path.label, sent, len(succeeded), lost, gap, now - start))
        return reports

    def _result(self, state: _PathState) -> DnsPathResult:
        with state.lock:
            attempts = tuple(
                state.attempts.get(seq) or DnsAttempt(seq, sent_at, None, "timeout")
                for seq, sent_at in enumerate(state.sent_at)
            )
            sent = len(state.sent_at)
        answered = [_event(a, a.seq, a.sent_at) for a in attempts if a.succeeded]
        failed = [_event(a, a.seq, a.sent_at) for a in attempts if not a.succeeded]
        return DnsPathResult(
            path=state.path,
            interval_seconds=self.interval_seconds,
            late_after_seconds=self.late_after_seconds,
            events=tuple(answered + failed),
            attempts=attempts,
            sent=sent,
            max_send_lag_seconds=state.lag_max_seconds,
        )


def _event(attempt: DnsAttempt | None, seq: int, sent_at: float) -> ProbeEvent:
    """A gap-analysis event: replied only for an attempt that got records back."""
    if attempt is None or not attempt.succeeded or attempt.answered_at is None:
        return ProbeEvent(seq, sent_at, None, replied=False)
    return ProbeEvent(
        seq,
        sent_at,
        attempt.answered_at,
        replied=True,
        rtt_seconds=attempt.answered_at - sent_at,
    )

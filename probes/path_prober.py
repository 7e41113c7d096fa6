"""The schedule shared by the drill-path probers that are not pings (DNS queries, LDAPS handshakes).

Each path sends one attempt at absolute deadlines ``start + n * interval`` (paths staggered
within the interval): an attempt runs in its own worker, so a slow answer never shifts the
attempts after it. Every attempt is recorded with its send time and its outcome; an attempt
still without one when the prober stops counts as a timeout. A subclass says what one attempt
is (`_attempt`) and which outcome is the service working (`Attempt.succeeded`).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from holdtime.errors import ConfigError
from holdtime.gap import ProbeEvent
from holdtime.probes.ping import Progress, ProgressCallback

MIN_INTERVAL_SECONDS = 0.01


class Attempt(Protocol):
    """What the schedule needs to know of one attempt of a path."""

    @property
    def seq(self) -> int: ...
    @property
    def sent_at(self) -> float: ...
    @property
    def answered_at(self) -> float | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def succeeded(self) -> bool: ...


PathT = TypeVar("PathT")
AttemptT = TypeVar("AttemptT", bound=Attempt)


@dataclass(slots=True)
class PathState(Generic[PathT, AttemptT]):
    """One path's sends and attempts so far (guarded by `lock`: workers write attempts)."""

    index: int
    path: PathT
    sent_at: list[float] = field(default_factory=list)
    attempts: dict[int, AttemptT] = field(default_factory=dict)
    lag_max_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class PathResult(Generic[PathT, AttemptT]):
    """Everything one path saw: events for holdtime.gap plus every attempt with its outcome."""

    path: PathT
    interval_seconds: float
    late_after_seconds: float
    events: tuple[ProbeEvent, ...]  # successful attempts in seq order, then the failed ones
    attempts: tuple[AttemptT, ...]  # every attempt in seq order
    sent: int
    max_send_lag_seconds: float

    @property
    def failed(self) -> int:
        """Attempts that did not succeed (lost, refused, an error answer...)."""
        return sum(1 for a in self.attempts if not a.succeeded)

    @property
    def outcomes(self) -> dict[str, int]:
        """How many attempts ended in each outcome."""
        return outcome_counts(self.attempts)


class PathProber(Generic[PathT, AttemptT]):
    """Send one attempt per path every interval and record every attempt's fate."""

    kind = "path"  # "DNS", "LDAPS": how messages name the prober

    def __init__(
        self,
        paths: Sequence[PathT],
        interval_seconds: float,
        *,
        late_after_seconds: float | None = None,
        progress: ProgressCallback | None = None,
        progress_every_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not paths:
            raise ConfigError(f"{self.kind} prober needs at least one path")
        if not interval_seconds >= MIN_INTERVAL_SECONDS:
            raise ConfigError(f"interval must be >= {MIN_INTERVAL_SECONDS} s: {interval_seconds}")
        self.paths = list(paths)
        self.interval_seconds = interval_seconds
        # The attempt's timeout: an answer later than this is lost (as a late ping reply is).
        self.late_after_seconds = (
            late_after_seconds if late_after_seconds is not None else max(1.0, 3 * interval_seconds)
        )
        self.progress = progress
        self.progress_every_seconds = progress_every_seconds
        self.clock = clock
        self._states: list[PathState[PathT, AttemptT]] = []

    # -- what a subclass provides -----------------------------------------------------------
    def _label(self, path: PathT) -> str:
        """The path's name in progress reports."""
        raise NotImplementedError

    def _attempt(self, state: PathState[PathT, AttemptT], seq: int, sent_at: float) -> AttemptT:
        """Run one attempt to its outcome (never raises for a network outcome)."""
        raise NotImplementedError

    def _lost(self, seq: int, sent_at: float) -> AttemptT:
        """The record of an attempt that never got an outcome (a timeout)."""
        raise NotImplementedError

    def _begin(self) -> None:
        """Before the first send (import libraries, open sockets)."""

    def _end(self) -> None:
        """After the last attempt (close what _begin opened)."""

    # -- the schedule -----------------------------------------------------------------------
    def run(
        self,
        duration_seconds: float | None = None,
        count: int | None = None,
        stop: threading.Event | None = None,
    ) -> list[PathResult[PathT, AttemptT]]:
        """Send until `count` attempts per path, `duration_seconds`, or `stop` is set."""
        if duration_seconds is None and count is None and stop is None:
            raise ConfigError(f"{self.kind} prober needs a duration, a count or a stop event")
        total = count
        if duration_seconds is not None:
            by_duration = max(1, round(duration_seconds / self.interval_seconds))
            total = by_duration if total is None else min(total, by_duration)
        self._states = [PathState(index, path) for index, path in enumerate(self.paths)]
        self._begin()
        # Enough workers that every attempt in flight (up to late_after / interval per path)
        # has its own: a hanging server must not delay the next send.
        in_flight = int(self.late_after_seconds / self.interval_seconds) + 2
        try:
            with ThreadPoolExecutor(max_workers=min(256, in_flight * len(self.paths))) as pool:
                self._send_loop(pool, total, stop)
        finally:
            self._end()
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
                pool.submit(self._record, state, seq, sent_at)
            seq += 1
            if self.progress is not None and self.clock() >= next_progress:
                next_progress += self.progress_every_seconds
                self.progress(self.snapshot(start))

    def _record(self, state: PathState[PathT, AttemptT], seq: int, sent_at: float) -> None:
        attempt = self._attempt(state, seq, sent_at)
        with state.lock:
            state.attempts[seq] = attempt

    def settled_events(self, after_seq: int, path_index: int = 0) -> tuple[list[ProbeEvent], int]:
        """Events of the attempts after `after_seq` whose fate is known, and the new cursor.

        Like PingProber.settled_events: attempts sent more than late_after ago are settled
        (an attempt still without an outcome then is lost).
        """
        if path_index >= len(self._states):
            return [], after_seq
        state = self._states[path_index]
        cutoff = self.clock() - self.late_after_seconds
        with state.lock:
            last = bisect.bisect_left(state.sent_at, cutoff) - 1
            events = [
                attempt_event(state.attempts.get(seq), seq, state.sent_at[seq])
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
            reports.append(
                Progress(self._label(state.path), sent, len(succeeded), lost, gap, now - start)
            )
        return reports

    def _result(self, state: PathState[PathT, AttemptT]) -> PathResult[PathT, AttemptT]:
        """Every attempt in seq order (a lost one for each without an outcome), and the events
        for holdtime.gap: the successes in seq order, then the failed attempts."""
        with state.lock:
            attempts = tuple(
                state.attempts.get(seq) or self._lost(seq, sent_at)
                for seq, sent_at in enumerate(state.sent_at)
            )
        answered = [attempt_event(a, a.seq, a.sent_at) for a in attempts if a.succeeded]
        failed = [attempt_event(a, a.seq, a.sent_at) for a in attempts if not a.succeeded]
        return PathResult(
            path=state.path,
            interval_seconds=self.interval_seconds,
            late_after_seconds=self.late_after_seconds,
            events=tuple(answered + failed),
            attempts=attempts,
            sent=len(attempts),
            max_send_lag_seconds=state.lag_max_seconds,
        )


def attempt_event(attempt: Attempt | None, seq: int, sent_at: float) -> ProbeEvent:
    """A gap-analysis event: replied only for an attempt that succeeded."""
    if attempt is None or not attempt.succeeded or attempt.answered_at is None:
        return ProbeEvent(seq, sent_at, None, replied=False)
    return ProbeEvent(
        seq,
        sent_at,
        attempt.answered_at,
        replied=True,
        rtt_seconds=attempt.answered_at - sent_at,
    )


def outcome_counts(attempts: Sequence[Attempt]) -> dict[str, int]:
    """How many attempts ended in each outcome."""
    counts: dict[str, int] = {}
    for attempt in attempts:
        counts[attempt.outcome] = counts.get(attempt.outcome, 0) + 1
    return counts

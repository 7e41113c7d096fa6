"""What a drill keeps of a local ping path's probes once the prober has handed them on.

The drill used to hold every probe event until the end (about 280 B a probe: 1 GiB for an hour
at 1000 probes/s). A :class:`ProbeLedger` takes the settled probes as the prober releases them
and keeps, per phase, a :class:`holdtime.gap_stream.GapStream` (memory proportional to the loss
episodes) plus the timeline's RTT samples (every lost probe, and the replies thinned by halving
once they pass twice MAX_RTT_SAMPLES). So a drill's memory follows its losses, not its length.

The phase split is the engine's: failover is every probe up to the first answered probe sent at
or after the restore instant, failback the rest (no answer after the restore: the restore
instant). The probes sent after the restore wait here until that first answer settles; they are
the restore's loss, so that wait too is bounded by the outage.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from holdtime.gap import GapResult, ProbeEvent
from holdtime.gap_stream import GapStream

FAILOVER = "failover"
FAILBACK = "failback"


class RttSamples:
    """(seconds since the drill's origin, rtt or None when lost) per probe, in seq order.

    Every lost probe stays (the timeline never hides a loss); the replies are kept in full up to
    twice `limit` samples, then every other one is dropped and the stride doubles. Up to that
    size it equals the old one-pass thinning (stride len // limit is 1 there).
    """

    def __init__(self, origin: float, limit: int) -> None:
        self._origin = origin
        self._limit = limit
        self._stride = 1
        self._replies_seen = 0  # replies offered since the stride last changed
        self._samples: list[tuple[float, float | None]] = []

    def add(self, sent_at: float, rtt: float | None) -> None:
        """One probe (seq order): `rtt` None when it was lost."""
        sample = (round(sent_at - self._origin, 4), rtt)
        if rtt is None:
            self._samples.append(sample)
            return
        keep = self._replies_seen % self._stride == 0
        self._replies_seen += 1
        if not keep:
            return
        self._samples.append(sample)
        if len(self._samples) > 2 * self._limit:
            kept: list[tuple[float, float | None]] = []
            index = 0
            for old in self._samples:
                if old[1] is None:
                    kept.append(old)
                    continue
                if index % 2 == 0:
                    kept.append(old)
                index += 1
            self._samples = kept
            self._stride *= 2
            self._replies_seen = 1

    def samples(self) -> tuple[tuple[float, float | None], ...]:
        """The samples kept so far."""
        return tuple(self._samples)

    def __len__(self) -> int:
        return len(self._samples)


class ProbeLedger:
    """One local ping path's settled probes, folded into per-phase gap streams as they come.

    Feed it the probes in batches of increasing seq ranges (what PingProber.settled_events
    returns); tell it the restore instant (on the prober's clock) before any probe sent after
    it arrives; :meth:`phases` then gives each phase's GapResult, equal to
    ``holdtime.gap.analyze`` over that phase's events.
    """

    def __init__(
        self,
        interval_seconds: float,
        late_after_seconds: float,
        *,
        origin: float,
        max_rtt_samples: int,
    ) -> None:
        self.interval_seconds = interval_seconds
        self.late_after_seconds = late_after_seconds
        self.cursor = -1  # highest seq fed
        self.rtt = RttSamples(origin, max_rtt_samples)
        self._lock = threading.Lock()
        self._streams = {FAILOVER: self._stream()}
        self._restore_at: float | None = None
        self._split_at: float | None = None
        # sent after the restore, before its first answer settled
        self._after_restore: list[ProbeEvent] = []
        self._fed: dict[str, bool] = {FAILOVER: False}
        self._rtt_pending: dict[int, ProbeEvent] = {}

    def _stream(self) -> GapStream:
        # The prober's seqs are already unwrapped: no 16-bit folding.
        return GapStream(self.interval_seconds, self.late_after_seconds, unwrap=False)

    def restore_started(self, at: float) -> None:
        """The restore began at `at` (the prober's clock): later probes may be failback."""
        with self._lock:
            self._restore_at = at

    def feed(self, events: Iterable[ProbeEvent]) -> None:
        """Settled probes with seqs above the cursor (replies and lost, any order in a batch)."""
        with self._lock:
            batch = sorted((e for e in events if e.seq > self.cursor), key=lambda e: e.seq)
            if not batch:
                return
            for probe in batch:
                self._rtt_add(probe)
            self._rtt_flush(batch[-1].seq)
            self.cursor = batch[-1].seq
            for probe in batch:
                self._place(probe)

    def _rtt_add(self, probe: ProbeEvent) -> None:
        # One sample per seq: the first reply, else the probe lost (the old by_seq rule).
        held = self._rtt_pending.get(probe.seq)
        if held is None or not held.replied:
            self._rtt_pending[probe.seq] = probe

    def _rtt_flush(self, through: int) -> None:
        for seq in sorted(self._rtt_pending):
            if seq > through:
                break
            probe = self._rtt_pending.pop(seq)
            if probe.sent_at is None:
                continue
            rtt = probe.rtt_seconds
            if rtt is None and probe.replied and probe.received_at is not None:
                rtt = probe.received_at - probe.sent_at
            self.rtt.add(probe.sent_at, rtt if probe.replied else None)

    def _place(self, probe: ProbeEvent) -> None:
        sent_at = probe.sent_at
        if self._split_at is not None:
            before = sent_at is None or sent_at < self._split_at
            self._add(FAILOVER if before else FAILBACK, probe)
            return
        if self._restore_at is None or sent_at is None or sent_at < self._restore_at:
            self._add(FAILOVER, probe)
            return
        self._after_restore.append(probe)
        if probe.replied:
            self._split(sent_at)

    def _split(self, split_at: float) -> None:
        self._split_at = split_at
        held, self._after_restore = self._after_restore, []
        for probe in held:
            before = probe.sent_at is None or probe.sent_at < split_at
            self._add(FAILOVER if before else FAILBACK, probe)

    def _add(self, phase: str, probe: ProbeEvent) -> None:
        if phase not in self._streams:
            self._streams[phase] = self._stream()
        self._fed[phase] = True
        stream = self._streams[phase]
        if probe.replied:
            stream.reply(probe.seq, probe.sent_at, probe.received_at, probe.rtt_seconds)
        else:
            stream.lost(probe.seq, probe.sent_at)

    def phases(self) -> list[tuple[str, GapResult]]:
        """Each phase with probes and its gap result (call after the last feed).

        Without a restore, one failover phase; with one, failback too (when it has probes).
        """
        with self._lock:
            if self._after_restore:
                assert self._restore_at is not None  # only held once the restore is known
                self._split(self._restore_at)
            self._rtt_flush(self.cursor)
            phases = [FAILOVER] if self._restore_at is None else [FAILOVER, FAILBACK]
            return [
                (phase, self._streams[phase].result(self.interval_seconds))
                for phase in phases
                if self._fed.get(phase)
            ]

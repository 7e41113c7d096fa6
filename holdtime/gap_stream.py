"""Gap analysis over a stream of probe events, in memory proportional to the loss episodes.

:func:`holdtime.gap.analyze` keeps one record per sequence number, which a 24-hour ping log at
10 ms (8.64 million lines) turns into gigabytes. :class:`GapStream` reads the same events one at
a time and keeps only what the report needs: the runs of answered sequence numbers (one per loss
episode, with the reply and send times at their two ends), the late replies, the counters and a
histogram of the send spacing. :meth:`GapStream.result` gives the :class:`GapResult` that
``analyze`` gives for the same events (a test holds the two together on every recorded fixture
and on generated sequences).

Where the stream cannot know what the whole log knows, it says what it does instead:

- the interval that places a jump of half the 16-bit modulus or more (5.5 min at 10 ms) is the
  one known at that point (``--interval``, else the spacing seen so far), not the whole log's;
- the send spacing is binned at 1 us before its median is rounded to 1 ms (the batch parser
  takes the median of the exact spacings; the printed timestamps have 1 us resolution);
- a printed sequence number above 65535 after the numbers have already been unwrapped is
  refused (:class:`SequenceConflict`): ``analyze`` would then read the whole log as unfolded.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from holdtime.defaults import SEQ_MODULO
from holdtime.gap import GapResult, LossEpisode, check_interval

_HALF = SEQ_MODULO // 2
_MICRO = 1_000_000
# Bins the spacing histogram may hold before it is coarsened tenfold (memory stays bounded).
_MAX_BINS = 65_536
_REFRESH_STEPS = 65_536  # the spacing's median is re-read this often once the log is long
_INF = float("inf")
_NEVER = _INF  # the steady state's "no send time": any step from it is out of range
# Beyond this many intervals since the last timed probe, a +1 step takes the general path.
_FAST_STEPS = 1000


class SequenceConflict(ValueError):
    """A sequence number above 65535 after the printed numbers had already wrapped."""

    offset = 0  # in stamped_replies: the index of the item it is about


class SeqRanges:
    """A set of integers kept as sorted disjoint runs (memory proportional to the runs)."""

    __slots__ = ("_firsts", "_lasts", "count")

    def __init__(self) -> None:
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        self.count = 0

    def add(self, value: int) -> bool:
        """Add `value`; True when it was not there yet."""
        firsts, lasts = self._firsts, self._lasts
        if lasts and value == lasts[-1] + 1:
            lasts[-1] = value
            self.count += 1
            return True
        index = bisect.bisect_left(lasts, value)
        if index < len(lasts) and firsts[index] <= value:
            return False
        join_left = index > 0 and lasts[index - 1] == value - 1
        join_right = index < len(lasts) and firsts[index] == value + 1
        if join_left and join_right:
            lasts[index - 1] = lasts[index]
            del firsts[index], lasts[index]
        elif join_left:
            lasts[index - 1] = value
        elif join_right:
            firsts[index] = value
        else:
            firsts.insert(index, value)
            lasts.insert(index, value)
        self.count += 1
        return True

    def runs(self) -> list[tuple[int, int]]:
        """The runs, as (first, last) in ascending order."""
        return list(zip(self._firsts, self._lasts, strict=True))

    def __len__(self) -> int:
        return self.count


class IntervalEstimator:
    """Median send spacing per sequence step, from a histogram binned at 1 us.

    Fed (unwrapped seq, send time) in arrival order; a step is taken to the next higher sequence
    number. The median is rounded to 1 ms like the batch parser's (None when it rounds to 0).
    The histogram is coarsened tenfold whenever it holds more than _MAX_BINS bins.
    """

    __slots__ = ("bins", "last_at", "last_seq", "scale", "steps")

    def __init__(self) -> None:
        self.bins: defaultdict[int, int] = defaultdict(int)
        self.scale = float(_MICRO)
        self.last_seq: int | None = None  # the highest sequence number with a send so far
        self.last_at = 0.0
        self.steps = 0

    def add(self, seq: int, sent_at: float) -> None:
        """One send."""
        last = self.last_seq
        if last is not None:
            if seq <= last:
                return
            self.add_step((sent_at - self.last_at) / (seq - last))
        self.last_seq = seq
        self.last_at = sent_at

    def add_step(self, step_seconds: float) -> None:
        """One spacing between consecutive sends."""
        self.bins[bin_of(step_seconds, self.scale)] += 1
        self.steps += 1

    def coarsen_if_full(self) -> None:
        """Merge bins tenfold while there are more than _MAX_BINS (the owner re-reads `bins`)."""
        while len(self.bins) > _MAX_BINS:
            coarse: defaultdict[int, int] = defaultdict(int)
            for key, count in self.bins.items():
                coarse[bin_of(key / 10, 1.0)] += count
            self.bins = coarse
            self.scale /= 10

    def median_seconds(self) -> float | None:
        """The median spacing rounded to 1 ms, None without a step or when it rounds to 0."""
        if not self.steps:
            return None
        middle = self._middle_bins()
        spacing = round(sum(middle) / len(middle) / self.scale, 3)
        return spacing if spacing > 0 else None

    def _middle_bins(self) -> list[int]:
        half = self.steps // 2
        wanted = [half] if self.steps % 2 else [half - 1, half]
        found: list[int] = []
        seen = 0
        for key in sorted(self.bins):
            seen += self.bins[key]
            while wanted and wanted[0] < seen:
                found.append(key)
                wanted.pop(0)
            if not wanted:
                break
        return found


def bin_of(value: float, scale: float) -> int:
    """`value * scale` rounded half away from zero (the steady state's int(x + 0.5))."""
    scaled = value * scale
    return int(scaled + 0.5) if scaled >= 0 else -int(-scaled + 0.5)


class _Run:
    """A run of consecutive answered sequence numbers, with what the report needs of its ends."""

    __slots__ = (
        "first",
        "last",
        "recv_first",
        "recv_last",
        "send_hi_at",
        "send_hi_seq",
        "send_lo_at",
        "send_lo_seq",
    )

    def __init__(self, seq: int, received_at: float | None, sent_at: float | None) -> None:
        self.first = self.last = seq
        self.recv_first = self.recv_last = received_at
        self.send_lo_seq: int | None = seq if sent_at is not None else None
        self.send_hi_seq: int | None = self.send_lo_seq
        self.send_lo_at = self.send_hi_at = sent_at if sent_at is not None else 0.0

    def note_send(self, seq: int, sent_at: float | None) -> None:
        """A send time known for `seq`, a member of the run."""
        if sent_at is None:
            return
        if self.send_lo_seq is None or seq < self.send_lo_seq:
            self.send_lo_seq, self.send_lo_at = seq, sent_at
        if self.send_hi_seq is None or seq > self.send_hi_seq:
            self.send_hi_seq, self.send_hi_at = seq, sent_at

    def absorb(self, right: _Run) -> None:
        """Take in the run that follows this one (they now touch)."""
        self.last = right.last
        self.recv_last = right.recv_last
        if right.send_lo_seq is not None:
            self.note_send(right.send_lo_seq, right.send_lo_at)
        if right.send_hi_seq is not None:
            self.note_send(right.send_hi_seq, right.send_hi_at)


EpisodeCallback = Callable[[LossEpisode], None]


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """A running snapshot for a status line."""

    sent: int
    received: int
    episodes: int
    in_loss_since_seq: int | None  # the last probes seen are lost since this one
    last_seq: int | None


class GapStream:
    """Feed probe events one at a time; :meth:`result` is what ``analyze`` says of them.

    ``given_interval`` is the interval ``analyze`` would be called with (None: not known yet);
    with ``estimate_interval`` the send spacing seen so far stands in for it where the given one
    is absent or more than INTERVAL_TOLERANCE away (as ``choose_interval`` decides at the end).
    ``on_episode`` is called with each loss episode when the first reply after it arrives,
    measured with the interval known then (the final result is authoritative: a late reply can
    still fill part of an episode printed live).
    """

    def __init__(
        self,
        given_interval: float | None = None,
        late_after_seconds: float | None = None,
        unwrap: bool = True,
        estimate_interval: bool = False,
        on_episode: EpisodeCallback | None = None,
    ) -> None:
        self._given = given_interval
        self._late_after = late_after_seconds
        self._estimate = estimate_interval
        self._on_episode = on_episode
        self._raw_mode = not unwrap
        self._folded = False
        self._prev_raw = -2
        self._prev: int | None = None
        self._timed_seq: int | None = None  # the last probe with a send time, unwrapped
        self._timed_at = 0.0
        self._anchor_interval: float | None = given_interval
        self._fast_dt = _FAST_STEPS * given_interval if given_interval else 0.0
        self._next_refresh = 1
        self.estimator = IntervalEstimator()
        self._bins = self.estimator.bins
        self._scale = self.estimator.scale
        self._steps = 0  # steady-state steps not yet told to the estimator
        self._fast_budget = 1  # steady-state steps until the anchor interval is re-read
        self._late_limit = late_after_seconds if late_after_seconds is not None else _INF
        self._fast_raw = -1  # the printed seq that continues the steady state, -1: not in it
        self._tail_recv: float | None = None
        self._tail_send = _NEVER
        self.lo: int | None = None
        self.hi = -1
        self._runs: list[_Run] = []
        self._late: dict[int, float | None] = {}
        self._lost_sends: dict[int, float] = {}
        self.duplicates = 0
        self.reordered = 0
        self._highest_replied: int | None = None
        self._rtt_n = 0
        self._rtt_sum = 0.0
        self._rtt_min = float("inf")
        self._rtt_max = float("-inf")
        self._answered_stamped = False
        self.stamped = False  # any reply with a receive time (late and duplicates included)
        self.episodes_seen = 0

    # -- feeding ----------------------------------------------------------------------------

    def reply(
        self,
        raw: int,
        sent_at: float | None,
        received_at: float | None,
        rtt_seconds: float | None,
    ) -> None:
        """A reply to printed sequence number `raw` (rtt as printed, else from the two times)."""
        if rtt_seconds is None and received_at is not None and sent_at is not None:
            rtt_seconds = received_at - sent_at
        # The steady state: the next sequence number, answered in time, right after the last
        # answered one, sent about one interval after it. Everything else takes _reply_general.
        if raw == self._fast_raw and rtt_seconds is not None and rtt_seconds <= self._late_limit:
            if sent_at is not None:
                step = sent_at - self._tail_send
                if not 0.0 <= step < self._fast_dt:
                    self._reply_general(raw, sent_at, received_at, rtt_seconds)
                    return
                self._bins[int(step * self._scale + 0.5)] += 1
                self._steps += 1
                if self._steps >= self._fast_budget:
                    self._tail_send = sent_at
                    self.hi += 1
                    self._tail_recv = received_at
                    self._advance_fast(raw)
                    self._sync()
                    self._refresh_anchor()
                    self._arm()
                    self._rtt(rtt_seconds)
                    return
                self._tail_send = sent_at
            else:
                self._tail_send = _NEVER
            self.hi += 1
            self._tail_recv = received_at
            if received_at is not None and not self._answered_stamped:
                self.stamped = self._answered_stamped = True
            self._fast_raw = raw + 1
            if raw + 1 >= SEQ_MODULO and not self._raw_mode:  # the printed seq wraps next
                self._sync()
            self._rtt_n += 1
            self._rtt_sum += rtt_seconds
            self._rtt_min = min(self._rtt_min, rtt_seconds)
            self._rtt_max = max(self._rtt_max, rtt_seconds)
            return
        self._reply_general(raw, sent_at, received_at, rtt_seconds)

    def stamped_replies(
        self, seqs: Iterable[int], stamps: Iterable[float], rtts: Iterable[float]
    ) -> None:
        """Replies as columns (printed seq, receive time, RTT), in order: reply() for each of them.

        At least one reply (columns of equal length; iterators are fine, they are read once).
        The steady state runs here on local variables (a `ping -D` log is almost all such
        lines); anything else is handed to reply() one at a time.
        """
        self.stamped = True
        late_limit, raw_mode = self._late_limit, self._raw_mode
        bins, scale, fast_dt, budget = self._bins, self._scale, self._fast_dt, self._fast_budget
        fast_raw, tail_send, tail_recv, hi, steps, count, total, low, high = self._fast_state()
        for offset, (raw, stamp, rtt) in enumerate(zip(seqs, stamps, rtts, strict=True)):
            sent = stamp - rtt
            wraps = False
            if raw == fast_raw and rtt <= late_limit:
                step = sent - tail_send
                if 0.0 <= step < fast_dt and steps + 1 < budget:
                    bins[int(step * scale + 0.5)] += 1
                    steps += 1
                    tail_send = sent
                    tail_recv = stamp
                    hi += 1
                    count += 1
                    total += rtt
                    # plain comparisons: min()/max() calls cost more in this loop
                    if rtt < low:  # noqa: PLR1730
                        low = rtt
                    if rtt > high:  # noqa: PLR1730
                        high = rtt
                    fast_raw = raw + 1
                    if fast_raw < SEQ_MODULO or raw_mode:
                        continue
                    wraps = True  # the printed seq wraps next: leave the steady state
            self._store_fast(fast_raw, tail_send, tail_recv, hi, steps, count, total, low, high)
            if wraps:
                self._sync()
                self._arm()
            else:
                try:
                    self.reply(raw, sent, stamp, rtt)
                except SequenceConflict as exc:
                    exc.offset = offset
                    raise
            bins, scale, fast_dt = self._bins, self._scale, self._fast_dt
            budget = self._fast_budget
            fast_raw, tail_send, tail_recv, hi, steps, count, total, low, high = self._fast_state()
        self._store_fast(fast_raw, tail_send, tail_recv, hi, steps, count, total, low, high)

    def _fast_state(self) -> tuple[int, float, float | None, int, int, int, float, float, float]:
        """The steady state's fields, for stamped_replies' locals."""
        return (
            self._fast_raw,
            self._tail_send,
            self._tail_recv,
            self.hi,
            self._steps,
            self._rtt_n,
            self._rtt_sum,
            self._rtt_min,
            self._rtt_max,
        )

    def _store_fast(
        self,
        fast_raw: int,
        tail_send: float,
        tail_recv: float | None,
        hi: int,
        steps: int,
        count: int,
        total: float,
        low: float,
        high: float,
    ) -> None:
        self._fast_raw, self._tail_send, self._tail_recv, self.hi = (
            fast_raw,
            tail_send,
            tail_recv,
            hi,
        )
        self._steps = steps
        if count > self._rtt_n:  # steady-state replies, which all have a receive time
            self._answered_stamped = True
        self._rtt_n, self._rtt_sum, self._rtt_min, self._rtt_max = count, total, low, high

    def _advance_fast(self, raw: int) -> None:
        self._fast_raw = raw + 1

    def _sync(self) -> None:
        """Write the steady state's few fields back into the full state (before anything else)."""
        if self._fast_raw < 0:
            return
        seq = self.hi
        run = self._runs[-1]
        run.last = seq
        run.recv_last = self._tail_recv
        if self._tail_recv is not None:
            self.stamped = self._answered_stamped = True
        self._prev = seq
        self._prev_raw = self._fast_raw - 1
        self._highest_replied = seq
        if self._tail_send is not _NEVER:
            run.send_hi_seq, run.send_hi_at = seq, self._tail_send
            if run.send_lo_seq is None:
                run.send_lo_seq, run.send_lo_at = seq, self._tail_send
            self._timed_seq = seq
            self._timed_at = self._tail_send
            self.estimator.last_seq = seq
            self.estimator.last_at = self._tail_send
        self._fast_raw = -1
        self._flush_steps()

    def _flush_steps(self) -> None:
        self.estimator.steps += self._steps
        self._steps = 0

    def _arm(self) -> None:
        """Enter the steady state when the last event left the log in it."""
        runs = self._runs
        self._fast_raw = -1
        if not runs or runs[-1].last != self.hi or self._prev != self.hi:
            return
        if not (self._raw_mode or self._prev_raw + 1 < SEQ_MODULO):
            return
        if self._highest_replied != self.hi:
            return
        self._flush_steps()
        self._bins, self._scale = self.estimator.bins, self.estimator.scale
        self._fast_budget = max(1, self._next_refresh - self.estimator.steps)
        self._tail_recv = runs[-1].recv_last
        timed = self._timed_seq == self.hi and self.estimator.last_seq == self.hi
        self._tail_send = self._timed_at if timed else _NEVER
        self._fast_raw = self._prev_raw + 1

    def lost(self, raw: int, sent_at: float | None = None) -> None:
        """A probe known to have gone unanswered (a 'no answer' line, an ICMP error)."""
        self._sync()
        seq = self._unwrap(raw, sent_at)
        self._seen(seq)
        if sent_at is not None:
            self._lost_sends.setdefault(seq, sent_at)
            self._timed_send_general(seq, sent_at)
        self._arm()

    def extend_unprinted(self, first: int, last: int) -> None:
        """Probes first..last (unwrapped) were sent and lost, though no line shows them."""
        if first > last:
            return
        self._sync()
        self.lo = first if self.lo is None else min(self.lo, first)
        self.hi = max(self.hi, last)
        self._arm()

    # -- what the parser asks at the end -------------------------------------------------------

    def span(self) -> tuple[int, int] | None:
        """Lowest and highest (unwrapped) sequence number seen, None before any event."""
        self._sync()
        self._arm()
        return None if self.lo is None else (self.lo, self.hi)

    def replied_count(self) -> int:
        """Distinct sequence numbers that got a reply, late ones included."""
        self._sync()
        self._arm()
        return sum(run.last - run.first + 1 for run in self._runs) + len(self._late)

    def inferred_interval(self) -> float | None:
        """The median send spacing so far, rounded to 1 ms (None without timestamps)."""
        self._flush_steps()
        return self.estimator.median_seconds() if self.stamped else None

    @property
    def folded(self) -> bool:
        """True when the printed sequence numbers were unwrapped (some differ from the printed)."""
        return self._folded

    def status(self) -> StreamStatus:
        """A snapshot for a running status line."""
        self._sync()
        self._arm()
        answered = sum(run.last - run.first + 1 for run in self._runs)
        sent = self.hi - self.lo + 1 if self.lo is not None else 0
        in_loss = None
        if self.lo is not None and (not self._runs or self._runs[-1].last < self.hi):
            in_loss = self._runs[-1].last + 1 if self._runs else self.lo
        return StreamStatus(
            sent=sent,
            received=answered,
            episodes=self.episodes_seen,
            in_loss_since_seq=in_loss,
            last_seq=None if self.lo is None else self.hi,
        )

    # -- the general path ---------------------------------------------------------------------

    def _reply_general(
        self,
        raw: int,
        sent_at: float | None,
        received_at: float | None,
        rtt: float | None,
    ) -> None:
        self._sync()
        self._general(raw, sent_at, received_at, rtt)
        self._arm()

    def _general(
        self,
        raw: int,
        sent_at: float | None,
        received_at: float | None,
        rtt: float | None,
    ) -> None:
        seq = self._unwrap(raw, sent_at)
        self._seen(seq)
        if received_at is not None:
            self.stamped = True
        index = self._run_index(seq)
        runs = self._runs
        answered = index < len(runs) and runs[index].first <= seq
        if answered or seq in self._late:
            self.duplicates += 1
            if sent_at is not None:
                self._timed_send_general(seq, sent_at)
            return
        if self._late_after is not None and rtt is not None and rtt > self._late_after:
            self._late[seq] = self._lost_sends.get(seq, sent_at)
        else:
            self._answer(index, seq, received_at, sent_at)
            if rtt is not None:
                self._rtt(rtt)
        if self._highest_replied is not None and seq < self._highest_replied:
            self.reordered += 1
        if self._highest_replied is None or seq > self._highest_replied:
            self._highest_replied = seq
        if sent_at is not None:
            self._timed_send_general(seq, sent_at)

    def _answer(
        self, index: int, seq: int, received_at: float | None, sent_at: float | None
    ) -> None:
        """Put `seq` into the answered runs at `index` (merging), and report an ended episode."""
        runs = self._runs
        if received_at is not None:
            self._answered_stamped = True
        send = self._lost_sends.get(seq, sent_at)
        left = runs[index - 1] if index > 0 and runs[index - 1].last == seq - 1 else None
        right = runs[index] if index < len(runs) and runs[index].first == seq + 1 else None
        if left is not None:
            left.last = seq
            left.recv_last = received_at
            left.note_send(seq, send)
            if right is not None:
                left.absorb(right)
                del runs[index]
        elif right is not None:
            right.first = seq
            right.recv_first = received_at
            right.note_send(seq, send)
        else:
            runs.insert(index, _Run(seq, received_at, send))
            if index == len(runs) - 1 and self.lo is not None and self.lo < seq:
                self._episode_ended(index)

    def _episode_ended(self, index: int) -> None:
        self.episodes_seen += 1
        if self._on_episode is None:
            return
        runs = self._runs
        before = runs[index - 1] if index > 0 else None
        first = before.last + 1 if before is not None else self.lo
        assert first is not None
        interval = self.current_interval()
        self._on_episode(
            self._episode(first, runs[index].first - 1, before, runs[index], interval, None)
        )

    def current_interval(self) -> float:
        """The interval the report would use if the stream ended now."""
        from holdtime.gap import choose_interval

        return choose_interval(self._given, self.inferred_interval())[0]

    def _run_index(self, seq: int) -> int:
        """Index of the first run whose last >= seq (len(runs) when none)."""
        runs = self._runs
        if not runs or runs[-1].last < seq:
            return len(runs)
        return bisect.bisect_left(runs, seq, key=lambda run: run.last)

    def _seen(self, seq: int) -> None:
        if self.lo is None or seq < self.lo:
            self.lo = seq
        self.hi = max(self.hi, seq)

    def _rtt(self, rtt: float) -> None:
        self._rtt_n += 1
        self._rtt_sum += rtt
        self._rtt_min = min(self._rtt_min, rtt)
        self._rtt_max = max(self._rtt_max, rtt)

    def _timed_send_general(self, seq: int, sent_at: float) -> None:
        self.estimator.add(seq, sent_at)
        if self.estimator.steps >= self._next_refresh:
            self._refresh_anchor()

    def _refresh_anchor(self) -> None:
        """Re-read the anchoring interval: at 1, 2, 4 ... 65536 steps, then every 65536."""
        self._flush_steps()
        self.estimator.coarsen_if_full()
        self._bins = self.estimator.bins
        self._scale = self.estimator.scale
        steps = self.estimator.steps
        self._next_refresh = steps * 2 if steps < _REFRESH_STEPS else steps + _REFRESH_STEPS
        if self._estimate:
            self._anchor_interval = self.current_interval()
        if self._anchor_interval:
            self._fast_dt = _FAST_STEPS * self._anchor_interval

    def _unwrap(self, raw: int, sent_at: float | None) -> int:
        """The nearest unwrapped value, as holdtime.gap.unwrap_sequence places it."""
        if self._raw_mode:
            seq = raw
        elif not 0 <= raw < SEQ_MODULO:
            if self._folded:
                raise SequenceConflict(
                    f"icmp_seq {raw} is above 65535 but earlier sequence numbers had wrapped:"
                    " not the output of one ping run"
                )
            self._raw_mode = True
            seq = raw
        elif self._prev is None:
            seq = raw
        else:
            anchor = self._prev
            interval = self._anchor_interval
            if sent_at is not None and self._timed_seq is not None and interval:
                anchor = self._timed_seq + round((sent_at - self._timed_at) / interval)
            delta = (raw - anchor) % SEQ_MODULO
            if delta >= _HALF:
                delta -= SEQ_MODULO
            seq = anchor + delta
        if sent_at is not None:
            self._timed_seq = seq
            self._timed_at = sent_at
        if seq != raw:
            self._folded = True
        self._prev = seq
        self._prev_raw = raw
        return seq

    # -- the result -----------------------------------------------------------------------------

    def result(self, interval_seconds: float) -> GapResult:
        """What ``analyze(events, interval_seconds, late_after)`` says of the events fed."""
        check_interval(interval_seconds)
        self._sync()
        self._arm()
        if self.lo is None:
            return GapResult(
                resolution_seconds=interval_seconds,
                sent=0,
                received=0,
                lost=0,
                duplicates=0,
                late=0,
                reordered=0,
                episodes=(),
                late_after_seconds=self._late_after,
            )
        first_seq, last_seq = self.lo, self.hi
        runs = self._runs
        clock = self._send_anchors()
        episodes: list[LossEpisode] = []
        if not runs:
            episodes.append(self._episode(first_seq, last_seq, None, None, interval_seconds, clock))
        else:
            if runs[0].first > first_seq:
                episodes.append(
                    self._episode(
                        first_seq, runs[0].first - 1, None, runs[0], interval_seconds, clock
                    )
                )
            for before, after in itertools.pairwise(runs):
                episodes.append(
                    self._episode(
                        before.last + 1, after.first - 1, before, after, interval_seconds, clock
                    )
                )
            if runs[-1].last < last_seq:
                episodes.append(
                    self._episode(
                        runs[-1].last + 1, last_seq, runs[-1], None, interval_seconds, clock
                    )
                )
        answered = sum(run.last - run.first + 1 for run in runs)
        sent = last_seq - first_seq + 1
        notes: list[str] = []
        if not self._answered_stamped:
            notes.append("no timestamps: gap-derived outage unavailable, loss-derived only")
        wraps = last_seq // SEQ_MODULO - first_seq // SEQ_MODULO if self._folded else 0
        if wraps:
            notes.append(
                f"the printed 16-bit sequence number wrapped past 65535 {wraps} time(s); sequence"
                f" numbers here are unwrapped (printed = seq mod 65536)"
            )
        rtts = self._rtt_n
        return GapResult(
            resolution_seconds=interval_seconds,
            sent=sent,
            received=answered,
            lost=sent - answered,
            duplicates=self.duplicates,
            late=len(self._late),
            reordered=self.reordered,
            episodes=tuple(episodes),
            late_seqs=tuple(sorted(self._late)),
            late_after_seconds=self._late_after,
            rtt_min_seconds=self._rtt_min if rtts else None,
            rtt_avg_seconds=self._rtt_sum / rtts if rtts else None,
            rtt_max_seconds=self._rtt_max if rtts else None,
            first_seq=first_seq,
            last_seq=last_seq,
            notes=tuple(notes),
            seq_wraps=wraps,
        )

    def _send_anchors(self) -> list[tuple[int, float]]:
        """Every send that can be the nearest known one to a lost probe, sorted by seq."""
        anchors: dict[int, float] = {}
        for run in self._runs:
            if run.send_lo_seq is not None:
                anchors.setdefault(run.send_lo_seq, run.send_lo_at)
            if run.send_hi_seq is not None:
                anchors.setdefault(run.send_hi_seq, run.send_hi_at)
        for seq, at in self._late.items():
            if at is not None:
                anchors.setdefault(seq, at)
        for seq, at in self._lost_sends.items():
            anchors[seq] = at
        return sorted(anchors.items())

    def _episode(
        self,
        first: int,
        last: int,
        before: _Run | None,
        after: _Run | None,
        interval: float,
        anchors: list[tuple[int, float]] | None,
    ) -> LossEpisode:
        if anchors is None:  # live: the two neighbouring runs' sends are enough
            anchors = []
            if before is not None and before.send_hi_seq is not None:
                anchors.append((before.send_hi_seq, before.send_hi_at))
            if after is not None and after.send_lo_seq is not None:
                anchors.append((after.send_lo_seq, after.send_lo_at))
        gap: float | None = None
        if (
            before is not None
            and after is not None
            and before.recv_last is not None
            and after.recv_first is not None
        ):
            # Clamped at 0: RTT jitter can make a one-probe gap look shorter than the interval.
            gap = max(0.0, after.recv_first - before.recv_last - interval)
        lost_count = last - first + 1
        return LossEpisode(
            first_lost_seq=first,
            last_lost_seq=last,
            lost_count=lost_count,
            start_at=_sent_at(anchors, first, interval),
            end_at=_sent_at(anchors, last, interval),
            loss_derived_outage_seconds=lost_count * interval,
            gap_derived_outage_seconds=gap,
            recovered=after is not None,
            after_first_reply=before is not None,
        )


def _sent_at(anchors: list[tuple[int, float]], seq: int, interval: float) -> float | None:
    """Send time of `seq`: known, or extrapolated from the nearest known send (lower on a tie)."""
    if not anchors:
        return None
    index = bisect.bisect_left(anchors, seq, key=lambda anchor: anchor[0])
    candidates = [anchors[i] for i in (index - 1, index) if 0 <= i < len(anchors)]
    anchor_seq, anchor_at = min(candidates, key=lambda anchor: abs(anchor[0] - seq))
    return anchor_at + (seq - anchor_seq) * interval

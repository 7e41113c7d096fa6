"""Failover-gap analysis: turn ping probe events into loss episodes and outage figures.

Pure functions, no I/O: the same analysis runs over a parsed ping log (holdtime.probes.pinglog)
and over the events of our own prober (holdtime.probes.ping). Vocabulary (RFC 6412/6413 style):

- loss-derived outage = lost probes x probe interval;
- gap-derived outage = time of first reply after the loss - time of last reply before it - interval
  (only when the log has timestamps);
- loss episode = a maximal run of consecutive lost sequence numbers (first_lost_seq, last_lost_seq,
  lost_count); a run may hold several (failover and failback);
- resolution = the probe interval: no outage shorter than it can be seen, so it is always reported.

Sequence numbers are 16 bits on the wire and iputils, BusyBox and BSD ping print them modulo
65536 on long runs; they are unwrapped into a monotonically increasing sequence before anything
else, and the result says how often they wrapped. A sequence of numbers that holds one above 65535
was not folded (fping counts without wrapping) and is read as printed. Every sequence number
between the first and the last one seen counts as sent: a plain ping log prints nothing for a lost
probe, the hole in icmp_seq is the only trace.

:func:`analyze_log` is that analysis over a parsed ping log as `holdtime gap` reports it.
What the tool itself counted wins: :func:`reconcile_with_summary` puts the summary line's
transmitted/received counts over the ones the probe lines imply and says when they disagree; a
log with no probe lines at all has a loss (from its summary) but no outage.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from holdtime.probes.pinglog import PingLog

# declared in holdtime.defaults: `holdtime gap --help` reads them without importing this module
from holdtime.defaults import (
    DEFAULT_INTERVAL_SECONDS,
    INTERVAL_TOLERANCE,
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    SEQ_MODULO,
    SHOWN_SKIPPED,
)

_HALF_MODULO = SEQ_MODULO // 2


@dataclass(frozen=True, slots=True)
class ProbeEvent:
    """One observation about one probe: a reply, or a probe known to have gone unanswered.

    A probe that got no reply appears once with ``replied=False``; a reply appears once per copy
    received (a second copy is a duplicate). Timestamps are seconds on one clock (monotonic for our
    prober, epoch for `ping -D` logs) or None when the source has none.
    """

    seq: int
    sent_at: float | None = None
    received_at: float | None = None
    replied: bool = True
    rtt_seconds: float | None = None  # as printed by ping; else received_at - sent_at


def event(seq: int, sent_at: float | None, received_at: float | None) -> ProbeEvent:
    """The `(seq, sent_at, received_at | None)` shape: a reply iff received_at is not None."""
    return ProbeEvent(seq, sent_at, received_at, replied=received_at is not None)


@dataclass(frozen=True, slots=True)
class LossEpisode:
    """A maximal run of consecutive lost probes."""

    first_lost_seq: int  # unwrapped (equal to icmp_seq until the first wrap at 65535)
    last_lost_seq: int
    lost_count: int
    start_at: float | None  # send time of the first lost probe, when known or derivable
    end_at: float | None  # send time of the last lost probe
    loss_derived_outage_seconds: float
    gap_derived_outage_seconds: float | None  # None without timestamps or an open side
    recovered: bool  # False: no reply after the loss (the run ended inside the outage)
    after_first_reply: bool  # False: the run began inside the loss (no reply before it)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class GapResult:
    """What a ping run says about connectivity, at the resolution of its probe interval."""

    resolution_seconds: float  # the probe interval
    sent: int
    received: int  # distinct sequence numbers answered in time
    lost: int  # sent - received (late replies count as lost)
    duplicates: int  # extra copies of replies already received
    late: int  # replies that arrived after the late threshold
    reordered: int  # replies that arrived after a reply with a higher sequence number
    episodes: tuple[LossEpisode, ...]
    late_seqs: tuple[int, ...] = ()
    late_after_seconds: float | None = None
    rtt_min_seconds: float | None = None
    rtt_avg_seconds: float | None = None
    rtt_max_seconds: float | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    notes: tuple[str, ...] = field(default=())
    seq_wraps: int = 0  # times the printed 16-bit sequence number wrapped past 65535
    per_probe: bool = True  # False: only the tool's summary was there (no probe lines)
    outage_known: bool = True  # False: no outage can be told from this log
    # "summary": sent/received/lost are the tool's printed counts, which the probe lines contradict
    # (or there were none); "probes": from the probe lines (equal to the summary's when it has one)
    counts_from: str = "probes"
    summary_transmitted: int | None = None
    summary_received: int | None = None

    @property
    def loss_ratio(self) -> float:
        """Lost / sent, 0..1 (0 for an empty run)."""
        return self.lost / self.sent if self.sent else 0.0

    @property
    def longest_episode(self) -> LossEpisode | None:
        """The episode with most lost probes (the earliest on a tie)."""
        if not self.episodes:
            return None
        return max(self.episodes, key=lambda episode: episode.lost_count)

    @property
    def total_loss_derived_outage_seconds(self) -> float:
        """Sum of the loss-derived outages of every episode (= lost x interval).

        Meaningless when ``outage_known`` is False (no episodes then): to_dict says null.
        """
        return sum(episode.loss_derived_outage_seconds for episode in self.episodes)

    @property
    def max_gap_derived_outage_seconds(self) -> float | None:
        """The largest gap-derived outage, None when no episode has one or it is unknown."""
        if not self.outage_known:
            return None
        gaps = [
            episode.gap_derived_outage_seconds
            for episode in self.episodes
            if episode.gap_derived_outage_seconds is not None
        ]
        return max(gaps) if gaps else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the derived totals included."""
        longest = self.longest_episode
        return {
            "resolution_seconds": self.resolution_seconds,
            "sent": self.sent,
            "received": self.received,
            "lost": self.lost,
            "loss_ratio": self.loss_ratio,
            "duplicates": self.duplicates,
            "late": self.late,
            "late_seqs": list(self.late_seqs),
            "late_after_seconds": self.late_after_seconds,
            "reordered": self.reordered,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "episodes": [episode.to_dict() for episode in self.episodes],
            "longest_episode": longest.to_dict() if longest else None,
            "total_loss_derived_outage_seconds": (
                self.total_loss_derived_outage_seconds if self.outage_known else None
            ),
            "max_gap_derived_outage_seconds": self.max_gap_derived_outage_seconds,
            "rtt_min_seconds": self.rtt_min_seconds,
            "rtt_avg_seconds": self.rtt_avg_seconds,
            "rtt_max_seconds": self.rtt_max_seconds,
            "seq_wraps": self.seq_wraps,
            "per_probe": self.per_probe,
            "outage_known": self.outage_known,
            "counts_from": self.counts_from,
            "summary_transmitted": self.summary_transmitted,
            "summary_received": self.summary_received,
            "notes": list(self.notes),
        }


def unwrap_sequence(
    raw_seqs: Iterable[int],
    modulo: int = SEQ_MODULO,
    sent_times: Sequence[float | None] | None = None,
    interval_seconds: float | None = None,
) -> list[int]:
    """Unwrap 16-bit sequence numbers, in arrival order, into a monotonically growing sequence.

    Each number is placed at the unwrapped value nearest to the previous one, so 65535 -> 0 reads
    as a step of +1 and a reply reordered across the wrap (0 then 65535) as a step of -1. Numbers
    outside 0..modulo-1 were never folded: such a sequence is returned as it is (folding a real
    70000 into 4464 would invent a jump). With send times (one per number, None where unknown)
    and the interval, a number is placed nearest to where the time elapsed since the last timed
    one puts it: a gap of half the modulus or more (5.5 min at 10 ms) is then unwrapped right.
    Without times such a gap reads as a step back; the summary count exposes it
    (reconcile_with_summary).
    """
    raw_list = list(raw_seqs)
    if any(not 0 <= raw < modulo for raw in raw_list):
        return raw_list
    timed = sent_times is not None and interval_seconds is not None and interval_seconds > 0
    unwrapped: list[int] = []
    previous: int | None = None
    last_timed: tuple[int, float] | None = None  # (unwrapped seq, send time)
    for index, raw in enumerate(raw_list):
        sent_at = sent_times[index] if timed and sent_times is not None else None
        if previous is None:
            current = raw
        else:
            anchor = previous
            if sent_at is not None and last_timed is not None and interval_seconds:
                anchor = last_timed[0] + round((sent_at - last_timed[1]) / interval_seconds)
            delta = (raw - anchor) % modulo
            if delta >= modulo // 2:
                delta -= modulo
            current = anchor + delta
        if sent_at is not None:
            last_timed = (current, sent_at)
        unwrapped.append(current)
        previous = current
    return unwrapped


@dataclass(slots=True)
class _SeqState:
    """What we learnt about one (unwrapped) sequence number."""

    sent_at: float | None = None
    received_at: float | None = None  # of the first copy in time
    rtt_seconds: float | None = None
    replied: bool = False
    late: bool = False


def check_interval(interval_seconds: float) -> None:
    """ValueError unless the interval is a finite probe spacing within the supported bounds."""
    if not (
        math.isfinite(interval_seconds)
        and MIN_INTERVAL_SECONDS <= interval_seconds <= MAX_INTERVAL_SECONDS
    ):
        raise ValueError(
            f"interval must be a number of seconds from {MIN_INTERVAL_SECONDS:g} to"
            f" {MAX_INTERVAL_SECONDS:g}, not {interval_seconds:g}"
        )


def _fold(
    seqs: Sequence[int], events: Sequence[ProbeEvent], late_after_seconds: float | None
) -> tuple[dict[int, _SeqState], int, int]:
    """Each sequence number's fate, and the duplicate and reordered reply counts."""
    states: dict[int, _SeqState] = {}
    duplicates = 0
    reordered = 0
    highest_replied: int | None = None
    for seq, probe in zip(seqs, events, strict=True):
        state = states.setdefault(seq, _SeqState())
        if probe.sent_at is not None and state.sent_at is None:
            state.sent_at = probe.sent_at
        if not probe.replied:
            continue
        rtt = probe.rtt_seconds
        if rtt is None and probe.received_at is not None and probe.sent_at is not None:
            rtt = probe.received_at - probe.sent_at
        if state.replied or state.late:
            duplicates += 1
            continue
        if late_after_seconds is not None and rtt is not None and rtt > late_after_seconds:
            state.late = True
        else:
            state.replied = True
        state.received_at = probe.received_at
        state.rtt_seconds = rtt
        if highest_replied is not None and seq < highest_replied:
            reordered += 1
        highest_replied = seq if highest_replied is None else max(highest_replied, seq)
    return states, duplicates, reordered


def analyze(
    events: Sequence[ProbeEvent],
    interval_seconds: float,
    late_after_seconds: float | None = None,
    unwrap: bool = True,
) -> GapResult:
    """Count sent/lost/duplicate/late/reordered probes and find the loss episodes.

    ``events`` are in the order they were observed (log order, or receive order for the prober).
    A reply whose RTT exceeds ``late_after_seconds`` counts as lost and is listed in late_seqs.
    ``unwrap=False`` for a counter that never wraps (fping).
    """
    check_interval(interval_seconds)
    if not events:
        return GapResult(
            resolution_seconds=interval_seconds,
            sent=0,
            received=0,
            lost=0,
            duplicates=0,
            late=0,
            reordered=0,
            episodes=(),
            late_after_seconds=late_after_seconds,
        )
    raw_seqs = [e.seq for e in events]
    sends = [e.sent_at for e in events]
    seqs = unwrap_sequence(raw_seqs, SEQ_MODULO, sends, interval_seconds) if unwrap else raw_seqs
    states, duplicates, reordered = _fold(seqs, events, late_after_seconds)
    first_seq, last_seq = min(states), max(states)
    episodes = _episodes(states, first_seq, last_seq, interval_seconds)
    answered = [s for s in states.values() if s.replied]
    rtts = [s.rtt_seconds for s in answered if s.rtt_seconds is not None]
    sent = last_seq - first_seq + 1
    notes: list[str] = []
    if not any(s.received_at is not None for s in answered):
        notes.append("no timestamps: gap-derived outage unavailable, loss-derived only")
    wraps = last_seq // SEQ_MODULO - first_seq // SEQ_MODULO if seqs != raw_seqs else 0
    if wraps:
        notes.append(
            f"the printed 16-bit sequence number wrapped past 65535 {wraps} time(s); sequence"
            f" numbers here are unwrapped (printed = seq mod 65536)"
        )
    return GapResult(
        resolution_seconds=interval_seconds,
        sent=sent,
        received=len(answered),
        lost=sent - len(answered),
        duplicates=duplicates,
        late=sum(1 for s in states.values() if s.late),
        reordered=reordered,
        episodes=tuple(episodes),
        late_seqs=tuple(sorted(seq for seq, s in states.items() if s.late)),
        late_after_seconds=late_after_seconds,
        rtt_min_seconds=min(rtts) if rtts else None,
        rtt_avg_seconds=sum(rtts) / len(rtts) if rtts else None,
        rtt_max_seconds=max(rtts) if rtts else None,
        first_seq=first_seq,
        last_seq=last_seq,
        notes=tuple(notes),
        seq_wraps=wraps,
    )


def reconcile_with_summary(result: GapResult, transmitted: int, received: int) -> GapResult:
    """Put the tool's own summary counts over the ones the probe lines imply.

    No probe lines (``ping -q``, or replies filtered out): the summary's counts, no episodes,
    outage unknown. Counts that agree: the result as it is, with the summary recorded. Counts
    that disagree: the summary's loss, a note saying so, and the outage unknown when the probe
    lines hold a different number of replies (their holes may be missing lines, not lost probes);
    when only probes are missing at the start or end, the outage covers the probes in the log.
    Late replies (``late_after_seconds``) stay counted as lost.
    """
    received = min(received, transmitted)
    agreed = replace(result, summary_transmitted=transmitted, summary_received=received)
    printed = replace(agreed, counts_from="summary")
    summary_says = (
        f"the log's own summary says {transmitted} transmitted, {received} received"
        f" ({_percent(transmitted - received, transmitted)} loss)"
    )
    if not result.sent:
        return replace(
            printed,
            sent=transmitted,
            received=received,
            lost=transmitted - received,
            episodes=(),
            per_probe=False,
            outage_known=False,
            notes=(
                f"no per-probe data: {summary_says}, and it holds no probe lines (ping -q, or"
                " reply lines filtered out); loss is the summary's, outage unknown",
                *(n for n in result.notes if not n.startswith("no timestamps")),
            ),
        )
    replies_in_lines = result.received + result.late
    if result.sent == transmitted and replies_in_lines == received:
        return agreed
    in_lines = f"its probe lines show {result.sent} sent, {replies_in_lines} received"
    if replies_in_lines == received:
        note = (
            f"{summary_says} but {in_lines}: probes are missing from the log (its start or end?);"
            " loss is the summary's, outage figures cover only the probes in the log"
        )
        outage_known = True
        episodes = result.episodes
    else:
        note = (
            f"{summary_says} but {in_lines}: reply lines are missing or extra (filtered, or"
            " not one run); loss is the summary's, outage unknown"
        )
        outage_known = False
        episodes = ()
    kept_received = max(0, received - result.late)
    return replace(
        printed,
        sent=transmitted,
        received=kept_received,
        lost=transmitted - kept_received,
        episodes=episodes,
        outage_known=outage_known,
        notes=(note, *result.notes),
    )


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0.0%"


def _episodes(
    states: dict[int, _SeqState], first_seq: int, last_seq: int, interval_seconds: float
) -> list[LossEpisode]:
    """Loss episodes are the holes between answered sequence numbers (O(events), not O(range))."""
    answered = sorted(seq for seq, state in states.items() if state.replied)
    holes: list[tuple[int, int]] = []
    if not answered:
        holes.append((first_seq, last_seq))
    else:
        if answered[0] > first_seq:
            holes.append((first_seq, answered[0] - 1))
        holes.extend((a + 1, b - 1) for a, b in itertools.pairwise(answered) if b > a + 1)
        if answered[-1] < last_seq:
            holes.append((answered[-1] + 1, last_seq))
    sends = _SendClock(states, interval_seconds)
    episodes: list[LossEpisode] = []
    for start, end in holes:
        before = states.get(start - 1) if start > first_seq else None
        after = states.get(end + 1) if end < last_seq else None
        gap: float | None = None
        if (
            before is not None
            and after is not None
            and before.received_at is not None
            and after.received_at is not None
        ):
            # Clamped at 0: RTT jitter can make a one-probe gap look shorter than the interval.
            gap = max(0.0, after.received_at - before.received_at - interval_seconds)
        lost_count = end - start + 1
        episodes.append(
            LossEpisode(
                first_lost_seq=start,
                last_lost_seq=end,
                lost_count=lost_count,
                start_at=sends.sent_at(start),
                end_at=sends.sent_at(end),
                loss_derived_outage_seconds=lost_count * interval_seconds,
                gap_derived_outage_seconds=gap,
                recovered=after is not None,
                after_first_reply=before is not None,
            )
        )
    return episodes


class _SendClock:
    """Send time of any sequence number: known, or extrapolated from the nearest known send."""

    def __init__(self, states: dict[int, _SeqState], interval_seconds: float) -> None:
        self._known = sorted(
            (seq, state.sent_at) for seq, state in states.items() if state.sent_at is not None
        )
        self._seqs = [seq for seq, _ in self._known]
        self._interval = interval_seconds

    def sent_at(self, seq: int) -> float | None:
        if not self._known:
            return None
        index = bisect.bisect_left(self._seqs, seq)
        candidates = [i for i in (index - 1, index) if 0 <= i < len(self._known)]
        anchor_seq, anchor_at = min(
            (self._known[i] for i in candidates), key=lambda known: abs(known[0] - seq)
        )
        return anchor_at + (seq - anchor_seq) * self._interval


# -- a saved ping log, as `holdtime gap` reports it ---------------------------------------------


def choose_interval(given: float | None, inferred: float | None) -> tuple[float, str, str | None]:
    """The interval to use, where it came from, and a note when --interval and timestamps differ.

    The timestamps are what the tool really did (iputils asked for -i 0.01 sends every ~16 ms on
    a small VM), so they win over a --interval more than INTERVAL_TOLERANCE away from them.
    """
    if given is None:
        if inferred is not None:
            return inferred, "inferred from timestamps", None
        return DEFAULT_INTERVAL_SECONDS, "default (pass --interval)", None
    if inferred is None or abs(given - inferred) <= INTERVAL_TOLERANCE * inferred:
        return given, "--interval", None
    note = (
        f"--interval {given:g} s disagrees with the log's timestamps, which show a probe every"
        f" {inferred:g} s (more than {INTERVAL_TOLERANCE:.0%} apart): used the timestamps'"
        f" {inferred:g} s"
    )
    return inferred, "inferred from timestamps (--interval disagreed)", note


def analyze_log(
    log: PingLog, given_interval: float | None, late_after: float | None
) -> tuple[GapResult, str]:
    """Analyse a parsed log as `holdtime gap` reports it (summary counts win, notes added).

    Returns the result and where its interval came from.
    """
    interval, interval_source, interval_note = choose_interval(
        given_interval, log.inferred_interval_seconds
    )
    result = analyze(
        log.events, interval, late_after_seconds=late_after, unwrap=log.seq_modulo is not None
    )
    if log.transmitted is not None and log.received is not None:
        result = reconcile_with_summary(result, log.transmitted, log.received)
    notes = log_notes(
        result.notes,
        interval_note,
        log.warnings,
        _icmp_error_notes(log.icmp_errors),
        len(log.unparsed),
        log.unparsed[:SHOWN_SKIPPED],
    )
    return replace(result, notes=notes), interval_source


def log_notes(
    result_notes: Iterable[str],
    interval_note: str | None,
    warnings: Iterable[str],
    icmp_notes: Iterable[str],
    unparsed_count: int,
    unparsed_first: Sequence[tuple[int, str]],
) -> tuple[str, ...]:
    """The notes of a log's report: the analysis', then interval, warnings, ICMP, skipped lines."""
    notes = [*result_notes]
    if interval_note:
        notes.append(interval_note)
    notes.extend(f"the tool warned: {warning}" for warning in warnings)
    notes.extend(icmp_notes)
    if unparsed_count:
        shown = ", ".join(
            f"line {lineno} {_shorten(text)!r}" for lineno, text in unparsed_first[:SHOWN_SKIPPED]
        )
        more = (
            f" and {unparsed_count - SHOWN_SKIPPED} more" if unparsed_count > SHOWN_SKIPPED else ""
        )
        notes.append(
            f"skipped {unparsed_count} line(s) not understood: {shown}{more};"
            " the figures come from the probes that were read"
        )
    return tuple(notes)


def icmp_note(reason: str, count: int, seqs_text: str) -> str:
    """One ICMP error reason's note: how many probes, which (a redirect loses nothing)."""
    return f"ICMP error {reason!r} for {count} probe(s): seq {seqs_text}" + (
        "" if reason.startswith("Redirect") else " (counted as lost)"
    )


def icmp_errors_by_reason(errors: tuple[tuple[int, str], ...]) -> dict[str, list[int]]:
    """ICMP errors grouped by reason, in the order each reason first appeared."""
    grouped: dict[str, list[int]] = {}
    for seq, reason in errors:
        grouped.setdefault(reason, []).append(seq)
    return grouped


def _icmp_error_notes(errors: tuple[tuple[int, str], ...]) -> list[str]:
    return [
        icmp_note(reason, len(seqs), seq_ranges(tuple(sorted(set(seqs)))))
        for reason, seqs in icmp_errors_by_reason(errors).items()
    ]


def _shorten(line: str) -> str:
    return line if len(line) <= 60 else line[:57] + "..."


def seq_ranges(seqs: tuple[int, ...]) -> str:
    """1,2,3,7 -> '1-3, 7'."""
    parts: list[str] = []
    start = previous = None
    for seq in seqs:
        if previous is not None and seq == previous + 1:
            previous = seq
            continue
        if start is not None:
            parts.append(f"{start}-{previous}" if start != previous else f"{start}")
        start = previous = seq
    if start is not None:
        parts.append(f"{start}-{previous}" if start != previous else f"{start}")
    return ", ".join(parts)

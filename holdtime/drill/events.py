"""Convergence events of a drill on one time axis: offsets from the trigger, with resolutions.

This is the record every drill report renders (table, Markdown, JSON, HTML lanes): it lives in
``DrillResult.convergence`` (a flat list, ordered) and ``DrillResult.explained`` (one entry per
outage episode, pointing into that list), and in the JSON form under the same keys.

RFC 6412's words: the trigger is the *Convergence Event Instant*; the **data-plane outage** is
what the probes lost (loss-derived, at the probe interval's resolution) between the *last reply
before* and the *first reply again* (the *Convergence Recovery Instant*); **control-plane
convergence** is the time from the trigger until the watched router's best path for the
prefix changed (BGP re-selected and the RIB holds the new path).

One event::

    ConvergenceEvent(offset_seconds=8.1, resolution_seconds=0.2, kind="bgp_state",
                     plane="control", source="vpc-router-1", subject="10.10.10.2",
                     before="Established", after="Idle", detail="...")

``offset_seconds`` is the best estimate (seconds after the trigger; negative: before it) and the
event happened within ``offset_seconds ± resolution_seconds``. A control-plane change is seen
by polling: it happened after the start of the last poll that still showed the old state and
before the end of the first poll that showed the new one, so its offset is the middle of that
window and its resolution half its width. A window the trigger falls into starts at the
trigger (the settle period before it saw a steady state). A data-plane event's resolution is
the probe interval.

Kinds, in their causal order: ``trigger`` and ``restore`` (actions), ``last_keepalive``,
``last_reply`` (data plane), ``bfd_state``, ``bgp_state``, ``best_path``, ``ipsec_sa``,
``first_reply`` (data plane). Events are ordered by offset; two events whose windows overlap
(neither is known to come first) are listed cause first: BFD down before the BGP session
drops, a session leaving (or reaching) Established before the best path moves, the best path
before the first reply comes back. Other events keep their time order; actions are exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

KINDS = (
    "trigger",
    "restore",
    "last_keepalive",
    "last_reply",
    "bfd_state",
    "bgp_state",
    "best_path",
    "ipsec_sa",
    "first_reply",
)
_RANK = {kind: rank for rank, kind in enumerate(KINDS)} | {"restore": 0}
# Observer snapshot keys are "ROUTER WHAT SUBJECT" (holdtime.drill.observers): WHAT -> kind.
_KEY_KINDS = {
    "bgp": "bgp_state",
    "bfd": "bfd_state",
    "best_path": "best_path",
    "ipsec": "ipsec_sa",
    "last_keepalive": "last_keepalive",
}
_LABELS = {
    "trigger": "trigger sent",
    "last_keepalive": "last keepalive seen",
    "bfd_state": "BFD",
    "bgp_state": "BGP session",
    "best_path": "best path",
    "ipsec_sa": "IPsec SA",
    "last_reply": "last reply before the outage",
    "first_reply": "first reply again",
    "restore": "restore sent",
}


@dataclass(frozen=True, slots=True)
class ConvergenceEvent:
    """One thing that happened, placed on the drill's time axis relative to the trigger."""

    offset_seconds: float  # best estimate, seconds after the trigger (negative: before it)
    resolution_seconds: float  # it happened within offset ± this
    kind: str  # one of KINDS
    plane: str  # data | control | action
    source: str  # the router ("vpc-router-1"), the ping path ("app-to-db") or the device acted on
    subject: str = ""  # neighbor address, prefix, SA name; "" for actions
    before: str = ""  # the state before ("Established"); "" for actions and data-plane events
    after: str = ""  # the state after ("Idle")
    detail: str = ""  # one line a human reads

    def label(self) -> str:
        """``+8.10 s ±0.20 s`` (or ``-0.05 s ±0.20 s``)."""
        return f"{self.offset_seconds:+.2f} s ±{self.resolution_seconds:.2f} s"

    def describe(self) -> str:
        """``BGP session 10.10.10.2 on vpc-router-1: Established -> Idle``."""
        what = _LABELS.get(self.kind, self.kind)
        if self.kind == "last_keepalive":
            return f"{what} from {self.subject} on {self.source}"
        if self.plane == "control":
            return f"{what} {self.subject} on {self.source}: {self.before or '?'} -> {self.after}"
        if self.plane == "data":
            return f"{what} on {self.source}"
        return f"{what}: {self.detail}" if self.detail else what

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ControlChange:
    """A watched state that changed between two polls, in seconds since the drill's start."""

    key: str  # the observer's snapshot key: "vpc-router-1 bgp 10.10.10.2"
    before: str
    after: str
    earliest_seconds: float  # the start of the last poll that showed `before`
    latest_seconds: float  # the end of the first poll that showed `after`
    source: str  # the observer (router) name

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the journal's ``change`` record)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ExplainedEpisode:
    """One outage episode of one path with the events between its last and first reply."""

    path: str
    phase: str  # failover | failback
    last_reply_offset_seconds: float | None  # None: the path never answered before the loss
    first_reply_offset_seconds: float | None  # None: no reply after it (the drill ended inside)
    resolution_seconds: float  # the probe interval
    data_plane_outage_seconds: float  # loss-derived: lost probes x interval
    control_plane_convergence_seconds: float | None  # trigger -> best path changed; None: unseen
    event_indexes: tuple[int, ...]  # into DrillResult.convergence, in order
    comparison: str = ""  # "measured 8.0 s, predicted <= 9.0 s: within" (failover only)
    verdict: str = ""  # within | above | far_above | no_prediction | "" (no prediction made)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "event_indexes": list(self.event_indexes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExplainedEpisode:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "event_indexes": tuple(data.get("event_indexes", ()))})


def control_event(change: ControlChange, trigger_at: float) -> ConvergenceEvent:
    """A polled change as an event: the middle of its window, half the window as resolution."""
    parts = change.key.split(" ", 2)
    what = parts[1] if len(parts) > 1 else "state"
    subject = parts[2] if len(parts) > 2 else ""
    middle = (change.earliest_seconds + change.latest_seconds) / 2
    return ConvergenceEvent(
        offset_seconds=round(middle - trigger_at, 3),
        resolution_seconds=round((change.latest_seconds - change.earliest_seconds) / 2, 3),
        kind=_KEY_KINDS.get(what, what),
        plane="control",
        source=change.source,
        subject=subject,
        before=change.before,
        after=change.after,
        detail=f"{change.key}: {change.before} -> {change.after}",
    )


def action_event(kind: str, at_seconds: float, trigger_at: float, detail: str) -> ConvergenceEvent:
    """The trigger or the restore: known to the instant it was sent (resolution 0)."""
    return ConvergenceEvent(
        offset_seconds=round(at_seconds - trigger_at, 3),
        resolution_seconds=0.0,
        kind=kind,
        plane="action",
        source="",
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class LossWindow:
    """One loss episode of a path, in seconds since the drill's start (send times)."""

    path: str
    phase: str
    interval_seconds: float
    first_lost_at: float | None  # send time of the first lost probe
    last_lost_at: float | None  # send time of the last lost probe
    recovered: bool  # a reply came after it
    after_first_reply: bool  # a reply came before it
    lost: int
    loss_derived_outage_seconds: float


def loss_windows(
    path: str,
    phase: str,
    interval_seconds: float,
    episodes: Sequence[Mapping[str, Any]],
    origin: float,
) -> list[LossWindow]:
    """The loss episodes of a phase (holdtime.gap's episode dicts, monotonic send times) as
    windows in seconds since the drill's start (`origin`: the drill's clock at its start)."""

    def since_start(value: object) -> float | None:
        return float(value) - origin if isinstance(value, int | float) else None

    return [
        LossWindow(
            path=path,
            phase=phase,
            interval_seconds=interval_seconds,
            first_lost_at=since_start(episode.get("start_at")),
            last_lost_at=since_start(episode.get("end_at")),
            recovered=bool(episode.get("recovered")),
            after_first_reply=bool(episode.get("after_first_reply")),
            lost=int(episode.get("lost_count") or 0),
            loss_derived_outage_seconds=float(episode.get("loss_derived_outage_seconds") or 0.0),
        )
        for episode in episodes
    ]


def data_events(window: LossWindow, trigger_at: float) -> list[ConvergenceEvent]:
    """The last reply before the loss and the first reply after it, at the probe interval."""
    found = []
    interval = window.interval_seconds
    if window.first_lost_at is not None and window.after_first_reply:
        found.append(
            ConvergenceEvent(
                offset_seconds=round(window.first_lost_at - interval - trigger_at, 3),
                resolution_seconds=interval,
                kind="last_reply",
                plane="data",
                source=window.path,
                detail=f"{window.lost} probes lost after it",
            )
        )
    if window.last_lost_at is not None and window.recovered:
        found.append(
            ConvergenceEvent(
                offset_seconds=round(window.last_lost_at + interval - trigger_at, 3),
                resolution_seconds=interval,
                kind="first_reply",
                plane="data",
                source=window.path,
                detail=f"data-plane outage {window.loss_derived_outage_seconds:.2f} s",
            )
        )
    return found


# What can cause what: an event listed after one it may have caused, their windows
# overlapping, moves before it. Anything else keeps its time order.
_CAUSES = {
    "bgp_state": {"last_keepalive", "bfd_state"},
    "best_path": {"bfd_state", "bgp_state"},
    "first_reply": {"bfd_state", "bgp_state", "best_path"},
}


def _may_cause(cause: ConvergenceEvent, effect: ConvergenceEvent) -> bool:
    """True when `cause` may have caused `effect`: a BGP change only when it enters or leaves
    Established (a session drop or recovery moves routes; Idle -> Connect does not)."""
    if cause.kind not in _CAUSES.get(effect.kind, set()):
        return False
    return cause.kind != "bgp_state" or "Established" in (cause.before, cause.after)


def ordered(events: Sequence[ConvergenceEvent]) -> list[ConvergenceEvent]:
    """By offset; events whose windows overlap in causal order (see the module docstring)."""
    found = sorted(events, key=lambda e: (e.offset_seconds, _rank(e)))
    swapped = True
    while swapped:  # each swap puts a cause before its effect, never back: this ends
        swapped = False
        for i in range(len(found) - 1):
            first, second = found[i], found[i + 1]
            if not _may_cause(second, first) or _may_cause(first, second):
                continue
            if second.offset_seconds - second.resolution_seconds <= (
                first.offset_seconds + first.resolution_seconds
            ):
                found[i], found[i + 1] = second, first
                swapped = True
    return found


def _rank(event: ConvergenceEvent) -> int:
    return _RANK.get(event.kind, len(KINDS))


def explain(
    trigger_at: float,
    restore_at: float | None,
    changes: Sequence[ControlChange],
    windows: Sequence[LossWindow],
    *,
    trigger_detail: str = "",
    restore_detail: str = "",
) -> tuple[tuple[ConvergenceEvent, ...], tuple[ExplainedEpisode, ...]]:
    """The ordered events of a drill and, per loss episode, the events inside it.

    Times are seconds since the drill's start; the result's offsets are from the trigger.
    An episode holds the events whose window (offset ± resolution) meets the span from its last
    reply before to its first reply after, and for a failover episode the trigger.
    """
    events = [action_event("trigger", trigger_at, trigger_at, trigger_detail)]
    if restore_at is not None:
        events.append(action_event("restore", restore_at, trigger_at, restore_detail))
    events += [control_event(c, trigger_at) for c in changes if c.earliest_seconds >= 0]
    for window in windows:
        events += data_events(window, trigger_at)
    timeline = tuple(ordered(events))
    episodes = []
    for window in windows:
        interval = window.interval_seconds
        start = (
            window.first_lost_at - interval - trigger_at
            if window.first_lost_at is not None and window.after_first_reply
            else None
        )
        end = (
            window.last_lost_at + interval - trigger_at
            if window.last_lost_at is not None and window.recovered
            else None
        )
        low = start if start is not None else (0.0 if window.phase == "failover" else -interval)
        high = end if end is not None else max((e.offset_seconds for e in timeline), default=0.0)
        if window.phase == "failover":
            low = min(low, 0.0)  # the trigger belongs to the failover episode's story
        inside = [
            i
            for i, e in enumerate(timeline)
            if _meets(e, low, high) and (e.plane != "data" or e.source == window.path)
        ]
        indexes = tuple(sorted({*inside, *_heard_before(timeline, inside)}))
        episodes.append(
            ExplainedEpisode(
                path=window.path,
                phase=window.phase,
                last_reply_offset_seconds=None if start is None else round(start, 3),
                first_reply_offset_seconds=None if end is None else round(end, 3),
                resolution_seconds=interval,
                data_plane_outage_seconds=window.loss_derived_outage_seconds,
                control_plane_convergence_seconds=_convergence(
                    timeline, indexes, window.phase, restore_at, trigger_at
                ),
                event_indexes=indexes,
            )
        )
    return timeline, tuple(episodes)


def _heard_before(timeline: Sequence[ConvergenceEvent], inside: Sequence[int]) -> list[int]:
    """The "last keepalive seen" of each session that dropped inside an episode: it explains
    the drop (hold timer = last keepalive + hold time) although it came before the outage."""
    dropped = {
        (timeline[i].source, timeline[i].subject)
        for i in inside
        if timeline[i].kind == "bgp_state" and timeline[i].before == "Established"
    }
    return [
        i
        for i, e in enumerate(timeline)
        if e.kind == "last_keepalive" and (e.source, e.subject) in dropped
    ]


def _meets(event: ConvergenceEvent, low: float, high: float) -> bool:
    return event.offset_seconds + event.resolution_seconds >= low and (
        event.offset_seconds - event.resolution_seconds <= high
    )


def _convergence(
    timeline: Sequence[ConvergenceEvent],
    indexes: Sequence[int],
    phase: str,
    restore_at: float | None,
    trigger_at: float,
) -> float | None:
    """Seconds from the phase's action (trigger or restore) to the last best-path change in it."""
    origin = 0.0 if phase == "failover" else (restore_at or trigger_at) - trigger_at
    changes = [
        timeline[i].offset_seconds
        for i in indexes
        if timeline[i].kind == "best_path" and timeline[i].offset_seconds >= origin
    ]
    return round(max(changes) - origin, 3) if changes else None

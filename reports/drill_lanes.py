"""A drill as lanes on one time axis (seconds from the trigger), the HTML report's picture.

Lanes, top to bottom: per ping path its RTT with lost probes shaded; per watched BGP neighbor
its session state as a band; the best path of each watched prefix (its next hop); each IPsec
SA. Trigger and restore are vertical lines across every lane; each convergence event
(``DrillResult.convergence``) is a numbered marker with its ± window, a hover label (SVG
``<title>``, no script) and a row of the events table under the picture.

A state band shows only what a poll read: before the first poll the lane is "not polled yet"
(hatched), after the polls stopped "polls stopped" (hatched), and between the last poll that
showed the old state and the first that showed the new one it is "changing" (hatched, labelled
``old -> new``): the change happened somewhere in there. A read that failed (``error: ...``)
is drawn hatched as "not read", never as a state.

Input is the JSON form of a DrillResult (``RunResult.extras["drills"][i]``), so a report
rendered later from a journal draws the same picture. The geometry is pure functions
(:func:`state_lanes`, :func:`loss_intervals`, :func:`numbered_events`), unit-tested on the
recorded lab journals.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from holdtime.drill.events import ConvergenceEvent

# Poll keys are "ROUTER WHAT SUBJECT" (holdtime.drill.observers); the lanes drawn, in order.
LANE_KINDS = ("bgp", "bfd", "best_path", "ipsec")
_EVENT_LANE_KIND = {
    "bgp_state": "bgp",
    "last_keepalive": "bgp",
    "bfd_state": "bfd",
    "best_path": "best_path",
    "ipsec_sa": "ipsec",
}
_LANE_TITLES = {"bgp": "BGP", "bfd": "BFD", "best_path": "best path", "ipsec": "IPsec SA"}
NOT_POLLED = "not polled yet"
CHANGING = "changing"
NOT_READ = "not read"
POLLS_STOPPED = "polls stopped"


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of one lane: [start, end] seconds from the trigger."""

    start: float
    end: float
    state: str  # what the polls read; for an unknown stretch the reason (NOT_POLLED, ...)
    known: bool  # False: hatched, the state in that stretch was not observed
    label: str  # the text in the band and its hover label


@dataclass(frozen=True, slots=True)
class StateLane:
    """One polled key ("vpc-router-1 bgp 10.10.10.2") as segments over the drill."""

    key: str
    kind: str  # bgp | bfd | best_path | ipsec
    router: str
    subject: str  # neighbor address, prefix, SA name
    segments: tuple[Segment, ...]

    @property
    def title(self) -> str:
        """``BGP 10.10.10.2 (vpc-router-1)``."""
        return f"{_LANE_TITLES.get(self.kind, self.kind)} {self.subject} ({self.router})"


@dataclass(frozen=True, slots=True)
class NumberedEvent:
    """A convergence event with its number in the picture and the table (from 1)."""

    number: int
    event: ConvergenceEvent
    lane: str  # the lane key it is drawn on: a ping path, a poll key, or "" (all lanes)


def trigger_seconds(drill: Mapping[str, Any]) -> float:
    """When the trigger ran, seconds since the drill's start (0 when it never ran)."""
    for event in drill.get("events", ()):
        if event.get("kind") == "trigger":
            return float(event["at_seconds"])
    return 0.0


def triggered(drill: Mapping[str, Any]) -> bool:
    """True when the trigger ran (else the axis counts from the drill's start)."""
    return any(event.get("kind") == "trigger" for event in drill.get("events", ()))


def end_seconds(drill: Mapping[str, Any]) -> float:
    """The end of the record, seconds from the trigger: the probes and the polls stop together."""
    times = [float(e["at_seconds"]) for e in drill.get("events", ())]
    for samples in drill.get("rtt_samples", {}).values():
        times.extend(float(t) for t, _ in samples)
    return max(times, default=0.0) - trigger_seconds(drill)


def polled_until_seconds(drill: Mapping[str, Any]) -> float:
    """Until when the polls ran, seconds from the trigger: the last probe sample (the engine
    stops probes and polls together; the steady-state check after them comes later)."""
    times = [float(t) for samples in drill.get("rtt_samples", {}).values() for t, _ in samples]
    return max(times) - trigger_seconds(drill) if times else end_seconds(drill)


def start_seconds(drill: Mapping[str, Any]) -> float:
    """The start of the record, seconds from the trigger (the drill's start: negative)."""
    return -trigger_seconds(drill)


def _split_key(key: str) -> tuple[str, str, str]:
    router, _, rest = key.partition(" ")
    what, _, subject = rest.partition(" ")
    return router, what, subject


def _known(state: str) -> bool:
    return not state.startswith("error")


def _band_label(kind: str, state: str) -> str:
    if not _known(state):
        return f"{NOT_READ}: {state.removeprefix('error: ')}"
    if kind == "best_path":
        return "no route" if state == "none" else f"via {state}"
    return state


@dataclass(frozen=True, slots=True)
class _Change:
    at: float  # seconds from the trigger (the middle of the window)
    resolution: float
    before: str
    after: str


def _convergence_match(
    drill: Mapping[str, Any], router: str, kind: str, subject: str, at: float
) -> float | None:
    """The ± of the convergence event recorded for this change (the poll window's half)."""
    for raw in drill.get("convergence", ()):
        if (
            _EVENT_LANE_KIND.get(str(raw.get("kind")), "") == kind
            and raw.get("kind") != "last_keepalive"
            and raw.get("source") == router
            and raw.get("subject") == subject
            and abs(float(raw["offset_seconds"]) - at) < 0.01
        ):
            return float(raw["resolution_seconds"])
    return None


def state_lanes(drill: Mapping[str, Any]) -> list[StateLane]:
    """Per polled key, its states over the drill as segments (see the module docstring).

    Read from the drill's timeline events: the first poll's ``KEY: STATE`` and each change
    ``KEY: OLD -> NEW`` (placed in the middle of its poll window); the window's half width
    comes from the matching convergence event (else the drill's poll resolution).
    """
    trigger = trigger_seconds(drill)
    fallback = float(drill.get("poll_resolution_seconds") or 0.0)
    first: dict[str, tuple[float, str]] = {}
    changes: dict[str, list[_Change]] = {}
    for event in drill.get("events", ()):
        key, sep, value = str(event.get("detail", "")).partition(": ")
        router, what, subject = _split_key(key)
        if not sep or what not in LANE_KINDS or event.get("kind") != what:
            continue
        at = float(event["at_seconds"]) - trigger
        before, arrow, after = value.partition(" -> ")
        if not arrow:
            first.setdefault(key, (at, value))
            continue
        resolution = _convergence_match(drill, router, what, subject, round(at, 3))
        changes.setdefault(key, []).append(
            _Change(at, fallback if resolution is None else resolution, before, after)
        )
    span = (start_seconds(drill), polled_until_seconds(drill), end_seconds(drill))
    return [
        _lane(key, first.get(key), changes.get(key, []), span)
        for key in sorted(set(first) | set(changes), key=_lane_order)
    ]


def _lane(
    key: str,
    first: tuple[float, str] | None,
    changes: Sequence[_Change],
    span: tuple[float, float, float],
) -> StateLane:
    """One lane's segments; `span` is (record start, polls stopped, record end)."""
    start, polled_until, end = span
    router, what, subject = _split_key(key)
    segments: list[Segment] = []
    if first is not None:
        cursor, state = first
    else:  # first seen as a change: the state before it was read, but not when
        cursor, state = changes[0].at, changes[0].before
    if cursor > start:
        segments.append(Segment(start, cursor, NOT_POLLED, False, NOT_POLLED))
    for change in sorted(changes, key=lambda c: c.at):
        low = max(change.at - change.resolution, cursor)
        high = max(change.at + change.resolution, low)
        if low > cursor:
            segments.append(_state_segment(what, cursor, low, state))
        label = f"{CHANGING}: {change.before} -> {change.after}"
        segments.append(Segment(low, high, CHANGING, False, label))
        cursor, state = high, change.after
    if polled_until > cursor:
        segments.append(_state_segment(what, cursor, polled_until, state))
    stopped = max(cursor, polled_until)
    if end > stopped:
        segments.append(Segment(stopped, end, POLLS_STOPPED, False, POLLS_STOPPED))
    return StateLane(key, what, router, subject, tuple(segments))


def _state_segment(kind: str, start: float, end: float, state: str) -> Segment:
    return Segment(start, end, state, _known(state), _band_label(kind, state))


def _lane_order(key: str) -> tuple[int, str, str]:
    router, what, subject = _split_key(key)
    return (LANE_KINDS.index(what) if what in LANE_KINDS else len(LANE_KINDS), router, subject)


def path_interval(drill: Mapping[str, Any], path: str) -> float:
    """The probe interval of `path` (from its phases), 0 when unknown."""
    for phase in drill.get("phases", ()):
        if phase.get("path") == path:
            return float(phase.get("interval_seconds") or 0.0)
    return 0.0


def loss_intervals(drill: Mapping[str, Any], path: str) -> list[tuple[float, float, int]]:
    """Runs of lost probes of `path` as (start, end, probes lost), seconds from the trigger.

    A lost probe covers its interval: from its send time until the next probe's send time.
    """
    trigger, interval = trigger_seconds(drill), path_interval(drill, path)
    runs: list[tuple[float, float, int]] = []
    first = last = None
    count = 0
    for t, rtt in drill.get("rtt_samples", {}).get(path, ()):
        if rtt is None:
            first = float(t) if first is None else first
            last, count = float(t), count + 1
        elif first is not None and last is not None:
            runs.append((first - trigger, last + interval - trigger, count))
            first = last = None
            count = 0
    if first is not None and last is not None:
        runs.append((first - trigger, last + interval - trigger, count))
    return [(round(a, 3), round(b, 3), n) for a, b, n in runs]


def numbered_events(drill: Mapping[str, Any]) -> list[NumberedEvent]:
    """The drill's convergence events in their recorded order, numbered from 1, with a lane."""
    keys = {(lane.router, lane.kind, lane.subject): lane.key for lane in state_lanes(drill)}
    numbered = []
    for number, raw in enumerate(drill.get("convergence", ()), start=1):
        event = ConvergenceEvent(**raw)
        if event.plane == "data":
            lane = event.source
        elif event.plane == "action":
            lane = ""
        else:
            kind = _EVENT_LANE_KIND.get(event.kind, event.kind)
            lane = keys.get((event.source, kind, event.subject), "")
        numbered.append(NumberedEvent(number, event, lane))
    return numbered


# -- drawing -----------------------------------------------------------------------------------

WIDTH = 1000
LEFT, RIGHT, TOP = 190, 16, 30
RTT_HEIGHT, BAND_HEIGHT, GAP = 90, 28, 8
PATH_COLOURS = ("#0072b2", "#8250df", "#117733", "#bf8700")
# Okabe-Ito colours (safe for the common colour-vision deficiencies), and a label in every band.
_ESTABLISHED, _DOWN, _BETWEEN = "#009e73", "#d55e00", "#e69f00"
_NEXT_HOPS = ("#56b4e9", "#cc79a7", "#0072b2", "#f0e442")
_UP_STATES = {"Established", "up", "Up", "ESTABLISHED/INSTALLED"}
_DOWN_STATES = {"Idle", "down", "Down", "none"}


def _state_fill(lane: StateLane, segment: Segment, hops: Sequence[str], pattern: str) -> str:
    if not segment.known:
        return f"url(#{pattern})"
    if lane.kind == "best_path":
        if segment.state == "none":
            return _DOWN
        return _NEXT_HOPS[hops.index(segment.state) % len(_NEXT_HOPS)]
    if segment.state in _UP_STATES:
        return _ESTABLISHED
    if segment.state in _DOWN_STATES:
        return _DOWN
    return _BETWEEN


def _ticks(low: float, high: float) -> list[float]:
    span = max(high - low, 1e-9)
    raw = span / 8
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 6) for i in range(int((high - first) / step) + 1)]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


class _Axis:
    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, max(high, low + 1.0)

    def x(self, seconds: float) -> float:
        usable = WIDTH - LEFT - RIGHT
        return LEFT + usable * (seconds - self.low) / (self.high - self.low)


def render_lanes(drill: Mapping[str, Any], index: int = 0) -> str:
    """The drill's lanes as one accessible inline <svg> (`index` keeps ids unique per page)."""
    axis = _Axis(start_seconds(drill), end_seconds(drill))
    lanes = state_lanes(drill)
    paths = sorted(drill.get("rtt_samples", {}))
    events = numbered_events(drill)
    pattern = f"hatch-{index}"
    tops: dict[str, tuple[float, float]] = {}  # lane key -> (top, height)
    y = float(TOP)
    for path in paths:
        tops[path] = (y, RTT_HEIGHT)
        y += RTT_HEIGHT + GAP
    for lane in lanes:
        tops[lane.key] = (y, BAND_HEIGHT)
        y += BAND_HEIGHT + GAP
    bottom = y
    height = bottom + 40
    name = _e(drill.get("name", ""))
    parts = [
        f'<svg class="lanes" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" '
        f'aria-labelledby="lanes-title-{index} lanes-desc-{index}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">',
        f'<title id="lanes-title-{index}">Drill {name}: lanes on one time axis</title>',
        f'<desc id="lanes-desc-{index}">{_e(_description(drill, lanes, paths, events))}</desc>',
        f'<defs><pattern id="{pattern}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eaeef2"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8c959f" stroke-width="2"/></pattern></defs>',
    ]
    for number, path in enumerate(paths):
        parts.append(_rtt_lane(drill, path, axis, tops[path], PATH_COLOURS[number % 4]))
    hops = sorted(
        {s.state for lane in lanes if lane.kind == "best_path" for s in lane.segments if s.known}
    )
    for lane in lanes:
        parts.append(_state_lane(lane, axis, tops[lane.key], hops, pattern))
    origin = "the trigger" if triggered(drill) else "the drill's start"
    parts.append(_time_axis(axis, bottom, origin))
    parts.append(_actions(drill, axis, bottom))
    parts.append(_markers(events, axis, tops, bottom))
    parts.append("</svg>")
    return "".join(parts)


def _description(
    drill: Mapping[str, Any],
    lanes: Sequence[StateLane],
    paths: Sequence[str],
    events: Sequence[NumberedEvent],
) -> str:
    lost = "; ".join(
        f"{path}: lost {a:+.2f} s to {b:+.2f} s ({n} probes)"
        for path in paths
        for a, b, n in loss_intervals(drill, path)
    )
    return (
        f"Seconds from {'the trigger' if triggered(drill) else 'the start'}. "
        f"Ping paths: {', '.join(paths) or 'none'}"
        f"{'; ' + lost if lost else '; no probe lost'}. "
        f"State lanes: {', '.join(lane.title for lane in lanes) or 'none'}. "
        f"{len(events)} numbered events, listed in the table below."
    )


def _lane_name(text: str, top: float, height: float, small: str = "") -> str:
    middle = top + height / 2 - (5 if small else 0)
    extra = (
        f'<text x="{LEFT - 8}" y="{middle + 15:.1f}" text-anchor="end" fill="#57606a" '
        f'font-size="10">{_e(small)}</text>'
        if small
        else ""
    )
    return (
        f'<text x="{LEFT - 8}" y="{middle + 4:.1f}" text-anchor="end" fill="#1f2328" '
        f'font-weight="600">{_e(text)}</text>{extra}'
    )


def _rtt_lane(
    drill: Mapping[str, Any], path: str, axis: _Axis, box: tuple[float, float], colour: str
) -> str:
    top, height = box
    trigger = trigger_seconds(drill)
    samples = drill.get("rtt_samples", {}).get(path, ())
    rtts = [float(r) for _, r in samples if r is not None]
    ceiling = max(max(rtts, default=0.001) * 1.15, 0.001)
    parts = [
        f'<g class="lane rtt" data-lane="{_e(path)}">',
        f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{height}" '
        'fill="#fafbfc" stroke="#d0d7de"/>',
        _lane_name(f"RTT {path}", top, height, f"0 to {ceiling * 1000:.1f} ms"),
    ]
    for a, b, count in loss_intervals(drill, path):
        x0, x1 = axis.x(a), max(axis.x(b), axis.x(a) + 1.5)
        parts.append(
            f'<rect class="lost" x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{height}" '
            f'fill="#d55e00" fill-opacity="0.22" stroke="#d55e00" stroke-dasharray="2,2">'
            f"<title>{_e(path)}: {count} probes lost, {a:+.2f} s to {b:+.2f} s</title></rect>"
        )
        if x1 - x0 > 60:
            parts.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{top + height / 2 + 4:.1f}" '
                f'text-anchor="middle" fill="#873800" font-weight="600">{count} lost</text>'
            )
    # The line breaks where probes were lost: no RTT is drawn that no reply measured.
    runs: list[list[tuple[float, float]]] = [[]]
    for t, r in samples:
        if r is None:
            runs.append([])
            continue
        runs[-1].append(
            (axis.x(float(t) - trigger), top + height - height * min(float(r) / ceiling, 1.0))
        )
    for run in (run for run in runs if run):
        joined = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
        parts.append(
            f'<polyline points="{joined}" fill="none" stroke="{colour}" stroke-width="1.2">'
            f"<title>{_e(path)} RTT ({len(run)} replies)</title></polyline>"
        )
    parts.append("</g>")
    return "".join(parts)


def _state_lane(
    lane: StateLane, axis: _Axis, box: tuple[float, float], hops: Sequence[str], pattern: str
) -> str:
    top, height = box
    kind_name = _LANE_TITLES.get(lane.kind, lane.kind)
    parts = [
        f'<g class="lane band {lane.kind}" data-lane="{_e(lane.key)}">',
        _lane_name(f"{kind_name} {lane.subject}", top, height, lane.router),
    ]
    for segment in lane.segments:
        x0, x1 = axis.x(segment.start), axis.x(segment.end)
        fill = _state_fill(lane, segment, hops, pattern)
        parts.append(
            f'<rect class="segment{"" if segment.known else " unknown"}" x="{x0:.1f}" y="{top}" '
            f'width="{max(x1 - x0, 0.5):.1f}" height="{height}" fill="{fill}" stroke="#ffffff" '
            f'stroke-width="0.5"><title>{_e(lane.title)}: {_e(segment.label)}, '
            f"{segment.start:+.2f} s to {segment.end:+.2f} s</title></rect>"
        )
        # A "changing" stretch holds its event's marker, not text (its hover label says it).
        label = "" if segment.state == CHANGING else segment.label
        if label and x1 - x0 > 7 * len(label) + 6:
            colour = "#ffffff" if segment.known and lane.kind != "best_path" else "#1f2328"
            parts.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{top + height / 2 + 4:.1f}" '
                f'text-anchor="middle" fill="{colour}" font-weight="600">{_e(label)}</text>'
            )
    parts.append("</g>")
    return "".join(parts)


def _time_axis(axis: _Axis, bottom: float, origin: str) -> str:
    parts = ['<g class="axis">']
    for tick in _ticks(axis.low, axis.high):
        x = axis.x(tick)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}" stroke="#d0d7de" '
            f'stroke-width="0.5"/><text x="{x:.1f}" y="{bottom + 14:.1f}" text-anchor="middle" '
            f'fill="#57606a">{tick:+g} s</text>'
        )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{bottom + 30:.1f}" text-anchor="middle" '
        f'fill="#57606a">seconds from {origin}</text></g>'
    )
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class ActionLine:
    """A vertical line through every lane: trigger, restore (numbered events), abort, signal."""

    offset_seconds: float
    kind: str
    number: int | None  # its number in the events table; None: a journal event, not in it
    title: str


def action_lines(drill: Mapping[str, Any]) -> list[ActionLine]:
    """The trigger and restore of the convergence list, else of the journal events (a record
    without convergence events); an abort or a signal from the journal events in any case."""
    lines = [
        ActionLine(
            n.event.offset_seconds,
            n.event.kind,
            n.number,
            f"{n.number}. {n.event.describe()} at {n.event.label()}",
        )
        for n in numbered_events(drill)
        if n.event.plane == "action"
    ]
    drawn = {line.kind for line in lines}
    trigger = trigger_seconds(drill)
    for event in drill.get("events", ()):
        kind = str(event.get("kind", ""))
        if kind in {"abort", "signal"} or (kind in {"trigger", "restore"} and kind not in drawn):
            offset = round(float(event["at_seconds"]) - trigger, 3)
            lines.append(ActionLine(offset, kind, None, f"{kind}: {event.get('detail', '')}"))
    return sorted(lines, key=lambda line: line.offset_seconds)


def _actions(drill: Mapping[str, Any], axis: _Axis, bottom: float) -> str:
    parts = []
    colours = {"trigger": "#1f2328", "restore": "#0072b2"}
    for line in action_lines(drill):
        x = axis.x(line.offset_seconds)
        colour = colours.get(line.kind, "#d55e00")
        number = f"({line.number}) " if line.number is not None else ""
        group = "action" if line.number is not None else "mark"
        parts.append(
            f'<g class="{group} {_e(line.kind)}"><line x1="{x:.1f}" x2="{x:.1f}" '
            f'y1="{TOP - 14}" y2="{bottom}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{x + 4:.1f}" y="{TOP - 4}" fill="{colour}" font-weight="700">'
            f"{number}{_e(line.kind)} {line.offset_seconds:+.2f} s</text>"
            f"<title>{_e(line.title)}</title></g>"
        )
    return "".join(parts)


def _markers(
    events: Sequence[NumberedEvent],
    axis: _Axis,
    tops: Mapping[str, tuple[float, float]],
    bottom: float,
) -> str:
    parts = []
    used: dict[str, list[float]] = {}
    for numbered in events:
        event = numbered.event
        if event.plane == "action" or numbered.lane not in tops:
            continue
        top, height = tops[numbered.lane]
        x = axis.x(event.offset_seconds)
        # Markers close together on one lane step down so their numbers stay readable.
        taken = used.setdefault(numbered.lane, [])
        row = sum(1 for other in taken if abs(other - x) < 16)
        taken.append(x)
        cy = top + 9 + (row % 3) * 8 if height <= BAND_HEIGHT else top + 12 + (row % 4) * 16
        low, high = (
            axis.x(event.offset_seconds - event.resolution_seconds),
            axis.x(event.offset_seconds + event.resolution_seconds),
        )
        parts.append(
            f'<g class="event" data-number="{numbered.number}">'
            f'<line x1="{low:.1f}" x2="{high:.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="#1f2328" '
            'stroke-width="1.5"/>'
            f'<circle cx="{x:.1f}" cy="{cy:.1f}" r="7" fill="#ffffff" stroke="#1f2328"/>'
            f'<text x="{x:.1f}" y="{cy + 3.5:.1f}" text-anchor="middle" font-size="9.5" '
            f'font-weight="700" fill="#1f2328">{numbered.number}</text>'
            f"<title>{numbered.number}. {_e(event.label())}: {_e(event.describe())}</title></g>"
        )
    return "".join(parts)


def _where(event: ConvergenceEvent) -> str:
    """The router or path; for an action where it ran (``local (netns he-esg1)``)."""
    return event.source or event.detail.partition(": ")[0]


def render_events_table(drill: Mapping[str, Any]) -> str:
    """The numbered events under the picture: offset ± resolution, plane, what, where."""
    rows = "".join(
        f'<tr class="event-row"><td class="num">{n.number}</td>'
        f'<td class="num"><code>{_e(n.event.label())}</code></td><td>{_e(n.event.plane)}</td>'
        f"<td>{_e(n.event.describe())}</td><td>{_e(_where(n.event))}</td></tr>"
        for n in numbered_events(drill)
    )
    if not rows:
        why = "this record has none" if triggered(drill) else "the trigger never ran"
        return f"<p>No convergence events recorded ({why}).</p>"
    return (
        '<table class="events"><caption>Events on the timeline (offset from the trigger, '
        "± the polling or probe resolution)</caption><thead><tr><th>#</th><th>offset</th>"
        f"<th>plane</th><th>event</th><th>where</th></tr></thead><tbody>{rows}</tbody></table>"
    )

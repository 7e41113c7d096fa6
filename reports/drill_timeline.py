"""An inline SVG timeline of one drill: RTT over time, loss shaded, events marked.

Input is the JSON form of a DrillResult (``RunResult.extras["drills"][i]``), so a report rendered
later from a journal draws the same picture. No JavaScript, no external assets.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from holdtime.reports.drill_story import stories

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 20, 70
PATH_COLOURS = ("#1f6feb", "#8250df", "#1a7f37", "#bf8700")
EVENT_COLOURS = {
    "trigger": "#cf222e",
    "restore": "#1a7f37",
    "abort": "#cf222e",
    "signal": "#cf222e",
}


def _x(seconds: float, span: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (seconds / span if span else 0.0)


def _y(rtt_seconds: float, top_rtt: float) -> float:
    usable = HEIGHT - TOP - BOTTOM
    return TOP + usable - usable * min(rtt_seconds / top_rtt, 1.0)


def _span(drill: Mapping[str, Any]) -> float:
    times = [float(e["at_seconds"]) for e in drill.get("events", ())]
    for samples in drill.get("rtt_samples", {}).values():
        times.extend(float(t) for t, _ in samples)
    return max(times, default=1.0) * 1.02 or 1.0


def _lost_runs(samples: Sequence[Sequence[Any]]) -> list[tuple[float, float]]:
    """Contiguous runs of lost probes as (start, end) seconds."""
    runs: list[tuple[float, float]] = []
    start = previous = None
    for t, rtt in samples:
        if rtt is None:
            start = float(t) if start is None else start
            previous = float(t)
        elif start is not None and previous is not None:
            runs.append((start, previous))
            start = previous = None
    if start is not None and previous is not None:
        runs.append((start, previous))
    return runs


def _answered_segments(samples: Sequence[Sequence[Any]]) -> list[list[tuple[float, float]]]:
    """Runs of answered probes, so the RTT line breaks where probes were lost."""
    segments: list[list[tuple[float, float]]] = [[]]
    for t, rtt in samples:
        if rtt is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((float(t), float(rtt)))
    return [segment for segment in segments if segment]


def render_svg(drill: Mapping[str, Any]) -> str:
    """The timeline of one drill as an <svg> element."""
    span = _span(drill)
    samples_by_path: Mapping[str, Sequence[Sequence[Any]]] = drill.get("rtt_samples", {})
    rtts = [float(r) for s in samples_by_path.values() for _, r in s if r is not None]
    top_rtt = max(max(rtts, default=0.001) * 1.2, 0.001)
    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="drill timeline {html.escape(str(drill.get("name", "")))}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">',
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}" fill="#fafbfc" stroke="#d0d7de"/>',
    ]
    for index, (path, samples) in enumerate(sorted(samples_by_path.items())):
        colour = PATH_COLOURS[index % len(PATH_COLOURS)]
        for start, end in _lost_runs(samples):
            x0, x1 = _x(start, span), max(_x(end, span), _x(start, span) + 1.5)
            parts.append(
                f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" '
                f'height="{HEIGHT - TOP - BOTTOM}" fill="#cf222e" fill-opacity="0.18">'
                f"<title>{html.escape(path)}: lost {start:.2f}-{end:.2f} s</title></rect>"
            )
        for segment in _answered_segments(samples):
            points = " ".join(f"{_x(t, span):.1f},{_y(r, top_rtt):.1f}" for t, r in segment)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1">'
                f"<title>{html.escape(path)} RTT</title></polyline>"
            )
        parts.append(
            f'<text x="{LEFT + 8 + 150 * index}" y="{HEIGHT - 8}" fill="{colour}">'
            f"&#9644; {html.escape(path)} RTT</text>"
        )
    for number, event in enumerate(drill.get("events", ())):
        kind = str(event.get("kind", ""))
        if kind in {"loss", "sample"}:
            continue
        x = _x(float(event["at_seconds"]), span)
        colour = EVENT_COLOURS.get(kind, "#57606a")
        label = html.escape(f"{kind}: {event.get('detail', '')}")
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM + 6}" '
            f'stroke="{colour}" stroke-dasharray="3,2"><title>{float(event["at_seconds"]):.2f} s '
            f"{label}</title></line>"
        )
        if kind in EVENT_COLOURS:
            parts.append(
                f'<text x="{x + 3:.1f}" y="{TOP + 12 + 12 * (number % 3)}" fill="{colour}">'
                f"{html.escape(kind)}</text>"
            )
    for tick in range(6):
        seconds = span * tick / 5
        x = _x(seconds, span)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" fill="#57606a">'
            f"{seconds:.0f} s</text>"
        )
    parts.append(
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" fill="#57606a">'
        f"{top_rtt * 1000:.0f} ms</text>"
        f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" text-anchor="end" fill="#57606a">0</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _seconds(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f} s"


def _phase_verdict(phase: Mapping[str, Any]) -> str:
    if phase.get("not_measured"):
        return f"not measured ({html.escape(str(phase['not_measured']))})"
    return "ok" if phase.get("within_budget") else "OVER"


def _budget_from(phase: Mapping[str, Any]) -> str:
    source = phase.get("budget_from")
    return f" <small>({html.escape(str(source))})</small>" if source else ""


def render_stories(drill: Mapping[str, Any]) -> str:
    """Per outage episode: predicted vs measured, then its convergence events in a table."""
    parts = []
    for story in stories(drill):
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in story.notes)
        finding = (
            f'<p class="alarm"><b>{html.escape(story.finding)}</b></p>' if story.finding else ""
        )
        rows = "".join(
            f"<tr><td><code>{html.escape(offset)}</code></td><td>{html.escape(plane)}</td>"
            f"<td>{html.escape(what)}</td></tr>"
            for offset, plane, what in story.events
        )
        parts.append(
            f'<div class="story"><h3>{html.escape(story.heading)}</h3><ul>{notes}</ul>{finding}'
            "<table><thead><tr><th>offset from trigger</th><th>plane</th><th>event</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>"
        )
    return "".join(parts)


def render_section(drill: Mapping[str, Any]) -> str:
    """One drill as an HTML <section>: verdict, outage table, timeline, event list."""
    verdict = "PASSED" if drill.get("passed") else "FAILED"
    if drill.get("restore_failed"):
        verdict = "RESTORE FAILED"
    aborted = drill.get("aborted")
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(str(p['path']))}</td><td>{html.escape(str(p['phase']))}</td>"
        f"<td>{p['lost']} / {p['sent']}</td>"
        f"<td>{float(p['loss_derived_outage_seconds']):.2f} s</td>"
        f"<td>{_seconds(p.get('gap_derived_outage_seconds'))}</td>"
        f"<td>{p['interval_seconds']} s</td><td>{p['budget_seconds']} s{_budget_from(p)}</td>"
        f"<td>{_phase_verdict(p)}</td></tr>"
        for p in drill.get("phases", ())
    )
    events = "".join(
        f"<li><code>{float(e['at_seconds']):8.2f} s</code> <b>{html.escape(str(e['kind']))}</b> "
        f"{html.escape(str(e.get('detail', '')))}"
        f"{' (' + html.escape(str(e['source'])) + ')' if e.get('source') else ''}</li>"
        for e in drill.get("events", ())
    )
    return (
        f'<section class="drill"><h2>Drill {html.escape(str(drill.get("name", "")))}: '
        f"{verdict}</h2>"
        + render_stories(drill)
        + (
            f'<p class="alarm"><b>{html.escape(str(drill["restore_failed"]))}</b></p>'
            if drill.get("restore_failed")
            else ""
        )
        + (f"<p><b>Aborted:</b> {html.escape(str(aborted))}</p>" if aborted else "")
        + "<table><thead><tr><th>path</th><th>phase</th><th>lost / sent</th>"
        "<th>loss-derived outage</th><th>gap-derived outage</th><th>resolution</th>"
        f"<th>budget</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        + render_svg(drill)
        + f"<details><summary>timeline events</summary><ul>{events}</ul></details></section>"
    )

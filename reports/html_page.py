"""The run as one self-contained HTML page: counters, a filterable results table, drill timelines.

Everything lives in the file (inline CSS, one tiny inline script, inline SVG), so it can be mailed,
attached to a ticket or opened from a CI artifact without a network. Every piece of text that
came from a device or an inventory is HTML-escaped; a Content-Security-Policy allows no network
fetch at all and only the page's own script (by hash), so even a missed escape could not run code.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping
from typing import Any

from holdtime.models import CheckResult, RunResult, Status
from holdtime.reports.drill_alarm import alarm_lines
from holdtime.reports.drill_lanes import render_events_table, render_lanes
from holdtime.reports.drill_timeline import render_stories
from holdtime.reports.table import STATUS_ORDER, ordered, summary_line

_COLOURS = {
    Status.ERROR: ("#82071e", "#ffebe9"),
    Status.FAIL: ("#cf222e", "#ffebe9"),
    Status.WARN: ("#9a6700", "#fff8c5"),
    Status.PASS: ("#1a7f37", "#dafbe1"),
    Status.SKIP: ("#57606a", "#f6f8fa"),
}

_STATUS_CSS = "".join(
    f".s-{s.value}{{color:{fg};background:{bg};border-color:{fg}}}"
    for s, (fg, bg) in _COLOURS.items()
)

CSS = (
    "body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;"
    "margin:0 auto;padding:24px;max-width:1200px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}"
    ".meta{color:#57606a;margin:0 0 16px}"
    ".counters{display:flex;gap:8px;flex-wrap:wrap;margin:0 0 16px}"
    ".counter{border:1px solid;border-radius:6px;padding:6px 14px;cursor:pointer;"
    "font:inherit;text-align:center;min-width:72px}"
    ".counter b{display:block;font-size:22px;line-height:1.2}"
    ".counter[aria-pressed=false]{opacity:.35}"
    "table{border-collapse:collapse;width:100%;margin:0 0 12px}"
    "th,td{border:1px solid #d0d7de;padding:5px 8px;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa;font-weight:600}"
    "tbody tr:nth-child(even)>td{background:#fbfcfd}"
    "td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    "td.id{overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;"
    "font-size:12.5px}"
    "td.check{white-space:nowrap}"
    ".badge{display:inline-block;border:1px solid;border-radius:4px;padding:0 6px;"
    "font-size:12px;font-weight:600;white-space:nowrap}"
    "details>summary{cursor:pointer}"
    "details .detail{margin:6px 0 2px}"
    "details table{width:auto;font-size:12.5px;margin:6px 0}"
    "ul.reasons{margin:4px 0;padding-left:20px}"
    "ul.reasons li{white-space:pre-wrap}"
    "code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}"
    "pre{margin:0;white-space:pre-wrap;word-break:break-word}"
    "section.drill{border-top:1px solid #d0d7de;margin-top:24px}"
    "section.drill svg{display:block;margin:8px 0;border:1px solid #d0d7de;border-radius:6px}"
    "section.drill ul{padding-left:20px}"
    "figure.timeline{margin:8px 0}"
    "table.events caption{text-align:left;font-weight:600;padding:4px 0}"
    "ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px 16px;"
    "font-size:12.5px;margin:0 0 8px}"
    ".swatch{display:inline-block;width:14px;height:10px;border:1px solid #57606a;"
    "margin-right:4px;vertical-align:middle}"
    "p.alarm{background:#cf222e;color:#fff;padding:8px 12px;border-radius:6px}"
    "tr.hidden{display:none}"
    "footer{color:#57606a;font-size:12px;margin-top:24px}" + _STATUS_CSS
)

# Clicking a counter shows or hides the rows of that status.
SCRIPT = (
    "document.querySelectorAll('button.counter').forEach(function(b){"
    "b.addEventListener('click',function(){"
    "var on=b.getAttribute('aria-pressed')!=='true';"
    "b.setAttribute('aria-pressed',on?'true':'false');"
    "document.querySelectorAll('tr[data-status='+b.dataset.status+']').forEach(function(r){"
    "r.classList.toggle('hidden',!on);});});});"
)


def _csp() -> str:
    # Our own constant: no quote, < or & to escape inside the attribute.
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _value(value: object) -> str:
    """An observed/expected value: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return f"<pre>{_e(value)}</pre>"
    if isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return f"<pre>{_e(text)}</pre>"


def _badge(status: Status) -> str:
    return f'<span class="badge s-{status.value}">{status.value.upper()}</span>'


def _details(result: CheckResult) -> str:
    parts: list[str] = []
    if result.reasons:
        items = "".join(f"<li>{_e(reason)}</li>" for reason in result.reasons)
        parts.append(f'<ul class="reasons">{items}</ul>')
    keys = sorted({*result.observed, *result.expected})
    if keys:
        rows = "".join(
            f"<tr><td><code>{_e(key)}</code></td>"
            f"<td>{_value(result.observed[key]) if key in result.observed else ''}</td>"
            f"<td>{_value(result.expected[key]) if key in result.expected else ''}</td></tr>"
            for key in keys
        )
        parts.append(
            "<table><thead><tr><th>key</th><th>observed</th><th>expected</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    if result.device:
        parts.append(f"<div>device <code>{_e(result.device)}</code></div>")
    if not parts:
        return _e(result.summary)
    # Problems open by default: a reader should not have to click to see why something failed.
    is_open = " open" if result.status in (Status.ERROR, Status.FAIL, Status.WARN) else ""
    return (
        f"<details{is_open}><summary>{_e(result.summary)}</summary>"
        f'<div class="detail">{"".join(parts)}</div></details>'
    )


def _row(result: CheckResult) -> str:
    return (
        f'<tr data-status="{result.status.value}"><td>{_badge(result.status)}</td>'
        f'<td class="id check">{_e(result.check)}</td><td class="id">{_e(result.target)}</td>'
        f"<td>{_details(result)}</td>"
        f'<td class="num">{result.duration_seconds:.2f} s</td></tr>'
    )


def _counters(run: RunResult) -> str:
    counts = run.counts()
    buttons = "".join(
        f'<button type="button" class="counter s-{s.value}" data-status="{s.value}" '
        f'aria-pressed="true" title="show/hide {s.value}"><b>{counts[s]}</b>{s.value}</button>'
        for s in STATUS_ORDER
    )
    return f'<div class="counters">{buttons}</div>'


_LEGEND = (
    '<ul class="legend" aria-label="legend">'
    '<li><span class="swatch" style="background:#009e73"></span>Established / up / SA installed'
    "</li>"
    '<li><span class="swatch" style="background:#e69f00"></span>Connect, Active, OpenSent ...</li>'
    '<li><span class="swatch" style="background:#d55e00"></span>Idle / down / no route</li>'
    '<li><span class="swatch" style="background:#56b4e9"></span>best path: one colour per next hop'
    "</li>"
    '<li><span class="swatch" style="background:repeating-linear-gradient(45deg,#8c959f 0 2px,'
    '#eaeef2 2px 5px)"></span>not observed: not polled yet, changing between two polls, '
    "or not read</li>"
    '<li><span class="swatch" style="background:#fbd9c4;border-style:dashed"></span>lost probes'
    "</li>"
    "<li>(n) numbered event: the bar is its &plusmn; window; hover for its label</li></ul>"
)


def _seconds(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f} s"


def _phase_verdict(phase: Mapping[str, Any]) -> str:
    if phase.get("not_measured"):
        return f"not measured ({_e(phase['not_measured'])})"
    return "ok" if phase.get("within_budget") else "OVER"


def _outage_rows(drill: Mapping[str, Any]) -> str:
    return "".join(
        "<tr>"
        f"<td>{_e(p['path'])}</td><td>{_e(p['phase'])}</td>"
        f"<td>{p['lost']} / {p['sent']}</td>"
        f"<td>{float(p['loss_derived_outage_seconds']):.2f} s</td>"
        f"<td>{_seconds(p.get('gap_derived_outage_seconds'))}</td>"
        f"<td>{p['interval_seconds']} s</td><td>{p['budget_seconds']} s"
        + (f" <small>({_e(p['budget_from'])})</small>" if p.get("budget_from") else "")
        + f"</td><td>{_phase_verdict(p)}</td></tr>"
        for p in drill.get("phases", ())
    )


def drill_section(drill: Mapping[str, Any], index: int = 0) -> str:
    """One drill: verdict, the story per episode, outages, the lanes and their events table."""
    verdict = "PASSED" if drill.get("passed") else "FAILED"
    if drill.get("restore_failed"):
        verdict = "RESTORE FAILED"
    aborted = drill.get("aborted")
    raw_events = "".join(
        f"<li><code>{float(e['at_seconds']):8.2f} s</code> <b>{_e(e['kind'])}</b> "
        f"{_e(e.get('detail', ''))}"
        f"{' (' + _e(e['source']) + ')' if e.get('source') else ''}</li>"
        for e in drill.get("events", ())
    )
    return (
        f'<section class="drill" id="drill-{index}">'
        f"<h2>Drill {_e(drill.get('name', ''))}: {verdict}</h2>"
        + render_stories(drill)
        + (
            f'<p class="alarm"><b>{_e(drill["restore_failed"])}</b></p>'
            if drill.get("restore_failed")
            else ""
        )
        + (f"<p><b>Aborted:</b> {_e(aborted)}</p>" if aborted else "")
        + "<table><thead><tr><th>path</th><th>phase</th><th>lost / sent</th>"
        "<th>loss-derived outage</th><th>gap-derived outage</th><th>resolution</th>"
        f"<th>budget</th><th></th></tr></thead><tbody>{_outage_rows(drill)}</tbody></table>"
        + f'<figure class="timeline">{render_lanes(drill, index)}{_LEGEND}</figure>'
        + render_events_table(drill)
        + "<details><summary>journal events (seconds since the drill's start)</summary>"
        f"<ul>{raw_events}</ul></details></section>"
    )


def render(run: RunResult) -> str:
    """The run as one HTML document."""
    worst = max((r.status for r in run.results), key=lambda s: s.severity, default=Status.SKIP)
    meta = (
        f"Started {_e(run.started_at.isoformat())}, finished {_e(run.finished_at.isoformat())}"
        f" &middot; holdtime {_e(run.holdtime_version)}"
        + (
            f" &middot; inventory <code>{_e(run.inventory_path)}</code>"
            if run.inventory_path
            else ""
        )
    )
    rows = "".join(_row(r) for r in ordered(run.results))
    drills: Any = run.extras.get("drills", [])
    drill_sections = (
        "".join(drill_section(d, i) for i, d in enumerate(drills) if isinstance(d, Mapping))
        if isinstance(drills, list)
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>holdtime: {_e(summary_line(run))}</title>"
        f"<style>{CSS}</style></head>\n"
        f'<body class="worst-{worst.value}">'
        + "".join(f'<p class="alarm"><b>{_e(alarm)}</b></p>' for alarm in alarm_lines(run))
        + "<h1>holdtime report</h1>"
        f'<p class="meta"><b>{_e(summary_line(run))}</b><br>{meta}</p>'
        f"{_counters(run)}"
        '<table class="results"><thead><tr><th>status</th><th>check</th><th>target</th>'
        f"<th>summary</th><th>duration</th></tr></thead><tbody>{rows}</tbody></table>\n"
        f"{drill_sections}"
        "<footer>Generated by holdtime. Click a counter to show or hide its results.</footer>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )

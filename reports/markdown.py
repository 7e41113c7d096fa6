"""The run as GitHub-flavoured Markdown: for a pull-request comment, a wiki page or a ticket.

Summary line, one results table (worst first), a Findings section explaining every result that
is not a pass, and a phase table per drill found in ``run.extras["drills"]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from holdtime.drill.result import ATTEMPT_TITLES, outcomes_text
from holdtime.models import CheckResult, RunResult, Status
from holdtime.reports.drill_alarm import alarm_lines
from holdtime.reports.drill_story import stories
from holdtime.reports.table import ordered, summary_line

# Backslash-escape the punctuation that would otherwise become markup: table pipes, emphasis,
# code, links and raw HTML (CommonMark allows a backslash before any ASCII punctuation).
# Underscores are left alone: GFM does not emphasise inside words like peer_established.
_MARKUP = re.compile(r"([\\`*|<>&\[\]])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def md_escape(text: str) -> str:
    """``text`` safe inside a table cell or paragraph: markup escaped, newlines as ``<br>``."""
    escaped = _MARKUP.sub(r"\\\1", _CONTROL.sub("", text))
    return "<br>".join(escaped.splitlines()) if "\n" in text or "\r" in text else escaped


def _paragraph(text: str) -> str:
    """``md_escape`` plus a backslash before a leading ``#``, ``-``, ``+``, ``=`` or ``>``.

    Those would turn a paragraph that starts with them into a heading, list or quote.
    """
    escaped = md_escape(text)
    return "\\" + escaped if escaped[:1] in {"#", "-", "+", "=", ">"} else escaped


def md_value(value: object) -> str:
    """An observed/expected value: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return md_escape(value)
    return md_escape(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _finding(result: CheckResult) -> list[str]:
    lines = [
        f"### {result.status.value.upper()} {md_escape(result.test_id)}",
        "",
        _paragraph(result.summary),
        "",
    ]
    for reason in result.reasons:
        # A reason may span lines; continuation lines are indented to stay in the list item.
        first, *rest = reason.splitlines() or [""]
        lines.append(f"- {md_escape(first)}")
        lines += [f"  {md_escape(line)}" for line in rest]
    if result.reasons:
        lines.append("")
    keys = sorted({*result.observed, *result.expected})
    if keys:
        rows = [
            [
                md_escape(key),
                md_value(result.observed[key]) if key in result.observed else "",
                md_value(result.expected[key]) if key in result.expected else "",
            ]
            for key in keys
        ]
        lines += [*_table(["key", "observed", "expected"], rows), ""]
    return lines


def _seconds(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f} s"


def _drill(drill: Mapping[str, Any]) -> list[str]:
    verdict = "PASSED" if drill.get("passed") else "FAILED"
    lines = [f"### Drill {md_escape(str(drill.get('name', '')))}: {verdict}", ""]
    if drill.get("restore_failed"):
        verdict = "RESTORE FAILED"
        lines = [f"### Drill {md_escape(str(drill.get('name', '')))}: {verdict}", ""]
        lines += [f"**{md_escape(str(drill['restore_failed']))}**", ""]
    if drill.get("aborted"):
        lines += [f"**Aborted:** {md_escape(str(drill['aborted']))}", ""]
    rows = [
        [
            md_escape(str(p.get("path", ""))),
            md_escape(str(p.get("phase", ""))),
            f"{p.get('lost', '')} / {p.get('sent', '')}"
            + (
                f" {ATTEMPT_TITLES[str(p['kind'])]}"
                f" ({md_escape(outcomes_text(p.get('outcomes') or {}))})"
                if p.get("kind") in ATTEMPT_TITLES
                else ""
            ),
            _seconds(p.get("loss_derived_outage_seconds")),
            _seconds(p.get("gap_derived_outage_seconds")),
            _seconds(p.get("interval_seconds")),
            _seconds(p.get("budget_seconds"))
            + (f" ({md_escape(str(p['budget_from']))})" if p.get("budget_from") else ""),
            f"not measured ({md_escape(str(p['not_measured']))})"
            if p.get("not_measured")
            else "ok"
            if p.get("within_budget")
            else "**OVER**",
        ]
        for p in drill.get("phases", ())
    ]
    headers = [
        "path",
        "phase",
        "lost / sent",
        "loss-derived outage",
        "gap-derived outage",
        "resolution",
        "budget",
        "verdict",
    ]
    lines = [*lines, *_table(headers, rows), ""]
    for story in stories(drill):
        lines += [f"#### {md_escape(story.heading)}", ""]
        lines += [f"- {md_escape(note)}" for note in story.notes]
        if story.finding:
            lines.append(f"- **{md_escape(story.finding)}**")
        lines.append("")
        event_rows = [[md_escape(a), md_escape(b), md_escape(c)] for a, b, c in story.events]
        lines += [*_table(["offset from trigger", "plane", "event"], event_rows), ""]
    return lines


def render(run: RunResult) -> str:
    """The run as one Markdown document."""
    alarms = [f"**{md_escape(alarm)}**" for alarm in alarm_lines(run)]
    lines = [
        *(alarms and [*alarms, ""]),
        "# holdtime report",
        "",
        f"**{summary_line(run)}**",
        "",
        f"Started {run.started_at.isoformat()}, finished {run.finished_at.isoformat()}, "
        f"holdtime {md_escape(run.holdtime_version)}"
        + (f", inventory {md_escape(run.inventory_path)}" if run.inventory_path else "")
        + ".",
        "",
    ]
    results = ordered(run.results)
    if results:
        rows = [
            [
                r.status.value.upper(),
                md_escape(r.check),
                md_escape(r.target),
                md_escape(r.summary),
                f"{r.duration_seconds:.2f} s",
            ]
            for r in results
        ]
        lines += [*_table(["status", "check", "target", "summary", "duration"], rows), ""]
    findings = [r for r in results if r.status is not Status.PASS]
    if findings:
        lines += ["## Findings", ""]
        for result in findings:
            lines += _finding(result)
    drills = run.extras.get("drills", [])
    if isinstance(drills, list) and drills:
        lines += ["## Drills", ""]
        for drill in drills:
            lines += _drill(drill)
    return "\n".join(lines).rstrip("\n") + "\n"

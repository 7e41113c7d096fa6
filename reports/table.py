"""A plain-text table of a run for the terminal: worst results first, a one-line footer.

Also holds the ordering and counting helpers every other report format shares, so the table,
Markdown and HTML pages list results in the same order and summarise them in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tabulate import tabulate

from holdtime.models import CheckResult, RunResult, Status
from holdtime.reports.drill_alarm import alarm_lines
from holdtime.reports.drill_story import text_lines

# Worst first: what needs attention sits at the top of a long report.
STATUS_ORDER = (Status.ERROR, Status.FAIL, Status.WARN, Status.PASS, Status.SKIP)
_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}

# SGR colours: red (bold for error), red, yellow, green, dim.
_ANSI = {
    Status.ERROR: "\033[1;31m",
    Status.FAIL: "\033[31m",
    Status.WARN: "\033[33m",
    Status.PASS: "\033[32m",
    Status.SKIP: "\033[2m",
}
_RESET = "\033[0m"

# Device output can carry escape sequences; never let a target name drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def ordered(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Results worst first (error, fail, warn, pass, skip), then by check and target."""
    return sorted(results, key=lambda r: (_RANK[r.status], r.check, r.target))


def summary_line(run: RunResult) -> str:
    """``12 checks: 9 pass, 1 warn, 1 fail, 1 error, 0 skip in 3.2 s``."""
    counts = run.counts()
    total = len(run.results)
    noun = "check" if total == 1 else "checks"
    parts = ", ".join(
        f"{counts[s]} {s.value}"
        for s in (Status.PASS, Status.WARN, Status.FAIL, Status.ERROR, Status.SKIP)
    )
    return f"{total} {noun}: {parts} in {run.duration_seconds:.1f} s"


def _clean(text: str) -> str:
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def _one_line(text: str) -> str:
    return _clean(" ".join(text.splitlines()))


def _status_cell(status: Status, *, color: bool) -> str:
    label = status.value.upper()
    return f"{_ANSI[status]}{label}{_RESET}" if color else label


def render_table(run: RunResult, *, color: bool = False, verbose: bool = False) -> str:
    """The run as a tabulate table plus footer; ANSI colour only when ``color`` is true."""
    headers = ["status", "check", "target", "summary"]
    if verbose:
        headers += ["duration", "reasons"]
    rows: list[list[str]] = []
    for result in ordered(run.results):
        row = [
            _status_cell(result.status, color=color),
            _one_line(result.check),
            _one_line(result.target),
            _one_line(result.summary),
        ]
        if verbose:
            # Multi-line cells: tabulate keeps each reason on its own line inside the row.
            reasons = "\n".join(_clean(line) for r in result.reasons for line in r.splitlines())
            row += [f"{result.duration_seconds:.2f} s", reasons]
        rows.append(row)
    footer = summary_line(run)
    alarms = "".join(
        f"{_ANSI[Status.ERROR]}{_one_line(a)}{_RESET}\n" if color else f"{_one_line(a)}\n"
        for a in alarm_lines(run)
    )
    if color:
        worst = max((r.status for r in run.results), key=lambda s: s.severity, default=None)
        if worst in (Status.ERROR, Status.FAIL, Status.WARN):
            footer = f"{_ANSI[worst]}{footer}{_RESET}"
    drills = run.extras.get("drills", [])
    told = [
        _clean(line)
        for drill in (drills if isinstance(drills, list) else [])
        if isinstance(drill, dict)
        for line in text_lines(drill)
    ]
    story = "\n".join(told) + "\n\n" if told else ""
    if not rows:
        return alarms + story + footer + "\n"
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    return f"{alarms}{table}\n\n{story}{footer}\n"


def render(run: RunResult) -> str:
    """The table without colour (entry point ``holdtime.reports: table``)."""
    return render_table(run)

"""Report format `csv`: one row per result (check, target, status, summary)."""

from __future__ import annotations

import csv
import io

from holdtime.models import RunResult


def render(run: RunResult) -> str:
    """The run as CSV with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["check", "target", "status", "summary"])
    for result in run.results:
        writer.writerow([result.check, result.target, result.status.value, result.summary])
    return out.getvalue()

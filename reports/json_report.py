"""The run as JSON: ``RunResult.to_dict()``, which ``RunResult.from_dict`` reads back losslessly."""

from __future__ import annotations

import json

from holdtime.models import RunResult


def render(run: RunResult) -> str:
    """Indented JSON with sorted keys (stable diffs between runs) and a final newline."""
    return json.dumps(run.to_dict(), indent=2, sort_keys=True) + "\n"

"""The one line every report format puts first when a drill's restore failed.

A drill that left the network failed over is the loudest result holdtime has: the table, the
Markdown and the HTML page open with this line; JSON and JUnit list the ERROR result first.
"""

from __future__ import annotations

from collections.abc import Mapping

from holdtime.models import RunResult


def alarm_lines(run: RunResult) -> list[str]:
    """``DRILL esg1-bgp-shutdown: restore failed: ...; run `CMD` on esg1``, one per drill."""
    drills = run.extras.get("drills", [])
    if not isinstance(drills, list):
        return []
    return [
        f"DRILL {drill.get('name', '')}: {drill['restore_failed']}"
        for drill in drills
        if isinstance(drill, Mapping) and drill.get("restore_failed")
    ]

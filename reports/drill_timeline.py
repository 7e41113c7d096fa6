"""The per-episode story of one drill as HTML: predicted vs measured, then its convergence events.

Input is the JSON form of a DrillResult (``RunResult.extras["drills"][i]``), so a report rendered
later from a journal tells the same story. The picture (lanes on one time axis) is
``holdtime.reports.drill_lanes``; the page that holds both is ``holdtime.reports.html_page``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from holdtime.reports.drill_story import stories


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

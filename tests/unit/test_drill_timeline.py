"""The drill section of the HTML page escapes every name and detail it shows."""

from __future__ import annotations

from typing import Any

from holdtime.reports.html_page import drill_section

SAMPLES = [[0.0, 0.002], [0.1, 0.003], [0.2, None], [0.3, None], [0.4, 0.002], [0.5, None]]


def _drill(**changes: Any) -> dict[str, Any]:
    drill: dict[str, Any] = {
        "name": "esg1-down",
        "passed": True,
        "aborted": "",
        "phases": [],
        "events": [{"at_seconds": 0.15, "kind": "trigger", "detail": "ssh esg1", "source": ""}],
        "rtt_samples": {"app-to-db": SAMPLES},
    }
    drill.update(changes)
    return drill


def test_section_escapes_names_and_details() -> None:
    """Drill names, paths and event details are HTML-escaped."""
    page = drill_section(
        _drill(
            name="<script>x</script>",
            events=[{"at_seconds": 1, "kind": "bgp", "detail": "a&b <i>", "source": "r<1>"}],
        )
    )
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "a&amp;b &lt;i&gt;" in page

"""The drill timeline SVG: loss shaded, RTT line broken at losses, text escaped."""

from __future__ import annotations

from typing import Any

from holdtime.reports.drill_timeline import _answered_segments, _lost_runs, render_section

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


def test_lost_runs_are_contiguous_losses() -> None:
    """Lost probes group into (start, end) runs, the open one at the end included."""
    assert [(0.2, 0.3), (0.5, 0.5)] == _lost_runs(SAMPLES)


def test_rtt_line_breaks_at_losses() -> None:
    """The RTT polyline never bridges a loss."""
    assert [[(0.0, 0.002), (0.1, 0.003)], [(0.4, 0.002)]] == _answered_segments(SAMPLES)


def test_section_shades_each_loss_and_marks_events() -> None:
    """Two loss runs give two shaded rectangles; the trigger is drawn and labelled."""
    page = render_section(_drill())
    assert 2 == page.count('fill="#cf222e" fill-opacity="0.18"')
    assert ">trigger</text>" in page


def test_section_escapes_names_and_details() -> None:
    """Drill names, paths and event details are HTML-escaped."""
    page = render_section(
        _drill(
            name="<script>x</script>",
            events=[{"at_seconds": 1, "kind": "bgp", "detail": "a&b <i>", "source": "r<1>"}],
        )
    )
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "a&amp;b &lt;i&gt;" in page

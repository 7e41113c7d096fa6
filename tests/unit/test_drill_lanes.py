"""The HTML report's drill lanes (holdtime.reports.drill_lanes) on the recorded lab journals.

tests/fixtures/drill-journals: the silent failure of esg1 on timers 3/9 (31 probes lost) and
with BFD 300 ms x 3 (5 lost), each rendered as `holdtime report` does.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from holdtime.drill.journal import journal_result, numbered_records
from holdtime.models import RunResult
from holdtime.reports import html_page
from holdtime.reports.drill_lanes import (
    CHANGING,
    NOT_POLLED,
    POLLS_STOPPED,
    action_lines,
    loss_intervals,
    numbered_events,
    render_events_table,
    render_lanes,
    state_lanes,
    trigger_seconds,
)

JOURNALS = Path(__file__).resolve().parents[1] / "fixtures" / "drill-journals"


def _drill(case: str) -> dict[str, Any]:
    path = JOURNALS / case / "journal.jsonl"
    return journal_result(list(numbered_records(path)), path).to_dict()


def _lane(drill: dict[str, Any], key: str) -> list[tuple[float, float, str, bool]]:
    lane = next(lane for lane in state_lanes(drill) if lane.key == key)
    return [(s.start, s.end, s.state, s.known) for s in lane.segments]


def test_lanes_of_the_3_9_journal_in_order() -> None:
    """One lane per polled key: BGP neighbors, then the best path, then the SAs."""
    keys = [lane.key for lane in state_lanes(_drill("silent-3-9"))]
    assert [
        "vpc-router-1 bgp 10.10.10.2",
        "vpc-router-1 bgp 10.10.10.6",
        "vpc-router-1 best_path 172.16.1.0/24",
        "vpc-router-1 ipsec esg1",
        "vpc-router-1 ipsec esg2",
    ] == keys


def test_bgp_band_shows_only_what_the_polls_read() -> None:
    """Not polled before the first poll, hatched across each poll window, known elsewhere."""
    drill = _drill("silent-3-9")
    segments = _lane(drill, "vpc-router-1 bgp 10.10.10.2")
    trigger = trigger_seconds(drill)
    states = [(state, known) for _, _, state, known in segments]
    assert [
        (NOT_POLLED, False),
        ("Established", True),
        (CHANGING, False),  # Established -> Idle: +6.21 s ±0.83 s
        (CHANGING, False),  # Idle -> Connect overlaps it: Idle was never seen between polls
        ("Connect", True),
        (CHANGING, False),  # Connect -> Established around the restore
        ("Established", True),
    ] == states
    assert pytest.approx(-trigger) == segments[0][0]
    assert pytest.approx(2.7673 - trigger, abs=1e-3) == segments[0][1]  # the first poll's end
    assert pytest.approx(6.206 - 0.827, abs=1e-3) == segments[2][0]
    assert pytest.approx(6.206 + 0.827, abs=1e-3) == segments[2][1]
    # The bands tile the lane: each starts where the previous one ends.
    assert all(a[1] == pytest.approx(b[0]) for a, b in itertools.pairwise(segments))


def test_untouched_neighbor_is_one_established_band() -> None:
    """The backup session never changed: not polled, then Established to the end."""
    segments = _lane(_drill("silent-3-9"), "vpc-router-1 bgp 10.10.10.6")
    assert [(NOT_POLLED, False), ("Established", True)] == [(s, k) for _, _, s, k in segments]


def test_best_path_band_moves_to_the_backup_and_back() -> None:
    """The watched prefix's next hop: esg1, changing, esg2, changing, esg1."""
    segments = _lane(_drill("silent-3-9"), "vpc-router-1 best_path 172.16.1.0/24")
    assert ["10.10.10.2", CHANGING, "10.10.10.6", CHANGING, "10.10.10.2"] == [
        state for _, _, state, known in segments if state != NOT_POLLED
    ]


def test_bfd_lanes_appear_with_bfd() -> None:
    """The BFD journal has a BFD lane per peer; its peer to esg1 went down and came back."""
    drill = _drill("silent-bfd")
    segments = _lane(drill, "vpc-router-1 bfd 10.10.10.2")
    assert ["up", CHANGING, "down", CHANGING, CHANGING, "up"] == [
        state for _, _, state, _ in segments if state != NOT_POLLED
    ]


@pytest.mark.parametrize(("case", "lost"), [("silent-3-9", 31), ("silent-bfd", 5)])
def test_one_shaded_loss_interval_per_episode(case: str, lost: int) -> None:
    """Each journal lost one run of probes: one shaded interval, a probe interval per probe."""
    drill = _drill(case)
    ((start, end, count),) = loss_intervals(drill, "app-to-db")
    assert lost == count
    assert pytest.approx(lost * 0.2, abs=0.1) == end - start
    assert -0.2 < start < 0.5  # the first lost probe was sent just after the trigger


def test_events_numbered_in_the_recorded_order_on_their_lanes() -> None:
    """Numbers follow DrillResult.convergence; each event sits on its own lane."""
    drill = _drill("silent-3-9")
    numbered = numbered_events(drill)
    assert list(range(1, len(drill["convergence"]) + 1)) == [n.number for n in numbered]
    lanes = {n.event.kind: n.lane for n in numbered}
    assert "vpc-router-1 bgp 10.10.10.2" == lanes["last_keepalive"]
    assert "vpc-router-1 best_path 172.16.1.0/24" == lanes["best_path"]
    assert "app-to-db" == lanes["first_reply"]
    assert "" == lanes["trigger"]  # an action: a line across every lane


@pytest.mark.parametrize("case", ["silent-3-9", "silent-bfd"])
def test_every_event_has_a_marker_a_hover_label_and_a_row(case: str) -> None:
    """Each numbered event: one marker with a <title>, or an action line; one table row."""
    drill = _drill(case)
    svg, table = render_lanes(drill), render_events_table(drill)
    total = len(drill["convergence"])
    actions = sum(1 for e in drill["convergence"] if e["plane"] == "action")
    markers = re.findall(r'<g class="event" data-number="(\d+)">.*?<title>(.*?)</title>', svg)
    assert total - actions == len(markers)
    assert all(label.startswith(f"{number}. ") for number, label in markers)
    assert actions == svg.count('<g class="action ')
    assert total == table.count('<tr class="event-row">')


def test_html_page_draws_lanes_not_the_dashed_picture() -> None:
    """The HTML report of a journal carries the lanes and the events table, no dashed lines."""
    drill = _drill("silent-3-9")
    path = JOURNALS / "silent-3-9" / "journal.jsonl"
    result = journal_result(list(numbered_records(path)), path)
    run = RunResult.collect(
        result.check_results(),
        started_at=result.started_at,
        finished_at=result.finished_at,
        extras={"drills": [drill]},
    )
    page = html_page.render(run)
    assert render_lanes(drill, 0) in page
    assert render_events_table(drill) in page
    assert 'class="timeline"' in page
    assert 'stroke-dasharray="3,2"' not in page


def _sample_drill() -> dict[str, Any]:
    """The report golden files' sample drill: a record with journal events, no convergence."""
    sample = JOURNALS.parent / "reports" / "sample_run.json"
    run = RunResult.from_dict(json.loads(sample.read_text(encoding="utf-8")))
    drills = run.extras["drills"]
    assert isinstance(drills, list)
    return dict(drills[0])


def test_record_without_convergence_still_draws_trigger_and_restore() -> None:
    """No convergence events: trigger and restore come from the journal events, unnumbered."""
    lines = action_lines(_sample_drill())
    assert [("trigger", None), ("restore", None)] == [(line.kind, line.number) for line in lines]
    assert 0.0 == lines[0].offset_seconds
    assert "this record has none" in render_events_table(_sample_drill())


def test_failed_read_is_drawn_as_not_read() -> None:
    """A poll that failed (`error: ...`) is hatched as not read, never as a state."""
    drill = {
        "events": [
            {"at_seconds": 1.0, "kind": "trigger", "detail": "", "source": ""},
            {
                "at_seconds": 0.5,
                "kind": "bgp",
                "detail": "r1 bgp 10.0.0.1: Established",
                "source": "r1",
            },
            {
                "at_seconds": 3.0,
                "kind": "bgp",
                "detail": "r1 bgp 10.0.0.1: Established -> error: timed out",
                "source": "r1",
            },
        ],
        "rtt_samples": {"p": [[0.0, 0.001], [5.0, 0.001]]},
        "poll_resolution_seconds": 0.5,
    }
    (lane,) = state_lanes(drill)
    assert [
        (NOT_POLLED, False),
        ("Established", True),
        (CHANGING, False),
        ("error: timed out", False),
    ] == [(s.state, s.known) for s in lane.segments]
    assert "not read: timed out" == lane.segments[-1].label
    assert (1.5, 2.5) == (lane.segments[2].start, lane.segments[2].end)  # 2.0 s ± 0.5 s


def test_band_ends_where_the_polls_stopped() -> None:
    """After the last probe sample (probes and polls stop together) a lane is hatched."""
    drill = {
        "events": [
            {"at_seconds": 1.0, "kind": "trigger", "detail": "", "source": ""},
            {"at_seconds": 0.5, "kind": "bgp", "detail": "r1 bgp 10.0.0.1: Established"},
            {"at_seconds": 9.0, "kind": "steady_state", "detail": "after: pass", "source": ""},
        ],
        "rtt_samples": {"p": [[0.0, 0.001], [5.0, 0.001]]},
    }
    (lane,) = state_lanes(drill)
    assert [
        (-1.0, -0.5, NOT_POLLED),
        (-0.5, 4.0, "Established"),
        (4.0, 8.0, POLLS_STOPPED),
    ] == [(s.start, s.end, s.state) for s in lane.segments]

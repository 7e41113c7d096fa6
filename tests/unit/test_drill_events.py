"""Convergence events: placed between two polls with their resolution, in order, per episode.

Synthetic changes prove the arithmetic; two journals recorded from real lab drills
(tests/fixtures/drill-journals: the silent failure on timers 3/9, and with BFD 300 ms x 3) prove
the order on real observations, and that a killed drill's journal tells the same story.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from holdtime.drill.events import (
    ControlChange,
    ConvergenceEvent,
    LossWindow,
    control_event,
    explain,
    ordered,
)
from holdtime.drill.journal import journal_result, numbered_records
from holdtime.drill.result import DrillResult
from holdtime.reports.drill_story import text_lines

JOURNALS = Path(__file__).resolve().parents[1] / "fixtures" / "drill-journals"
TRIGGER = 10.0


def _change(key: str, before: str, after: str, earliest: float, latest: float) -> ControlChange:
    return ControlChange(key, before, after, earliest, latest, "vpc-router-1")


def _window(first_lost: float, last_lost: float, lost: int) -> LossWindow:
    return LossWindow(
        "app-to-db", "failover", 0.2, first_lost, last_lost, True, True, lost, lost * 0.2
    )


def test_a_change_sits_mid_window_with_half_the_window_as_resolution() -> None:
    """Seen first in the poll ending at 18.6, absent from the one starting at 17.6: +8.1 ±0.5."""
    event = control_event(
        _change("vpc-router-1 bgp 10.10.10.2", "Established", "Idle", 17.6, 18.6), TRIGGER
    )
    assert (8.1, 0.5, "bgp_state", "control", "10.10.10.2") == (
        event.offset_seconds,
        event.resolution_seconds,
        event.kind,
        event.plane,
        event.subject,
    )
    assert "+8.10 s ±0.50 s" == event.label()
    assert "BGP session 10.10.10.2 on vpc-router-1: Established -> Idle" == event.describe()


def test_overlapping_windows_are_listed_in_causal_order() -> None:
    """Overlapping windows: the first reply after the best path moved, BFD down before the BGP
    change seen in the same poll; actions keep their place."""
    best = ConvergenceEvent(8.04, 0.5, "best_path", "control", "r", "172.16.1.0/24", "a", "b")
    reply = ConvergenceEvent(8.01, 0.2, "first_reply", "data", "app-to-db")
    bgp = ConvergenceEvent(
        1.06, 0.37, "bgp_state", "control", "r", "10.10.10.2", "Established", "Idle"
    )
    bfd = ConvergenceEvent(1.06, 0.37, "bfd_state", "control", "r", "10.10.10.2", "up", "down")
    trigger = ConvergenceEvent(0.0, 0.0, "trigger", "action", "")
    late_reply = ConvergenceEvent(0.23, 0.2, "last_reply", "data", "app-to-db")
    assert [trigger, late_reply, bfd, bgp, best, reply] == ordered(
        [reply, best, bgp, bfd, late_reply, trigger]
    )


def test_only_a_possible_cause_moves_before_its_effect() -> None:
    """Idle -> Connect causes no route change: it stays after the best path and the first reply
    even when the windows overlap (a slow poll); a drop from Established moves before them."""
    drop = ConvergenceEvent(
        4.97, 2.55, "bgp_state", "control", "r", "10.10.10.2", "Established", "Idle"
    )
    best = ConvergenceEvent(4.97, 2.55, "best_path", "control", "r", "172.16.1.0/24", "a", "b")
    reply = ConvergenceEvent(6.54, 0.2, "first_reply", "data", "app-to-db")
    retry = ConvergenceEvent(
        6.58, 2.58, "bgp_state", "control", "r", "10.10.10.2", "Idle", "Connect"
    )
    assert [drop, best, reply, retry] == ordered([retry, reply, best, drop])


def test_far_apart_events_keep_their_time_order_whatever_the_kind() -> None:
    """Windows that do not overlap are never reordered: time wins over causal rank."""
    reply = ConvergenceEvent(5.0, 0.2, "first_reply", "data", "app-to-db")
    later_bgp = ConvergenceEvent(9.0, 0.5, "bgp_state", "control", "r", "x", "Idle", "Connect")
    assert [reply, later_bgp] == ordered([later_bgp, reply])


def test_episode_holds_the_events_between_last_and_first_reply() -> None:
    """The failover episode lists trigger .. first reply; a later reconnect stays outside it,
    and control-plane convergence is the trigger -> best-path change time."""
    changes = [
        _change("vpc-router-1 bgp 10.10.10.2", "Established", "Idle", 17.9, 18.3),
        _change("vpc-router-1 best_path 172.16.1.0/24", "10.10.10.2", "10.10.10.6", 17.9, 18.3),
        _change("vpc-router-1 bgp 10.10.10.2", "Idle", "Connect", 21.0, 21.4),
    ]
    timeline, [episode] = explain(TRIGGER, 30.0, changes, [_window(10.1, 17.9, 40)])
    story = [timeline[i].kind for i in episode.event_indexes]
    assert ["last_reply", "trigger", "bgp_state", "best_path", "first_reply"] == story
    assert (-0.1, 8.1, 8.1, 8.0) == (
        episode.last_reply_offset_seconds,
        episode.first_reply_offset_seconds,
        episode.control_plane_convergence_seconds,
        episode.data_plane_outage_seconds,
    )
    assert ["restore"] == [e.kind for e in timeline if e.offset_seconds > 15]


def test_changes_before_the_drill_started_are_not_events() -> None:
    """A change whose window starts before the drill (negative time) is the first reading."""
    changes = [_change("vpc-router-1 bgp 10.10.10.2", "Idle", "Established", -1.0, 0.5)]
    timeline, episodes = explain(TRIGGER, None, changes, [])
    assert (["trigger"], ()) == ([e.kind for e in timeline], episodes)


def _replayed(case: str, *, killed: bool = False) -> DrillResult:
    """The result `holdtime report` reads from a recorded journal (killed: cut after the
    restore action's record, as a SIGKILL right after the restore would leave it)."""
    path = JOURNALS / case / "journal.jsonl"
    numbered = list(numbered_records(path))
    if killed:
        restore = next(
            n for n, r in numbered if r["type"] == "action" and r.get("role") == "restore"
        )
        numbered = [
            (n, r) for n, r in numbered if n <= restore and r["type"] not in {"result", "flow"}
        ]
    return journal_result(numbered, path)


@pytest.mark.parametrize(
    ("case", "detected_by", "first_control"),
    [("silent-3-9", "hold_timer", "bgp_state"), ("silent-bfd", "bfd", "bfd_state")],
)
def test_recorded_drills_tell_the_story_in_order(
    case: str, detected_by: str, first_control: str
) -> None:
    """Real lab drills: the prediction was made from the read timers, the outage is within it,
    the peer was last heard before the trigger, the first control-plane change is the detection
    (BGP hold timer, or BFD), then the best path moves to esg2, and the first reply follows."""
    result = _replayed(case)
    [prediction] = result.predictions
    [episode] = [e for e in result.explained if e.phase == "failover"]
    events = [result.convergence[i] for i in episode.event_indexes]
    control = [e for e in events if e.plane == "control" and e.kind != "last_keepalive"]
    assert (detected_by, "within") == (prediction.detected_by, episode.verdict)
    assert "last_keepalive" == events[0].kind  # the peer last heard, before the trigger
    assert first_control == control[0].kind
    moved = next(i for i, e in enumerate(events) if e.kind == "best_path")
    assert "10.10.10.6" == events[moved].after
    assert "first_reply" in [e.kind for e in events[moved + 1 :]]
    assert all(e.resolution_seconds > 0 for e in control)


@pytest.mark.parametrize("case", ["silent-3-9", "silent-bfd"])
def test_each_change_is_bracketed_by_the_journalled_polls(case: str) -> None:
    """A change's window runs from the start of the previous poll of that router to the end of
    the poll that first showed it: both are in the journal's observer samples; the peer's last
    keepalive is its age before one of those polls."""
    path = JOURNALS / case / "journal.jsonl"
    records = [r for _n, r in numbered_records(path)]
    polls = [
        (r["began_seconds"], r["at_seconds"])
        for r in records
        if r["type"] == "sample" and "observer" in r
    ]
    changes = [r for r in records if r["type"] == "change" and " last_keepalive " not in r["key"]]
    heard = [r for r in records if r["type"] == "change" and " last_keepalive " in r["key"]]
    pairs = {(round(a[0], 3), round(b[1], 3)) for a, b in itertools.pairwise(polls)}
    assert (True, 1) == (bool(changes), len(heard))
    assert [] == [
        c
        for c in changes
        if (round(c["earliest_seconds"], 3), round(c["latest_seconds"], 3)) not in pairs
    ]
    # last heard: `age` (FRR, whole seconds) before a poll's read, so up to a second earlier
    age = float(heard[0]["after"].split(" s before a poll")[0])
    windows = {(round(b - age - 1.0, 3), round(e - age, 3)) for b, e in polls}
    assert (round(heard[0]["earliest_seconds"], 3), round(heard[0]["latest_seconds"], 3)) in windows


@pytest.mark.parametrize("case", ["silent-3-9", "silent-bfd"])
def test_killed_drill_journal_tells_the_same_story(case: str) -> None:
    """Killed right after the restore: `holdtime report` shows the same failover events and the
    same prediction as the finished drill's result record."""
    finished, killed = _replayed(case), _replayed(case, killed=True)

    def failover(result: DrillResult) -> list[ConvergenceEvent]:
        [episode] = [e for e in result.explained if e.phase == "failover"]
        return [result.convergence[i] for i in episode.event_indexes]

    assert finished.predictions == killed.predictions
    assert failover(finished) == failover(killed)
    assert "" == killed.restore_failed
    lines = text_lines(killed.to_dict())
    assert lines[0].startswith(f"DRILL {finished.name}, app-to-db failover: measured ")


def test_recorded_journal_result_round_trips() -> None:
    """The new fields survive to_dict/from_dict (the JSON report and `holdtime report`)."""
    result = _replayed("silent-bfd")
    again = DrillResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert (result.predictions, result.convergence, result.explained) == (
        again.predictions,
        again.convergence,
        again.explained,
    )


def test_story_says_when_the_hold_timer_expires() -> None:
    """Without BFD the story adds: last heard at T, so the hold timer expires at T + hold."""
    lines = text_lines(_replayed("silent-3-9").to_dict())
    [note] = [line for line in lines if line.startswith("  hold timer: ")]
    assert note.startswith("  hold timer: 10.10.10.2 last heard at -")
    assert ", so its 9 s hold timer expires at +" in note


def test_clean_shutdown_loses_nothing_and_still_tells_the_convergence() -> None:
    """A recorded `neighbor shutdown` drill: predicted about 0 s (clean, inferred), no probe
    lost, and the failover's events still listed: trigger, session drop, best path to esg2."""
    result = _replayed("clean-shutdown")
    [prediction] = result.predictions
    lines = text_lines(result.to_dict())
    events = [re.split(r"\s{2,}", line.strip())[-1] for line in lines if line.startswith("    ")]
    assert ("clean", 0.0, False) == (
        prediction.failure,
        prediction.worst_case_seconds,
        any(e.phase == "failover" for e in result.explained),
    )
    assert lines[0].endswith("failover: no probe lost (resolution 0.2 s), predicted ~0.0 s: within")
    assert [True, True, True] == [
        events[0].startswith("trigger sent: ssh esg1: "),
        events[1] == "BGP session 10.10.10.2 on vpc-router-1: Established -> Idle",
        events[2] == "best path 172.16.1.0/24 on vpc-router-1: 10.10.10.2 -> 10.10.10.6",
    ]

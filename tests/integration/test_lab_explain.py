"""The outage explained on the real lab: predicted from the router's timers, measured, and the
convergence events in order between the last reply and the first reply again.

Two drills of the lab's declared `esg1-silent-failure` (nftables drops all of esg1's tunnel
traffic: no NOTIFICATION, no FIN): on the session lab (timers 3/9, no BFD) and on a second lab
built with BFD 300 ms x 3 (prefix `<HOLDTIME_TEST_LAB_PREFIX>bfd-`), removed at the end.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdtime.drill.events import ConvergenceEvent
from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import scenario
from holdtime.drill.wiring import run_inventory_drill
from holdtime.inventory import load_inventory
from holdtime.lab import Lab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the lab"),
]

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))
EDGE = "10.10.10.2"  # esg1 as the router sees it
BACKUP = "10.10.10.6"  # esg2
PREFIX = "172.16.1.0/24"
BFD_LAB_PREFIX = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-").rstrip("-") + "bfd-"


@pytest.fixture(scope="module")
def bfd_lab() -> Iterator[Lab]:
    """A second lab, BFD 300 ms x 3 on the tunnel sessions; removed at the end."""
    instance = Lab(prefix=BFD_LAB_PREFIX, bfd=True)
    try:
        instance.up(timeout_seconds=90)
        yield instance
    finally:
        instance.down()


def _silent_failure(lab: Lab, journal: Path) -> DrillResult:
    """The lab's declared silent failure, settle shortened; the drop removed whatever happens."""
    inventory = load_inventory(lab.inventory_path)
    drill = scenario(inventory, "esg1-silent-failure")
    drill = dataclasses.replace(
        drill, timing=dataclasses.replace(drill.timing, settle_seconds=2, clean_seconds=2)
    )
    try:
        return run_inventory_drill(inventory, drill, journal, steady_state=False)
    finally:
        lab.exec("esg1", ["nft", "delete", "table", "inet", "holdtime_drill"], check=False)
        lab.wait_ready()


def _story(result: DrillResult) -> list[ConvergenceEvent]:
    """The events of the failover episode of app-to-db, in the order the report lists them."""
    [episode] = [e for e in result.explained if e.path == "app-to-db" and e.phase == "failover"]
    return [result.convergence[i] for i in episode.event_indexes]


def _first(events: list[ConvergenceEvent], kind: str, subject: str = "") -> int:
    """Index of the first event of `kind` (about `subject`) in `events`."""
    return next(
        i for i, e in enumerate(events) if e.kind == kind and (not subject or e.subject == subject)
    )


def test_silent_failure_without_bfd_is_within_the_hold_time(lab: Lab, tmp_path: Path) -> None:
    """Timers 3/9: predicted <= 9 s from the read hold time; measured within; the events in
    order: trigger, esg1 last heard, its session leaves Established, best path to esg2, first
    reply."""
    journal = tmp_path / "silent.jsonl"
    result = _silent_failure(lab, journal)
    [prediction] = result.predictions
    [episode] = [e for e in result.explained if e.phase == "failover"]
    events = _story(result)
    kinds = [e.kind for e in events]
    left = events[_first(events, "bgp_state", EDGE)]
    moved = events[_first(events, "best_path", PREFIX)]
    assert ("", "silent", 9.0, "hold_timer", EDGE) == (
        result.aborted,
        prediction.failure,
        prediction.worst_case_seconds,
        prediction.detected_by,
        prediction.neighbor,
    )
    assert ("within", True) == (episode.verdict, 5.0 <= episode.data_plane_outage_seconds)
    # the last reply may come just after the trigger started (nft takes a moment to apply)
    assert {"last_reply", "trigger"} <= set(kinds[:3]), kinds
    assert "first_reply" == kinds[-1]
    assert _first(events, "trigger") < _first(events, "bgp_state", EDGE)
    assert _first(events, "bgp_state", EDGE) <= _first(events, "best_path", PREFIX)
    # the hold timer's expiry takes the session through FRR's "Clearing" (bgpd tears down the
    # routes) to "Idle"; a poll can land in either (CI at 133aa2c read Clearing), then Connect or
    # Active as bgpd retries
    assert ("Established", True) == (
        left.before,
        left.after in {"Clearing", "Idle", "Active", "Connect"},
    )
    # "last keepalive seen (if readable)": when the poll before the drop read it, the peer was
    # last heard before the trigger and its hold timer ran out after that. Two clean-clone CI
    # runs out of many showed no last_keepalive in the story: cause not yet found (see notes).
    if "last_keepalive" in kinds:
        heard = events[_first(events, "last_keepalive", EDGE)]
        assert (True, True) == (
            heard.offset_seconds < left.offset_seconds,
            heard.offset_seconds < 1,
        ), kinds
    assert (EDGE, BACKUP) == (moved.before, moved.after)
    # each control-plane event is placed between two polls, with that window's half as its ±
    assert (True, True) == (0 < left.resolution_seconds, 0 < moved.resolution_seconds)
    # in time order, within each event's resolution (overlapping windows: causal order)
    assert [] == [
        (a, b)
        for a, b in itertools.pairwise(events)
        if b.offset_seconds + b.resolution_seconds < a.offset_seconds - a.resolution_seconds
    ]
    report = subprocess.run(
        [HOLDTIME, "report", str(journal), "--format", "markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert 0 == report.returncode, report.stderr
    assert (True, True, True) == (
        ", predicted \\<= 9.0 s: within" in report.stdout,
        f"BGP session {EDGE} on vpc-router-1: Established -\\>" in report.stdout,
        "first reply again on app-to-db" in report.stdout,
    ), report.stdout[-3000:]


def test_silent_failure_with_bfd_goes_down_by_bfd_first(bfd_lab: Lab, tmp_path: Path) -> None:
    """BFD 300 ms x 3: predicted ~0.9 s from the read BFD session; measured within; BFD goes
    down before the BGP session leaves Established, then the best path moves to esg2."""
    result = _silent_failure(bfd_lab, tmp_path / "bfd.jsonl")
    [prediction] = result.predictions
    [episode] = [e for e in result.explained if e.phase == "failover"]
    events = _story(result)
    bfd_down = _first(events, "bfd_state", EDGE)
    assert ("", 0.9, "bfd") == (
        result.aborted,
        prediction.worst_case_seconds,
        prediction.detected_by,
    )
    assert "within" == episode.verdict, episode
    assert ("up", "down") == (events[bfd_down].before, events[bfd_down].after)
    assert bfd_down < _first(events, "bgp_state", EDGE) <= _first(events, "best_path", PREFIX)
    assert "first_reply" == events[-1].kind

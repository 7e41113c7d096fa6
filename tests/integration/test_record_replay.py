"""Record the live lab, replay it, check the replay: the verdicts of the live lab, exactly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.lab.replay import Replay
from holdtime.models import RunResult
from holdtime.record import load_recording, record
from holdtime.runner import run_checks

pytestmark = [pytest.mark.integration, pytest.mark.lab]

Verdicts = set[tuple[str, str, str]]


def _verdicts(run: RunResult) -> Verdicts:
    return {(r.check, r.target, r.status.value) for r in run.results}


def _record_then_replay(lab: Lab, folder: Path) -> tuple[Verdicts, Verdicts]:
    """(verdicts of the live run that was recorded, verdicts of a check run on its replay)."""
    _, live = record(load_inventory(lab.inventory_path), folder / "recording")
    with Replay(load_recording(folder / "recording"), folder / "state") as replay:
        replayed = run_checks(load_inventory(replay.inventory_path))
        assert [] == replay.stats.refused
    return _verdicts(live), _verdicts(replayed)


def test_replay_of_the_healthy_lab_gives_its_verdicts(lab: Lab, tmp_path: Path) -> None:
    """Healthy lab: the replay's check run has the live run's check/target/status set."""
    live, replayed = _record_then_replay(lab, tmp_path)
    assert {"pass", "skip"} == {status for _, _, status in live}
    assert live == replayed


def test_replay_of_esg1_shut_gives_its_failures(lab: Lab, tmp_path: Path) -> None:
    """ESG1's neighbor shut: the replay fails exactly the checks the live lab failed."""
    lab.vtysh("esg1", "conf t", "router bgp 65010", "neighbor 10.10.10.1 shutdown")
    try:
        deadline = time.monotonic() + 30
        while lab.best_path() != "10.10.10.6":
            assert time.monotonic() < deadline, "best path did not move to esg2 in 30 s"
            time.sleep(0.2)
        live, replayed = _record_then_replay(lab, tmp_path)
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready(timeout_seconds=60)
    assert ("bgp.peer_established", "vpc-router-1/10.10.10.2", "fail") in live
    assert live == replayed

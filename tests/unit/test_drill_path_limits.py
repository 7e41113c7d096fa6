"""A ping path's own budget and its count/duration in a drill (ping_paths[] keys)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from drill_inventory import load_drills

from holdtime.drill.engine import DrillEngine, PingPlan, ping_plans
from holdtime.drill.journal import Journal, read_journal
from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import Action, Budget, Scenario, Timing
from holdtime.errors import ConfigError
from holdtime.gap import ProbeEvent
from holdtime.probes.ping import Progress

DRILL = Scenario(
    name="d",
    trigger=Action(kind="exec", argv=("true",)),
    restore=Action(kind="exec", argv=("true",)),
    probes=("own", "plain"),
    budget=Budget(max_outage_seconds=10.0, abort_outage_seconds=60.0),
    timing=Timing(settle_seconds=0.2, observe_seconds=1.5, clean_seconds=0.1),
)


class Answered:
    """The trigger and restore: exit 0, nothing run."""

    def run(self, action: Action) -> Mapping[str, Any]:
        return {"exit_status": 0, "output": ""}


@dataclass
class Flow:
    """What the engine reads from a prober's result."""

    interval_seconds: float
    late_after_seconds: float
    events: tuple[ProbeEvent, ...]
    sent: int
    send_errors: int = 0


class EchoProber:
    """Every probe answered at once; stops on `stop`, after `count` or `duration_seconds`."""

    late_after_seconds = 1.0

    def __init__(self, plan: PingPlan, progress: Any) -> None:
        self.plan, self.progress = plan, progress
        self.events: list[ProbeEvent] = []

    def settled_events(
        self, after_seq: int, *, release: bool = False
    ) -> tuple[list[ProbeEvent], int]:
        """Every probe is answered at once, so each one sent is settled (as the engine reads).

        It keeps them all on `release` too: the engine's ledger takes only seqs past its cursor.
        """
        settled = [e for e in list(self.events) if e.seq > after_seq]
        return settled, settled[-1].seq if settled else after_seq

    def run(
        self,
        stop: threading.Event,
        count: int | None = None,
        duration_seconds: float | None = None,
    ) -> Sequence[Flow]:
        interval, events = self.plan.interval_seconds, self.events
        if duration_seconds is not None:
            count = round(duration_seconds / interval)
        began = time.monotonic()
        while (count is None or len(events) < count) and not stop.is_set():
            now = time.monotonic()
            events.append(ProbeEvent(len(events), now, now + 0.001))
            self.progress([Progress(self.plan.name, len(events), len(events), 0, 0.0, now - began)])
            time.sleep(interval)
        return [Flow(interval, 1.0, tuple(events), len(events))]


class FakePingEngine(DrillEngine):
    """The engine with EchoProber in place of the real ping."""

    def _prober(self, plan: PingPlan) -> Any:
        return EchoProber(plan, self._progress(plan.name))


def _run(tmp_path: Path, pings: Sequence[PingPlan]) -> tuple[DrillResult, list[Any]]:
    with Journal(tmp_path / "j.jsonl") as journal:
        engine = FakePingEngine(
            scenario=DRILL, pings=pings, actions=Answered(), journal=journal, out=io.StringIO()
        )
        drill = engine.run()
    return drill, list(read_journal(tmp_path / "j.jsonl"))


def test_path_budget_and_count_reach_the_result(tmp_path: Path) -> None:
    """Own budget and its source per path; a count that ends before the restore: not measured."""
    own = PingPlan("own", "10.0.0.2", 0.05, max_outage_seconds=2.0, count=12)
    plain = PingPlan("plain", "10.0.0.3", 0.05)
    result, records = _run(tmp_path, [own, plain])
    phases = {(p.path, p.phase): p for p in result.phases}
    [stopped] = [e for e in result.events if e.kind == "path_stopped"]
    [start] = [r for r in records if r["type"] == "start"]
    assert (2.0, "ping_paths[own].expect.max_outage_seconds", "") == (
        phases["own", "failover"].budget_seconds,
        phases["own", "failover"].budget_from,
        phases["own", "failover"].not_measured,
    )
    assert phases["own", "failback"].not_measured.startswith(
        "the path's count: 12 probes ended it at +"
    )
    assert phases["own", "failback"].not_measured.endswith(", before the restore")
    assert (10.0, "drills.d.budget.max_outage_seconds", "", "") == (
        phases["plain", "failback"].budget_seconds,
        phases["plain", "failback"].budget_from,
        phases["plain", "failover"].not_measured,
        phases["plain", "failback"].not_measured,
    )
    assert (False, "own", True) == (
        result.passed,
        stopped.source,
        stopped.detail.startswith("own stopped by its own count: 12 probes (ping_paths[]) at +"),
    )
    assert {
        "own": [2.0, "ping_paths[own].expect.max_outage_seconds"],
        "plain": [10.0, "drills.d.budget.max_outage_seconds"],
    } == start["budgets"]


def test_budget_source_is_in_the_check_result(tmp_path: Path) -> None:
    """drill.outage's summary and expected name where the budget that applied comes from."""
    own = PingPlan("own", "10.0.0.2", 0.05, max_outage_seconds=2.0)
    result, _ = _run(tmp_path, [own])
    [failover] = [r for r in result.check_results() if r.target == "d/own/failover"]
    assert (
        {"max_outage_seconds": 2.0, "budget_from": "ping_paths[own].expect.max_outage_seconds"},
        True,
    ) == (
        dict(failover.expected),
        failover.summary.endswith("budget 2.0 s from ping_paths[own].expect.max_outage_seconds)"),
    )


def test_plan_limits_and_budget_from_the_inventory(tmp_path: Path) -> None:
    """ping_plans carries a path's count, duration_seconds and expect.max_outage_seconds."""
    drills = {"d": {"probes": ["a", "b"], "trigger": {"manual": "x"}, "restore": {"manual": "y"}}}
    inventory = load_drills(
        tmp_path,
        drills,
        paths=[
            {"name": "a", "count": 300, "expect": {"max_outage_seconds": 2}},
            {"name": "b", "duration_seconds": 30},
        ],
    )
    plans = ping_plans(inventory, ["a", "b"])
    assert [
        (300, None, 2.0, "count: 300 probes", 300.0),
        (None, 30.0, None, "duration_seconds: 30 s", 30.0),
    ] == [
        (p.count, p.duration_seconds, p.max_outage_seconds, p.limit, p.limit_seconds())
        for p in plans
    ]
    assert (None, "") == (
        PingPlan("c", "10.0.0.1", 1.0).limit_seconds(),
        PingPlan("c", "10.0.0.1", 1.0).limit,
    )


def test_path_budget_over_the_abort_threshold_is_refused(tmp_path: Path) -> None:
    """A path allowed more outage than the drill's abort threshold could never pass: refused."""
    drills = {
        "d": {
            "probes": "a",
            "trigger": {"manual": "x"},
            "restore": {"manual": "y"},
            "budget": {"abort_outage_seconds": 30},
        }
    }
    with pytest.raises(ConfigError) as caught:
        load_drills(tmp_path, drills, paths=[{"name": "a", "expect": {"max_outage_seconds": 60}}])
    [line] = str(caught.value).splitlines()
    assert line.endswith(
        "drills.d.probes: ping path 'a' allows 60 s (its expect.max_outage_seconds), more than "
        "this drill's budget.abort_outage_seconds (30 s) lets it run"
    ), line

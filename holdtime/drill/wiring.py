"""A declared drill wired to its inventory: pings, actions over SSH, watchers, steady state.

`holdtime drill`, the pytest plugin's `holdtime_drill` fixture and bench/drill_timers.py all
run a drill this one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from holdtime.drill.engine import DrillEngine, PingPlan, SteadyState, ping_plans
from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import Scenario


def steady_state_checker(inventory: Any) -> SteadyState:
    """The drill steady-state gate: runs the matching checks of the inventory, no actions."""
    from holdtime.models import Status
    from holdtime.runner import run_checks

    def check(patterns: Sequence[str]) -> tuple[str, str]:
        run = run_checks(inventory, only=tuple(patterns))
        if not run.results:
            return "fail", f"no check matched {', '.join(patterns)}"
        bad = [r for r in run.results if r.status in (Status.FAIL, Status.ERROR)]
        if bad:
            first = bad[0]
            return "fail", f"{len(bad)} not passing, e.g. {first.test_id}: {first.summary}"
        return "pass", f"{len(run.results)} checks pass"

    return check


def run_inventory_drill(
    inventory: Any,
    scenario: Scenario,
    journal_path: Path,
    *,
    steady_state: bool = True,
    extra_pings: Sequence[PingPlan] = (),
    overwrite_journal: bool = False,
) -> DrillResult:
    """Run `scenario` against the devices of `inventory`, journaling to `journal_path`.

    ``steady_state=False`` skips the before/after check gate (benchmarks and tests that only
    measure the outage). A journal that already holds records is refused (ConfigError)
    unless ``overwrite_journal``.
    """
    from holdtime.drill.actions import DrillActionRunner
    from holdtime.drill.deadman import prepare_switch
    from holdtime.drill.journal import Journal
    from holdtime.drill.observers import predictor, router_observers, ssh_command

    deadman = prepare_switch(inventory, scenario)  # probes the restore's device before anything
    with Journal(journal_path, overwrite=overwrite_journal) as journal:
        deadman.journal = journal
        pings = [*ping_plans(inventory, scenario.probes), *extra_pings]
        observers = router_observers(inventory, scenario.watch)
        engine = DrillEngine(
            scenario=scenario,
            pings=pings,
            actions=DrillActionRunner(ssh=ssh_command(inventory)),
            journal=journal,
            observers=observers,
            predict=predictor(scenario, pings, observers),
            steady_state=steady_state_checker(inventory) if steady_state else None,
            deadman=deadman,
        )
        return engine.run()

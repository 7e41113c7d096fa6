"""Helpers the drill-path tests share: an inventory's problems, a quick exec-triggered
scenario, a result as a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdtime.drill.result import DrillResult, PhaseOutage
from holdtime.drill.scenario import Action, Budget, Scenario, Timing
from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory
from holdtime.models import RunResult


def quick_drill(probe: str) -> Scenario:
    """Drill `d` over one path: exec `drop` then `undrop`, 0.3 s settle, 1 s observe."""
    return Scenario(
        name="d",
        trigger=Action(kind="exec", argv=("drop",)),
        restore=Action(kind="exec", argv=("undrop",)),
        probes=(probe,),
        budget=Budget(max_outage_seconds=10.0, abort_outage_seconds=60.0),
        timing=Timing(settle_seconds=0.3, observe_seconds=1.0, clean_seconds=0.2),
    )


def as_run(result: DrillResult) -> RunResult:
    """The drill as the reports take it: its check results, the drill in extras."""
    return RunResult(
        results=tuple(result.check_results()),
        started_at=result.started_at,
        finished_at=result.finished_at,
        extras={"drills": [result.to_dict()]},
    )


def phase_of(result: DrillResult, path: str, phase: str) -> PhaseOutage:
    """The one phase of `path` named `phase` (failover, failback)."""
    [found] = [p for p in result.phases if p.path == path and p.phase == phase]
    return found


def inventory_problems(tmp_path: Path, text: str) -> list[str]:
    """The problem lines of loading `text` as an inventory, without the file name."""
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    return [line.removeprefix(f"{path}:") for line in str(caught.value).splitlines()]

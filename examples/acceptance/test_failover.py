"""Failover drill: shut BGP on the active edge and measure the outage (destructive).

Skipped unless pytest runs with --holdtime-allow-drills. Run it on its own, not under
pytest-xdist next to read-only tests: while it runs, esg1 is down on purpose.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from holdtime.drill.result import DrillResult


@pytest.mark.holdtime_drill("esg1-bgp-shutdown")
def test_failover_within_budget(holdtime_drill: Callable[..., DrillResult]) -> None:
    """Every ping path's failover and failback outage stays within the drill's budget."""
    result = holdtime_drill()
    assert result.aborted == ""
    over_budget = {
        f"{p.path}/{p.phase}": p.loss_derived_outage_seconds
        for p in result.phases
        if not p.within_budget
    }
    assert over_budget == {}
    assert dict(result.steady_state) == {"before": "pass", "after": "pass"}

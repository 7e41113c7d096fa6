"""Run one drill engine between two namespaces; used by the drill tests (also in a subprocess).

Usage: python drill_driver.py NS_A NS_B JOURNAL OBSERVE_SECONDS
"""

from __future__ import annotations

import sys
from pathlib import Path

from holdtime.drill.actions import DrillActionRunner
from holdtime.drill.engine import DrillEngine, PingPlan
from holdtime.drill.journal import Journal
from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import Action, Budget, Scenario, Timing

DROP_RULES = (
    "table inet htdrill {\n chain input {\n type filter hook input priority 0;\n"
    " icmp type echo-request drop\n }\n}\n"
)


def scenario(ns_b: str, observe_seconds: float, budget_seconds: float = 5.0) -> Scenario:
    """Blackhole echo requests in NS_B on trigger; delete the table on restore."""
    return Scenario(
        name="blackhole",
        description="drop echo requests at the far end",
        trigger=Action(
            kind="exec", argv=("sh", "-c", f"printf '{DROP_RULES}' | nft -f -"), netns=ns_b
        ),
        restore=Action(kind="exec", argv=("nft", "delete", "table", "inet", "htdrill"), netns=ns_b),
        probes=("a-to-b",),
        budget=Budget(max_outage_seconds=budget_seconds, abort_outage_seconds=30),
        timing=Timing(settle_seconds=0.5, observe_seconds=observe_seconds, clean_seconds=0.5),
    )


def run(
    ns_a: str, ns_b: str, journal: Path, observe_seconds: float, budget_seconds: float = 5.0
) -> DrillResult:
    """Run the blackhole drill from NS_A to 10.98.0.2 in NS_B at 20 ms."""
    with Journal(journal) as log:
        engine = DrillEngine(
            scenario=scenario(ns_b, observe_seconds, budget_seconds),
            pings=[
                PingPlan(name="a-to-b", destination="10.98.0.2", interval_seconds=0.02, netns=ns_a)
            ],
            actions=DrillActionRunner(),
            journal=log,
        )
        return engine.run()


if __name__ == "__main__":
    result = run(sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]))
    print("aborted:", result.aborted)

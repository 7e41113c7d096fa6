"""Benchmark: the lab's silent-failure drill under three BGP configurations, as a markdown table.

For each of BGP timers 3/9, BFD 300 ms x 3 (with 3/9) and FRR's default 60/180, start the
built-in lab with that configuration (``Lab(prefix, timers, bfd)``), run the declared
``esg1-silent-failure`` drill (nftables drops all tunnel traffic on esg1: no NOTIFICATION, no FIN)
and record the failover and failback outages, the probes lost and the time from the trigger to
the router's BGP session leaving Established. Each lab is removed before the next starts.

Needs root; takes about 5 minutes (the 60/180 row waits out a hold timer of up to 180 s)::

    sudo .venv/bin/python bench/drill_timers.py [--prefix htdb-] [--only 3/9,bfd,60/180]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from holdtime.drill.result import DrillResult, PhaseOutage
from holdtime.drill.scenario import scenario
from holdtime.drill.wiring import run_inventory_drill
from holdtime.inventory import load_inventory
from holdtime.lab import Lab


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    timers: tuple[int, int]
    bfd: bool


CONFIGS = (
    Config("3/9", "BGP timers 3/9", (3, 9), False),
    Config("bfd", "BFD 300 ms x 3 (timers 3/9)", (3, 9), True),
    Config("60/180", "FRR default 60/180", (60, 180), False),
)
SESSION = "vpc-router-1 bgp 10.10.10.2: Established ->"


def _phase(result: DrillResult, phase: str) -> PhaseOutage | None:
    found = [p for p in result.phases if p.path == "app-to-db" and p.phase == phase]
    return found[0] if found else None


def _outage(phase: PhaseOutage | None) -> str:
    if phase is None:
        return "n/a"
    gap = phase.gap_derived_outage_seconds
    text = f"{phase.loss_derived_outage_seconds:.2f} s"
    return text + (f" (gap {gap:.2f} s)" if gap is not None else "")


def run_config(config: Config, prefix: str, workdir: Path) -> str:
    """Start the lab, run the drill, tear down; one markdown table row."""
    lab = Lab(prefix=prefix, timers=config.timers, bfd=config.bfd)
    began = time.monotonic()
    try:
        lab.up(timeout_seconds=120)
        # the lab inventory declares the directory password by its variable
        os.environ.setdefault("HOLDTIME_LAB_LDAP_PASSWORD", lab.ldap_password())
        inventory = load_inventory(lab.inventory_path)
        drill = scenario(inventory, "esg1-silent-failure")
        # The lab observes failover for hold + 8 s; failback needs no hold timer: 10 s.
        drill = dataclasses.replace(
            drill, timing=dataclasses.replace(drill.timing, failback_observe_seconds=10)
        )
        journal = workdir / f"silent-{config.key.replace('/', '-')}.jsonl"
        result = run_inventory_drill(inventory, drill, journal, steady_state=False)
    finally:
        lab.down()
    failover, failback = _phase(result, "failover"), _phase(result, "failback")
    trigger = next((e.at_seconds for e in result.events if e.kind == "trigger"), None)
    down = next((e.at_seconds for e in result.events if SESSION in e.detail), None)
    detected = f"{down - trigger:.1f} s" if down is not None and trigger is not None else "never"
    lost = f"{failover.lost if failover else 0} / {failback.lost if failback else 0}"
    interval = failover.interval_seconds if failover else 0.0
    print(
        f"  {config.label}: {time.monotonic() - began:.0f} s"
        + (f", aborted: {result.aborted}" if result.aborted else ""),
        file=sys.stderr,
    )
    return (
        f"| {config.label} | {_outage(failover)} | {_outage(failback)} | {lost} | {detected} "
        f"| {interval:g} s |"
    )


def main() -> int:
    """Run the configurations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="htdb-", help="lab namespace prefix")
    parser.add_argument(
        "--only", default="", help="comma-separated subset of: " + ", ".join(c.key for c in CONFIGS)
    )
    args = parser.parse_args()
    wanted = {k.strip() for k in args.only.split(",") if k.strip()}
    configs = [c for c in CONFIGS if not wanted or c.key in wanted]
    rows = []
    with tempfile.TemporaryDirectory(prefix="holdtime-bench-") as scratch:
        for config in configs:
            rows.append(run_config(config, args.prefix, Path(scratch)))
    print(
        "| configuration | failover outage | failback outage | probes lost (over / back) "
        "| BGP session down after | interval |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

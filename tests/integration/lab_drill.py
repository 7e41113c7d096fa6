"""The lab inventory with a drill's probes and timing changed, run as `holdtime drill` wires it
(the DNS and LDAPS drill-path lab tests)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import scenario
from holdtime.drill.wiring import run_inventory_drill
from holdtime.inventory import load_inventory
from holdtime.lab import Lab

SILENT, CLEAN = "esg1-silent-failure", "esg1-bgp-shutdown"
SILENT_TIMING = {"settle_seconds": 2, "observe_seconds": 13, "failback_observe_seconds": 6}
CLEAN_TIMING = {"settle_seconds": 2, "observe_seconds": 6, "failback_observe_seconds": 6}


def lab_inventory_probing(
    lab: Lab,
    tmp_path: Path,
    drill: str,
    section: str,
    path_name: str,
    timing: Mapping[str, float],
) -> Path:
    """A copy of the lab inventory whose `drill` probes app-to-db and `path_name` (the one entry
    of `section`), its timing shortened."""
    document = yaml.safe_load(lab.inventory_path.read_text())
    assert [path_name] == [p["name"] for p in document[section]]
    declared = document["drills"][drill]
    declared["probes"] = ["app-to-db", path_name]
    declared["timing"] = {"clean_seconds": 2, **timing}
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def run_lab_drill(path: Path, drill: str, journal: Path) -> DrillResult:
    """Run `drill` from the inventory at `path` (no steady-state checks: the paths are the test)."""
    inventory = load_inventory(path)
    return run_inventory_drill(inventory, scenario(inventory, drill), journal, steady_state=False)


def silent_failure(lab: Lab, tmp_path: Path, section: str, path_name: str) -> DrillResult:
    """The silent-failure drill (tunnel traffic dropped on esg1) with `path_name` probing; the
    lab is put back whatever happens."""
    path = lab_inventory_probing(lab, tmp_path, SILENT, section, path_name, SILENT_TIMING)
    try:
        return run_lab_drill(path, SILENT, tmp_path / "silent.jsonl")
    finally:
        lab.exec("esg1", ["nft", "delete", "table", "inet", "holdtime_drill"], check=False)
        lab.wait_ready()


def clean_shutdown(lab: Lab, tmp_path: Path, section: str, path_name: str) -> DrillResult:
    """The clean BGP shutdown drill on esg1 with `path_name` probing; the neighbor is brought
    back whatever happens."""
    path = lab_inventory_probing(lab, tmp_path, CLEAN, section, path_name, CLEAN_TIMING)
    try:
        return run_lab_drill(path, CLEAN, tmp_path / "clean.jsonl")
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready()

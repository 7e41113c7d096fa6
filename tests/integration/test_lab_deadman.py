"""The dead man's switch against the lab: SIGKILL right after the trigger, and a normal drill.

The lab's namespaces have no systemd, so esg1's switch is the detached sleep (armed over esg1's
own sshd, in esg1's namespaces). About 70 s of wall time on top of the lab.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from holdtime.drill.deadman import ArmedSwitch, disarm_line
from holdtime.drill.journal import read_journal
from holdtime.drill.scenario import scenario
from holdtime.drill.wiring import run_inventory_drill
from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.lab.topology import DB_ADDRESS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the lab"),
]

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))
FIRE_AFTER_SECONDS = 20
DRILL = "esg1-bgp-shutdown"


def _inventory(lab: Lab, tmp_path: Path, observe_seconds: float) -> Path:
    """The lab inventory, esg1-bgp-shutdown with short timing and a 20 s dead man's switch."""
    document = yaml.safe_load(lab.inventory_path.read_text())
    drill = document["drills"][DRILL]
    drill["steady_state"] = []
    drill["timing"] = {
        "settle_seconds": 2,
        "observe_seconds": observe_seconds,
        "failback_observe_seconds": 4,
        "clean_seconds": 2,
    }
    drill["deadman"] = {"fire_after_seconds": FIRE_AFTER_SECONDS}
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _switch_processes(name: str) -> list[int]:
    """Live pids whose command line carries the switch's marker (the lab shares our pid space)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if state != "Z" and name.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _armed(journal: Path) -> list[dict[str, Any]]:
    return [
        dict(r) for r in read_journal(journal) if r["type"] == "deadman" and r["state"] == "armed"
    ]


def _cleanup(lab: Lab, journal: Path) -> None:
    """Whatever the test left: the switch disarmed, esg1's neighbor unshut, the lab ready."""
    if journal.exists():
        for record in _armed(journal):
            line = disarm_line(ArmedSwitch.from_record(record))
            subprocess.run(["sh", "-c", line], capture_output=True, timeout=30, check=False)
    lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
    lab.wait_ready()


def test_dry_run_names_the_mechanism_and_the_armed_line(lab: Lab, tmp_path: Path) -> None:
    """--dry-run probes esg1 (read-only) and shows the sleep switch and its exact line."""
    inventory = _inventory(lab, tmp_path, observe_seconds=6)
    done = subprocess.run(
        [HOLDTIME, "drill", "-i", str(inventory), DRILL, "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    restore = load_inventory(inventory).drills[DRILL].restore.command
    assert 0 == done.returncode, done.stderr
    assert (
        f"  dead man's switch: sleep on esg1, fires `{restore}` at +20 s unless disarmed"
        in done.stdout.splitlines()
    ), done.stdout
    assert "holdtime-deadman-esg1-bgp-shutdown-XXXXXXXX 20 " in done.stdout


def test_normal_drill_arms_then_disarms_and_leaves_nothing(lab: Lab, tmp_path: Path) -> None:
    """A drill that ends normally: armed before the trigger, disarmed after, no process left."""
    inventory_path = _inventory(lab, tmp_path, observe_seconds=6)
    inventory = load_inventory(inventory_path)
    journal = tmp_path / "normal.jsonl"
    try:
        result = run_inventory_drill(
            inventory, scenario(inventory, DRILL), journal, steady_state=False
        )
    finally:
        _cleanup(lab, journal)
    records = list(read_journal(journal))
    order = [
        r.get("state") or r.get("role")
        for r in records
        if r["type"] == "deadman" or r["type"] == "action"
    ]
    [armed] = _armed(journal)
    assert ("", True) == (result.aborted, result.passed)
    assert ["armed", "trigger", "restore", "disarmed"] == order
    assert (True, []) == (armed["pid"] > 1, _switch_processes(armed["name"]))


def test_sigkill_after_the_trigger_the_device_restores_itself(lab: Lab, tmp_path: Path) -> None:
    """holdtime SIGKILLed right after the trigger: esg1 restores itself at the abort time.

    Before the fire time the neighbor stays shut (nothing else restores it); after it, BGP to
    10.10.10.2 is Established, the best path is via esg1 again, app reaches db, and nothing of
    the switch is left running.
    """
    inventory = _inventory(lab, tmp_path, observe_seconds=15)
    journal = tmp_path / "killed.jsonl"
    process = subprocess.Popen(
        [HOLDTIME, "drill", "-i", str(inventory), DRILL, "--journal", str(journal)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if journal.exists() and '"role": "trigger"' in journal.read_text():
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # the trigger ran; holdtime's restore never will
        process.wait(timeout=10)
        killed_at = dt.datetime.now(dt.UTC)
        [armed] = _armed(journal)
        fire_at = dt.datetime.fromisoformat(armed["fire_at"])
        report = subprocess.run(
            [HOLDTIME, "report", str(journal)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        shut_while_armed = lab.bgp_states().get("10.10.10.2")
        came_back_at = None
        give_up = time.monotonic() + FIRE_AFTER_SECONDS + 30
        while time.monotonic() < give_up:
            established = lab.bgp_states().get("10.10.10.2") == "Established"
            if established and lab.best_path() == "10.10.10.2":
                came_back_at = dt.datetime.now(dt.UTC)
                break
            time.sleep(0.2)
        ping = lab.exec("app", ["ping", "-c", "3", "-i", "0.2", "-W", "1", DB_ADDRESS], check=False)
        left = _switch_processes(armed["name"])
    finally:
        process.kill()
        _cleanup(lab, journal)
    when = fire_at.strftime("%H:%M:%S UTC")
    if came_back_at is not None:  # the figure docs/deadman-switch.md quotes (pytest -s)
        print(f"esg1 restored {(came_back_at - fire_at).total_seconds():.1f} s after fire_at")
    assert (-9, True) == (process.returncode, killed_at < fire_at)
    assert f"the dead man's switch will restore esg1 at {when}" in report.stderr, report.stderr
    assert (True, True) == ("Established" != shut_while_armed, came_back_at is not None)
    assert came_back_at is not None
    # Established with the best path via esg1: not before the switch fired (it is what
    # restored esg1), and soon after (BGP reconnects at once on `no neighbor shutdown`; 15 s
    # is margin for a loaded machine).
    assert (True, True) == (
        came_back_at >= fire_at - dt.timedelta(seconds=1),
        came_back_at <= fire_at + dt.timedelta(seconds=15),
    ), (came_back_at, fire_at)
    assert (0, []) == (ping.returncode, left)

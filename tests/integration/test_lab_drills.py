"""Drills against the built-in lab: BGP shutdown via the CLI, silent failure, frozen bgpd, and a
ping path that starts on the router itself (its own ping over SSH).

Timings are shortened from the lab inventory's (copies of it in tmp_path) to keep the added wall
time near 90 s; each test restores the lab and waits until it is ready again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from holdtime.drill.actions import signal_processes
from holdtime.drill.engine import PingPlan
from holdtime.drill.journal import read_journal
from holdtime.drill.result import DrillResult, PhaseOutage
from holdtime.drill.scenario import Action, Scenario, scenario
from holdtime.drill.wiring import run_inventory_drill
from holdtime.errors import HoldtimeError
from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.lab.topology import APP_PREFIX, DB_ADDRESS
from holdtime.probes.router_config import Router

pytestmark = [
    pytest.mark.integration,
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the lab"),
]

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))
ROUTER_LAN_ADDRESS = APP_PREFIX.replace("0/24", "1")  # 192.168.1.1, the app's gateway
SHORT = {"settle_seconds": 2, "observe_seconds": 6, "failback_observe_seconds": 6}


def _inventory_copy(lab: Lab, tmp_path: Path, timing: Mapping[str, Mapping[str, float]]) -> Path:
    """The lab inventory with some drills' timing shortened, plus a declared bgpd-freeze drill."""
    document = yaml.safe_load(lab.inventory_path.read_text())
    drills = document["drills"]
    freeze = {"signal": "STOP", "process": "bgpd", "netns": lab.netns("esg1")}
    drills["esg1-bgpd-freeze"] = {
        "description": "SIGSTOP esg1's bgpd: control plane frozen, forwarding intact.",
        "probes": ["app-to-db"],
        "watch": ["vpc-router-1"],
        "trigger": freeze,
        "restore": {**freeze, "signal": "CONT"},
        "budget": {"max_outage_seconds": 1, "abort_outage_seconds": 30},
    }
    for name, values in timing.items():
        drills[name]["timing"] = {"clean_seconds": 2, **values}
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _run(
    inventory_path: Path, name: str, journal: Path, extra: Sequence[PingPlan] = ()
) -> DrillResult:
    """One declared drill through the engine, as `holdtime drill` wires it (no steady state)."""
    inventory = load_inventory(inventory_path)
    drill: Scenario = scenario(inventory, name)
    return run_inventory_drill(inventory, drill, journal, steady_state=False, extra_pings=extra)


def _silent_failure(lab: Lab, inventory_path: Path, journal: Path) -> DrillResult:
    """The esg1-silent-failure drill; the tunnel drop is removed again whatever happens."""
    try:
        return _run(inventory_path, "esg1-silent-failure", journal)
    finally:
        lab.exec("esg1", ["nft", "delete", "table", "inet", "holdtime_drill"], check=False)
        lab.wait_ready()


def _phase(result: DrillResult, path: str, phase: str) -> PhaseOutage:
    [found] = [p for p in result.phases if p.path == path and p.phase == phase]
    return found


def _between(result: DrillResult, kind: str, text: str) -> list[str]:
    """Details of `kind` events containing `text` between the trigger and the restore."""
    times = {e.kind: e.at_seconds for e in result.events if e.kind in ("trigger", "restore")}
    return [
        e.detail
        for e in result.events
        if e.kind == kind and text in e.detail and times["trigger"] <= e.at_seconds
        if e.at_seconds <= times["restore"]
    ]


def _router_pings(lab: Lab) -> list[str]:
    """Command lines of ping processes running in the router's namespace."""
    pids = subprocess.run(
        ["ip", "netns", "pids", lab.netns("router")], capture_output=True, text=True, check=False
    ).stdout
    lines = []
    for pid in pids.split():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cmdline.startswith("ping "):
            lines.append(cmdline.strip())
    return lines


def test_bgp_shutdown_drill_via_cli(lab: Lab, tmp_path: Path) -> None:
    """`holdtime drill esg1-bgp-shutdown`: traffic moves to esg2 and back, journal and report."""
    inventory = _inventory_copy(lab, tmp_path, {"esg1-bgp-shutdown": SHORT})
    journal = tmp_path / "drill.jsonl"
    try:
        done = subprocess.run(
            [
                *(HOLDTIME, "drill", "-i", str(inventory), "esg1-bgp-shutdown"),
                *("--journal", str(journal), "--format", "json", "-o", str(tmp_path / "r.json")),
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            cwd=tmp_path,
        )
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready()
    assert 0 == done.returncode, done.stderr[-2000:]
    records = list(read_journal(journal))
    [final] = [r for r in records if r["type"] == "result"]
    result = DrillResult.from_dict(final["result"])
    failover = _phase(result, "app-to-db", "failover")
    failback = _phase(result, "app-to-db", "failback")
    moved = _between(result, "best_path", "172.16.1.0/24: 10.10.10.2 -> 10.10.10.6")
    assert {
        *("start", "event", "sample", "probes", "action", "flow", "result", "deadman"),
        *("prediction", "change"),  # the predicted outage, the polled control-plane changes
    } == {r["type"] for r in records}
    assert (True, "", {"before": "pass", "after": "pass"}) == (
        result.passed,
        result.aborted,
        dict(result.steady_state),
    )
    assert 1 == len(moved), [e.detail for e in result.events]
    # The shutdown sends a NOTIFICATION: failover within a probe or two, failback lossless.
    assert (True, True) == (failover.lost <= 2, failback.lost <= 1)
    assert (True, True) == (failover.sent > 20, failback.sent > 20)
    report = subprocess.run(
        [HOLDTIME, "report", str(journal)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )
    assert 0 == report.returncode, report.stderr
    assert ("drill.outage", "failover", "failback") == tuple(
        word for word in ("drill.outage", "failover", "failback") if word in report.stdout
    )
    assert ["esg1-bgp-shutdown"] == [
        d["name"] for d in json.loads((tmp_path / "r.json").read_text())["extras"]["drills"]
    ]


def test_router_source_ping_measures_the_shutdown(lab: Lab, tmp_path: Path) -> None:
    """vpc-router-1's own ping (over SSH, from its LAN address) measures the ESG1 shutdown."""
    inventory_path = _inventory_copy(lab, tmp_path, {"esg1-bgp-shutdown": SHORT})
    router = load_inventory(inventory_path).named(Router, "vpc-router-1")
    from_router = PingPlan(
        "router-to-db", DB_ADDRESS, 0.05, source=ROUTER_LAN_ADDRESS, router=router
    )
    journal = tmp_path / "router.jsonl"
    try:
        result = _run(inventory_path, "esg1-bgp-shutdown", journal, extra=[from_router])
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready()
    failover = _phase(result, "router-to-db", "failover")
    failback = _phase(result, "router-to-db", "failback")
    [flow] = [
        r for r in read_journal(journal) if r["type"] == "flow" and r["path"] == "router-to-db"
    ]
    trigger_at = next(e.at_seconds for e in result.events if e.kind == "trigger")
    first_sent = min(t for t, _rtt in result.rtt_samples["router-to-db"])
    assert ("", True) == (result.aborted, result.passed)
    # Both phases measured at the router's achieved spacing (iputils runs a bit slow: ~56 ms).
    assert (True, True) == (
        0.05 <= failover.interval_seconds <= 0.07,
        failover.interval_seconds == failback.interval_seconds,
    )
    assert (True, True, True) == (failover.sent > 60, failback.sent > 60, failover.lost <= 3)
    assert 0 == failback.lost
    assert (True, True) == (0 < first_sent < trigger_at, len(flow["events"]) >= failover.sent)
    assert [] == _router_pings(lab)  # interrupted at the end, nothing left running


def test_silent_failure_waits_out_the_hold_timer(lab: Lab, tmp_path: Path) -> None:
    """Tunnel traffic dropped on esg1 with 3/9 timers: the outage is 6-12 s (hold timer)."""
    # Hold 9 s, keepalive 3 s: the last keepalive the router got arrived 0-3 s before the drop,
    # so its hold timer fires 6-9 s after it; BGP withdraws and zebra reinstalls within ~0.5 s,
    # and the measurement adds at most one interval (0.2 s). 6 <= outage <= 12 leaves margin
    # above for a loaded machine; measured here: 8.6-8.8 s.
    timing = {"settle_seconds": 2, "observe_seconds": 13, "failback_observe_seconds": 6}
    inventory = _inventory_copy(lab, tmp_path, {"esg1-silent-failure": timing})
    result = _silent_failure(lab, inventory, tmp_path / "silent.jsonl")
    failover = _phase(result, "app-to-db", "failover")
    dropped = _between(result, "bgp", "vpc-router-1 bgp 10.10.10.2: Established ->")
    assert "" == result.aborted
    assert (True, True) == (
        6.0 <= failover.loss_derived_outage_seconds <= 12.0,
        6.0 <= (failover.gap_derived_outage_seconds or 0.0) <= 12.0,
    ), failover
    assert 1 == len(failover.episodes)
    assert 1 == len(dropped), [e.detail for e in result.events]


def test_path_budget_fails_a_drill_its_own_budget_passes(lab: Lab, tmp_path: Path) -> None:
    """A path's own 3 s budget fails a drill the drill's 30 s passes; a 5 s path stops early."""
    timing = {"settle_seconds": 2, "observe_seconds": 13, "failback_observe_seconds": 6}
    path = _inventory_copy(lab, tmp_path, {"esg1-silent-failure": timing})
    document = yaml.safe_load(path.read_text())
    app_to_db = document["ping_paths"][0]
    document["ping_paths"] = [
        {**app_to_db, "expect": {"max_outage_seconds": 3}},
        {**app_to_db, "name": "app-to-db-5s", "duration_seconds": 5},
    ]
    drill = document["drills"]["esg1-silent-failure"]
    drill["probes"] = ["app-to-db", "app-to-db-5s"]
    drill["budget"] = {"max_outage_seconds": 30, "abort_outage_seconds": 300}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = _silent_failure(lab, path, tmp_path / "budget.jsonl")
    failover = _phase(result, "app-to-db", "failover")
    short = _phase(result, "app-to-db-5s", "failback")
    [stopped] = [e for e in result.events if e.kind == "path_stopped"]
    [verdict] = [
        r
        for r in result.check_results()
        if r.target.endswith("/app-to-db/failover") and r.check == "drill.outage"
    ]
    assert ("", False) == (result.aborted, result.passed)
    # The hold timer's 6-12 s outage: over the path's 3 s, within the drill's 30 s.
    assert (3.0, "ping_paths[app-to-db].expect.max_outage_seconds", False, True) == (
        failover.budget_seconds,
        failover.budget_from,
        failover.within_budget,
        3.0 < failover.loss_derived_outage_seconds <= 30.0,
    ), failover
    assert ("fail", True) == (
        verdict.status.value,
        verdict.reasons[0].endswith(
            "exceeds the budget of 3.0 s from ping_paths[app-to-db].expect.max_outage_seconds"
        ),
    ), verdict
    assert (True, "app-to-db-5s") == (
        short.not_measured.startswith("the path's duration_seconds: 5 s ended it at +"),
        stopped.source,
    ), short


def test_frozen_bgpd_drops_the_session_without_loss(lab: Lab, tmp_path: Path) -> None:
    """SIGSTOP of esg1's bgpd (declared signal action): the session drops, 0 probes lost."""
    timing = {"settle_seconds": 2, "observe_seconds": 12, "failback_observe_seconds": 6}
    inventory = _inventory_copy(lab, tmp_path, {"esg1-bgpd-freeze": timing})
    try:
        result = _run(inventory, "esg1-bgpd-freeze", tmp_path / "freeze.jsonl")
    finally:
        # No bgpd to thaw is possible (it died): wait_ready then says what is wrong.
        with contextlib.suppress(HoldtimeError):
            signal_processes(
                Action(kind="signal", signal="CONT", process="bgpd", netns=lab.netns("esg1"))
            )
        lab.wait_ready()
    dropped = _between(result, "bgp", "vpc-router-1 bgp 10.10.10.2: Established ->")
    actions: list[Any] = [(a["role"], a["output"].split(" pid ")[0]) for a in result.actions]
    assert "" == result.aborted
    assert [("trigger", "SIGSTOP sent to"), ("restore", "SIGCONT sent to")] == actions
    assert 1 == len(dropped), [e.detail for e in result.events]
    assert (0, 0) == (
        _phase(result, "app-to-db", "failover").lost,
        _phase(result, "app-to-db", "failback").lost,
    )


_SIGTERM_DRIVER = """
import sys
from pathlib import Path
from holdtime.drill.actions import DrillActionRunner
from holdtime.drill.engine import DrillEngine, PingPlan
from holdtime.drill.journal import Journal
from holdtime.drill.scenario import Action, Scenario, Timing
from holdtime.inventory import load_inventory
from holdtime.probes.router_config import Router

inventory_path, journal, source = sys.argv[1:4]
router = load_inventory(inventory_path).named(Router, "vpc-router-1")
noop = Action(kind="exec", argv=("true",))
drill = Scenario(
    name="router-ping-sigterm", trigger=noop, restore=noop, probes=("router-to-db",),
    timing=Timing(settle_seconds=1, observe_seconds=60, clean_seconds=1),
)
plan = PingPlan("router-to-db", "172.16.1.10", 0.1, source=source, router=router)
with Journal(Path(journal)) as log:
    DrillEngine(scenario=drill, pings=[plan], actions=DrillActionRunner(), journal=log).run()
"""


def test_sigterm_stops_the_router_ping(lab: Lab, tmp_path: Path) -> None:
    """SIGTERM mid-drill: restore runs, the router's ping is interrupted, its flow journalled."""
    journal = tmp_path / "sigterm.jsonl"
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", _SIGTERM_DRIVER),
            *(str(lab.inventory_path), str(journal), ROUTER_LAN_ADDRESS),
        ],
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if journal.exists() and '"kind": "trigger"' in journal.read_text():
                break
            time.sleep(0.1)
        running = _router_pings(lab)
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        exit_status = process.wait(timeout=30)
    finally:
        process.kill()
    records = list(read_journal(journal))
    [flow] = [r for r in records if r["type"] == "flow"]
    assert 1 == len(running), running
    assert (0, [], "interrupted by SIGTERM") == (
        exit_status,
        _router_pings(lab),
        records[-1]["result"]["aborted"],
    )
    assert ["trigger", "restore"] == [r["role"] for r in records if r["type"] == "action"]
    assert 0 == sum(1 for event in flow["events"] if not event[3])  # nothing lost at the end


# Stands in for sudo on the lab's router, bound over /usr/local/sbin (empty on Debian, first on
# root's sshd PATH) in the router's own mount namespace. It records each call, refuses anything
# but non-interactive use (as sudo with a password and no terminal does), then runs the command
# through the real sudo when one is installed (.ci/run installs it) and directly otherwise (the
# lab logs in as root, so sudo would ask nothing).
_SUDO_SHIM = """#!/bin/sh
printf '%s\\n' "$*" >> {log}
if [ "$1" != "-n" ]; then echo "sudo: a terminal is required to read the password" >&2; exit 1; fi
shift
if [ -x /usr/bin/sudo ]; then exec /usr/bin/sudo -n "$@"; fi
exec "$@"
"""


@contextlib.contextmanager
def _recording_sudo_on_router(lab: Lab, folder: Path) -> Iterator[Path]:
    """A `sudo` on the lab's router for the duration; yields the log of its calls."""
    shim = folder / "sudo-bin"
    shim.mkdir()
    log = folder / "sudo.log"
    log.touch()
    (shim / "sudo").write_text(_SUDO_SHIM.format(log=shlex.quote(str(log))))
    (shim / "sudo").chmod(0o755)
    lab.exec("router", ["mount", "--bind", str(shim), "/usr/local/sbin"])
    try:
        yield log
    finally:
        lab.exec("router", ["umount", "/usr/local/sbin"], check=False)


def test_sudo_router_is_checked_and_watched_through_sudo(lab: Lab, tmp_path: Path) -> None:
    """`sudo: true` on vpc-router-1: `holdtime check` passes and the drill's polling reads it,
    every read under `sudo -n` (the observers go through the same reader as the checks)."""
    copy = _inventory_copy(lab, tmp_path, {"esg1-bgp-shutdown": SHORT})
    document = yaml.safe_load(copy.read_text())
    [router] = [r for r in document["routers"] if r["name"] == "vpc-router-1"]
    router["sudo"] = True
    copy.write_text(yaml.safe_dump(document, sort_keys=False))
    journal = tmp_path / "sudo.jsonl"
    with _recording_sudo_on_router(lab, tmp_path) as log:
        checked = subprocess.run(
            [HOLDTIME, "check", "-i", str(copy), "--only", "vpc-router-1", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            cwd=tmp_path,
        )
        by_check = log.read_text().splitlines()
        log.write_text("")
        try:
            result = _run(copy, "esg1-bgp-shutdown", journal)
        finally:
            lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
            lab.wait_ready()
        by_drill = log.read_text().splitlines()
    statuses = {r["status"] for r in json.loads(checked.stdout)["results"]}
    records = read_journal(journal)
    samples = [r["state"] for r in records if r["type"] == "sample" and "observer" in r]
    assert 0 == checked.returncode, checked.stdout[-2000:] + checked.stderr[-2000:]
    assert set() == statuses - {"pass", "skip"}
    assert (True, True, True) == (
        any(line.startswith("-n vtysh -E ") for line in by_check),
        any(line.startswith("-n swanctl --list-sas --uri ") for line in by_check),
        "-n sysctl net.ipv4.ip_forward" in by_check,
    )
    # Only the observers read the router during the drill: BGP and SAs, each under sudo -n.
    assert (True, True, []) == (
        any(line.startswith("-n vtysh -E ") for line in by_drill),
        any(line.startswith("-n swanctl --list-sas --uri ") for line in by_drill),
        [line for line in by_drill if not line.startswith("-n ")],
    )
    assert [] == [v for state in samples for v in state.values() if v.startswith("error")]
    assert (True, True) == (
        len(samples) > 5,
        all("vpc-router-1 bgp 10.10.10.2" in state for state in samples),
    )
    assert ("", 1) == (
        result.aborted,
        len(_between(result, "best_path", "172.16.1.0/24: 10.10.10.2 -> 10.10.10.6")),
    )

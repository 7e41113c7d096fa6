"""The router probe and BGP/IPsec/system checks against the lab, over real SSH."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.models import CheckResult, RunResult, Status
from holdtime.probes.router import RouterProbe
from holdtime.runner import run_checks

pytestmark = [pytest.mark.integration, pytest.mark.lab]

ROUTER_CHECKS = ("bgp.*", "ipsec.*", "system.*")


def _run(inventory_path: Path, only: tuple[str, ...] = ROUTER_CHECKS) -> RunResult:
    return run_checks(load_inventory(inventory_path), only=only)


def _by_key(run: RunResult) -> dict[tuple[str, str], CheckResult]:
    return {(r.check, r.target): r for r in run.results}


def _wait(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_seconds:g} s")
        time.sleep(0.2)


def _daemon_pid(lab: Lab, name: str) -> int:
    state = json.loads((lab.root / "state.json").read_text())
    return int(state["pids"][name])


@contextmanager
def _esg1_neighbor_shut(lab: Lab) -> Iterator[None]:
    """ESG1 shuts its session to the router (a NOTIFICATION: the router drops it at once)."""
    lab.vtysh("esg1", "conf t", "router bgp 65010", "neighbor 10.10.10.1 shutdown")
    try:
        _wait(lambda: lab.best_path() == "10.10.10.6", 30, "best path moving to ESG2")
        yield
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready(timeout_seconds=60)


def _variant(lab: Lab, tmp_path: Path, edit: Callable[[dict[str, object]], None]) -> Path:
    """A copy of the lab inventory with `edit` applied to it."""
    data = yaml.safe_load(lab.inventory_path.read_text())
    edit(data)
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_healthy_lab_passes_every_router_check(lab: Lab) -> None:
    """Healthy lab: no FAIL/WARN/ERROR, and every check family reports on the router."""
    run = _run(lab.inventory_path)
    bad = [f"{r.status.value} {r.check} {r.target}: {r.summary}" for r in run.results]
    bad = [line for line in bad if not line.startswith(("pass", "skip"))]
    assert [] == bad
    on_router = {r.check for r in run.results if r.device == "vpc-router-1"}
    assert {
        "bgp.peer_established",
        "bgp.prefixes_received",
        "bgp.prefixes_sent",
        "bgp.best_path",
        "bgp.timers",
        "bgp.bfd_peer_up",
        "ipsec.ike_established",
        "ipsec.child_installed",
        "ipsec.traffic_flowing",
        "ipsec.rekey_overdue",
        "system.ip_forwarding",
    } == on_router
    best = _by_key(run)[("bgp.best_path", "vpc-router-1/172.16.1.0/24")]
    assert (Status.PASS, "10.10.10.2") == (best.status, best.observed["best_via"])


def test_esg1_neighbor_shut_fails_the_bgp_checks_naming_it(lab: Lab) -> None:
    """ESG1 shut: its session and prefixes FAIL naming 10.10.10.2; best path names ESG2."""
    with _esg1_neighbor_shut(lab):
        run = _run(lab.inventory_path, only=("bgp.*",))
    results = _by_key(run)
    session = results[("bgp.peer_established", "vpc-router-1/10.10.10.2")]
    assert Status.FAIL == session.status
    assert "10.10.10.2" in session.summary
    assert Status.PASS == results[("bgp.peer_established", "vpc-router-1/10.10.10.6")].status
    received = results[("bgp.prefixes_received", "vpc-router-1/10.10.10.2")]
    assert (Status.FAIL, ["172.16.1.0/24"]) == (received.status, received.observed["missing"])
    best = results[("bgp.best_path", "vpc-router-1/172.16.1.0/24")]
    assert (Status.FAIL, "10.10.10.6") == (best.status, best.observed["best_via"])
    assert "10.10.10.6" in best.summary
    assert "expected via 10.10.10.2" in best.summary


def test_tunnel_down_fails_the_ipsec_checks_naming_it(lab: Lab) -> None:
    """esg2's IKE SA terminated: the ipsec checks of that tunnel FAIL, esg1's still PASS."""
    uri = lab.vici_uri("esg2")
    lab.exec("router", ["swanctl", "--terminate", "--ike", "esg2", "--uri", uri])
    try:
        run = _run(lab.inventory_path, only=("ipsec.ike_established", "ipsec.child_installed"))
    finally:
        initiate = ["swanctl", "--initiate", "--child", "esg2", "--timeout", "15", "--uri", uri]
        lab.exec("router", initiate)
        lab.wait_ready(timeout_seconds=60)
    results = _by_key(run)
    for check in ("ipsec.ike_established", "ipsec.child_installed"):
        down = results[(check, "vpc-router-1/esg2")]
        assert (Status.FAIL, "esg2: configured but no IKE SA") == (down.status, down.summary)
        assert Status.PASS == results[(check, "vpc-router-1/esg1")].status


def test_wrong_host_key_is_an_error_for_that_router_only(lab: Lab, tmp_path: Path) -> None:
    """The router's known_hosts holds another key: its checks ERROR (host key), others run."""
    lines = lab.known_hosts_path.read_text().splitlines()
    router_address = lines[0].split()[0]
    foreign_key = lines[1].split()[1:]  # esg1's key, filed under the router's address
    wrong = tmp_path / "known_hosts"
    wrong.write_text(" ".join([router_address, *foreign_key]) + "\n")

    def edit(data: dict[str, object]) -> None:
        routers = data["routers"]
        assert isinstance(routers, list)
        routers[0]["known_hosts"] = str(wrong)

    run = _run(_variant(lab, tmp_path, edit), only=("system.ip_forwarding",))
    results = _by_key(run)
    router = results[("system.ip_forwarding", "vpc-router-1")]
    assert Status.ERROR == router.status
    assert "host key" in router.summary.lower()
    assert "vpc-router-1" in router.summary
    assert Status.PASS == results[("system.ip_forwarding", "esg1")].status


def test_stopped_sshd_is_an_error_for_that_router_only(lab: Lab) -> None:
    """esg2's sshd frozen (SIGSTOP): esg2 ERRORs after its connect timeout, others PASS."""
    pid = _daemon_pid(lab, "esg2-sshd")
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        run = _run(lab.inventory_path, only=("system.ip_forwarding", "bgp.peer_established"))
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    statuses = {(r.check, r.target): r.status for r in run.results}
    assert Status.ERROR == statuses[("system.ip_forwarding", "esg2")]
    assert Status.PASS == statuses[("system.ip_forwarding", "vpc-router-1")]
    assert Status.PASS == statuses[("system.ip_forwarding", "esg1")]
    assert Status.PASS == statuses[("bgp.peer_established", "vpc-router-1/10.10.10.2")]
    error = next(r for r in run.results if r.target == "esg2")
    assert "esg2" in error.summary
    # the lab inventory's connect timeout is 5 s: the frozen device cannot hold the run longer
    assert 30 > elapsed


def test_probe_reads_only_what_the_selected_checks_need(lab: Lab) -> None:
    """Reads {"system"} (what system.* declares), the probe runs the one sysctl: no vtysh."""
    inventory = load_inventory(lab.inventory_path)
    probe = RouterProbe()
    target = next(t for t in probe.targets(inventory) if t.name == "vpc-router-1")
    observation = probe.collect(replace(target, reads=frozenset({"system"})), 30)
    assert (1, None, None, True) == (
        observation.commands_run,
        observation.bgp,
        observation.ipsec,
        observation.ip_forward,
    )
    full = probe.collect(target, 30)
    # Two charons (one vici URI each): --list-sas, --list-conns, --list-sas again per URI; one
    # vtysh for all BGP/BFD reads (bfdd is not running in this lab: vtysh stops there, nothing
    # after it is lost); one sysctl.
    assert (8, "bfdd is not running") == (full.commands_run, full.errors.get("bfd", "")[-19:])
    assert full.bgp is not None
    assert (2, ["172.16.1.0/24", "192.168.1.0/24"]) == (
        len(full.bgp.neighbors),
        sorted(full.bgp.routes),
    )

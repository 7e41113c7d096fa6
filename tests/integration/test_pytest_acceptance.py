"""The pytest plugin end to end: examples/acceptance against the lab, drills, xdist, vcsim."""

# The vcsim fixtures are imported by name (as in test_vsphere.py); test parameters naming them
# are what pyflakes calls a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

# Imported here, before any in-process pytester run: pytester drops modules first imported
# during a run, and cryptography's OpenSSL bindings do not survive a second import in one
# process ("cipher AES in CTR mode is not supported" from paramiko afterwards).
import paramiko  # noqa: F401
import pytest
import yaml
from vcsim_fixtures import scenarios, vcsim_binary, vcsim_site  # noqa: F401

from holdtime.errors import TransportError
from holdtime.lab import Lab

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "acceptance"
READ_ONLY_TESTS = {
    "test_both_edges_established",
    "test_stretched_prefix_preferred_via_weight_2_edge",
    "test_stretched_prefix_has_a_standby_path",
    "test_app_prefix_advertised_to_both_edges",
    "test_no_bgp_or_ipsec_check_fails",
    "test_both_tunnels_installed",
    "test_edges_forward_packets",
}
DRILL_TEST = "test_failover_within_budget"
# The inventory items `neighbor 10.10.10.1 shutdown` on esg1 fails: vpc-router-1's items of
# that neighbor and of the stretched prefix's best path (not 10.10.10.6's, not the catch-all
# `bgp.peer_established[vpc-router-1]`), and esg1's one peer item (its inventory lists no
# neighbors, so every configured one is judged in `bgp.peer_established[esg1]`).
SHUTDOWN_FAILS = {
    "bgp.peer_established[vpc-router-1/10.10.10.2]",
    "bgp.prefixes_received[vpc-router-1/10.10.10.2]",
    "bgp.prefixes_sent[vpc-router-1/10.10.10.2]",
    "bgp.best_path[vpc-router-1/172.16.1.0/24]",
    "bgp.peer_established[esg1]",
}
# vpc-router-1's BGP peer items on the lab: one per expected neighbor, plus the catch-all for
# neighbors the inventory does not list.
PEER_ITEMS = {
    "bgp.peer_established[vpc-router-1/10.10.10.2]",
    "bgp.peer_established[vpc-router-1/10.10.10.6]",
    "bgp.peer_established[vpc-router-1]",
}
SHUTDOWN_FAILS_HAND_WRITTEN = {
    "test_both_edges_established",
    "test_stretched_prefix_preferred_via_weight_2_edge",
    "test_stretched_prefix_has_a_standby_path",
    "test_app_prefix_advertised_to_both_edges",
    "test_no_bgp_or_ipsec_check_fails",
}
_healthy: dict[str, dict[str, str]] = {}  # the plain healthy run, shared by two tests


@pytest.fixture
def suite(pytester: pytest.Pytester, lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Path:
    """examples/acceptance copied into a pytester folder, pointed at the lab; the JUnit path."""
    for source in EXAMPLES.iterdir():
        if source.suffix in (".py", ".ini"):
            shutil.copy(source, pytester.path / source.name)
    monkeypatch.setenv("HOLDTIME_INVENTORY", str(lab.inventory_path))
    # The traffic sample adds 4 s per tunnel router; ipsec.traffic_flowing then SKIPs.
    monkeypatch.setenv("HOLDTIME_TRAFFIC_SAMPLE_SECONDS", "0")
    return pytester.path / "junit.xml"


def junit_cases(junit: Path) -> dict[str, ET.Element]:
    """JUnit testcases by name (inventory items: `check[target]`, hand-written: the function)."""
    return {str(c.get("name")): c for c in ET.parse(junit).getroot().iter("testcase")}


def outcome(case: ET.Element) -> str:
    """passed / failed / error / skipped of one JUnit testcase."""
    for tag, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        if case.find(tag) is not None:
            return name
    return "passed"


def outcomes(junit: Path) -> dict[str, str]:
    """Every testcase's outcome by name."""
    return {name: outcome(case) for name, case in junit_cases(junit).items()}


def healthy_outcomes(pytester: pytest.Pytester, junit: Path) -> dict[str, str]:
    """Outcomes of the example suite over the healthy lab (run once per module)."""
    if "plain" not in _healthy:
        pytester.runpytest(f"--junitxml={junit}")
        _healthy["plain"] = outcomes(junit)
    return _healthy["plain"]


def test_example_suite_passes_on_healthy_lab(pytester: pytest.Pytester, suite: Path) -> None:
    """Healthy lab: every inventory item and hand-written test passes or skips; drill skipped."""
    got = healthy_outcomes(pytester, suite)
    assert {} == {name: o for name, o in got.items() if o not in ("passed", "skipped")}
    assert dict.fromkeys(READ_ONLY_TESTS, "passed") == {n: got[n] for n in READ_ONLY_TESTS}
    assert "skipped" == got[DRILL_TEST]
    peer_items = {n: o for n, o in got.items() if n.startswith("bgp.peer_established[vpc-router")}
    assert dict.fromkeys(PEER_ITEMS, "passed") == peer_items


def test_esg1_shutdown_fails_exactly_the_affected_items(
    pytester: pytest.Pytester, suite: Path, lab: Lab
) -> None:
    """ESG1 neighbor shut: the esg1 peer, its prefixes and the best path fail; the rest pass."""
    lab.vtysh("esg1", "conf t", "router bgp 65010", "neighbor 10.10.10.1 shutdown")
    try:
        pytester.runpytest(f"--junitxml={suite}")
        got = outcomes(suite)
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready()
    assert SHUTDOWN_FAILS | SHUTDOWN_FAILS_HAND_WRITTEN == {
        n for n, o in got.items() if o == "failed"
    }
    assert {} == {n: o for n, o in got.items() if o == "error"}
    esg2_items = {n: o for n, o in got.items() if "10.10.10.6" in n}
    assert dict.fromkeys(esg2_items, "passed") == esg2_items
    assert 4 == len(esg2_items)  # peer_established, prefixes_received/_sent, timers
    failures = junit_cases(suite)
    best = "bgp.best_path[vpc-router-1/172.16.1.0/24]"
    message = failures[best].find("failure")
    assert message is not None
    assert "holdtime/runner.py" not in (message.text or "")
    properties = {p.get("name"): p.get("value") for p in failures[best].iter("property")}
    assert ("10.10.10.2", "10.10.10.6") == (
        properties["expected.via"],
        properties["observed.best_via"],
    )


def short_drill_inventory(lab: Lab, directory: Path) -> Path:
    """The lab inventory with esg1-bgp-shutdown's phases shortened (same trigger, restore, budget).

    Admin shutdown fails over at once and BGP is back within its 3 s connect retry, so 4 s of
    failover and 8 s of failback observation see everything the 15 s default does, in ~20 s.
    """
    document = yaml.safe_load(lab.inventory_path.read_text())
    document["drills"]["esg1-bgp-shutdown"]["timing"] = {
        "settle_seconds": 1,
        "observe_seconds": 4,
        "failback_observe_seconds": 8,
        "clean_seconds": 2,
    }
    path = directory / "lab-short-drills.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_drill_marker_skips_then_runs_the_real_drill(
    pytester: pytest.Pytester, suite: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drill test skips by default; with the flag it runs esg1-bgp-shutdown within budget."""
    assert "skipped" == healthy_outcomes(pytester, suite)[DRILL_TEST]
    monkeypatch.setenv("HOLDTIME_INVENTORY", str(short_drill_inventory(lab, pytester.path)))
    try:
        result = pytester.runpytest(
            "--holdtime-allow-drills", "-k", DRILL_TEST, f"--junitxml={suite}"
        )
    finally:
        lab.wait_ready()
    result.assert_outcomes(passed=1, deselected=len(healthy_outcomes(pytester, suite)) - 1)
    case = junit_cases(suite)[DRILL_TEST]
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert "5.0" == properties["drill.app-to-db.failover.budget_seconds"]
    assert 0 <= float(properties["drill.app-to-db.failover.loss_derived_outage_seconds"]) <= 5
    assert "10.10.10.2" == lab.best_path()


def test_drill_whose_restore_fails_fails_its_test_loudly(
    pytester: pytest.Pytester, suite: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed restore fails the test with the DRILL line, though the test asserts nothing."""
    path = short_drill_inventory(lab, pytester.path)
    document = yaml.safe_load(path.read_text())
    document["drills"]["esg1-bgp-shutdown"]["restore"] = {"ssh": "esg1", "command": "exit 1"}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    monkeypatch.setenv("HOLDTIME_INVENTORY", str(path))
    pytester.makepyfile(
        test_outage_only=(
            "import pytest\n\n\n"
            '@pytest.mark.holdtime_drill("esg1-bgp-shutdown")\n'
            "def test_outage_only(holdtime_drill):\n"
            "    holdtime_drill()\n"
        )
    )
    try:
        result = pytester.runpytest("--holdtime-allow-drills", "-k", "test_outage_only")
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready()
    assert (1, None) == (result.parseoutcomes()["failed"], result.parseoutcomes().get("passed"))
    result.stdout.fnmatch_lines(
        [
            "*DRILL esg1-bgp-shutdown: restore failed: the trigger is still in effect; "
            "run `exit 1` on esg1 (journal *drill-esg1-bgp-shutdown.jsonl)*"
        ]
    )


def test_xdist_gives_the_same_outcomes_and_junit_properties(
    pytester: pytest.Pytester, suite: Path
) -> None:
    """-n 2 --dist loadgroup: same outcome per test as one process; JUnit keeps the properties."""
    plain = healthy_outcomes(pytester, suite)
    parallel = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", f"--junitxml={suite}"
    )
    assert pytest.ExitCode.OK == parallel.ret
    assert plain == outcomes(suite)
    cases = junit_cases(suite)
    best = next(c for n, c in cases.items() if n.startswith("bgp.best_path[vpc-router-1"))
    properties = {p.get("name"): p.get("value") for p in best.iter("property")}
    assert ("10.10.10.2", "10.10.10.2") == (
        properties["expected.via"],
        properties["observed.best_via"],
    )


class _Recorder:
    """A plugin handing tests a list to put handles in, read back after the run."""

    def __init__(self) -> None:
        self.handles: list[Any] = []

    @pytest.fixture
    def record(self) -> list[Any]:
        """The shared list."""
        return self.handles


def test_router_handle_is_cached_per_session_and_closed(
    pytester: pytest.Pytester, lab: Lab
) -> None:
    """Tests share one connected handle, closed at session end; writes are refused, not sent."""
    pytester.makepyfile(
        """
        import pytest
        from holdtime.errors import CommandRefused

        def test_first(holdtime_router, record):
            router = holdtime_router("vpc-router-1")
            record.append(router)
            assert "FRRouting" in router.run("show version")

        def test_second(holdtime_router, record):
            router = holdtime_router("vpc-router-1")
            record.append(router)
            assert router.session.connected
            with pytest.raises(CommandRefused):
                router.run("conf t")

        def test_unknown_router(holdtime_router):
            holdtime_router("no-such-router")
        """
    )
    recorder = _Recorder()
    result = pytester.runpytest(
        f"--holdtime-inventory={lab.inventory_path}", "-k", "test_", plugins=[recorder]
    )
    result.assert_outcomes(passed=2, failed=1)
    first, second = recorder.handles
    assert first is second
    assert False is first.session.connected
    result.stdout.fnmatch_lines(
        [
            "test_router_handle_is_cached_per_session_and_closed.py:17: ConfigError: *"
            "no router named 'no-such-router'"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_vcenter_handle_observes_and_logs_out(
    pytester: pytest.Pytester, vcsim_site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """holdtime_vcenter returns one logged-in session per vCenter, logged out at session end."""
    sim = vcsim_site("healthy")
    monkeypatch.setenv("HTPY_VC_PASSWORD", scenarios.PASSWORD)
    inventory = pytester.makefile(
        ".yaml",
        inventory=f"""
vcenters:
  - name: vc-site-a
    host: {sim.host}
    port: {sim.port}
    username: {scenarios.USERNAME}
    password_env: HTPY_VC_PASSWORD
    insecure: true
""",
    )
    pytester.makepyfile(
        """
        def test_datastores(holdtime_vcenter, record):
            vc = holdtime_vcenter("vc-site-a")
            record.append(vc)
            names = sorted(d.name for d in vc.observe().datastores)
            assert ["nfs3-gold", "nfs3-silver", "nfs41-bronze"] == names

        def test_same_session(holdtime_vcenter, record):
            record.append(holdtime_vcenter("vc-site-a"))
            assert "VirtualCenter" == record[-1].content.about.apiType
        """
    )
    recorder = _Recorder()
    result = pytester.runpytest(
        "--holdtime-inventory",
        str(inventory),
        "-k",
        "test_",
        "-p",
        "no:cacheprovider",
        plugins=[recorder],
    )
    result.assert_outcomes(passed=2)
    first, second = recorder.handles
    assert first is second
    with pytest.raises(TransportError):
        first.observe()  # logged out: the server refuses the session

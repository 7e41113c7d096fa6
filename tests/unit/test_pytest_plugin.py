"""The pytest plugin: one item per check x target, outcomes, JUnit properties, drill marker."""

from __future__ import annotations

import socket
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from exporter_results import router_observation

from holdtime.errors import ConnectError
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target
from holdtime.probes import frr
from holdtime.probes.bgp_model import BgpRoute
from holdtime.probes.router import RouterObservation, RouterProbe
from holdtime.pytest_plugin import UnlistedTargetsItem, _CheckPlan

pytest_plugins = ["pytester"]


@pytest.fixture
def ports() -> Iterator[tuple[int, int]]:
    """(an open port with a real listener, a closed port) on 127.0.0.1."""
    server = socket.create_server(("127.0.0.1", 0))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        yield server.getsockname()[1], closed_port
    finally:
        server.close()


@pytest.fixture
def inventory(pytester: pytest.Pytester, ports: tuple[int, int]) -> Path:
    """An inventory with an open port, a closed port and a target in a missing namespace."""
    open_port, closed_port = ports
    return pytester.makefile(
        ".yaml",
        inventory=f"""
tcp:
  - {{name: ldaps, host: 127.0.0.1, port: {open_port}}}
  - {{name: kmip, host: 127.0.0.1, port: {closed_port}, timeout_seconds: 1}}
  - {{name: ghost, host: 10.0.0.1, port: 443, netns: holdtime-no-such-ns}}
""",
    )


def test_items_have_check_and_target_ids(
    pytester: pytest.Pytester, inventory: Path, ports: tuple[int, int]
) -> None:
    """--collect-only lists one item per check x target with readable ids."""
    result = pytester.runpytest("--holdtime-inventory", str(inventory), "--collect-only", "-q")
    open_port, closed_port = ports
    assert {
        f"inventory.yaml::tcp.port_open[ldaps/127.0.0.1:{open_port}]",
        f"inventory.yaml::tcp.port_open[kmip/127.0.0.1:{closed_port}]",
        "inventory.yaml::tcp.port_open[ghost/10.0.0.1:443]",
    } <= {line.strip() for line in result.outlines}


def test_pass_fail_and_error_map_to_pytest_outcomes(
    pytester: pytest.Pytester, inventory: Path
) -> None:
    """Open port passes, refused port fails with the reason, missing netns is a pytest error."""
    result = pytester.runpytest("--holdtime-inventory", str(inventory), "-rA")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    text = result.stdout.str()
    assert "refused" in text
    assert "nothing listens on the port" in text
    assert "does not exist (is the lab up?" in text
    assert "Traceback" not in text
    assert "holdtime/runner.py" not in text


def test_failure_blocks_are_headed_by_check_target_and_inventory_line(
    pytester: pytest.Pytester, inventory: Path, ports: tuple[int, int]
) -> None:
    """Not "test session": the heading names the check, the target and the inventory line;
    -v keeps the item id as written (no `tcp::port_open`)."""
    closed_port = ports[1]
    result = pytester.runpytest("--holdtime-inventory", str(inventory), "-v")
    text = result.stdout.str()
    assert [] == [
        line for line in result.outlines if line.startswith("_") and "test session" in line
    ]
    heading = f"tcp.port_open on kmip/127.0.0.1:{closed_port} (inventory.yaml:3)"
    assert [True, True] == [
        any(heading in line and line.startswith("_") for line in result.outlines),
        any(
            line.startswith(f"inventory.yaml::tcp.port_open[kmip/127.0.0.1:{closed_port}] FAILED")
            for line in result.outlines
        ),
    ], text
    assert "tcp::port_open" not in text


def test_k_selects_by_target(pytester: pytest.Pytester, inventory: Path) -> None:
    """-k works on the ids, so one target can be run alone."""
    result = pytester.runpytest("--holdtime-inventory", str(inventory), "-k", "ldaps")
    result.assert_outcomes(passed=1)


def test_only_pattern_limits_collection(pytester: pytest.Pytester, inventory: Path) -> None:
    """--holdtime-only filters like `holdtime check --only`."""
    result = pytester.runpytest(
        "--holdtime-inventory", str(inventory), "--holdtime-only", "kmip", "--collect-only", "-q"
    )
    result.assert_outcomes()
    assert 1 == sum("tcp.port_open[" in line for line in result.outlines)


def test_junit_carries_observed_and_expected(
    pytester: pytest.Pytester, inventory: Path, tmp_path: Path
) -> None:
    """JUnit XML testcases carry observed.* and expected.* properties."""
    junit = tmp_path / "junit.xml"
    pytester.runpytest("--holdtime-inventory", str(inventory), f"--junitxml={junit}")
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    kmip = next(c for name, c in cases.items() if name and name.startswith("tcp.port_open[kmip"))
    properties = {p.get("name"): p.get("value") for p in kmip.iter("property")}
    assert ("refused", "open") == (properties["observed.state"], properties["expected.state"])
    assert kmip.find("failure") is not None


def test_bad_inventory_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A broken inventory stops pytest with the one-line holdtime error."""
    bad = pytester.makefile(".yaml", bad="tcp:\n  - {name: a, host: h, port: 99999}\n")
    result = pytester.runpytest("--holdtime-inventory", str(bad))
    assert pytest.ExitCode.USAGE_ERROR == result.ret
    result.stderr.fnmatch_lines(["*bad.yaml:2:*tcp[[]0[]].port: 99999 is out of range 1..65535*"])


def test_drill_marker_skips_without_flag_and_runs_with_it(pytester: pytest.Pytester) -> None:
    """@pytest.mark.holdtime_drill tests skip unless --holdtime-allow-drills is given."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.holdtime_drill("esg1-bgp-shutdown")
        def test_failover():
            pass
        """
    )
    skipped = pytester.runpytest("-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*destructive drill: run with --holdtime-allow-drills*"])
    pytester.runpytest("--holdtime-allow-drills").assert_outcomes(passed=1)


def test_last_failed_reruns_only_the_failures(pytester: pytest.Pytester, inventory: Path) -> None:
    """--lf after a run re-runs only the failed and errored items."""
    pytester.runpytest_subprocess("--holdtime-inventory", str(inventory))
    rerun = pytester.runpytest_subprocess("--holdtime-inventory", str(inventory), "--lf")
    rerun.assert_outcomes(failed=1, errors=1, deselected=1)


@pytest.fixture
def router_inventory(pytester: pytest.Pytester, ports: tuple[int, int]) -> Path:
    """An inventory whose one router points at a closed port on 127.0.0.1."""
    _, closed_port = ports
    key = pytester.path / "client_key"
    key.write_text("not used: the TCP connect is refused first\n")
    (pytester.path / "known_hosts").write_text("")
    return pytester.makefile(
        ".yaml",
        inventory=f"""
routers:
  - name: edge-a
    host: 127.0.0.1
    port: {closed_port}
    username: holdtime
    auth: {{key_file: {key}}}
    known_hosts: {pytester.path / "known_hosts"}
    timeouts: {{connect_seconds: 2, command_seconds: 2}}
""",
    )


def test_router_fixture_errors_are_one_line(
    pytester: pytest.Pytester, router_inventory: Path
) -> None:
    """holdtime_router: unknown name and unreachable router fail with one line, no traceback."""
    pytester.makepyfile(
        test_routers="""
        def test_unknown(holdtime_router):
            holdtime_router("no-such-router")

        def test_unreachable(holdtime_router):
            holdtime_router("edge-a").bgp()
        """
    )
    # -k: leave out the inventory's own items for edge-a (they error the same way)
    result = pytester.runpytest(
        f"--holdtime-inventory={router_inventory}", "test_routers.py", "-k", "not edge"
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "test_routers.py:2: ConfigError: *inventory.yaml: no router named 'no-such-router'",
            "test_routers.py:5: ConnectError: edge-a: *",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "pytest_devices.py" not in result.stdout.str()


def test_drill_fixture_needs_the_flag_and_a_scenario(
    pytester: pytest.Pytester, router_inventory: Path
) -> None:
    """holdtime_drill skips without the flag; unmarked or unknown scenarios fail in one line."""
    pytester.makepyfile(
        test_drills="""
        import pytest

        def test_unmarked(holdtime_drill):
            holdtime_drill()

        @pytest.mark.holdtime_drill("no-such-drill")
        def test_unknown(holdtime_drill):
            holdtime_drill()
        """
    )
    inventory = (f"--holdtime-inventory={router_inventory}", "-k", "not edge")
    skipped = pytester.runpytest(*inventory, "test_drills.py", "-rs")
    skipped.assert_outcomes(skipped=2)
    allowed = pytester.runpytest(*inventory, "test_drills.py", "--holdtime-allow-drills")
    allowed.assert_outcomes(failed=2)
    allowed.stdout.fnmatch_lines(
        [
            "*holdtime_drill: mark the test @pytest.mark.holdtime_drill(*",
            "test_drills.py:8: ConfigError: *no-such-drill*",
        ]
    )
    assert "Traceback" not in allowed.stdout.str()


# -- one item per neighbor / prefix / tunnel: a router whose probe returns recorded output ------
NEIGHBORS = ("10.10.10.2", "10.10.10.6")
STRETCHED, OWN = "172.16.1.0/24", "192.168.1.0/24"
FRR = Path(__file__).resolve().parents[1] / "fixtures" / "frr"


def neighbor_inventory(
    pytester: pytest.Pytester, neighbors: Sequence[str] = NEIGHBORS, bfd: bool = False
) -> Path:
    """vpc-router-1 as the lab's inventory describes it (the probe is replaced by recordings)."""
    (pytester.path / "client_key").write_text("not used: the probe is replaced\n")
    (pytester.path / "known_hosts").write_text("")
    listed = "".join(
        f"""
          - address: {address}
            remote_as: 65010
            prefixes_received: [{STRETCHED}]
            prefixes_sent: [{OWN}]"""
        for address in neighbors
    )
    return pytester.makefile(
        ".yaml",
        inventory=f"""
routers:
  - name: vpc-router-1
    host: 127.0.0.1
    username: holdtime
    auth: {{key_file: {pytester.path / "client_key"}}}
    known_hosts: {pytester.path / "known_hosts"}
    platform: [frr, strongswan]
    expect:
      bgp:
        neighbors:{listed}
        best_paths: [{{prefix: {STRETCHED}, via: 10.10.10.2}}]
        bfd: {str(bfd).lower()}
      ipsec: {{tunnels: [esg1, esg2]}}
      ip_forwarding: true
""",
    )


def recorded(case: str, **changes: object) -> RouterObservation:
    """vpc-router-1 read from recorded FRR 8.4 / swanctl output in BGP state `case`."""
    observation = router_observation(case)
    assert observation.bgp is not None

    def route(case: str) -> BgpRoute:
        path = FRR / "show-bgp-ipv4-unicast-prefix-json" / case / "output.txt"
        return frr.parse_frr_bgp_route_json(path.read_text())

    routes = {STRETCHED: route(case), OWN: route("own-prefix-advertised")}
    complete = replace(observation, bgp=replace(observation.bgp, routes=routes), ip_forward=True)
    return replace(complete, **changes)  # type: ignore[arg-type]


def probe_returns(monkeypatch: pytest.MonkeyPatch, outcome: RouterObservation | Exception) -> None:
    """Replace the router probe's SSH collection (the in-process runs share the class)."""

    def collect(self: RouterProbe, target: Target, timeout_seconds: float) -> RouterObservation:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(RouterProbe, "collect", collect)


def item_ids(result: pytest.RunResult) -> set[str]:
    """The inventory items of a --collect-only -q run, without the `inventory.yaml::` part."""
    return {
        line.strip().removeprefix("inventory.yaml::")
        for line in result.outlines
        if line.startswith("inventory.yaml::")
    }


def item_outcomes(result: pytest.RunResult) -> dict[str, str]:
    """passed / failed / error / skipped of each item of an in-process run, by item name."""
    got: dict[str, str] = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        name = report.nodeid.rpartition("::")[2]
        if report.when == "setup" and report.failed:
            got[name] = "error"
        elif (report.when == "setup" and report.skipped) or report.when == "call":
            got[name] = report.outcome
    return got


def per_neighbor(check: str, *neighbors: str) -> set[str]:
    """Item names of `check` for the given neighbors of vpc-router-1."""
    return {f"{check}[vpc-router-1/{address}]" for address in neighbors}


ROUTER_ITEMS = {
    *per_neighbor("bgp.peer_established", *NEIGHBORS),
    "bgp.peer_established[vpc-router-1]",
    *per_neighbor("bgp.prefixes_received", *NEIGHBORS),
    *per_neighbor("bgp.prefixes_sent", *NEIGHBORS),
    *per_neighbor("bgp.timers", *NEIGHBORS),
    f"bgp.best_path[vpc-router-1/{STRETCHED}]",
    "bgp.bfd_peer_up[vpc-router-1]",
    *(
        f"ipsec.{check}[vpc-router-1/{tunnel}]"
        for check in ("ike_established", "child_installed", "traffic_flowing", "rekey_overdue")
        for tunnel in ("esg1", "esg2")
    ),
    "system.ip_forwarding[vpc-router-1]",
}


def test_items_per_neighbor_prefix_and_tunnel(pytester: pytest.Pytester) -> None:
    """The router's items are per expected neighbor, best-path prefix and tunnel, plus catch-all."""
    result = pytester.runpytest(
        f"--holdtime-inventory={neighbor_inventory(pytester)}", "--collect-only", "-q"
    )
    assert ROUTER_ITEMS == item_ids(result)


def test_bfd_items_per_neighbor_only_when_every_neighbor_needs_bfd(
    pytester: pytest.Pytester,
) -> None:
    """expect.bgp.bfd: true names the BFD results (one per neighbor); otherwise one router item."""
    inventory = neighbor_inventory(pytester, bfd=True)
    result = pytester.runpytest(f"--holdtime-inventory={inventory}", "--collect-only", "-q")
    assert per_neighbor("bgp.bfd_peer_up", *NEIGHBORS) == {
        name for name in item_ids(result) if name.startswith("bgp.bfd_peer_up")
    }


# The recorded swanctl read has no CHILD SA under esg2's IKE SA, and no second read for traffic.
RECORDED_IPSEC = {
    "ipsec.child_installed[vpc-router-1/esg2]": "failed",
    "ipsec.traffic_flowing[vpc-router-1/esg1]": "skipped",
    "ipsec.traffic_flowing[vpc-router-1/esg2]": "skipped",
}


def test_each_item_judges_its_own_target_with_its_own_junit_properties(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Neighbor and tunnel items pass or fail on their own results; the catch-all passes."""
    probe_returns(monkeypatch, recorded("both-established"))
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest(
        f"--holdtime-inventory={neighbor_inventory(pytester)}", f"--junitxml={junit}"
    )
    assert {**dict.fromkeys(ROUTER_ITEMS, "passed"), **RECORDED_IPSEC} == item_outcomes(result)
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    peer_properties = {
        address: [
            (p.get("name"), p.get("value"))
            for p in cases[f"bgp.peer_established[vpc-router-1/{address}]"].iter("property")
            if p.get("name") in ("observed.state", "observed.description", "expected.remote_as")
        ]
        for address in NEIGHBORS
    }
    assert {
        "10.10.10.2": [
            ("observed.state", "Established"),
            ("observed.description", "esg1"),
            ("expected.remote_as", "65010"),
        ],
        "10.10.10.6": [
            ("observed.state", "Established"),
            ("observed.description", "esg2"),
            ("expected.remote_as", "65010"),
        ],
    } == peer_properties
    catch_all = cases["bgp.peer_established[vpc-router-1]"]
    assert [("holdtime.scope", UnlistedTargetsItem.SCOPE)] == [
        (p.get("name"), p.get("value")) for p in catch_all.iter("property")
    ]


REFUSED = "vpc-router-1: cannot connect to 127.0.0.1:22: Connection refused"
NO_BGPD = "vpc-router-1: `show bgp vrf all summary json`: bgpd is not running"


@pytest.mark.parametrize(
    ("down", "errored_family", "summary"),
    [
        (ConnectError(REFUSED), "", REFUSED),
        (recorded("both-established", bgp=None, errors={"bgp": NO_BGPD}), "bgp.", NO_BGPD),
    ],
    ids=["unreachable", "bgp-unreadable"],
)
def test_device_level_error_makes_every_item_of_the_check_an_error(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    down: RouterObservation | Exception,
    errored_family: str,
    summary: str,
) -> None:
    """An unreachable router errors every item; an unreadable BGP section every bgp.* item."""
    probe_returns(monkeypatch, down)
    result = pytester.runpytest(f"--holdtime-inventory={neighbor_inventory(pytester)}")
    errored = {name for name in ROUTER_ITEMS if name.startswith(errored_family)}
    assert errored == {
        name for name, outcome in item_outcomes(result).items() if outcome == "error"
    }
    first_lines = {
        report.nodeid.rpartition("::")[2]: report.longreprtext.splitlines()[0]
        for report in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
        if report.when == "setup" and report.failed
    }
    neighbor_items = per_neighbor("bgp.peer_established", *NEIGHBORS)
    assert dict.fromkeys(
        neighbor_items, f"ERROR bgp.peer_established[vpc-router-1]: {summary}"
    ) == {name: first_lines[name] for name in neighbor_items}


class _WarningRecorder:
    """A plugin collecting (item node id, message) of every warning in a run."""

    def __init__(self) -> None:
        self.warnings: list[tuple[str, str]] = []

    def pytest_warning_recorded(
        self, warning_message: warnings.WarningMessage, nodeid: str
    ) -> None:
        """Keep the warning with the item it was raised in."""
        self.warnings.append((nodeid, str(warning_message.message)))


def test_unexpected_neighbor_warns_on_the_device_item_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configured neighbor missing from the inventory is one WARN, on check[device]."""
    probe_returns(monkeypatch, recorded("both-established"))
    recorder = _WarningRecorder()
    inventory = neighbor_inventory(pytester, neighbors=("10.10.10.2",))
    result = pytester.runpytest(f"--holdtime-inventory={inventory}", plugins=[recorder])
    assert [
        (
            "inventory.yaml::bgp.peer_established[vpc-router-1]",
            "WARN bgp.peer_established[vpc-router-1/10.10.10.6]: unexpected neighbor "
            "10.10.10.6 (esg2) (AS 65010, Established) is not in the inventory",
        )
    ] == [(nodeid, message.splitlines()[0]) for nodeid, message in recorder.warnings]
    got = item_outcomes(result)
    assert "passed" == got["bgp.peer_established[vpc-router-1]"]
    assert set() == {name for name in got if "10.10.10.6" in name}


def test_k_selects_one_neighbor(pytester: pytest.Pytester) -> None:
    """-k 10.10.10.2 selects exactly that neighbor's items."""
    result = pytester.runpytest(
        f"--holdtime-inventory={neighbor_inventory(pytester)}",
        "-k",
        "10.10.10.2",
        "--collect-only",
        "-q",
    )
    assert {
        f"{check}[vpc-router-1/10.10.10.2]"
        for check in ("bgp.peer_established", "bgp.prefixes_received", "bgp.prefixes_sent")
    } | {"bgp.timers[vpc-router-1/10.10.10.2]"} == item_ids(result)


def test_last_failed_reruns_the_failed_neighbor_item(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """esg1 shut: its neighbor items fail, esg2's pass; --lf re-runs just the failed ones."""
    probe_returns(monkeypatch, recorded("esg1-admin-shutdown"))
    inventory = f"--holdtime-inventory={neighbor_inventory(pytester)}"
    first = item_outcomes(pytester.runpytest(inventory))
    failed = {name for name, outcome in first.items() if outcome == "failed"}
    assert {
        "bgp.peer_established[vpc-router-1/10.10.10.2]",
        "bgp.prefixes_received[vpc-router-1/10.10.10.2]",
        f"bgp.best_path[vpc-router-1/{STRETCHED}]",
        "ipsec.child_installed[vpc-router-1/esg2]",
    } == failed
    rerun = pytester.runpytest(inventory, "--lf")
    assert dict.fromkeys(failed, "failed") == item_outcomes(rerun)
    rerun.assert_outcomes(failed=len(failed), deselected=len(ROUTER_ITEMS) - len(failed))


def test_result_distribution_with_and_without_a_declared_catch_all() -> None:
    """Own target -> its item; device -> every item; unlisted -> catch-all, else every item."""
    listed = ("r1/10.0.0.1", "r1/10.0.0.2")
    results = [
        CheckResult(check="c", target=name, status=Status.PASS, summary=name)
        for name in ("r1/10.0.0.1", "r1", "r1/10.9.9.9")
    ]

    def judged(plan: _CheckPlan) -> dict[str, list[str]]:
        return {t: [r.target for r in results if plan.selects(t, r)] for t in plan.targets()}

    assert {
        "r1/10.0.0.1": ["r1/10.0.0.1", "r1"],
        "r1/10.0.0.2": ["r1"],
        "r1": ["r1", "r1/10.9.9.9"],
    } == judged(_CheckPlan("r1", listed, reports_unlisted=True))
    assert {
        "r1/10.0.0.1": ["r1/10.0.0.1", "r1", "r1/10.9.9.9"],
        "r1/10.0.0.2": ["r1", "r1/10.9.9.9"],
    } == judged(_CheckPlan("r1", listed, reports_unlisted=False))
    assert {"r1": ["r1/10.0.0.1", "r1", "r1/10.9.9.9"]} == judged(
        _CheckPlan("r1", (), reports_unlisted=True)
    )

"""The pytest plugin: one item per check x target, outcomes, JUnit properties, drill marker."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

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

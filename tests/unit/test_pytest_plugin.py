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

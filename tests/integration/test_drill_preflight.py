"""Preflight against real components: a real Pushgateway on 127.0.0.1, real directories; a
failing preflight is one line, exit 2, and the trigger never runs. Also: a drill that measured
nothing leaves the gateway's last real figures alone."""

from __future__ import annotations

import datetime as dt
import shutil
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_prometheus import _free_port, pushgateway  # noqa: F401 - the fixture, shared

from holdtime.cli import main
from holdtime.drill.preflight import check_pushgateway, check_textfile_dir
from holdtime.drill.result import DrillResult, PhaseOutage, TimelineEvent
from holdtime.errors import ConfigError
from holdtime.exporters.drill_publish import publish_drill

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not shutil.which("prometheus-pushgateway"), reason="needs prometheus-pushgateway"
    ),
]

INVENTORY = """\
version: 1
routers: []
ping_paths:
  - name: app-to-db
    source: local
    destination: 127.0.0.1
drills:
  d:
    probes: [app-to-db]
    trigger: {{exec: [touch, {marker}]}}
    restore: {{exec: ["true"]}}
"""
STARTED = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


def test_reachable_pushgateway_passes(pushgateway: str) -> None:  # noqa: F811
    """A real Pushgateway answers /-/ready: preflight passes (with and without a scheme)."""
    check_pushgateway(pushgateway)
    check_pushgateway(pushgateway.removeprefix("http://"))


def test_dead_pushgateway_and_unwritable_textfile_are_one_line() -> None:
    """Nothing listening, a directory that takes no file, no directory: one-line ConfigErrors."""
    port = _free_port()
    messages = []
    for check in (
        lambda: check_pushgateway(f"http://127.0.0.1:{port}"),
        lambda: check_textfile_dir(Path("/proc/self")),
        lambda: check_textfile_dir(Path("/nonexistent/textfile")),
    ):
        with pytest.raises(ConfigError) as caught:
            check()
        messages.append(str(caught.value))
    assert [
        f"--pushgateway http://127.0.0.1:{port}: not reachable ([Errno 111] Connection refused)",
        "--textfile /proc/self: cannot write there (No such file or directory)",
        "--textfile /nonexistent/textfile: no such directory",
    ] == messages


@pytest.mark.parametrize("option", ["--pushgateway", "--textfile"])
def test_failed_preflight_never_runs_the_trigger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    """`holdtime drill` with a dead gateway or bad textfile dir: exit 2, one line, no trigger."""
    marker = tmp_path / "triggered"
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(INVENTORY.format(marker=marker))
    value = f"http://127.0.0.1:{_free_port()}" if option == "--pushgateway" else "/proc/self"
    code = main(
        ["drill", "-i", str(inventory), "d", option, value, "--journal", str(tmp_path / "j")]
    )
    [line] = capsys.readouterr().err.splitlines()
    assert (2, False, False, True) == (
        code,
        marker.exists(),
        (tmp_path / "j").exists(),
        line.startswith(f"holdtime: error: {option} "),
    ), line


def _result(*, triggered: bool, finished: dt.datetime) -> DrillResult:
    phases = (PhaseOutage("app-to-db", "failover", 0.2, 100, 10, 2.0, 1.9, (), 5.0),)
    return DrillResult(
        name="esg1-bgp-shutdown",
        started_at=STARTED,
        finished_at=finished,
        passed=False,
        phases=phases if triggered else (),
        events=(TimelineEvent(3.0, "trigger", "ssh esg1: ..."),) if triggered else (),
        actions=(),
        aborted="" if triggered else "interrupted by SIGINT",
        restored=True if triggered else None,
    )


def test_nothing_measured_leaves_the_gateway_alone(pushgateway: str) -> None:  # noqa: F811
    """A drill stopped before its trigger pushes nothing: the last real run's figures stay."""
    real = STARTED + dt.timedelta(seconds=40)
    publish_drill(_result(triggered=True, finished=real), pushgateway=pushgateway)
    later = STARTED + dt.timedelta(days=1)
    skipped = publish_drill(_result(triggered=False, finished=later), pushgateway=pushgateway)
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=5) as response:
        text = response.read().decode()
    got = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in ("holdtime_drill_last_run_timestamp_seconds", "holdtime_drill_restored")
        and s.labels.get("drill") == "esg1-bgp-shutdown"
    }
    assert (
        None,
        {
            "holdtime_drill_last_run_timestamp_seconds": real.timestamp(),
            "holdtime_drill_restored": 1.0,
        },
    ) == (skipped, got)

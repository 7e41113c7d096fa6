"""Drill metrics as a node_exporter textfile: atomic, readable, parseable."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from holdtime.drill.result import DrillResult, PhaseOutage, TimelineEvent
from holdtime.errors import ConfigError
from holdtime.exporters.drill_publish import publish_drill
from holdtime.exporters.drill_record import DrillRecord
from holdtime.exporters.textfile import textfile_name, write_textfile

FINISHED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _drill_result() -> DrillResult:
    """A DrillResult as the drill engine builds it: one path, failover and failback."""

    def phase(name: str, lost: int, gap: float | None) -> PhaseOutage:
        return PhaseOutage(
            path="app-to-db",
            phase=name,
            interval_seconds=0.2,
            sent=300,
            lost=lost,
            loss_derived_outage_seconds=lost * 0.2,
            gap_derived_outage_seconds=gap,
            episodes=(),
            budget_seconds=5.0,
        )

    return DrillResult(
        name="esg1-silent",
        started_at=FINISHED - dt.timedelta(minutes=2),
        finished_at=FINISHED,
        passed=False,
        phases=(phase("failover", 44, 8.6), phase("failback", 0, None)),
        events=(TimelineEvent(3.0, "trigger", "local: nft -f drop.nft"),),
        actions=(),
    )


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_drill_result_becomes_the_issue_metrics(tmp_path: Path) -> None:
    """The textfile holds outage by method, probes, interval, budget, last run and verdict."""
    path = write_textfile(tmp_path, DrillRecord.from_drill_result(_drill_result()))
    fo = (("drill", "esg1-silent"), ("path", "app-to-db"), ("phase", "failover"))
    fb = (("drill", "esg1-silent"), ("path", "app-to-db"), ("phase", "failback"))
    drill = (("drill", "esg1-silent"),)
    expected = {
        ("holdtime_failover_outage_seconds", (*fo, ("method", "loss"))): 8.8,
        ("holdtime_failover_outage_seconds", (*fo, ("method", "gap"))): 8.6,
        ("holdtime_failover_outage_seconds", (*fb, ("method", "loss"))): 0.0,
        ("holdtime_failover_outage_budget_seconds", fo): 5.0,
        ("holdtime_failover_outage_budget_seconds", fb): 5.0,
        ("holdtime_failover_probes_sent", fo): 300.0,
        ("holdtime_failover_probes_sent", fb): 300.0,
        ("holdtime_failover_probes_lost", fo): 44.0,
        ("holdtime_failover_probes_lost", fb): 0.0,
        ("holdtime_failover_probe_interval_seconds", fo): 0.2,
        ("holdtime_failover_probe_interval_seconds", fb): 0.2,
        ("holdtime_drill_last_run_timestamp_seconds", drill): FINISHED.timestamp(),
        ("holdtime_drill_passed", drill): 0.0,
    }
    actual = _samples(path.read_text())
    assert {(n, tuple(sorted(labels))): v for (n, labels), v in expected.items()} == {
        k: pytest.approx(v) for k, v in actual.items()
    }


def test_textfile_is_world_readable_prom_with_no_temp_left(tmp_path: Path) -> None:
    """The file is DIR/holdtime_drill_<name>.prom, mode 0644, and the temp file is gone."""
    path = write_textfile(tmp_path, DrillRecord("nightly/esg 1", True, FINISHED))
    assert (
        [tmp_path / "holdtime_drill_nightly_esg_1.prom"],
        0o644,
    ) == (sorted(tmp_path.iterdir()), stat.S_IMODE(os.stat(path).st_mode))


def test_rewrite_replaces_the_previous_run(tmp_path: Path) -> None:
    """A second write of the same drill replaces the file's content whole."""
    write_textfile(tmp_path, DrillRecord("d", False, FINISHED))
    later = FINISHED + dt.timedelta(days=1)
    path = write_textfile(tmp_path, DrillRecord("d", True, later))
    samples = _samples(path.read_text())
    assert (1.0, later.timestamp()) == (
        samples[("holdtime_drill_passed", (("drill", "d"),))],
        samples[("holdtime_drill_last_run_timestamp_seconds", (("drill", "d"),))],
    )


def test_unwritable_directory_is_config_error(tmp_path: Path) -> None:
    """A directory that does not exist is a one-line ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"cannot write textfile into .*missing"):
        write_textfile(tmp_path / "missing", DrillRecord("d", True, FINISHED))


def test_publish_drill_accepts_a_drill_result(tmp_path: Path) -> None:
    """publish_drill (the `holdtime drill --textfile` hook) adapts a DrillResult and writes."""
    record = publish_drill(_drill_result(), textfile_dir=tmp_path)
    assert (["holdtime_drill_esg1-silent.prom"], 2) == (
        [p.name for p in tmp_path.iterdir()],
        len(record.paths),
    )


def test_textfile_name_sanitises() -> None:
    """Characters outside [A-Za-z0-9_-] become underscores."""
    assert "holdtime_drill_a_b_c-d.prom" == textfile_name("a/b c-d")

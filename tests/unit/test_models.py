"""The result model: statuses, exit codes, JSON round trip."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from holdtime.errors import ConfigError, ConnectError
from holdtime.models import CheckResult, RunResult, Status, error_result

T0 = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=3.5)


def _result(status: Status, check: str = "tcp.port_open", target: str = "a") -> CheckResult:
    return CheckResult(check=check, target=target, status=status, summary=status.value)


def test_run_result_json_round_trip_is_lossless() -> None:
    """A RunResult survives to_dict -> JSON -> from_dict unchanged."""
    run = RunResult.collect(
        [
            CheckResult(
                check="bgp.peer_established",
                target="vpc-router-1/10.10.10.2",
                device="vpc-router-1",
                status=Status.FAIL,
                summary="peer Idle",
                observed={"state": "Idle", "nested": {"uptime_seconds": 0, "list": [1, "ü"]}},
                expected={"state": "Established"},
                reasons=("hold timer expired", "line two"),
                duration_seconds=0.25,
            ),
            _result(Status.PASS),
        ],
        started_at=T0,
        finished_at=T1,
        inventory_path="lab.yaml",
        extras={"drills": []},
    )
    text = json.dumps(run.to_dict())
    assert run == RunResult.from_dict(json.loads(text))


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([Status.PASS, Status.WARN, Status.SKIP], 0),
        ([Status.PASS, Status.FAIL], 1),
        ([Status.FAIL, Status.ERROR], 2),
        ([], 0),
    ],
)
def test_exit_code_follows_worst_status(statuses: list[Status], expected: int) -> None:
    """Exit code is 0 for pass/warn/skip, 1 with any fail, 2 with any error."""
    run = RunResult.collect(
        [_result(s, target=str(i)) for i, s in enumerate(statuses)], started_at=T0, finished_at=T1
    )
    assert expected == run.exit_code


def test_counts_include_every_status() -> None:
    """counts() names all five statuses, zeros included."""
    run = RunResult.collect([_result(Status.WARN)], started_at=T0, finished_at=T1)
    assert {s: (1 if s is Status.WARN else 0) for s in Status} == run.counts()


def test_results_are_ordered_by_check_then_target() -> None:
    """collect() sorts results so every report lists them in the same order."""
    run = RunResult.collect(
        [
            _result(Status.PASS, "b", "2"),
            _result(Status.PASS, "a", "9"),
            _result(Status.PASS, "b", "1"),
        ],
        started_at=T0,
        finished_at=T1,
    )
    assert [("a", "9"), ("b", "1"), ("b", "2")] == [(r.check, r.target) for r in run.results]


def test_error_result_keeps_one_line_of_the_message() -> None:
    """An exception becomes an ERROR whose summary is its first line, never a traceback."""
    result = error_result("tcp.port_open", "x", ConnectError("router1: refused\ndetails"))
    assert (Status.ERROR, "router1: refused") == (result.status, result.summary)


def test_naive_timestamp_is_rejected() -> None:
    """from_dict refuses timestamps without a timezone (all times are aware UTC)."""
    data = RunResult.collect([], started_at=T0, finished_at=T1).to_dict()
    data["started_at"] = "2026-11-23T04:00:00"
    with pytest.raises(ValueError, match="no timezone"):
        RunResult.from_dict(data)


def test_status_severity_orders_skip_to_error() -> None:
    """Severity ranks skip < pass < warn < fail < error."""
    ordered = sorted(Status, key=lambda s: s.severity)
    assert [Status.SKIP, Status.PASS, Status.WARN, Status.FAIL, Status.ERROR] == ordered


def test_error_context_is_fields_not_text() -> None:
    """device and problems are fields; str() shows the device once, detail never."""
    error = ConnectError("connection refused", device="esg1")
    listed = ConfigError("a\nb", problems=["a", "b"])
    result = error_result("bgp.peer_established", "esg1/10.10.10.1", error)
    assert (
        "esg1: connection refused",
        "connection refused",
        "esg1",
        ["a", "b"],
        [],
        ("esg1", "esg1: connection refused"),
    ) == (
        str(error),
        error.detail,
        error.device,
        listed.problems,
        error.problems,
        (result.device, result.summary),
    )

"""A failed or unverified restore is the loudest result: ERROR, exit 2, first line everywhere."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from holdtime.drill.engine import DrillEngine
from holdtime.drill.journal import Journal, read_journal
from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import Action, Scenario, Timing
from holdtime.errors import HoldtimeError
from holdtime.exporters.drill_publish import publish_drill
from holdtime.models import RunResult, Status
from holdtime.plugins import report_formats
from holdtime.reports.table import render_table

TRIGGER = Action(kind="ssh", device="esg1", command="vtysh -c 'neighbor 10.10.10.1 shutdown'")
RESTORE = Action(
    kind="ssh",
    device="esg1",
    command="vtysh -c 'no neighbor 10.10.10.1 shutdown'",
    verify=("vtysh -c 'show bgp summary' | grep -q Estab",),
)
ALARM = (
    "restore failed: the trigger is still in effect; "
    "run `vtysh -c 'no neighbor 10.10.10.1 shutdown'` on esg1"
)


class FakeActions:
    """Answers each command with the exit status (or exception) the test chose."""

    def __init__(self, outcomes: Mapping[str, object]) -> None:
        self.outcomes = outcomes
        self.ran: list[str] = []

    def run(self, action: Action) -> Mapping[str, Any]:
        """Record the command; raise or return the chosen exit status."""
        self.ran.append(action.command)
        outcome = self.outcomes.get(action.command, 0)
        if isinstance(outcome, Exception):
            raise outcome
        return {"exit_status": outcome, "output": ""}


def _drill(tmp_path: Path, outcomes: Mapping[str, object]) -> tuple[DrillResult, FakeActions]:
    actions = FakeActions(outcomes)
    drill = Scenario(
        name="esg1-bgp-shutdown",
        trigger=TRIGGER,
        restore=RESTORE,
        probes=(),
        timing=Timing(settle_seconds=0, observe_seconds=0.1, clean_seconds=0),
    )
    with Journal(tmp_path / "j.jsonl") as journal:
        engine = DrillEngine(
            scenario=drill, pings=[], actions=actions, journal=journal, out=io.StringIO()
        )
        return engine.run(), actions


def _run(result: DrillResult) -> RunResult:
    return RunResult.collect(
        result.check_results(),
        started_at=result.started_at,
        finished_at=result.finished_at,
        extras={"drills": [result.to_dict()]},
    )


@pytest.mark.parametrize(
    "outcome",
    [1, HoldtimeError("esg1: `vtysh ...` exited 1"), RuntimeError("boom")],
    ids=["exit-1", "transport-error", "raises"],
)
def test_failed_restore_is_an_error_naming_the_command(tmp_path: Path, outcome: object) -> None:
    """A restore exiting 1, failing or raising: restored false, ERROR with what to run where."""
    result, _ = _drill(tmp_path, {RESTORE.command: outcome})
    [completed] = [r for r in result.check_results() if r.check == "drill.completed"]
    [journalled] = [r for r in read_journal(tmp_path / "j.jsonl") if r["type"] == "result"]
    assert (False, False, Status.ERROR, ALARM) == (
        result.passed,
        journalled["result"]["restored"],
        completed.status,
        completed.summary,
    )


def test_failing_verify_is_a_failed_restore(tmp_path: Path) -> None:
    """The restore exits 0 but its declared verify never passes: the same loud ERROR."""
    result, actions = _drill(tmp_path, {RESTORE.verify[0]: 1})
    assert ([TRIGGER.command, RESTORE.command], {RESTORE.verify[0]}) == (
        actions.ran[:2],
        set(actions.ran[2:]),
    )
    assert (False, True) == (result.restored, result.restore_failed.startswith("restore failed ("))
    assert result.restore_failed.endswith(
        "the trigger is still in effect; run `vtysh -c 'no neighbor 10.10.10.1 shutdown'` on esg1"
    )


def test_verified_restore_passes(tmp_path: Path) -> None:
    """Restore and verify exit 0: restored, passed, no alarm anywhere."""
    result, _ = _drill(tmp_path, {})
    assert (True, True, "") == (result.restored, result.passed, result.restore_failed)
    assert [] == [r for r in result.check_results() if r.status is Status.ERROR]


def test_failback_phase_is_not_measured_after_a_failed_restore(tmp_path: Path) -> None:
    """The failback phase of a failed restore is SKIP 'not measured', never ok, never metrics."""
    result, _ = _drill(tmp_path, {RESTORE.command: 1})
    from holdtime.drill.result import PhaseOutage

    phase = PhaseOutage("app-to-db", "failback", 0.2, 50, 0, 0.0, 0.0, (), 5.0, "restore failed")
    failed = DrillResult.from_dict({**result.to_dict(), "phases": [_phase_dict(phase)]})
    [check] = failed.check_results()[1:]
    assert (Status.SKIP, "failback: not measured (restore failed)", False) == (
        check.status,
        check.summary,
        phase.within_budget,
    )


def _phase_dict(phase: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {**asdict(phase), "within_budget": phase.within_budget}


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_alarm_is_the_first_line_of_the_report(tmp_path: Path, fmt: str) -> None:
    """Table, Markdown and HTML open with the restore alarm."""
    result, _ = _drill(tmp_path, {RESTORE.command: 1})
    run = _run(result)
    text = render_table(run) if fmt == "table" else report_formats()[fmt](run)
    first = text.split("<body", 1)[1] if fmt == "html" else text
    line = f"DRILL esg1-bgp-shutdown: {ALARM}"
    expected = {
        "table": line,
        "markdown": "**DRILL esg1-bgp-shutdown: restore failed: the trigger is still in effect; "
        "run \\`vtysh -c 'no neighbor 10.10.10.1 shutdown'\\` on esg1**",
        "html": '<p class="alarm"><b>DRILL esg1-bgp-shutdown: restore failed: the trigger is '
        "still in effect; run `vtysh -c &#x27;no neighbor 10.10.10.1 shutdown&#x27;` on esg1</b>",
    }[fmt]
    if fmt == "html":
        assert first.split(">", 1)[1].startswith(expected)
    else:
        assert expected == first.splitlines()[0]


@pytest.mark.parametrize("fmt", ["json", "junit"])
def test_alarm_is_the_first_result_in_json_and_junit(tmp_path: Path, fmt: str) -> None:
    """JSON results[0] and the first JUnit testcase are the drill.completed ERROR."""
    result, _ = _drill(tmp_path, {RESTORE.command: 1})
    text = report_formats()[fmt](_run(result))
    if fmt == "json":
        first = json.loads(text)["results"][0]
        assert ("drill.completed", "error", ALARM) == (
            first["check"],
            first["status"],
            first["summary"],
        )
    else:
        case = text.split("<testcase", 2)[1]
        assert (True, True) == ('name="drill.completed[' in case, "<error" in case)


def test_textfile_says_restored_0(tmp_path: Path) -> None:
    """holdtime_drill_restored is 0 after a failed restore, 1 after a verified one."""
    failed, _ = _drill(tmp_path, {RESTORE.command: 1})
    (tmp_path / "ok").mkdir()
    fine, _ = _drill(tmp_path / "ok", {})

    def restored(result: DrillResult, directory: Path) -> float:
        publish_drill(result, textfile_dir=directory)
        text = (directory / "holdtime_drill_esg1-bgp-shutdown.prom").read_text()
        [family] = [
            f for f in text_string_to_metric_families(text) if f.name == "holdtime_drill_restored"
        ]
        return float(family.samples[0].value)

    assert (0.0, 1.0) == (restored(failed, tmp_path), restored(fine, tmp_path / "ok"))


def test_dry_run_plan_shows_the_verify(tmp_path: Path) -> None:
    """The plan lists the verify command right after the restore."""
    drill = Scenario(name="d", trigger=TRIGGER, restore=RESTORE, probes=("app-to-db",))
    plan = drill.plan()
    restore_at = next(i for i, step in enumerate(plan) if step.startswith("RESTORE"))
    assert plan[restore_at + 1].startswith(f"VERIFY   ssh esg1: {RESTORE.verify[0]}  (retried")


def test_drill_stopped_before_the_trigger_writes_no_textfile(tmp_path: Path) -> None:
    """Nothing measured: no .prom file is written, so the last real figures stay."""
    actions = FakeActions({})
    drill = Scenario(
        name="d",
        trigger=TRIGGER,
        restore=RESTORE,
        probes=(),
        steady_state=("bgp.*",),
        timing=Timing(settle_seconds=0, observe_seconds=0.1),
    )
    with Journal(tmp_path / "j.jsonl") as journal:
        result = DrillEngine(
            scenario=drill,
            pings=[],
            actions=actions,
            journal=journal,
            steady_state=lambda _patterns: ("fail", "bgp.peer_established: Idle"),
            out=io.StringIO(),
        ).run()
    (tmp_path / "textfile").mkdir()
    published = publish_drill(result, textfile_dir=tmp_path / "textfile")
    assert (None, [], [], None) == (
        published,
        list((tmp_path / "textfile").iterdir()),
        actions.ran,
        result.restored,
    )

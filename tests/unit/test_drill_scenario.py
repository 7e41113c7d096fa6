"""Drill scenarios: validation of the `drills:` section, dry-run plan, journal reading."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from drill_inventory import load_drills

from holdtime.drill.journal import Journal, read_journal
from holdtime.drill.result import DrillResult, PhaseOutage, TimelineEvent
from holdtime.drill.scenario import scenario
from holdtime.errors import ConfigError, ParseError
from holdtime.inventory import load_inventory

GOOD = {
    "description": "shut BGP on esg1",
    "steady_state": ["bgp.*"],
    "probes": ["app-to-db"],
    "watch": ["vpc-router-1"],
    "trigger": {"ssh": "esg1", "command": "vtysh -c 'conf t' -c 'router bgp 65010'"},
    "restore": {"ssh": "esg1", "command": "vtysh -c 'conf t' -c 'router bgp 65010' -c 'no x'"},
    "budget": {"max_outage_seconds": 10, "abort_outage_seconds": 60},
    "timing": {"settle_seconds": 2, "observe_seconds": 20},
}


def test_valid_scenario_parses_with_defaults(tmp_path: Path) -> None:
    """A full scenario parses; unspecified timing keeps its defaults."""
    parsed = scenario(load_drills(tmp_path, {"esg1-down": GOOD}), "esg1-down")
    assert ("ssh", "esg1", 5.0, 10.0) == (
        parsed.trigger.kind,
        parsed.trigger.device,
        parsed.timing.clean_seconds,
        parsed.budget.max_outage_seconds,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"trigger": {"ssh": "esg3", "command": "x"}},
            "drills.d.trigger.ssh: no router named 'esg3' in the inventory (did you mean 'esg1'?)",
        ),
        ({"probes": ["app-to-dc"]}, "drills.d.probes: no ping path named 'app-to-dc'"),
        ({"watch": ["nope"]}, "drills.d.watch: no router named 'nope' in the inventory"),
        ({"budjet": {}}, "drills.d: unknown key 'budjet' (did you mean 'budget'?)"),
        ({"trigger": {"ssh": "esg1"}}, "drills.d.trigger.command: an ssh action needs"),
        (
            {"trigger": {"ssh": "esg1", "exec": ["x"], "command": "y"}},
            "drills.d.trigger: needs exactly one of ssh, exec, signal, manual",
        ),
        (
            {"budget": {"max_outage_seconds": 10, "abort_outage_seconds": 5}},
            "abort_outage_seconds: must be at least max_outage_seconds",
        ),
        (
            {"timing": {"observe_seconds": "long"}},
            "drills.d.timing.observe_seconds: must be a number, not 'long'",
        ),
        ({"timing": {"settle_seconds": -1}}, "-1.0 seconds is out of range 0..3600 seconds"),
        ({"restore": "undo it"}, "drills.d.restore: must be a mapping, not 'undo it' ({ssh:"),
        (
            {"trigger": {"manual": ""}},
            "drills.d.trigger.manual: must not be empty: say what the operator has to do",
        ),
    ],
)
def test_bad_scenarios_name_the_key(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    """Each scenario mistake is one line with file:line:col and the drills.NAME.key path."""
    with pytest.raises(ConfigError) as caught:
        load_drills(tmp_path, {"d": {**GOOD, **change}})
    [line] = str(caught.value).splitlines()
    assert message in line, line
    assert re.match(rf"{re.escape(str(tmp_path / 'lab.yaml'))}:\d+:\d+: drills\.d", line), line


def test_missing_required_keys_are_all_reported(tmp_path: Path) -> None:
    """trigger, restore and probes missing: three problems in one error."""
    with pytest.raises(ConfigError) as caught:
        load_drills(tmp_path, {"d": {"description": "x"}})
    assert 3 == sum("missing required key" in line for line in str(caught.value).splitlines())


def test_unknown_scenario_suggests_the_closest(tmp_path: Path) -> None:
    """A typo in the drill name suggests the right one."""
    inventory = load_drills(tmp_path, {"esg1-down": GOOD})
    with pytest.raises(ConfigError, match="no drill named 'esg1-dwn' \\(did you mean 'esg1-down'"):
        scenario(inventory, "esg1-dwn")


def test_plan_names_every_action_and_the_restore_guarantee(tmp_path: Path) -> None:
    """The dry-run plan shows the exact commands and that restore always runs."""
    plan = scenario(load_drills(tmp_path, {"d": GOOD}), "d").plan()
    assert any(step.startswith("TRIGGER  ssh esg1: vtysh") for step in plan)
    assert any("RESTORE" in step and "always runs" in step for step in plan)


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    """A crash mid-write leaves a torn last line: reading skips it and keeps the rest."""
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.write("start", scenario="d")
        journal.write("event", kind="trigger")
    with path.open("a") as stream:
        stream.write('{"type": "sam')
    assert ["start", "event"] == [r["type"] for r in read_journal(path)]


def test_journal_garbage_in_the_middle_is_a_parse_error(tmp_path: Path) -> None:
    """A corrupt line that is not the last one is an error naming file:line."""
    path = tmp_path / "j.jsonl"
    path.write_text('{"type": "start"}\nnot json\n{"type": "result"}\n')
    with pytest.raises(ParseError, match=r"j.jsonl:2: not a journal record"):
        list(read_journal(path))


def test_drill_result_round_trips() -> None:
    """DrillResult survives to_dict/from_dict unchanged."""
    start = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
    result = DrillResult(
        name="d",
        started_at=start,
        finished_at=start + dt.timedelta(seconds=40),
        passed=False,
        phases=(
            PhaseOutage(
                "app-to-db",
                "failover",
                0.2,
                100,
                44,
                8.8,
                8.75,
                ({"first_lost_seq": 10, "lost_count": 44},),
                5.0,
            ),
        ),
        events=(TimelineEvent(5.0, "trigger", "ssh esg1: ...", "esg1"),),
        actions=({"role": "trigger", "exit_status": 0},),
        steady_state={"before": "pass"},
        rtt_samples={"app-to-db": ((0.0, 0.002), (0.2, None))},
    )
    assert result == DrillResult.from_dict(result.to_dict())
    outage = [r for r in result.check_results() if r.check == "drill.outage"]
    assert ["fail"] == [r.status.value for r in outage]


def test_drill_problems_are_listed_with_the_rest_of_the_inventory(tmp_path: Path) -> None:
    """One load lists a drill's mistakes with a ping path's, in file order, file:line:col."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        "ping_paths:\n"
        "  - {name: p, destination: 10.0.0.1, interval_seconds: fast}\n"
        "drills:\n"
        "  d:\n"
        "    probes: [p, q]\n"
        "    trigger: {manual: pull the cable}\n"
        "    restore: {ssh: esg1, command: x}\n"
        "    budjet: {}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert [
        f"{path}:2:56: ping_paths[0].interval_seconds: must be a number, not 'fast'",
        f"{path}:5:17: drills.d.probes: no ping path named 'q' in the inventory, nor a dns or "
        "ldaps path; paths: p (ping)",
        f"{path}:7:20: drills.d.restore.ssh: no router named 'esg1' in the inventory",
        f"{path}:8:5: drills.d: unknown key 'budjet' (did you mean 'budget'?)",
    ] == str(caught.value).splitlines()

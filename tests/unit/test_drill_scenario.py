"""Drill scenarios: validation of the `drills:` section, dry-run plan, journal reading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from holdtime.drill.journal import Journal, read_journal
from holdtime.drill.result import DrillResult, PhaseOutage, TimelineEvent
from holdtime.drill.scenario import parse_scenarios, scenario
from holdtime.errors import ConfigError, ParseError
from holdtime.inventory import Inventory
from holdtime.probes.ping_config import PingPath, PingSource
from holdtime.probes.router_config import Router, SshAuth

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


def _router(name: str) -> Router:
    return Router(name=name, host="192.0.2.1", username="u", auth=SshAuth(agent=True))


def _inventory(drills: dict[str, Any]) -> Inventory:
    path = PingPath(name="app-to-db", source=PingSource(kind="local"), destination="192.0.2.2")
    return Inventory(
        path=Path("lab.yaml"),
        sections={
            "routers": (
                _router("vpc-router-1"),
                _router("esg1"),
            ),
            "ping_paths": (path,),
        },
        drills=drills,
    )


def test_valid_scenario_parses_with_defaults() -> None:
    """A full scenario parses; unspecified timing keeps its defaults."""
    parsed = scenario(_inventory({"esg1-down": GOOD}), "esg1-down")
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
            "drills.d.timing.observe_seconds: must be a number of seconds, not 'long'",
        ),
        ({"timing": {"settle_seconds": -1}}, "-1 is out of range 0..3600 seconds"),
        ({"restore": "undo it"}, "drills.d.restore: must be a mapping"),
        ({"trigger": {"manual": ""}}, "drills.d.trigger.manual: must say what the operator"),
    ],
)
def test_bad_scenarios_name_the_key(change: dict[str, Any], message: str) -> None:
    """Each scenario mistake is reported with the file and the drills.NAME.key path."""
    with pytest.raises(ConfigError) as caught:
        parse_scenarios(_inventory({"d": {**GOOD, **change}}))
    assert any(message in line for line in str(caught.value).splitlines()), str(caught.value)
    assert str(caught.value).startswith("lab.yaml: drills.")


def test_missing_required_keys_are_all_reported() -> None:
    """trigger, restore and probes missing: three problems in one error."""
    with pytest.raises(ConfigError) as caught:
        parse_scenarios(_inventory({"d": {"description": "x"}}))
    assert 3 == sum("missing required key" in line for line in str(caught.value).splitlines())


def test_unknown_scenario_suggests_the_closest() -> None:
    """A typo in the drill name suggests the right one."""
    with pytest.raises(ConfigError, match="no drill named 'esg1-dwn' \\(did you mean 'esg1-down'"):
        scenario(_inventory({"esg1-down": GOOD}), "esg1-dwn")


def test_plan_names_every_action_and_the_restore_guarantee() -> None:
    """The dry-run plan shows the exact commands and that restore always runs."""
    plan = scenario(_inventory({"d": GOOD}), "d").plan()
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

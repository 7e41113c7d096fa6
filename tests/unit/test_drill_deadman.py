"""The dead man's switch: settings, mechanism choice, exact lines, and real arm/disarm in sh.

The sleep mechanism runs for real here: the "device" is this host's own /bin/sh (what sshd
would start for the line), so setsid, /proc and the process-group kill are the real ones.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from drill_inventory import load_drills, scenarios

from holdtime.drill import deadman
from holdtime.drill.deadman import (
    ArmedSwitch,
    Capabilities,
    DeadmanSwitch,
    SwitchPlan,
    arm_line,
    choose_mechanism,
    disarm_line,
    parse_probe,
    report_lines,
)
from holdtime.drill.engine import DrillEngine
from holdtime.drill.journal import Journal, read_journal
from holdtime.drill.scenario import Action, Scenario, Timing, scenario
from holdtime.errors import ConfigError, HoldtimeError

RESTORE = "vtysh -c 'conf t' -c 'router bgp 65010' -c 'no neighbor 10.10.10.1 shutdown'"
GOOD = {
    "probes": ["app-to-db"],
    "trigger": {"ssh": "esg1", "command": "vtysh -c 'conf t' -c 'router bgp 65010'"},
    "restore": {"ssh": "esg1", "command": RESTORE},
    "timing": {"observe_seconds": 20},
}


def local_sh(device: str, line: str, timeout_seconds: float) -> tuple[int, str, str]:
    """Run a switch line in this host's sh, as sshd would run it on the device."""
    done = subprocess.run(
        ["sh", "-c", line],
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def _boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def _group(pgid: int) -> list[int]:
    """Live (not zombie) pids of process group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def _start_ticks(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


class Events:
    """Collects the engine-style timeline events the switch emits."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, kind: str, detail: str, source: str) -> None:
        self.seen.append((kind, detail, source))


@pytest.fixture
def switches() -> Iterator[list[DeadmanSwitch]]:
    """Switches a test armed; whatever is still armed is disarmed at the end."""
    made: list[DeadmanSwitch] = []
    yield made
    for switch in made:
        switch.disarm(Events())


def _switch(
    made: list[DeadmanSwitch], restore: str, seconds: float, journal: Journal | None = None
) -> DeadmanSwitch:
    plan = SwitchPlan("esg1", "sleep", "holdtime-deadman-t-abcd1234", restore, seconds, _boot_id())
    switch = DeadmanSwitch([plan], local_sh, journal)
    made.append(switch)
    return switch


# -- settings --------------------------------------------------------------------------------
def test_default_fire_after_covers_trigger_observe_restore_and_margin(tmp_path: Path) -> None:
    """Default: trigger timeout + observe + restore timeout + 30 s, so a normal drill disarms."""
    drill = scenario(load_drills(tmp_path, {"d": GOOD}), "d")
    assert (None, "auto", 60 + 20 + 60 + 30.0) == (
        drill.deadman.fire_after_seconds,
        drill.deadman.mechanism,
        deadman.fire_after_seconds(drill),
    )


def test_declared_fire_after_wins(tmp_path: Path) -> None:
    """`deadman: {fire_after_seconds: 45}` is used as declared."""
    drill = scenario(
        load_drills(tmp_path, {"d": {**GOOD, "deadman": {"fire_after_seconds": 45}}}), "d"
    )
    assert 45.0 == deadman.fire_after_seconds(drill)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"fire_after_seconds": 10}, "must be longer than timing.observe_seconds (20 s)"),
        ({"fire_after_seconds": "soon"}, "must be a number, not 'soon'"),
        ({"fire_after_seconds": 0}, "0.0 seconds is out of range 1..86400 seconds"),
        ({"mechanism": "cron"}, "'cron' is not one of auto, systemd-run, sleep, off"),
        ({"fire_after": 10}, "unknown key 'fire_after' (did you mean 'fire_after_seconds'?)"),
        ("yes", "must be a mapping, not 'yes' ({fire_after_seconds: N, mechanism: auto})"),
    ],
)
def test_bad_deadman_settings_name_the_key(tmp_path: Path, value: Any, message: str) -> None:
    """Each `deadman:` mistake is one line naming drills.NAME.deadman[.key]."""
    with pytest.raises(ConfigError) as caught:
        scenarios(tmp_path, {"d": {**GOOD, "deadman": value}})
    [line] = str(caught.value).splitlines()
    assert re.match(rf"{re.escape(str(tmp_path))}/lab.yaml:\d+:\d+: drills.d.deadman", line), line
    assert message in line, line


def test_plan_shows_arm_before_trigger_and_disarm_after_restore(tmp_path: Path) -> None:
    """The dry-run plan has ARM right before TRIGGER and DISARM right after RESTORE."""
    plan = scenario(
        load_drills(tmp_path, {"d": {**GOOD, "deadman": {"fire_after_seconds": 90}}}), "d"
    ).plan()
    heads = [step.split()[0] for step in plan]
    arm = heads.index("ARM")
    assert (["ARM", "TRIGGER"], "DISARM") == (
        heads[arm : arm + 2],
        heads[heads.index("RESTORE") + 1],
    )
    assert "fires by itself at +90 s unless disarmed" in plan[arm]


def test_local_restores_and_off_have_no_switch_and_say_why(tmp_path: Path) -> None:
    """An exec restore cannot be armed on a device; `mechanism: off` is explicit; both said."""
    local = {**GOOD, "restore": {"exec": ["true"]}}
    off = {**GOOD, "deadman": {"mechanism": "off"}}
    drills = scenarios(tmp_path, {"local": local, "off": off})
    assert (
        "dead man's switch: none (the restore is exec, not ssh: only a restore run on a device "
        "can be armed there)",
        "dead man's switch: off (deadman.mechanism: off)",
        [],
    ) == (
        deadman.not_armed_reason(drills["local"]),
        deadman.not_armed_reason(drills["off"]),
        deadman.plan_switches(drills["off"], local_sh),
    )


# -- mechanism choice ------------------------------------------------------------------------
def test_probe_output_parses() -> None:
    """The probe's four answers: systemd-run, setsid, uid, boot id."""
    text = "has-systemd-run\nhas-setsid\nuid 0\nboot 0b5c1f0e-aaaa-bbbb-cccc-123456789abc\n"
    assert Capabilities(True, True, 0, "0b5c1f0e-aaaa-bbbb-cccc-123456789abc") == parse_probe(text)


@pytest.mark.parametrize(
    ("found", "wanted", "expected"),
    [
        (Capabilities(True, True, 0, "b"), "auto", "systemd-run"),
        (Capabilities(True, True, 1000, "b"), "auto", "sleep"),  # systemd-run needs root
        (Capabilities(False, True, 0, "b"), "auto", "sleep"),  # no systemd (the lab)
        (Capabilities(True, True, 0, "b"), "sleep", "sleep"),
        (Capabilities(True, False, 0, ""), "systemd-run", "systemd-run"),
    ],
)
def test_mechanism_choice(found: Capabilities, wanted: str, expected: str) -> None:
    """systemd-run where systemd is PID 1 and the user is root, else the detached sleep."""
    assert expected == choose_mechanism("esg1", found, wanted)


@pytest.mark.parametrize(
    ("found", "wanted", "message"),
    [
        (Capabilities(False, True, 0, "b"), "systemd-run", "systemd is not running there"),
        (Capabilities(True, True, 1000, "b"), "systemd-run", "the SSH user is not root"),
        (Capabilities(False, False, 0, "b"), "auto", "set `deadman: {mechanism: off}`"),
    ],
)
def test_mechanism_choice_failures_say_why(found: Capabilities, wanted: str, message: str) -> None:
    """No usable mechanism: one line naming the device and what to do."""
    with pytest.raises(HoldtimeError, match=r"^esg1: dead man's switch") as caught:
        choose_mechanism("esg1", found, wanted)
    assert message in str(caught.value)


def test_this_host_probes_as_sleep(tmp_path: Path) -> None:
    """The real probe on this host (no systemd as PID 1, root, setsid): the sleep mechanism."""
    drill = scenario(load_drills(tmp_path, {"d": GOOD}), "d")
    [plan] = deadman.plan_switches(drill, local_sh, token="abcd1234")
    expected = "systemd-run" if Path("/run/systemd/system").is_dir() and os.geteuid() == 0 else None
    assert (expected or "sleep", "holdtime-deadman-d-abcd1234", _boot_id()) == (
        plan.mechanism,
        plan.name,
        plan.boot_id,
    )


# -- exact lines -----------------------------------------------------------------------------
def test_systemd_run_line_is_exact() -> None:
    """The systemd-run line: the unit name, the delay, 1 s accuracy, the restore as one arg."""
    line = arm_line("systemd-run", "holdtime-deadman-d-abcd1234", RESTORE, 119.2)
    assert (
        "systemd-run --quiet --unit=holdtime-deadman-d-abcd1234 --on-active=120s "
        "--timer-property=AccuracySec=1s "
        "--description='holdtime dead man switch holdtime-deadman-d-abcd1234' "
        f"/bin/sh -c {shlex.quote(RESTORE)}"
    ) == line


@pytest.mark.parametrize("mechanism", ["systemd-run", "sleep"])
def test_only_the_declared_restore_is_armed(mechanism: str) -> None:
    """Shell syntax in a restore stays one argument: the armed line holds it verbatim."""
    hostile = "vtysh -c 'x'; touch /tmp/pwned $(id) `id` \"$HOME\""
    words = shlex.split(arm_line(mechanism, "holdtime-deadman-d-1", hostile, 30).rstrip(" &"))
    assert hostile == words[-1]


def test_unit_name_is_safe() -> None:
    """Drill names become unit names and markers with only [A-Za-z0-9_-]."""
    assert "holdtime-deadman-esg1-bgp-shut-down-ab12" == deadman.unit_name(
        "esg1 bgp/shut.down", "ab12"
    )


# -- the sleep mechanism, for real ----------------------------------------------------------
def test_sleep_switch_arms_detached_and_disarms_leaving_nothing(
    switches: list[DeadmanSwitch], tmp_path: Path
) -> None:
    """Armed: its own session and group, recorded pid/start; disarmed: no process left."""
    marker = tmp_path / "restored"
    switch = _switch(switches, f"touch {marker}", 60)
    events = Events()
    assert "" == switch.arm(events)
    [armed] = switch.armed
    group = _group(armed.pid)
    assert (armed.pid, os.getsid(armed.pid), _start_ticks(armed.pid)) == (
        group[0],
        armed.pid,
        armed.start_ticks,
    )
    assert 2 == len(group)  # the switch's sh and its sleep
    assert "" == switch.disarm(events)
    assert ([], False) == (_group(armed.pid), marker.exists())
    assert ["deadman", "deadman"] == [kind for kind, _d, _s in events.seen]
    assert "disarmed on esg1" == events.seen[-1][1]


def test_sleep_switch_fires_by_itself(switches: list[DeadmanSwitch], tmp_path: Path) -> None:
    """Not disarmed: the restore runs after the delay; the disarm then finds it gone."""
    marker = tmp_path / "restored"
    switch = _switch(switches, f"echo restored > {marker}", 1)
    assert "" == switch.arm(Events())
    [armed] = switch.armed
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _group(armed.pid):
        time.sleep(0.05)
    events = Events()
    assert ("restored\n", [], "") == (marker.read_text(), _group(armed.pid), switch.disarm(events))
    assert "was no longer there (it fired, or was killed)" in events.seen[-1][1]


def test_switch_that_is_firing_is_not_killed(tmp_path: Path) -> None:
    """Once the sleep is over the restore runs: the disarm says `fired` and leaves it be."""
    marker = tmp_path / "restored"
    restore = f"sleep 3; echo restored > {marker}"
    plan = SwitchPlan("esg1", "sleep", "holdtime-deadman-t-f1", restore, 1, _boot_id())
    switch = DeadmanSwitch([plan], local_sh)
    assert "" == switch.arm(Events())
    [armed] = switch.armed
    cmdline = Path(f"/proc/{armed.pid}/cmdline")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and plan.name.encode() in cmdline.read_bytes():
        time.sleep(0.05)  # until the sleep is over and the switch became the restore
    events = Events()
    assert "" == switch.disarm(events)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.05)
    assert (True, True) == (marker.exists(), "had already fired" in events.seen[-1][1])


def _decoy(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """A process group leader whose command line carries the switch's marker, like a switch."""
    return subprocess.Popen(
        ["setsid", "sh", "-c", "sleep 30", name], stdin=subprocess.DEVNULL, cwd=tmp_path
    )


def test_disarm_never_kills_a_pid_with_another_start_time(tmp_path: Path) -> None:
    """A recorded pid now held by a process with another start time: `gone`, not killed."""
    name = "holdtime-deadman-t-reuse1"
    decoy = _decoy(tmp_path, name)
    try:
        time.sleep(0.2)
        armed = ArmedSwitch(
            device="esg1",
            mechanism="sleep",
            name=name,
            restore="true",
            line="",
            armed_at=dt.datetime.now(dt.UTC),
            fire_at=dt.datetime.now(dt.UTC),
            pid=decoy.pid,
            start_ticks=_start_ticks(decoy.pid) - 1,  # the switch that had this pid before
            boot_id=_boot_id(),
        )
        said = local_sh("esg1", disarm_line(armed), 20)[1].strip()
        other_boot = local_sh("esg1", disarm_line(_replace(armed, boot_id="x")), 20)[1].strip()
        assert ("gone", "rebooted", None) == (said, other_boot, decoy.poll())
    finally:
        decoy.kill()
        decoy.wait()


def _replace(armed: ArmedSwitch, **changes: Any) -> ArmedSwitch:
    return ArmedSwitch.from_record({**armed.record(), **changes})


@pytest.mark.skipif(os.geteuid() != 0, reason="a pid namespace and ns_last_pid need root")
def test_disarm_never_kills_a_reused_pid(tmp_path: Path) -> None:
    """Real pid reuse: the switch's pid, after it ended, given to a new process: not killed.

    In a fresh pid namespace (pids start at 1) ns_last_pid hands the switch's old pid to a
    decoy that even carries the switch's marker; only its start time tells them apart.
    """
    holder = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "sleep", "60"], stdin=subprocess.DEVNULL
    )
    try:
        time.sleep(0.3)
        inner = int(Path(f"/proc/{holder.pid}/task/{holder.pid}/children").read_text().split()[0])

        def in_ns(device: str, line: str, timeout_seconds: float) -> tuple[int, str, str]:
            return local_sh(device, f"nsenter -t {inner} -p -m sh -c {shlex.quote(line)}", 20)

        name = "holdtime-deadman-t-reuse2"
        plan = SwitchPlan("esg1", "sleep", name, "true", 60, _boot_id())
        switch = DeadmanSwitch([plan], in_ns)
        assert "" == switch.arm(Events())
        [armed] = switch.armed
        in_ns("esg1", f"kill -KILL -{armed.pid}", 20)  # the switch ends without a disarm
        time.sleep(0.05)  # a later start time for the decoy (ticks are 10 ms)
        in_ns("esg1", f"echo {armed.pid - 1} > /proc/sys/kernel/ns_last_pid", 20)
        # nsenter's child is the next process of the namespace: it gets the switch's old pid.
        decoy = subprocess.Popen(
            ["nsenter", "-t", str(inner), "-p", "-m", "setsid", "sh", "-c", "sleep 30", name],
            stdin=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        decoy_pid = int(in_ns("esg1", f"pgrep -s {armed.pid} -o || echo 0", 20)[1].split()[-1])
        said = in_ns("esg1", disarm_line(armed), 20)[1].strip()
        alive = in_ns("esg1", f"kill -0 {decoy_pid} && echo alive", 20)[1].strip()
        assert (armed.pid, "gone", "alive", None) == (decoy_pid, said, alive, decoy.poll())
        decoy.kill()
    finally:
        holder.kill()  # its pid namespace's processes end with it
        holder.wait()


def test_arm_failure_stops_and_says_one_line() -> None:
    """A device that refuses the arm line: arm() returns one line and nothing stays armed."""

    def broken(device: str, line: str, timeout_seconds: float) -> tuple[int, str, str]:
        return 127, "", "sh: 1: setsid: not found\n"

    plan = SwitchPlan("esg1", "sleep", "holdtime-deadman-t-x", "true", 60, "b")
    switch = DeadmanSwitch([plan], broken)
    events = Events()
    reason = switch.arm(events)
    assert (True, True, []) == (
        reason.startswith("dead man's switch not armed on esg1: `setsid sh -c"),
        reason.endswith("exited 127: sh: 1: setsid: not found"),
        switch.armed,
    )
    assert 1 == len(reason.splitlines())


# -- the engine and the journal --------------------------------------------------------------
class FakeActions:
    """The trigger/restore of a unit drill: recorded, with the restore's exit status chosen."""

    def __init__(self, restore_status: int) -> None:
        self.restore_status = restore_status
        self.ran: list[str] = []

    def run(self, action: Action) -> Mapping[str, Any]:
        self.ran.append(action.command)
        status = self.restore_status if action.command == "restore" else 0
        return {"exit_status": status, "output": ""}


def _unit_drill() -> Scenario:
    """An ssh trigger and restore on esg1, no ping paths, 0.1 s of observation."""
    return Scenario(
        name="unit",
        trigger=Action(kind="ssh", device="esg1", command="trigger"),
        restore=Action(kind="ssh", device="esg1", command="restore"),
        probes=(),
        timing=Timing(settle_seconds=0, observe_seconds=0.1, clean_seconds=0),
    )


def _engine_run(
    tmp_path: Path, made: list[DeadmanSwitch], restore_status: int, restore: str
) -> tuple[Any, list[Mapping[str, Any]], Events, DeadmanSwitch]:
    drill = _unit_drill()
    journal_path = tmp_path / "j.jsonl"
    with Journal(journal_path) as journal:
        switch = _switch(made, restore, 60, journal)
        out = io.StringIO()
        engine = DrillEngine(
            scenario=drill, pings=[], actions=FakeActions(restore_status), journal=journal
        )
        engine.deadman, engine.out = switch, out
        result = engine.run()
    return result, list(read_journal(journal_path)), Events(), switch


def test_engine_arms_before_trigger_and_disarms_after_restore(
    tmp_path: Path, switches: list[DeadmanSwitch]
) -> None:
    """Journal order: deadman armed, trigger, restore, deadman disarmed; nothing left."""
    result, records, _events, switch = _engine_run(tmp_path, switches, 0, "true")
    order = [
        r.get("state") or r.get("kind")
        for r in records
        if r["type"] == "deadman" or r.get("kind") in ("trigger", "restore")
    ]
    [armed] = [r for r in records if r.get("state") == "armed"]
    assert ["armed", "trigger", "restore", "disarmed"] == order
    assert ([], "", []) == (_group(int(armed["pid"])), result.aborted, switch.armed)


def test_failed_restore_leaves_the_switch_armed_and_report_says_when(
    tmp_path: Path, switches: list[DeadmanSwitch]
) -> None:
    """Restore exits 1: the switch stays armed (the next restore attempt) and is reported."""
    _result, records, _events, switch = _engine_run(tmp_path, switches, 1, "true")
    [armed] = switch.armed
    states = [r["state"] for r in records if r["type"] == "deadman"]
    fire_at = armed.fire_at.strftime("%H:%M:%S UTC")
    [line] = report_lines(records, armed.armed_at)
    assert (["armed", "left_armed"], [armed.pid]) == (states, _group(armed.pid)[:1])
    assert line.startswith(f"the dead man's switch will restore esg1 at {fire_at} (sleep: `true`)")
    later = report_lines(records, armed.fire_at + dt.timedelta(seconds=1))
    assert [f"the dead man's switch was set to restore esg1 at {fire_at}"] == [
        text.split(" (")[0] for text in later
    ]


def test_report_lines_ignore_disarmed_switches() -> None:
    """A journal whose switch was disarmed reports nothing about it."""
    now = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    armed = ArmedSwitch("esg1", "sleep", "n", "true", "l", now, now, 5, 6, "b")
    records = [
        {"type": "deadman", "state": "armed", **armed.record()},
        {"type": "deadman", "state": "disarmed", **armed.record()},
    ]
    assert [] == report_lines(records, now)


def test_disarm_failure_is_loud_and_names_the_cancel_line(
    tmp_path: Path, switches: list[DeadmanSwitch]
) -> None:
    """A disarm the device refuses: the drill aborts with the fire time and the cancel line."""
    switch = _switch(switches, "true", 60)
    assert "" == switch.arm(Events())
    [armed] = switch.armed
    good_remote = switch.remote

    def refuses(device: str, line: str, timeout_seconds: float) -> tuple[int, str, str]:
        return 255, "", "ssh: connect to host esg1 port 22: Connection refused\n"

    switch.remote = refuses
    events = Events()
    loud = switch.disarm(events)
    switch.remote, switch.armed = good_remote, [armed]
    assert "dead man's switch on esg1 NOT disarmed" in loud
    assert f"again at {armed.fire_at.strftime('%H:%M:%S UTC')}" in loud
    assert loud.endswith(disarm_line(armed))
    assert "deadman_disarm_failed" == events.seen[-1][0]


def test_engine_never_triggers_when_the_switch_cannot_be_armed(tmp_path: Path) -> None:
    """Arming refused by the device: the trigger and the restore never run, the drill aborts."""

    def refuses(device: str, line: str, timeout_seconds: float) -> tuple[int, str, str]:
        return 127, "", "sh: 1: setsid: not found\n"

    drill = _unit_drill()
    actions = FakeActions(0)
    plan = SwitchPlan("esg1", "sleep", "holdtime-deadman-t-x", "restore", 60, "b")
    with Journal(tmp_path / "j.jsonl") as journal:
        engine = DrillEngine(scenario=drill, pings=[], actions=actions, journal=journal)
        engine.deadman = DeadmanSwitch([plan], refuses, journal)
        engine.out = io.StringIO()
        result = engine.run()
    assert ([], True) == (
        actions.ran,
        result.aborted.startswith("dead man's switch not armed on esg1: `setsid sh -c"),
    )

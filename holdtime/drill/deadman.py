"""The dead man's switch: a drill's declared restore, armed on the device before the trigger.

In the spirit of "commit confirmed": just before the trigger, holdtime starts the drill's own
declared ``restore`` command on the device, delayed by ``deadman.fire_after_seconds``. After a
good restore holdtime disarms it. If holdtime is killed (SIGKILL, a crash, its host losing power
or its SSH session), nothing disarms it and the device restores itself.

Two mechanisms, chosen per device by a read-only probe (:data:`PROBE_LINE`):

- ``systemd-run``: a transient timer ``holdtime-deadman-DRILL-ID.timer`` (systemd is PID 1 and
  the SSH user is root). Disarm: ``systemctl stop UNIT.timer``.
- ``sleep``: a detached ``sh -c 'sleep N && exec $SHELL -c RESTORE'`` in its own session
  (``setsid``), whose pid, start time (clock ticks since boot) and boot id holdtime records.
  Disarm kills its process group, only if that pid still has that start time on that boot and
  still carries the switch's marker in its command line (it is still sleeping): a reused pid
  or a switch that already fired is never killed.

Only a drill's declared ``ssh`` restore is ever armed, quoted as one argument; nothing else.
Journal records (type ``deadman``): ``armed``, ``disarmed``, ``fired``, ``gone``,
``disarm_failed``, ``left_armed``, ``not_armed``; :func:`report_lines` renders them for
``holdtime report`` ("the dead man's switch will restore esg1 at 05:02:45 UTC"), through
:func:`journal_warnings`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from holdtime.errors import HoldtimeError
from holdtime.probes.router_config import Router

if TYPE_CHECKING:
    from pathlib import Path

    from holdtime.drill.journal import Journal
    from holdtime.drill.scenario import Action, Scenario

MECHANISMS = ("systemd-run", "sleep")
CHOICES = ("auto", *MECHANISMS, "off")
MARGIN_SECONDS = 30.0  # added to the longest a drill can take from the trigger to the restore

Remote = Callable[[str, str, float], tuple[int, str, str]]
"""(device, shell line, timeout seconds) -> (exit status, stdout, stderr)."""
EventSink = Callable[[str, str, str], None]
"""(kind, detail, source): the engine's timeline event."""

_REMOTE_TIMEOUT_SECONDS = 20.0
_UNIT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")

# What the device has. `test -d /run/systemd/system` is sd_booted(): systemd is PID 1.
PROBE_LINE = (
    "command -v systemd-run >/dev/null 2>&1 && test -d /run/systemd/system "
    "&& echo has-systemd-run; "
    "command -v setsid >/dev/null 2>&1 && test -r /proc/self/stat && echo has-setsid; "
    'echo "uid $(id -u)"; echo "boot $(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"'
)

# The switch's own shell: it prints its pid and start time (field 22 of /proc/PID/stat; the
# part after the last ")" skips the command name, which may hold spaces), lets go of the SSH
# channel, sleeps, then becomes the restore. `exec` drops the marker from its command line.
_SLEEP_SCRIPT = (
    'echo "armed $$ $(sed "s/.*) //" /proc/$$/stat | cut -d" " -f20)"; '
    'exec </dev/null >/dev/null 2>&1; sleep "$1" && exec "${SHELL:-/bin/sh}" -c "$2"'
)


@dataclass(frozen=True, slots=True)
class DeadmanSettings:
    """A drill's `deadman:` key: when the switch fires and how it is armed."""

    fire_after_seconds: float | None = None  # None: default_fire_after_seconds(scenario)
    mechanism: str = "auto"  # auto | systemd-run | sleep | off


def default_fire_after_seconds(scenario: Scenario) -> float:
    """The longest from the trigger to the end of the restore, plus a margin, whole seconds.

    Trigger timeout + observe_seconds + restore timeout + 30 s: a drill that runs normally
    always disarms the switch before it fires (a manual trigger counts as one hour).
    """
    trigger = 3600.0 if scenario.trigger.kind == "manual" else scenario.trigger.timeout_seconds
    total = (
        trigger
        + scenario.timing.observe_seconds
        + scenario.restore.timeout_seconds
        + MARGIN_SECONDS
    )
    return float(math.ceil(total))


def fire_after_seconds(scenario: Scenario) -> float:
    """The drill's fire-after delay: declared, else the default."""
    declared = scenario.deadman.fire_after_seconds
    return default_fire_after_seconds(scenario) if declared is None else declared


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the probe found on a device."""

    systemd_run: bool
    setsid: bool
    uid: int | None
    boot_id: str


def parse_probe(text: str) -> Capabilities:
    """Parse the output of :data:`PROBE_LINE`."""
    # has-systemd-run / has-setsid / uid 0 / boot 0b5c...-...
    words = {}
    for line in text.strip().splitlines():
        key, _, value = line.partition(" ")
        words[key] = value
    uid = words.get("uid", "").strip()
    return Capabilities(
        systemd_run="has-systemd-run" in words,
        setsid="has-setsid" in words,
        uid=int(uid) if uid.isdigit() else None,
        boot_id=words.get("boot", "").strip(),
    )


def choose_mechanism(device: str, found: Capabilities, wanted: str) -> str:
    """systemd-run where systemd runs and we are root, else the detached sleep; or why not."""
    systemd_ok = found.systemd_run and found.uid == 0
    sleep_ok = found.setsid and bool(found.boot_id)
    if wanted in ("auto", "systemd-run") and systemd_ok:
        return "systemd-run"
    if wanted == "systemd-run":
        why = (
            "systemd is not running there" if not found.systemd_run else "the SSH user is not root"
        )
        raise HoldtimeError(
            f"dead man's switch: mechanism systemd-run asked for, but {why}", device=device
        )
    if sleep_ok:
        return "sleep"
    raise HoldtimeError(
        "dead man's switch cannot be armed: no systemd-run (as root) and no setsid "
        "with /proc; fix the device or set `deadman: {mechanism: off}` on the drill",
        device=device,
    )


def unit_name(drill: str, token: str) -> str:
    """`holdtime-deadman-DRILL-TOKEN`, safe as a systemd unit name and a process marker."""
    safe = _UNIT_UNSAFE.sub("-", drill).strip("-")[:64] or "drill"
    return f"holdtime-deadman-{safe}-{token}"


def arm_line(mechanism: str, name: str, restore: str, seconds: float) -> str:
    """The exact shell line that arms `restore` to run after `seconds` on the device."""
    whole = max(1, math.ceil(seconds))
    if mechanism == "systemd-run":
        return (
            f"systemd-run --quiet --unit={name} --on-active={whole}s "
            "--timer-property=AccuracySec=1s "
            f"--description={shlex.quote('holdtime dead man switch ' + name)} "
            f"/bin/sh -c {shlex.quote(restore)}"
        )
    return f"setsid sh -c {shlex.quote(_SLEEP_SCRIPT)} {name} {whole} {shlex.quote(restore)} &"


def _sleep_state(pid: int, start_ticks: int, boot_id: str, name: str) -> str:
    """Shell that sets `st` to armed | fired | gone | rebooted for a sleep switch.

    /proc/PID/stat after the last ")": field 1 is the state (Z: a zombie, gone), field 20 the
    start time. A pid with another start time is another process: gone, never touched.
    """
    return (
        f'st=; [ "$(cat /proc/sys/kernel/random/boot_id)" = {shlex.quote(boot_id)} ] '
        "|| st=rebooted; "
        f"set -- $(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null); "
        f'[ -n "$st" ] || {{ [ "$1" != Z ] && [ "${{20}}" = {start_ticks} ]; }} || st=gone; '
        f"[ -n \"$st\" ] || {{ tr '\\0' ' ' </proc/{pid}/cmdline | grep -q -- {name} "
        "&& st=armed || st=fired; }; "
    )


def status_line(armed: ArmedSwitch) -> str:
    """Prints armed | fired | gone | rebooted: the switch's state on the device (read-only)."""
    if armed.mechanism == "systemd-run":
        return (
            f"st=$(systemctl show -p SubState --value {armed.name}.timer 2>/dev/null); "
            'case "$st" in waiting) echo armed;; elapsed|running) echo fired;; '
            "*) echo gone;; esac"
        )
    return _sleep_state(armed.pid, armed.start_ticks, armed.boot_id, armed.name) + 'echo "$st"'


def disarm_line(armed: ArmedSwitch) -> str:
    """Cancels the switch if it is still armed; prints disarmed | fired | gone | rebooted."""
    if armed.mechanism == "systemd-run":
        timer = f"{armed.name}.timer"
        return (
            f"st=$(systemctl show -p SubState --value {timer} 2>/dev/null); "
            f'case "$st" in waiting) systemctl stop {timer} && echo disarmed;; '
            f"elapsed|running) systemctl stop {timer}; echo fired;; *) echo gone;; esac"
        )
    # `kill -TERM -PGID`, not `kill -- -PGID`: dash's kill does not take `--`. KILL after 3 s
    # cannot be refused; `kill -0` would not tell (zombies count until init reaps them).
    pid = armed.pid
    return _sleep_state(pid, armed.start_ticks, armed.boot_id, armed.name) + (
        f'if [ "$st" = armed ]; then kill -TERM -{pid}; i=0; '
        f"while [ $i -lt 30 ] && [ \"$(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null "
        '| cut -c1)" != Z ] && [ -e /proc/' + str(pid) + " ]; do sleep 0.1; i=$((i+1)); done; "
        f"kill -KILL -{pid} 2>/dev/null; st=disarmed; fi; "
        'echo "$st"'
    )


@dataclass(frozen=True, slots=True)
class SwitchPlan:
    """One device's switch, decided before the drill: mechanism, name, the exact arm line."""

    device: str
    mechanism: str
    name: str
    restore: str
    fire_after_seconds: float
    boot_id: str = ""

    @property
    def line(self) -> str:
        """The exact line sent to the device to arm the switch."""
        return arm_line(self.mechanism, self.name, self.restore, self.fire_after_seconds)

    def describe(self) -> str:
        """One line for --dry-run."""
        return (
            f"dead man's switch: {self.mechanism} on {self.device}, fires `{self.restore}` at "
            f"+{self.fire_after_seconds:g} s unless disarmed"
        )


@dataclass(frozen=True, slots=True)
class ArmedSwitch:
    """A switch running on a device: what the journal records and the disarm needs."""

    device: str
    mechanism: str
    name: str
    restore: str
    line: str
    armed_at: dt.datetime
    fire_at: dt.datetime
    pid: int = 0
    start_ticks: int = 0
    boot_id: str = ""

    def record(self) -> dict[str, Any]:
        """The journal fields."""
        return {
            "device": self.device,
            "mechanism": self.mechanism,
            "name": self.name,
            "restore": self.restore,
            "command": self.line,
            "armed_at": self.armed_at.isoformat(),
            "fire_at": self.fire_at.isoformat(),
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "boot_id": self.boot_id,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ArmedSwitch:
        """Back from a journal record."""
        return cls(
            device=str(record["device"]),
            mechanism=str(record["mechanism"]),
            name=str(record["name"]),
            restore=str(record["restore"]),
            line=str(record["command"]),
            armed_at=dt.datetime.fromisoformat(record["armed_at"]),
            fire_at=dt.datetime.fromisoformat(record["fire_at"]),
            pid=int(record.get("pid", 0)),
            start_ticks=int(record.get("start_ticks", 0)),
            boot_id=str(record.get("boot_id", "")),
        )


def restore_actions(scenario: Scenario) -> list[Action]:
    """The declared restores a switch can be armed for: those run on a device over SSH."""
    return [a for a in (scenario.restore,) if a.kind == "ssh"]


def plan_switches(
    scenario: Scenario, remote: Remote, *, token: str | None = None
) -> list[SwitchPlan]:
    """Probe each restore device (read-only) and decide its switch; HoldtimeError if none fits."""
    if scenario.deadman.mechanism == "off":
        return []
    name = unit_name(scenario.name, token or secrets.token_hex(4))
    seconds = fire_after_seconds(scenario)
    plans = []
    for action in restore_actions(scenario):
        status, stdout, stderr = _call(remote, action.device, PROBE_LINE, "probe")
        found = parse_probe(stdout)
        if status != 0 and not (found.setsid or found.systemd_run):
            raise HoldtimeError(
                f"{action.device}: dead man's switch: probe exited {status}: "
                f"{_last_line(stderr or stdout)}"
            )
        mechanism = choose_mechanism(action.device, found, scenario.deadman.mechanism)
        plans.append(
            SwitchPlan(action.device, mechanism, name, action.command, seconds, found.boot_id)
        )
    return plans


def not_armed_reason(scenario: Scenario) -> str:
    """Why a drill runs without a switch, or '' when it has one."""
    if scenario.deadman.mechanism == "off":
        return "dead man's switch: off (deadman.mechanism: off)"
    if not restore_actions(scenario):
        return (
            f"dead man's switch: none (the restore is {scenario.restore.kind}, not ssh: only a "
            "restore run on a device can be armed there)"
        )
    return ""


def _call(remote: Remote, device: str, line: str, what: str) -> tuple[int, str, str]:
    try:
        return remote(device, line, _REMOTE_TIMEOUT_SECONDS)
    except HoldtimeError as exc:
        raise HoldtimeError(f"dead man's switch: {what} failed: {exc}") from None


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


def _clock_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%H:%M:%S UTC")


class DeadmanSwitch:
    """Arms the planned switches before the trigger and disarms them after a good restore."""

    def __init__(
        self,
        plans: Sequence[SwitchPlan],
        remote: Remote,
        journal: Journal | None = None,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        not_armed: str = "",
    ) -> None:
        self.plans = tuple(plans)
        self.remote = remote
        self.journal = journal
        self.clock = clock
        self.not_armed = not_armed
        self.armed: list[ArmedSwitch] = []

    def _write(self, state: str, **fields: Any) -> None:
        if self.journal is not None:
            self.journal.write("deadman", state=state, **fields)

    def arm(self, event: EventSink) -> str:
        """Arm every planned switch; '' when armed (or none planned), else why the drill stops.

        A switch armed on one device is disarmed again if another device's fails.
        """
        if not self.plans:
            if self.not_armed:
                self._write("not_armed", detail=self.not_armed)
                event("deadman", self.not_armed.removeprefix("dead man's switch: "), "")
            return ""
        for plan in self.plans:
            try:
                armed = self._arm_one(plan)
            except HoldtimeError as exc:
                self._write("arm_failed", device=plan.device, detail=str(exc))
                event("deadman_arm_failed", str(exc), plan.device)
                self.disarm(event)
                return f"dead man's switch not armed on {plan.device}: {exc}"
            self.armed.append(armed)
            self._write("armed", **armed.record())
            where = f"unit {armed.name}.timer" if armed.pid == 0 else f"pid {armed.pid}"
            event(
                "deadman",
                f"armed on {armed.device} ({armed.mechanism}, {where}): fires "
                f"`{armed.restore}` at {_clock_text(armed.fire_at)} unless disarmed",
                armed.device,
            )
        return ""

    def _arm_one(self, plan: SwitchPlan) -> ArmedSwitch:
        status, stdout, stderr = _call(self.remote, plan.device, plan.line, "arm")
        now = self.clock()
        fire_at = now + dt.timedelta(seconds=math.ceil(plan.fire_after_seconds))
        pid = start = 0
        if plan.mechanism == "sleep":
            # armed 41234 1829311
            match = re.search(r"^armed (\d+) (\d+)$", stdout, re.MULTILINE)
            if status != 0 or match is None:
                raise HoldtimeError(
                    f"`{plan.line}` exited {status}: {_last_line(stderr or stdout)}"
                )
            pid, start = int(match[1]), int(match[2])
        elif status != 0:
            raise HoldtimeError(f"`{plan.line}` exited {status}: {_last_line(stderr or stdout)}")
        armed = ArmedSwitch(
            device=plan.device,
            mechanism=plan.mechanism,
            name=plan.name,
            restore=plan.restore,
            line=plan.line,
            armed_at=now,
            fire_at=fire_at,
            pid=pid,
            start_ticks=start,
            boot_id=plan.boot_id,
        )
        # Checked over a new connection: the switch must outlive the session that started it.
        state = self.state(armed)
        if state != "armed":
            self._disarm_one(armed)
            raise HoldtimeError(f"armed, but the switch is {state} once the SSH session closed")
        return armed

    def state(self, armed: ArmedSwitch) -> str:
        """armed | fired | gone | rebooted, read on the device."""
        status, stdout, stderr = _call(self.remote, armed.device, status_line(armed), "status")
        text = stdout.strip()
        if status != 0 or text not in ("armed", "fired", "gone", "rebooted"):
            raise HoldtimeError(
                f"{armed.device}: dead man's switch status unreadable: "
                f"{_last_line(stderr or stdout)}"
            )
        return text

    def _disarm_one(self, armed: ArmedSwitch) -> str:
        status, stdout, stderr = _call(self.remote, armed.device, disarm_line(armed), "disarm")
        text = stdout.strip()
        if status != 0 or text not in ("disarmed", "fired", "gone", "rebooted"):
            raise HoldtimeError(f"`{disarm_line(armed)}` said: {_last_line(stderr or stdout)}")
        return text

    def disarm(self, event: EventSink) -> str:
        """Disarm every armed switch; '' when all are off, else the loud reason."""
        problems = []
        for armed in self.armed:
            try:
                state = self._disarm_one(armed)
            except HoldtimeError as exc:
                problem = (
                    f"dead man's switch on {armed.device} NOT disarmed ({exc}): it will run "
                    f"`{armed.restore}` again at {_clock_text(armed.fire_at)} (harmless only if "
                    f"the restore is idempotent); cancel it with: {disarm_line(armed)}"
                )
                self._write("disarm_failed", detail=problem, **armed.record())
                event("deadman_disarm_failed", problem, armed.device)
                problems.append(problem)
                continue
            detail = {
                "disarmed": f"disarmed on {armed.device}",
                "fired": f"on {armed.device} had already fired: it ran `{armed.restore}` "
                "before holdtime disarmed it",
                "gone": f"on {armed.device} was no longer there (it fired, or was killed)",
                "rebooted": f"on {armed.device} is gone: the device rebooted during the drill",
            }[state]
            self._write(state, detail=detail, **armed.record())
            event("deadman", detail, armed.device)
        self.armed = []
        return "; ".join(problems)

    def leave_armed(self, event: EventSink) -> None:
        """The restore failed: keep the switches; they are the next restore attempt."""
        for armed in self.armed:
            detail = (
                f"left armed on {armed.device}: it will run `{armed.restore}` at "
                f"{_clock_text(armed.fire_at)}"
            )
            self._write("left_armed", detail=detail, **armed.record())
            event("deadman", detail, armed.device)

    def after_restore(self, restored: bool, event: EventSink) -> str:
        """Disarm after a good restore (returns a loud problem if that failed), else keep."""
        if restored:
            return self.disarm(event)
        self.leave_armed(event)
        return ""


def report_lines(records: Iterable[Mapping[str, Any]], now: dt.datetime) -> list[str]:
    """What the operator must know about the switches of a journal, one line per device.

    Only switches still armed (not disarmed, fired or gone) are reported: the journal ends
    with them armed when holdtime died, its restore failed, or their disarm failed.
    """
    last: dict[str, Mapping[str, Any]] = {}
    for record in records:
        if record.get("type") == "deadman" and "device" in record and "fire_at" in record:
            last[str(record["device"])] = record
    lines = []
    for device, record in sorted(last.items()):
        if record.get("state") not in ("armed", "left_armed", "disarm_failed"):
            continue
        armed = ArmedSwitch.from_record(record)
        when = _clock_text(armed.fire_at)
        if armed.fire_at > now:
            lines.append(
                f"the dead man's switch will restore {device} at {when} "
                f"({armed.mechanism}: `{armed.restore}`); to restore now instead, run that on "
                f"{device}, then cancel the switch there with: {disarm_line(armed)}"
            )
        else:
            lines.append(
                f"the dead man's switch was set to restore {device} at {when} "
                f"({armed.mechanism}: `{armed.restore}`): check that {device} is restored"
            )
    return lines


def journal_warnings(
    records: Iterable[Mapping[str, Any]], path: Path, now: dt.datetime
) -> list[str]:
    """:func:`report_lines` for `holdtime report`; a damaged switch record is one line saying so.

    A journal a crash left behind may hold a switch record that cannot be read: holdtime cannot
    tell whether that switch is still armed, so the operator must check by hand.
    """
    try:
        return report_lines(records, now)
    except (KeyError, TypeError, ValueError, AttributeError):
        return [
            f"{path}: a dead man's switch record is damaged: check by hand whether a "
            "holdtime-deadman process or timer is still armed on the drill's restore device"
        ]


def ssh_remote(inventory: Any) -> Remote:
    """Runs switch lines on inventory routers over their verified SSH transport."""

    def run(device: str, line: str, timeout_seconds: float) -> tuple[int, str, str]:
        from holdtime.probes.ssh import SshParams, SshSession

        router = inventory.named(Router, device)
        with SshSession(SshParams.from_router(router)) as session:
            output = session.run(line, timeout_seconds)
        return output.exit_status, output.stdout, output.stderr

    return run


def prepare_switch(inventory: Any, scenario: Scenario) -> DeadmanSwitch:
    """The drill's switch, its devices probed (read-only) now: HoldtimeError if none fits.

    Called before anything of the drill runs; set ``journal`` once the journal is open.
    """
    remote = ssh_remote(inventory)
    return DeadmanSwitch(
        plan_switches(scenario, remote), remote, not_armed=not_armed_reason(scenario)
    )


DRY_RUN_ID = "XXXXXXXX"


def dry_run_lines(inventory: Any, scenario: Scenario) -> list[str]:
    """What `holdtime drill --dry-run` shows of the switch (probing its devices, read-only)."""
    reason = not_armed_reason(scenario)
    if reason:
        return [reason]
    lines = []
    for plan in plan_switches(scenario, ssh_remote(inventory), token=DRY_RUN_ID):
        lines += [
            plan.describe(),
            f"  probed {plan.device} (read-only, the one command a dry run sends): {PROBE_LINE}",
            f"  arms on {plan.device} ({DRY_RUN_ID}: 8 random hex digits, new each run): "
            f"{plan.line}",
        ]
    return lines

"""Drill scenarios as declared under `drills:` in the inventory.

::

    drills:
      esg1-bgp-shutdown:
        description: Shut BGP on the active edge; traffic must move to esg2.
        steady_state: [bgp.*, ipsec.*]       # checks that must pass before and after
        probes: [app-to-db]                  # ping paths that run throughout
        watch: [vpc-router-1]                # routers whose BGP/IPsec state is polled
        trigger: {ssh: esg1, command: "vtysh -c 'conf t' -c 'router bgp 65010' ..."}
        restore: {ssh: esg1, command: "vtysh -c 'conf t' -c 'router bgp 65010' ..."}
        budget: {max_outage_seconds: 10, abort_outage_seconds: 60}
        timing: {settle_seconds: 5, observe_seconds: 30, clean_seconds: 5}
        deadman: {fire_after_seconds: 120, mechanism: auto}   # holdtime.drill.deadman

An action is ``{ssh: ROUTER, command: STRING}`` (run on an inventory router over SSH),
``{exec: [ARGV...], netns: NAME}`` (run locally, e.g. a script of yours or a lab namespace),
``{signal: STOP, process: bgpd, netns: NAME}`` (signal the local processes of that name in that
network namespace, e.g. freeze a lab daemon), or ``{manual: "what to do"}`` (holdtime waits for
Enter). Only declared actions ever run.

A restore (ssh or exec) may declare ``verify``: a command run after it, on the same router (ssh:
a command line) or in the same place (exec: a list of arguments), whose exit 0 proves the
trigger's effect is gone. It is retried once a second for up to the failback observation time
(a BGP session needs seconds to come back); still failing then is a failed restore.
"""

from __future__ import annotations

import difflib
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from holdtime.drill.deadman import DeadmanSettings, fire_after_seconds, parse_settings
from holdtime.errors import ConfigError
from holdtime.probes.ping_config import PingPath
from holdtime.probes.router_config import Router

if TYPE_CHECKING:
    from holdtime.inventory import Inventory


@dataclass(frozen=True, slots=True)
class Action:
    """One declared step: over SSH on a router, a local command, or a manual step."""

    kind: str  # ssh | exec | signal | manual
    device: str = ""  # ssh: inventory router name
    command: str = ""  # ssh: the command line
    argv: tuple[str, ...] = ()  # exec
    netns: str | None = None  # exec: run inside this namespace; signal: processes in it
    prompt: str = ""  # manual
    timeout_seconds: float = 60.0
    signal: str = ""  # signal: the name without SIG (STOP, CONT, TERM, KILL, ...)
    process: str = ""  # signal: the process name (/proc/PID/comm), exactly
    verify: tuple[str, ...] = ()  # ssh: (command,) on the same router; exec: argv, same netns

    def verify_action(self) -> Action | None:
        """The declared verify step as an action of its own, or None when none is declared."""
        if not self.verify:
            return None
        if self.kind == "ssh":
            return Action(
                kind="ssh",
                device=self.device,
                command=self.verify[0],
                timeout_seconds=self.timeout_seconds,
            )
        return Action(
            kind="exec", argv=self.verify, netns=self.netns, timeout_seconds=self.timeout_seconds
        )

    def instruction(self) -> str:
        """What an operator must do by hand to run this action: "run `CMD` on DEVICE"."""
        if self.kind == "ssh":
            return f"run `{self.command}` on {self.device}"
        if self.kind == "exec":
            where = f"in netns {self.netns}" if self.netns else "on this host"
            return f"run `{shlex.join(self.argv)}` {where}"
        if self.kind == "signal":
            where = f"in netns {self.netns}" if self.netns else "on this host"
            return f"send SIG{self.signal} to every process named {self.process} {where}"
        return f"do by hand: {self.prompt}"

    def describe(self) -> str:
        """One line saying exactly what will run where (for --dry-run and the journal)."""
        if self.kind == "ssh":
            return f"ssh {self.device}: {self.command}"
        if self.kind == "exec":
            where = f" (netns {self.netns})" if self.netns else ""
            return f"local{where}: {' '.join(self.argv)}"
        if self.kind == "signal":
            where = f"netns {self.netns}" if self.netns else "this host's network namespace"
            return f"local: SIG{self.signal} to every process named {self.process} in {where}"
        return f"manual: {self.prompt} (press Enter when done)"


@dataclass(frozen=True, slots=True)
class Budget:
    """Outage allowed per path and phase, and the hard abort threshold."""

    max_outage_seconds: float = 10.0
    abort_outage_seconds: float = 120.0


@dataclass(frozen=True, slots=True)
class Timing:
    """How long each phase lasts."""

    settle_seconds: float = 5.0  # clean traffic required before the trigger
    observe_seconds: float = 30.0  # after the trigger, and again after the restore
    clean_seconds: float = 5.0  # forwarding must stay loss-free this long after recovery
    poll_interval_seconds: float = 1.0  # control-plane polling of watched routers
    failback_observe_seconds: float | None = None  # after the restore; None: observe_seconds

    @property
    def failback_observe(self) -> float:
        """How long the failback is observed before the clean-traffic wait."""
        if self.failback_observe_seconds is None:
            return self.observe_seconds
        return self.failback_observe_seconds


@dataclass(frozen=True, slots=True)
class Scenario:
    """A declared drill."""

    name: str
    trigger: Action
    restore: Action
    probes: tuple[str, ...]
    steady_state: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    budget: Budget = Budget()
    timing: Timing = Timing()
    description: str = ""
    deadman: DeadmanSettings = field(default_factory=DeadmanSettings)  # drill/deadman.py

    def plan(self) -> list[str]:
        """The steps in order, as `--dry-run` prints them."""
        steps = []
        if self.steady_state:
            steps.append(f"steady state before: checks {', '.join(self.steady_state)} must pass")
        steps.append(f"start ping paths: {', '.join(self.probes)}")
        if self.watch:
            joined = ", ".join(self.watch)
            steps.append(f"poll BGP/IPsec on {joined} every {self.timing.poll_interval_seconds} s")
        steps.append(f"settle {self.timing.settle_seconds} s (no loss allowed)")
        # -- dead man's switch (holdtime.drill.deadman) --
        if self.restore.kind == "ssh" and self.deadman.mechanism != "off":
            steps.append(
                f"ARM      dead man's switch on {self.restore.device}: the restore fires by "
                f"itself at +{fire_after_seconds(self):g} s unless disarmed"
            )
        steps.append(f"TRIGGER  {self.trigger.describe()}")
        steps.append(
            f"observe {self.timing.observe_seconds} s; abort and restore at once if a path is "
            f"down longer than {self.budget.abort_outage_seconds} s"
        )
        steps.append(f"RESTORE  {self.restore.describe()}  (always runs: failure, error, signal)")
        verify = self.restore.verify_action()
        if verify is not None:
            steps.append(
                f"VERIFY   {verify.describe()}  (retried up to {self.timing.failback_observe} s; "
                "still failing = restore failed, exit 2)"
            )
        if self.restore.kind == "ssh" and self.deadman.mechanism != "off":
            steps.append("DISARM   the dead man's switch, once the restore succeeded")
        steps.append(
            f"observe failback {self.timing.failback_observe} s, then "
            f"{self.timing.clean_seconds} s loss-free"
        )
        if self.steady_state:
            steps.append("steady state after: the same checks must pass")
        steps.append(f"verdict: each path's outage <= {self.budget.max_outage_seconds} s per phase")
        return steps


_TOP_KEYS = (
    "description",
    "steady_state",
    "probes",
    "watch",
    "trigger",
    "restore",
    "budget",
    "timing",
    "deadman",
)
_ACTION_KEYS = (
    "ssh",
    "command",
    "exec",
    "netns",
    "signal",
    "process",
    "manual",
    "timeout_seconds",
    "verify",
)
# Signals a drill may send: freeze/thaw, stop, kill, reload. Names as `kill -l` prints them.
SIGNALS = ("STOP", "CONT", "TERM", "KILL", "INT", "HUP", "USR1", "USR2")
_PROCESS_NAME = re.compile(r"[A-Za-z0-9_.:+-]{1,15}")  # /proc/PID/comm holds 15 characters
# What `ip netns add` accepts as a name: a file name under /run/netns, never a path.
_NETNS_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


class _Problems:
    def __init__(self, inventory: Inventory) -> None:
        self.source = str(inventory.path)
        self.locate = getattr(inventory, "locate", None)
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        """One line, `file:line:col: drills.KEY: message` where the position is known."""
        position = self.locate(f"drills.{where}") if callable(self.locate) else self.source
        self.lines.append(f"{position}: drills.{where}: {message}")

    def unknown(self, where: str, key: str, known: Sequence[str]) -> None:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
        self.add(where, f"unknown key {key!r}{hint}")


def _names(value: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.add(where, "must be a name or a list of names")
    return ()


def _seconds(value: Any, where: str, problems: _Problems, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.add(where, f"must be a number of seconds, not {value!r}")
        return low
    if not low <= value <= high:
        problems.add(where, f"{value} is out of range {low}..{high} seconds")
    return float(value)


def _action(raw: Any, where: str, inventory: Inventory, problems: _Problems) -> Action:
    if not isinstance(raw, Mapping):
        problems.add(
            where,
            "must be a mapping: {ssh: ROUTER, command: ...}, {exec: [...]}, "
            "{signal: STOP, process: NAME, netns: NS} or {manual: '...'}",
        )
        return Action(kind="manual")
    for key in raw:
        if key not in _ACTION_KEYS:
            problems.unknown(where, str(key), _ACTION_KEYS)
    kinds = [k for k in ("ssh", "exec", "signal", "manual") if k in raw]
    if len(kinds) != 1:
        problems.add(where, "needs exactly one of ssh, exec, signal, manual")
        return Action(kind="manual")
    timeout = _seconds(
        raw.get("timeout_seconds", 60), f"{where}.timeout_seconds", problems, low=1, high=3600
    )
    kind = kinds[0]
    if "verify" in raw and kind not in ("ssh", "exec"):
        problems.add(f"{where}.verify", f"only ssh and exec actions can be verified, not {kind}")
    if kind == "ssh":
        device, command = raw.get("ssh"), raw.get("command")
        if not isinstance(device, str):
            problems.add(f"{where}.ssh", "must name a router of the inventory")
            device = ""
        elif device not in {r.name for r in inventory.of(Router)}:
            known = [r.name for r in inventory.of(Router)]
            close = difflib.get_close_matches(device, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.add(f"{where}.ssh", f"no router named {device!r} in the inventory{hint}")
        if not isinstance(command, str) or not command.strip():
            problems.add(f"{where}.command", "an ssh action needs a non-empty command")
            command = ""
        return Action(
            kind="ssh",
            device=device,
            command=command,
            timeout_seconds=timeout,
            verify=_verify(raw.get("verify"), "ssh", f"{where}.verify", problems),
        )
    if kind == "exec":
        argv = raw.get("exec")
        if isinstance(argv, str):
            argv = [argv]
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            problems.add(f"{where}.exec", "must be a command as a list of arguments")
            argv = []
        netns = _netns(raw.get("netns"), f"{where}.netns", problems)
        return Action(
            kind="exec",
            argv=tuple(argv),
            netns=netns,
            timeout_seconds=timeout,
            verify=_verify(raw.get("verify"), "exec", f"{where}.verify", problems),
        )
    if kind == "signal":
        return _signal_action(raw, where, problems, timeout)
    prompt = raw.get("manual")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.add(f"{where}.manual", "must say what the operator has to do")
        prompt = ""
    return Action(kind="manual", prompt=prompt, timeout_seconds=timeout)


def _signal_action(
    raw: Mapping[str, Any], where: str, problems: _Problems, timeout: float
) -> Action:
    name = raw.get("signal")
    name = name.upper().removeprefix("SIG") if isinstance(name, str) else name
    if name not in SIGNALS:
        problems.add(f"{where}.signal", f"must be one of {', '.join(SIGNALS)}, not {name!r}")
        name = ""
    process = raw.get("process")
    if not isinstance(process, str) or not _PROCESS_NAME.fullmatch(process):
        problems.add(
            f"{where}.process", "must be a process name as ps shows it (up to 15 characters)"
        )
        process = ""
    netns = _netns(raw.get("netns"), f"{where}.netns", problems)
    return Action(kind="signal", signal=name, process=process, netns=netns, timeout_seconds=timeout)


def _netns(value: Any, where: str, problems: _Problems) -> str | None:
    """A network namespace name as `ip netns list` shows it (not a path like /run/netns/x)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _NETNS_NAME.fullmatch(value):
        problems.add(
            where,
            f"must be a namespace name as `ip netns list` shows it, not {value!r} "
            "(no '/', no path)",
        )
        return None
    return value


def _verify(value: Any, kind: str, where: str, problems: _Problems) -> tuple[str, ...]:
    """ssh: one command line; exec: a list of arguments (a single string is one argument)."""
    if value is None:
        return ()
    if kind == "ssh":
        if not isinstance(value, str) or not value.strip():
            problems.add(where, "must be a command line run on the same router")
            return ()
        return (value,)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        problems.add(where, "must be a command as a list of arguments")
        return ()
    return tuple(value)


def _budget(raw: Any, where: str, problems: _Problems) -> Budget:
    if raw is None:
        return Budget()
    if not isinstance(raw, Mapping):
        problems.add(where, "must be a mapping")
        return Budget()
    known = ("max_outage_seconds", "abort_outage_seconds")
    for key in raw:
        if key not in known:
            problems.unknown(where, str(key), known)
    budget = Budget(
        max_outage_seconds=_seconds(
            raw.get("max_outage_seconds", 10.0),
            f"{where}.max_outage_seconds",
            problems,
            low=0,
            high=86400,
        ),
        abort_outage_seconds=_seconds(
            raw.get("abort_outage_seconds", 120.0),
            f"{where}.abort_outage_seconds",
            problems,
            low=0.1,
            high=86400,
        ),
    )
    if budget.abort_outage_seconds < budget.max_outage_seconds:
        problems.add(
            f"{where}.abort_outage_seconds",
            "must be at least max_outage_seconds (abort is the hard limit)",
        )
    return budget


def _timing(raw: Any, where: str, problems: _Problems) -> Timing:
    if raw is None:
        return Timing()
    if not isinstance(raw, Mapping):
        problems.add(where, "must be a mapping")
        return Timing()
    defaults = Timing()
    known = (
        "settle_seconds",
        "observe_seconds",
        "failback_observe_seconds",
        "clean_seconds",
        "poll_interval_seconds",
    )
    for key in raw:
        if key not in known:
            problems.unknown(where, str(key), known)
    return Timing(
        settle_seconds=_seconds(
            raw.get("settle_seconds", defaults.settle_seconds),
            f"{where}.settle_seconds",
            problems,
            low=0,
            high=3600,
        ),
        observe_seconds=_seconds(
            raw.get("observe_seconds", defaults.observe_seconds),
            f"{where}.observe_seconds",
            problems,
            low=0.1,
            high=86400,
        ),
        clean_seconds=_seconds(
            raw.get("clean_seconds", defaults.clean_seconds),
            f"{where}.clean_seconds",
            problems,
            low=0,
            high=3600,
        ),
        poll_interval_seconds=_seconds(
            raw.get("poll_interval_seconds", defaults.poll_interval_seconds),
            f"{where}.poll_interval_seconds",
            problems,
            low=0.1,
            high=60,
        ),
        failback_observe_seconds=None
        if raw.get("failback_observe_seconds") is None
        else _seconds(
            raw["failback_observe_seconds"],
            f"{where}.failback_observe_seconds",
            problems,
            low=0.1,
            high=86400,
        ),
    )


def parse_scenarios(inventory: Inventory) -> dict[str, Scenario]:
    """Every scenario of the inventory's `drills:` section, validated; all problems at once."""
    raw_drills = inventory.drills or {}
    problems = _Problems(inventory)
    scenarios: dict[str, Scenario] = {}
    paths = {p.name for p in inventory.of(PingPath)}
    routers = {r.name for r in inventory.of(Router)}
    for name, raw in raw_drills.items():
        if not isinstance(raw, Mapping):
            problems.add(str(name), "must be a mapping describing the drill")
            continue
        for key in raw:
            if key not in _TOP_KEYS:
                problems.unknown(str(name), str(key), _TOP_KEYS)
        for required in ("trigger", "restore", "probes"):
            if required not in raw:
                problems.add(str(name), f"missing required key {required!r}")
        probes = _names(raw.get("probes"), f"{name}.probes", problems)
        if "probes" in raw and not probes:
            problems.add(
                f"{name}.probes",
                "names no ping path: a drill without probes measures nothing",
            )
        for probe in probes:
            if probe not in paths:
                problems.add(f"{name}.probes", f"no ping path named {probe!r} in the inventory")
        watch = _names(raw.get("watch"), f"{name}.watch", problems)
        for router in watch:
            if router not in routers:
                problems.add(f"{name}.watch", f"no router named {router!r} in the inventory")
        timing = _timing(raw.get("timing"), f"{name}.timing", problems)

        def deadman_problem(key: str, message: str, name: str = str(name)) -> None:
            problems.add(f"{name}.{key}", message)

        deadman = parse_settings(raw.get("deadman"), timing.observe_seconds, deadman_problem)
        description = raw.get("description", "")
        if not isinstance(description, str):
            problems.add(f"{name}.description", "must be text")
            description = ""
        scenarios[str(name)] = Scenario(
            name=str(name),
            description=description,
            # A missing action was reported above: one line, not a second "must be a mapping".
            trigger=_action(raw["trigger"], f"{name}.trigger", inventory, problems)
            if "trigger" in raw
            else Action(kind="manual"),
            restore=_action(raw["restore"], f"{name}.restore", inventory, problems)
            if "restore" in raw
            else Action(kind="manual"),
            probes=probes,
            steady_state=_names(raw.get("steady_state"), f"{name}.steady_state", problems),
            watch=watch,
            budget=_budget(raw.get("budget"), f"{name}.budget", problems),
            timing=timing,
            deadman=deadman,
        )
    if problems.lines:
        error = ConfigError("\n".join(problems.lines))
        raise error
    return scenarios


def scenario(inventory: Inventory, name: str) -> Scenario:
    """One scenario by name, with a suggestion for typos."""
    scenarios = parse_scenarios(inventory)
    if name not in scenarios:
        close = difflib.get_close_matches(name, scenarios, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(scenarios)) or "none"
        raise ConfigError(f"{inventory.path}: no drill named {name!r}{hint}; drills: {known}")
    return scenarios[name]

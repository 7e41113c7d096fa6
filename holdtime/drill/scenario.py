"""Drill scenarios as declared under `drills:` in the inventory.

::

    drills:
      esg1-bgp-shutdown:
        description: Shut BGP on the active edge; traffic must move to esg2.
        steady_state: [bgp.*, ipsec.*]       # checks that must pass before and after
        probes: [app-to-db, dc1-vcenter]     # ping_paths / dns_paths / ldaps_paths throughout
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

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import yaml

from holdtime.drill.deadman import CHOICES, DeadmanSettings, fire_after_seconds
from holdtime.errors import ConfigError
from holdtime.probes.dns_path_config import DnsPathConfig
from holdtime.probes.ldaps_path_config import LdapsPathConfig
from holdtime.probes.ping_config import PingPath
from holdtime.probes.router_config import Router
from holdtime.suggestions import did_you_mean, listing
from holdtime.yaml_schema import Field, Walker

if TYPE_CHECKING:
    from holdtime.inventory import Inventory

Problem = Callable[[str, str, str], None]
"""(where, message, at): one inventory problem, placed at the mark of `at` (or `where`)."""


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
    failure: str = ""  # trigger only: silent | clean as declared; "" infer (drill/prediction.py)

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
        steps.append(
            f"verdict: each path's outage <= {self.budget.max_outage_seconds} s per phase "
            "(or the path's own expect.max_outage_seconds)"
        )
        return steps


# Signals a drill may send: freeze/thaw, stop, kill, reload. Names as `kill -l` prints them.
SIGNALS = ("STOP", "CONT", "TERM", "KILL", "INT", "HUP", "USR1", "USR2")
_PROCESS_NAME = re.compile(r"[A-Za-z0-9_.:+-]{1,15}")  # /proc/PID/comm holds 15 characters
# What `ip netns add` accepts as a name: a file name under /run/netns, never a path.
_NETNS_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_KINDS = ("ssh", "exec", "signal", "manual")


# -- the schema: walked by holdtime.yaml_schema with the rest of the inventory ---------------
def _signal_name(value: str, node: yaml.Node, walker: Walker, where: str) -> str | None:
    name = value.upper().removeprefix("SIG")
    if name not in SIGNALS:
        walker.problem(node, where, f"must be one of {', '.join(SIGNALS)}, not {value!r}")
        return None
    return name


def _process_name(value: str, node: yaml.Node, walker: Walker, where: str) -> str | None:
    if not _PROCESS_NAME.fullmatch(value):
        walker.problem(node, where, _PROCESS_PROBLEM)
        return None
    return value


def _netns_name(value: str, node: yaml.Node, walker: Walker, where: str) -> str | None:
    """A network namespace name as `ip netns list` shows it (not a path like /run/netns/x)."""
    if not _NETNS_NAME.fullmatch(value):
        walker.problem(
            node,
            where,
            f"must be a namespace name as `ip netns list` shows it, not {value!r} "
            "(no '/', no path)",
        )
        return None
    return value


_PROCESS_PROBLEM = "must be a process name as ps shows it (up to 15 characters)"


def _action(raw: dict[str, Any], node: yaml.Node, walker: Walker, where: str) -> Action:
    """The checks across an action's keys: one kind, what that kind needs, verify's shape."""
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        walker.problem(node, where, "needs exactly one of ssh, exec, signal, manual")
        return Action(kind="manual")
    kind, timeout = kinds[0], _given(raw["timeout_seconds"], 60.0)
    failure = raw.get("failure") or ""
    verify: tuple[str, ...] = tuple(raw.get("verify") or ())
    if "verify" in raw and kind not in ("ssh", "exec"):
        walker.problem_at(
            f"{where}.verify", f"only ssh and exec actions can be verified, not {kind}"
        )
    if kind == "ssh":
        if "command" not in raw:
            walker.problem_at(f"{where}.command", "an ssh action needs a non-empty command")
        if len(verify) > 1:
            walker.problem_at(f"{where}.verify", "must be a command line run on the same router")
        return Action(
            kind="ssh",
            device=raw["ssh"] or "",
            command=raw.get("command") or "",
            timeout_seconds=timeout,
            verify=verify,
            failure=failure,
        )
    if kind == "exec":
        return Action(
            kind="exec",
            argv=tuple(raw["exec"] or ()),
            netns=raw.get("netns"),
            timeout_seconds=timeout,
            verify=verify,
            failure=failure,
        )
    if kind == "signal":
        if "process" not in raw:
            walker.problem_at(f"{where}.process", _PROCESS_PROBLEM)
        return Action(
            kind="signal",
            signal=raw["signal"] or "",
            process=raw.get("process") or "",
            netns=raw.get("netns"),
            timeout_seconds=timeout,
            failure=failure,
        )
    return Action(
        kind="manual", prompt=raw["manual"] or "", timeout_seconds=timeout, failure=failure
    )


def _given(value: float | None, default: float) -> float:
    return default if value is None else value


def _budget(raw: dict[str, Any], node: yaml.Node, walker: Walker, where: str) -> Budget:
    defaults = Budget()
    budget = Budget(
        max_outage_seconds=_given(raw.get("max_outage_seconds"), defaults.max_outage_seconds),
        abort_outage_seconds=_given(raw.get("abort_outage_seconds"), defaults.abort_outage_seconds),
    )
    if budget.abort_outage_seconds < budget.max_outage_seconds:
        walker.problem_at(
            f"{where}.abort_outage_seconds",
            "must be at least max_outage_seconds (abort is the hard limit)",
        )
    return budget


def _timing(raw: dict[str, Any], node: yaml.Node, walker: Walker, where: str) -> Timing:
    defaults = Timing()
    return Timing(
        settle_seconds=_given(raw.get("settle_seconds"), defaults.settle_seconds),
        observe_seconds=_given(raw.get("observe_seconds"), defaults.observe_seconds),
        clean_seconds=_given(raw.get("clean_seconds"), defaults.clean_seconds),
        poll_interval_seconds=_given(
            raw.get("poll_interval_seconds"), defaults.poll_interval_seconds
        ),
        failback_observe_seconds=raw.get("failback_observe_seconds"),
    )


def _deadman(raw: dict[str, Any], node: yaml.Node, walker: Walker, where: str) -> DeadmanSettings:
    return DeadmanSettings(
        fire_after_seconds=raw.get("fire_after_seconds"), mechanism=raw["mechanism"] or "auto"
    )


def _some_probes(value: list[str], node: yaml.Node, walker: Walker, where: str) -> list[str]:
    if not value:
        walker.problem(node, where, "names no ping path: a drill without probes measures nothing")
    return value


def _scenario(raw: dict[str, Any], node: yaml.Node, walker: Walker, where: str) -> Scenario:
    """One drill; its name is set by :func:`_named` (a dotted path cannot tell it apart)."""
    timing = raw.get("timing") or Timing()
    deadman = raw.get("deadman") or DeadmanSettings()
    fire = deadman.fire_after_seconds
    if fire is not None and fire <= timing.observe_seconds:
        walker.problem_at(
            f"{where}.deadman.fire_after_seconds",
            f"must be longer than timing.observe_seconds ({timing.observe_seconds:g} s), or the "
            "switch restores in the middle of every drill",
        )
    restore = raw.get("restore")
    if restore is not None and restore.failure:
        walker.problem_at(
            f"{where}.restore.failure",
            "only the trigger says how it fails the path (move `failure:` to the trigger)",
        )
    return Scenario(
        name="",
        description=raw.get("description") or "",
        trigger=raw.get("trigger") or Action(kind="manual"),
        restore=raw.get("restore") or Action(kind="manual"),
        probes=tuple(p for p in raw.get("probes") or () if p is not None),
        steady_state=tuple(p for p in raw.get("steady_state") or () if p is not None),
        watch=tuple(r for r in raw.get("watch") or () if r is not None),
        budget=raw.get("budget") or Budget(),
        timing=timing,
        deadman=deadman,
    )


def _named(
    value: dict[str, Scenario | None], node: yaml.Node, walker: Walker, where: str
) -> dict[str, Scenario]:
    return {name: replace(s, name=name) for name, s in value.items() if s is not None}


def _names(kind: str) -> Field:
    return Field("list", item=Field(kind), one_or_list=True)


def _seconds(low: float, high: float, default: float | None = None) -> Field:
    return Field("seconds", low=low, high=high, default=default)


_ARGV = Field("list", item=Field("str"), one_or_list=True)  # a single string is one argument
ACTION = Field(
    "map",
    fields={
        "ssh": Field("name"),
        "command": Field("str"),
        "exec": _ARGV,
        "netns": Field("str", check=_netns_name),
        "signal": Field("str", check=_signal_name),
        "process": Field("str", check=_process_name),
        "manual": Field("str", shape="say what the operator has to do"),
        "timeout_seconds": _seconds(1, 3600, 60.0),
        "verify": _ARGV,  # ssh: one command line on the same router; exec: argv, same netns
        # how the trigger fails the active path (holdtime.drill.prediction); inferred if absent
        "failure": Field("str", choices=("silent", "clean")),
    },
    shape="{ssh: ROUTER, command: ...}, {exec: [...]}, {signal: STOP, process: NAME, netns: NS} "
    "or {manual: '...'}",
    check=_action,
)
SCENARIO = Field(
    "map",
    fields={
        "description": Field("str"),
        "steady_state": _names("str"),
        "probes": Field(
            "list", item=Field("name"), one_or_list=True, required=True, check=_some_probes
        ),
        "watch": _names("name"),
        "trigger": replace(ACTION, required=True),
        "restore": replace(ACTION, required=True),
        "budget": Field(
            "map",
            fields={
                "max_outage_seconds": _seconds(0, 86400),
                "abort_outage_seconds": _seconds(0.1, 86400),
            },
            check=_budget,
        ),
        "timing": Field(
            "map",
            fields={
                "settle_seconds": _seconds(0, 3600),
                "observe_seconds": _seconds(0.1, 86400),
                "failback_observe_seconds": _seconds(0.1, 86400),
                "clean_seconds": _seconds(0, 3600),
                "poll_interval_seconds": _seconds(0.1, 60),
            },
            check=_timing,
        ),
        "deadman": Field(  # holdtime.drill.deadman
            "map",
            fields={
                "fire_after_seconds": _seconds(1, 86400),
                "mechanism": Field("str", choices=CHOICES, default="auto"),
            },
            shape="{fire_after_seconds: N, mechanism: auto}",
            check=_deadman,
        ),
    },
    check=_scenario,
)
DRILLS = Field("table", item=SCENARIO, shape="drill name -> scenario", check=_named)
"""The inventory's `drills:` section: holdtime.inventory walks it with everything else."""


# -- cross-references: what the schema alone cannot know -------------------------------------
def check_references(inventory: Inventory, problem: Problem) -> None:
    """Drills naming routers or paths the inventory lacks, or budgets that cannot hold.

    A drill's ``probes:`` name `ping_paths:`, `dns_paths:` or `ldaps_paths:` entries; a name
    declared in two of them is ambiguous, so it is an error there. ``problem(where, message,
    at)`` records a line at the mark of `at` (or `where`).
    """
    paths = {p.name: p for p in inventory.of(PingPath)}
    dns_paths = _path_names(
        inventory, DnsPathConfig, "dns_paths", {"ping_paths": set(paths)}, problem
    )
    ldaps_paths = _path_names(
        inventory,
        LdapsPathConfig,
        "ldaps_paths",
        {"ping_paths": set(paths), "dns_paths": dns_paths},
        problem,
    )
    attempt_paths = dns_paths | ldaps_paths
    known = ", ".join(
        [f"{n} (ping)" for n in sorted(paths)]
        + [f"{n} (dns)" for n in sorted(dns_paths)]
        + [f"{n} (ldaps)" for n in sorted(ldaps_paths)]
    )
    routers = [r.name for r in inventory.of(Router)]
    for name, drill in inventory.drills.items():
        where = f"drills.{name}"
        for index, probe in enumerate(drill.probes):
            if probe in attempt_paths:
                continue  # a DNS or LDAPS path has no budget of its own to check
            if probe not in paths:
                hint = did_you_mean(probe, [*paths, *attempt_paths])
                problem(
                    f"{where}.probes",
                    f"no ping path named {probe!r} in the inventory, nor a dns or ldaps path"
                    f"{hint}; "
                    f"paths: {known or 'none'}",
                    f"{where}.probes[{index}]",
                )
                continue
            own = paths[probe].max_outage_seconds
            abort = drill.budget.abort_outage_seconds
            if own is not None and own > abort:
                problem(
                    f"{where}.probes",
                    f"ping path {probe!r} allows {own:g} s (its expect.max_outage_seconds), more "
                    f"than this drill's budget.abort_outage_seconds ({abort:g} s) lets it run",
                    f"{where}.probes[{index}]",
                )
        for index, router in enumerate(drill.watch):
            if router not in routers:
                problem(
                    f"{where}.watch",
                    f"no router named {router!r} in the inventory",
                    f"{where}.watch[{index}]",
                )
        for role, action in (("trigger", drill.trigger), ("restore", drill.restore)):
            if action.kind == "ssh" and action.device and action.device not in routers:
                hint = did_you_mean(action.device, routers)
                problem(
                    f"{where}.{role}.ssh",
                    f"no router named {action.device!r} in the inventory{hint}",
                    "",
                )


def _path_names(
    inventory: Inventory,
    kind: type[DnsPathConfig] | type[LdapsPathConfig],
    section: str,
    taken: Mapping[str, set[str]],
    problem: Problem,
) -> set[str]:
    """The names of `section`; one also in an earlier paths section is an error (a drill's
    probes would be ambiguous)."""
    names = [p.name for p in inventory.of(kind)]
    for index, name in enumerate(names):
        for other, used in taken.items():
            if name in used:
                where = f"{section}[{index}].name"
                problem(
                    where,
                    f"{name!r} is also a {other} name: a drill's probes could mean either; "
                    "rename one",
                    where,
                )
    return set(names)


def scenario(inventory: Inventory, name: str) -> Scenario:
    """One scenario by name, with a suggestion for typos."""
    scenarios = inventory.drills  # validated by load_inventory with the rest of the file
    if name not in scenarios:
        hint = did_you_mean(name, scenarios)
        known = listing(scenarios)
        raise ConfigError(f"{inventory.path}: no drill named {name!r}{hint}; drills: {known}")
    return scenarios[name]

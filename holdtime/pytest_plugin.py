"""holdtime's pytest plugin (entry point ``pytest11: holdtime``).

``pytest --holdtime-inventory=inventory.yaml`` collects one item per check x target, with ids like
``bgp.peer_established[vpc-router-1/10.10.10.2]``, so ``-k``, ``--lf``, ``-x`` and JUnit work as
users expect. Outcomes: ERROR results are pytest errors, FAIL results failures, WARN results pass
with a warning, SKIP results skip. Items are planned without I/O; a device is probed once (per
worker) when its first item runs, and all its items share that observation. With pytest-xdist,
items carry ``xdist_group(device)``: run ``-n 8 --dist loadgroup`` to keep one SSH connection per
device.

Which items a check gets on a device, and which of its results each item judges:

- A check without ``expected_targets(target)``, or returning ``[]`` for this device (the
  inventory lists nothing for it): one device item ``check[device]`` with all its results.
- Otherwise one item per listed target (``check[device/10.10.10.2]``), judging the results of
  exactly that target. A result about the whole device (target == the device's target name:
  unreachable, a section that could not be read, a SKIP) goes to every item of the check on that
  device, so a down router makes each neighbor item an error.
- A check that may also report targets the inventory does not list (``bgp.peer_established``
  warns about an unexpected neighbor) declares ``reports_unlisted_targets = True``; it also gets
  the device item ``check[device]``, which judges those unlisted results (and the device-level
  ones) and passes when there are none: nothing beyond the inventory. Should a check that does
  not declare it report an unlisted target anyway, that result goes to every item of the check
  on the device rather than being dropped.

Fixtures for hand-written tests: ``holdtime_inventory``, ``holdtime_run`` (run checks now),
``holdtime_router(name)`` / ``holdtime_vcenter(name)`` (one live connection per device per
worker, closed at session end; see holdtime/pytest_devices.py) and ``holdtime_drill()`` (run the
scenario named by the test's ``holdtime_drill`` marker; only with ``--holdtime-allow-drills``).
HoldtimeErrors raised by these fixtures are reported as one line naming the test line and the
device, not as a traceback into holdtime.
"""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from holdtime.models import CheckResult, RunResult, Status, utc_now

if TYPE_CHECKING:
    from holdtime.drill.result import DrillResult
    from holdtime.inventory import Inventory
    from holdtime.plugins import Check
    from holdtime.pytest_devices import HandleCache, RouterHandle, VcenterHandle
    from holdtime.runner import Job

_STATE = pytest.StashKey["_PluginState"]()


class HoldtimeWarning(UserWarning):
    """A check passed with a warning (status WARN)."""


@dataclass
class _PluginState:
    """Per-session (per-xdist-worker) state: the inventory, planned jobs and cached results."""

    inventory: Inventory
    started_at: Any = field(default_factory=utc_now)
    results: dict[str, list[CheckResult]] = field(default_factory=dict)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def results_for(self, job: Job) -> list[CheckResult]:
        """Probe a job's target once and cache every check result it produced."""
        from holdtime.runner import execute

        with self.guard:
            lock = self.locks.setdefault(job.key, threading.Lock())
        with lock:
            if job.key not in self.results:
                self.results[job.key] = execute([job], max_workers=1)
            return self.results[job.key]

    def run_result(self) -> RunResult:
        """Everything probed in this session as one RunResult (for --holdtime-report)."""
        every = [r for batch in self.results.values() for r in batch]
        return RunResult.collect(
            every, started_at=self.started_at, inventory_path=str(self.inventory.path)
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `holdtime` option group."""
    group = parser.getgroup("holdtime", "holdtime network acceptance checks")
    group.addoption(
        "--holdtime-inventory",
        metavar="FILE",
        help="collect one test per check x target of this holdtime inventory",
    )
    group.addoption(
        "--holdtime-only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="glob on check, target or device name (like `holdtime check --only`); repeatable",
    )
    group.addoption(
        "--holdtime-report",
        metavar="DIR",
        help="also write holdtime's own HTML and JSON report of the run into DIR",
    )
    group.addoption(
        "--holdtime-allow-drills",
        action="store_true",
        default=False,
        help="run tests marked @pytest.mark.holdtime_drill (destructive: they fail paths over)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the drill marker and load the inventory (a bad one is a usage error)."""
    config.addinivalue_line(
        "markers",
        "holdtime_drill(scenario): a destructive failover drill; runs only with "
        "--holdtime-allow-drills",
    )
    if not config.pluginmanager.hasplugin("xdist"):
        config.addinivalue_line("markers", "xdist_group(name): pytest-xdist --dist loadgroup")
    path = config.getoption("--holdtime-inventory")
    if path:
        from holdtime.errors import HoldtimeError
        from holdtime.inventory import load_inventory

        try:
            inventory = load_inventory(Path(path))
        except HoldtimeError as exc:
            raise pytest.UsageError(f"holdtime: {exc}") from None
        config.stash[_STATE] = _PluginState(inventory=inventory)


def _state(config: pytest.Config) -> _PluginState:
    state = config.stash.get(_STATE, None)
    if state is None:
        raise pytest.UsageError("this needs --holdtime-inventory FILE")
    return state


class InventoryFile(pytest.File):
    """The inventory as the parent node, so ids read `inventory.yaml::check[target]`."""

    def collect(self) -> list[pytest.Item]:
        """Items are added by pytest_collection_modifyitems (they need the plugin registry)."""
        return []


@dataclass(frozen=True, slots=True)
class _CheckPlan:
    """The items one check gets on one device (see the module docstring)."""

    device_target: str  # the job's target name: results with it are about the whole device
    listed: tuple[str, ...]  # expected_targets(); empty: one device item judges everything
    reports_unlisted: bool  # the check declares reports_unlisted_targets: a catch-all item

    def targets(self) -> list[str]:
        """Item targets in collection order: the listed ones, then the catch-all device item."""
        if not self.listed:
            return [self.device_target]
        extra = [self.device_target] if self.catch_all_exists else []
        return [*self.listed, *extra]

    @property
    def catch_all_exists(self) -> bool:
        """True when the device item collects results of targets the inventory does not list."""
        return bool(self.listed) and self.reports_unlisted and self.device_target not in self.listed

    def selects(self, item_target: str, result: CheckResult) -> bool:
        """Whether the item of `item_target` judges `result` (a result of this check)."""
        if not self.listed:
            return _belongs(result, item_target)
        if result.target == self.device_target:
            return True
        if result.target in self.listed:
            return result.target == item_target
        # A target the inventory does not list: the catch-all's, or (undeclared) everyone's.
        return item_target == self.device_target or not self.catch_all_exists


class HoldtimeItem(pytest.Item):
    """One check on one target, judged from its device's (cached) observation."""

    def __init__(
        self, *, job: Job, check_name: str, target: str, plan: _CheckPlan, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.check_name = check_name
        self.target_name = target
        self.plan = plan
        self.results: list[CheckResult] = []

    def setup(self) -> None:
        """Probe the device (once per session); an ERROR result is a pytest error."""
        produced = _state(self.config).results_for(self.job)
        self.results = [
            r
            for r in produced
            if r.check == self.check_name and self.plan.selects(self.target_name, r)
        ]
        for result in self.results:
            for key, value in result.observed.items():
                self.user_properties.append((f"observed.{key}", value))
            for key, value in result.expected.items():
                self.user_properties.append((f"expected.{key}", value))
        errors = [r for r in self.results if r.status is Status.ERROR]
        if errors:
            pytest.fail(_describe(errors), pytrace=False)

    def runtest(self) -> None:
        """FAIL results fail, WARN warn, SKIP skip, PASS passes."""
        if not self.results:
            self._skip(f"{self.check_name} produced no result for {self.target_name}")
        failures = [r for r in self.results if r.status is Status.FAIL]
        if failures:
            pytest.fail(_describe(failures), pytrace=False)
        for result in self.results:
            if result.status is Status.WARN:
                warnings.warn(HoldtimeWarning(_describe([result])), stacklevel=1)
        if all(r.status is Status.SKIP for r in self.results):
            self._skip(self.results[0].summary)

    def reportinfo(self) -> tuple[str, int, str]:
        """Where the item comes from: its device's entry in the inventory file."""
        inventory = _state(self.config).inventory
        line = _entry_line(inventory, self.job.target.config)
        # The domain heads failure blocks ("____ bgp.timers on vpc-router-1/10.10.10.2 ____"
        # instead of "test session"). It must not be the item's name: pytest's -v location line
        # rewrites a domain the node id ends with, printing `bgp.timers` as `bgp::timers`.
        where = f"{Path(str(inventory.path)).name}:{line}"
        return str(inventory.path), line - 1, f"{self.check_name} on {self.target_name} ({where})"

    def _skip(self, reason: str) -> NoReturn:
        # Reported at the inventory entry (like a skip marker), not at this line of the plugin.
        raise pytest.skip.Exception(reason, _use_item_location=True)


class UnlistedTargetsItem(HoldtimeItem):
    """The device item of a check that also reports targets the inventory does not list.

    It judges those results (e.g. the WARN for a configured BGP neighbor missing from
    expect.bgp.neighbors) and the device-level ones; with none it passes, meaning: nothing on the
    device beyond what the inventory lists.
    """

    SCOPE = "targets the inventory does not list (none: nothing beyond the inventory)"

    def setup(self) -> None:
        """Like any item; the JUnit testcase says what this one covers."""
        self.user_properties.append(("holdtime.scope", self.SCOPE))
        super().setup()

    def runtest(self) -> None:
        """No result here passes: every target the check reported is in the inventory."""
        if self.results:
            super().runtest()


def _entry_line(inventory: Inventory, entry: object) -> int:
    """1-based line of an inventory entry (a router, vcenter, tcp target...); 1 if unknown."""
    where = inventory.where_is(entry)
    return inventory.locations.get(where, (1, 0))[0] if where else 1


def _belongs(result: CheckResult, target: str) -> bool:
    """A result belongs to the item of its target, or of its device for device-level items."""
    return result.target == target or result.target.startswith(f"{target}/")


def _describe(results: Sequence[CheckResult]) -> str:
    lines: list[str] = []
    for result in results:
        lines.append(f"{result.status.value.upper()} {result.test_id}: {result.summary}")
        lines.extend(f"  - {reason}" for reason in result.reasons)
        if result.observed or result.expected:
            lines.append(f"  observed: {dict(result.observed)}")
            lines.append(f"  expected: {dict(result.expected)}")
    return "\n".join(lines)


def _plan(job: Job, check: Check[Any, Any]) -> _CheckPlan:
    """One check's items on one job's device, from the inventory only (no I/O)."""
    return _CheckPlan(
        device_target=job.target.name,
        listed=tuple(dict.fromkeys(check.expected_targets(job.target))),
        reports_unlisted=check.reports_unlisted_targets,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the inventory's items; skip drill tests unless --holdtime-allow-drills."""
    state = config.stash.get(_STATE, None)
    if state is not None:
        from holdtime import plugins
        from holdtime.runner import plan_jobs

        only = tuple(config.getoption("--holdtime-only"))
        inventory_path = Path(state.inventory.path).resolve()
        # Outside the rootdir pytest would give the node the id "" (items "::inventory.yaml::...");
        # the file name reads better and stays stable for --lf.
        inside = inventory_path.is_relative_to(config.rootpath)
        parent = InventoryFile.from_parent(
            session, path=inventory_path, nodeid=None if inside else inventory_path.name
        )
        added: list[pytest.Item] = []
        for job in plan_jobs(state.inventory, plugins.probes(), plugins.checks(), only):
            for check in job.checks:
                plan = _plan(job, check)
                for target in plan.targets():
                    name = f"{check.name}[{target}]"
                    kind = HoldtimeItem
                    if plan.catch_all_exists and target == plan.device_target:
                        kind = UnlistedTargetsItem
                    new_item = kind.from_parent(
                        parent,
                        name=name,
                        # a parsed id (check name + params) matches what --lf reads back
                        nodeid=f"{parent.nodeid}::{name}",
                        job=job,
                        check_name=check.name,
                        target=target,
                        plan=plan,
                    )
                    new_item.add_marker(pytest.mark.xdist_group(job.target.device))
                    added.append(new_item)
        items.extend(added)
        # Report the inventory as collected, so the terminal's "collected N items" and
        # "deselected / selected" counts include its items.
        config.hook.pytest_collectreport(
            report=pytest.CollectReport(parent.nodeid, "passed", None, list(added))
        )
    if not config.getoption("--holdtime-allow-drills"):
        skip = pytest.mark.skip(reason="destructive drill: run with --holdtime-allow-drills")
        for item in items:
            if item.get_closest_marker("holdtime_drill") is not None:
                item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write holdtime's own report of the run when --holdtime-report DIR is given."""
    directory = session.config.getoption("--holdtime-report")
    state = session.config.stash.get(_STATE, None)
    if not directory or state is None:
        return
    from holdtime.reports import html_page, json_report

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    run = state.run_result()
    (out / "holdtime.json").write_text(json_report.render(run), encoding="utf-8")
    (out / "holdtime.html").write_text(html_page.render(run), encoding="utf-8")


@pytest.fixture(scope="session")
def holdtime_inventory(pytestconfig: pytest.Config) -> Inventory:
    """The inventory given with --holdtime-inventory."""
    return _state(pytestconfig).inventory


@pytest.fixture(scope="session")
def holdtime_run(pytestconfig: pytest.Config) -> Callable[..., RunResult]:
    """Run checks of the inventory on demand: ``holdtime_run(checks=["bgp.*"])``."""
    from holdtime.runner import run_checks

    def run(checks: Sequence[str] = (), max_workers: int = 16) -> RunResult:
        return run_checks(
            _state(pytestconfig).inventory, only=tuple(checks), max_workers=max_workers
        )

    return run


@pytest.hookimpl(hookwrapper=True)  # old-style wrapper: pytest 7.4 may run on pluggy < 1.2
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A HoldtimeError from a holdtime fixture is one line (test line, device, reason)."""
    from holdtime.pytest_devices import ONE_LINE

    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    excinfo = call.excinfo
    if excinfo is None or not getattr(excinfo.value, ONE_LINE, False):
        return
    where = ""
    for entry in reversed(excinfo.traceback):
        if Path(entry.path) == item.path:  # the innermost line of the test module itself
            where = f"{item.path.name}:{entry.lineno + 1}: "
            break
    report.longrepr = f"{where}{type(excinfo.value).__name__}: {excinfo.value}"


@pytest.fixture(scope="session")
def holdtime_router(pytestconfig: pytest.Config) -> Iterator[HandleCache[RouterHandle]]:
    """Factory: ``holdtime_router("vpc-router-1")`` -> a connected RouterHandle.

    One SSH connection per router per session (per xdist worker), reused by every test and
    closed at the end. Handle methods: ``bgp()``, ``route(prefix)``, ``ipsec()``,
    ``ip_forward()``, ``run(command)`` (read-only allowlist only).
    """
    from holdtime.pytest_devices import HandleCache, open_router

    cache = HandleCache(lambda name: open_router(_state(pytestconfig).inventory, name))
    try:
        yield cache
    finally:
        cache.close_all()


@pytest.fixture(scope="session")
def holdtime_vcenter(pytestconfig: pytest.Config) -> Iterator[HandleCache[VcenterHandle]]:
    """Factory: ``holdtime_vcenter("vc-site-a")`` -> a logged-in VcenterHandle.

    One pyVmomi session per vCenter per session (per xdist worker), logged out at the end.
    ``observe()`` returns the VsphereObservation the nfs/sioc/vds checks judge.
    """
    from holdtime.pytest_devices import HandleCache, open_vcenter

    cache = HandleCache(lambda name: open_vcenter(_state(pytestconfig).inventory, name))
    try:
        yield cache
    finally:
        cache.close_all()


@pytest.fixture
def holdtime_drill(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., DrillResult]:
    """Run a drill of the inventory now: ``holdtime_drill()`` -> DrillResult.

    The scenario is the test's ``@pytest.mark.holdtime_drill("name")`` (or ``scenario=``).
    Without --holdtime-allow-drills the test is skipped, never run. The journal is written to
    the test's tmp_path; each phase's outage lands in the JUnit properties.
    """

    def run(scenario: str | None = None) -> DrillResult:
        config = request.config
        if not config.getoption("--holdtime-allow-drills"):
            pytest.skip("destructive drill: run with --holdtime-allow-drills")
        marker = request.node.get_closest_marker("holdtime_drill")
        name = scenario or (str(marker.args[0]) if marker is not None and marker.args else "")
        if not name:
            pytest.fail(
                'holdtime_drill: mark the test @pytest.mark.holdtime_drill("scenario") '
                "or pass scenario=",
                pytrace=False,
            )
        from holdtime.pytest_devices import run_drill

        journal = tmp_path / f"drill-{name}.jsonl"
        for number in itertools.count(2):  # a second drill in one test gets its own journal
            if not journal.exists():
                break
            journal = tmp_path / f"drill-{name}-{number}.jsonl"
        result = run_drill(_state(config).inventory, name, journal)
        if result.restore_failed:
            # The loudest result: the network may still be failed over, whatever the test
            # asserts next (an outage-only assertion would otherwise pass).
            request.node.user_properties.append(("drill.restore_failed", result.restore_failed))
            pytest.fail(f"DRILL {name}: {result.restore_failed} (journal {journal})", pytrace=False)
        for phase in result.phases:
            key = f"drill.{phase.path}.{phase.phase}"
            request.node.user_properties.append(
                (f"{key}.loss_derived_outage_seconds", phase.loss_derived_outage_seconds)
            )
            request.node.user_properties.append((f"{key}.budget_seconds", phase.budget_seconds))
        return result

    return run

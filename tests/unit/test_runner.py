"""The runner: concurrency, per-target and per-run deadlines, per-target errors."""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from deferring_probe import WaitingProbe

from holdtime import plugins
from holdtime.checks.kit import BaseCheck
from holdtime.errors import AuthError
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target
from holdtime.probes.router_config import Router, SshAuth
from holdtime.runner import Job, execute, matches, plan_jobs


@dataclass
class ScriptedProbe:
    """A probe whose targets behave as scripted: answer, raise, or hang until released."""

    behaviour: dict[str, str]
    name: str = "scripted"
    section: None = None  # reads no inventory section
    timeout_seconds: float = 0.3
    release: threading.Event = field(default_factory=threading.Event)

    def targets(self, inventory: Any) -> Sequence[Target]:
        return [
            Target(name=n, device=n, config=None, timeout_seconds=self.timeout_seconds)
            for n in self.behaviour
        ]

    def collect(self, target: Target, timeout_seconds: float) -> object:
        action = self.behaviour[target.name]
        if action == "hang":
            self.release.wait(30)
            return "late"
        if action == "raise":
            raise AuthError(f"{target.name}: authentication failed")
        return action


@dataclass
class EchoCheck(BaseCheck[None, str]):
    """PASS when the observation is 'ok', FAIL otherwise; raises on 'boom'."""

    name: str = "scripted.echo"
    probe: str = "scripted"
    reads: tuple[str, ...] = ()
    summary = "echo"
    compares = "the observation"

    def evaluate(self, target: Target, observation: Any) -> Sequence[CheckResult]:
        if observation == "boom":
            raise RuntimeError("check bug")
        status = Status.PASS if observation == "ok" else Status.FAIL
        return [CheckResult(self.name, target.name, status, str(observation))]


def _run(behaviour: dict[str, str], **kwargs: Any) -> tuple[dict[str, CheckResult], ScriptedProbe]:
    probe = ScriptedProbe(behaviour)
    jobs = plan_jobs(None, {"scripted": probe}, {"scripted.echo": EchoCheck()})  # type: ignore[arg-type]
    results = execute(jobs, **kwargs)
    return {r.target: r for r in results}, probe


def test_hanging_target_is_error_at_its_deadline_while_others_report() -> None:
    """A target that hangs yields ERROR at its deadline; the other targets finish and report."""
    results, probe = _run({"r1": "ok", "hung": "hang", "r2": "ok", "r3": "bad"}, max_workers=4)
    try:
        assert {"r1": Status.PASS, "hung": Status.ERROR, "r2": Status.PASS, "r3": Status.FAIL} == {
            t: r.status for t, r in results.items()
        }
        assert "target deadline" in results["hung"].summary
        assert not probe.release.is_set()  # the run returned while the target still hung
    finally:
        probe.release.set()


def test_exception_from_one_target_is_error_for_that_target_only() -> None:
    """An AuthError on one device becomes ERROR for it; the others pass."""
    results, _ = _run({"good": "ok", "locked": "raise"})
    assert {"good": Status.PASS, "locked": Status.ERROR} == {
        t: r.status for t, r in results.items()
    }
    assert "locked: authentication failed" == results["locked"].summary


def test_crashing_check_becomes_error_not_a_crash() -> None:
    """A bug in a check is reported as ERROR for that check and target."""
    results, _ = _run({"x": "boom"})
    assert Status.ERROR == results["x"].status
    assert "check bug" == results["x"].summary


def test_run_deadline_turns_unfinished_and_unstarted_targets_into_errors() -> None:
    """With one worker and a run deadline, the hung target and those queued behind it are ERROR."""
    results, probe = _run(
        {"hung": "hang", "queued1": "ok", "queued2": "ok"}, max_workers=1, run_deadline_seconds=0.2
    )
    try:
        assert {"hung": Status.ERROR, "queued1": Status.ERROR, "queued2": Status.ERROR} == {
            t: r.status for t, r in results.items()
        }
        assert "run deadline reached before it started" == results["queued1"].summary
    finally:
        probe.release.set()


def test_results_stream_to_callback_as_they_complete() -> None:
    """on_result sees every result, and the fast target before the hung one."""
    seen: list[str] = []
    results, probe = _run({"hung": "hang", "fast": "ok"}, on_result=lambda r: seen.append(r.target))
    probe.release.set()
    assert ["fast", "hung"] == seen
    assert 2 == len(results)


def test_workers_are_bounded() -> None:
    """No more than max_workers targets are collected at the same time."""
    active = 0
    peak = 0
    lock = threading.Lock()

    class CountingProbe(ScriptedProbe):
        def collect(self, target: Target, timeout_seconds: float) -> object:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            threading.Event().wait(0.02)
            with lock:
                active -= 1
            return "ok"

    probe = CountingProbe({f"t{i}": "ok" for i in range(12)}, timeout_seconds=5)
    jobs = plan_jobs(None, {"scripted": probe}, {"scripted.echo": EchoCheck()})  # type: ignore[arg-type]
    results = execute(jobs, max_workers=3)
    assert 12 == len(results)
    assert peak <= 3


def test_only_patterns_match_check_target_or_device() -> None:
    """--only globs match the check name, the target name or the device name."""
    target = Target(name="vpc-router-1/10.10.10.2", device="vpc-router-1", config=None)
    assert matches(["bgp.*"], "bgp.peer_established", target)
    assert matches(["vpc-router-1"], "ipsec.child_installed", target)
    assert not matches(["tcp.*"], "bgp.peer_established", target)
    assert matches([], "anything", target)


def test_plan_skips_checks_that_do_not_apply() -> None:
    """A check whose applies_to() is false for a target is not planned for it."""

    class Picky(EchoCheck):
        def applies_to(self, target: Target) -> bool:
            return target.name != "skip-me"

    probe = ScriptedProbe({"keep": "ok", "skip-me": "ok"})
    jobs = plan_jobs(None, {"scripted": probe}, {"scripted.echo": Picky()})  # type: ignore[arg-type]
    assert ["keep"] == [job.target.name for job in jobs]
    assert all(isinstance(job, Job) for job in jobs)


def _planned_reads(*checks: EchoCheck) -> frozenset[str]:
    probe = ScriptedProbe({"r1": "ok"})
    named = {f"scripted.c{i}": c for i, c in enumerate(checks)}
    [job] = plan_jobs(None, {"scripted": probe}, named)  # type: ignore[arg-type]
    return job.target.reads


def test_plan_sets_target_reads_to_the_union_of_the_selected_checks_reads() -> None:
    """Target.reads is the union of what the checks planned for the target read."""
    reads = _planned_reads(
        EchoCheck("scripted.a", reads=("bgp",)),
        EchoCheck("scripted.b", reads=("ipsec", "ipsec.traffic")),
        EchoCheck("scripted.c", reads=("bgp",)),
    )
    assert frozenset({"bgp", "ipsec", "ipsec.traffic"}) == reads


def test_plan_reads_everything_when_one_check_declares_no_reads() -> None:
    """A selected check with empty reads may need any section: Target.reads is empty (all)."""
    assert frozenset() == _planned_reads(EchoCheck("scripted.a", reads=("bgp",)), EchoCheck())


def test_plan_reads_only_what_the_checks_left_by_only_read() -> None:
    """Checks --only leaves out (or applies_to drops) do not add their reads."""

    class Picky(EchoCheck):
        def applies_to(self, target: Target) -> bool:
            return False

    probe = ScriptedProbe({"r1": "ok"})
    checks = {
        "scripted.a": EchoCheck("scripted.a", reads=("bgp",)),
        "scripted.b": EchoCheck("scripted.b", reads=("system",)),
        "scripted.c": Picky("scripted.c", reads=("ipsec",)),
    }
    [job] = plan_jobs(None, {"scripted": probe}, checks, only=["scripted.a", "scripted.c"])  # type: ignore[arg-type]
    assert (("scripted.a",), frozenset({"bgp"})) == (job.target.checks, job.target.reads)


@dataclass
class OneRouterProbe:
    """The `router` probe's planning side for one FRR + strongSwan router (no I/O)."""

    name: str = "router"

    def targets(self, inventory: Any) -> Sequence[Target[Router]]:
        router = Router(
            name="r1",
            host="192.0.2.1",
            username="u",
            auth=SshAuth(agent=True),
            platforms=("frr", "strongswan"),
        )
        return [Target(name="r1", device="r1", config=router)]

    def collect(self, target: Target, timeout_seconds: float) -> object:
        raise AssertionError("planning does no I/O")


@pytest.mark.parametrize(
    ("only", "reads"),
    [
        (["bgp.*"], {"bgp"}),
        (["bgp.bfd_peer_up"], {"bgp"}),
        (["ipsec.ike_established"], {"ipsec"}),
        (["ipsec.traffic_flowing"], {"ipsec", "ipsec.traffic"}),
        (["system.*"], {"system"}),
        ([], {"bgp", "ipsec", "ipsec.traffic", "system"}),
    ],
)
def test_registered_router_checks_declare_the_sections_they_read(
    only: list[str], reads: set[str]
) -> None:
    """The built-in router checks' reads reach Target.reads: --only 'system.*' reads no BGP."""
    checks = {n: c for n, c in plugins.checks().items() if c.probe == "router"}
    [job] = plan_jobs(None, {"router": OneRouterProbe()}, checks, only)  # type: ignore[arg-type]
    assert frozenset(reads) == job.target.reads


# -- continuations: a collection that waits gives its worker back -----------------------------
def test_worker_threads_are_reused_and_end_with_the_run() -> None:
    """Twelve jobs on two workers run on at most two threads, gone once execute returns."""
    threads: set[int] = set()
    lock = threading.Lock()

    class ThreadNoting(ScriptedProbe):
        def collect(self, target: Target, timeout_seconds: float) -> object:
            with lock:
                threads.add(threading.get_ident())
            return "ok"

    before = set(threading.enumerate())
    probe = ThreadNoting({f"t{i}": "ok" for i in range(12)}, timeout_seconds=5)
    jobs = plan_jobs(None, {"scripted": probe}, {"scripted.echo": EchoCheck()})  # type: ignore[arg-type]
    assert 12 == len(execute(jobs, max_workers=2))
    assert len(threads) <= 2
    for thread in set(threading.enumerate()) - before:
        thread.join(5)
        assert not thread.is_alive()


def _waiting_jobs(probe: WaitingProbe) -> list[Job]:
    return plan_jobs(None, {"scripted": probe}, {"scripted.echo": EchoCheck()})  # type: ignore[arg-type]


def test_a_waiting_collection_frees_its_worker_for_the_next_target() -> None:
    """One worker, three 0.5 s samples: all three begin before the first resumes."""
    probe = WaitingProbe({"r1": 0.5, "r2": 0.5, "r3": 0.5})
    results = execute(_waiting_jobs(probe), max_workers=1)
    assert ["begin"] * 3 + ["resume", "close"] * 3 == [kind for kind, _ in probe.events]
    assert {Status.PASS} == {r.status for r in results}
    assert 3 == len(results)


def test_a_due_continuation_runs_before_a_job_not_started() -> None:
    """With one worker, r1's continuation (due at once) goes before r2 and r3 begin."""
    probe = WaitingProbe({"r1": 0.0, "r2": 0.0, "r3": 0.0})
    execute(_waiting_jobs(probe), max_workers=1)
    assert [
        ("begin", "r1"),
        ("resume", "r1"),
        ("close", "r1"),
        ("begin", "r2"),
        ("resume", "r2"),
        ("close", "r2"),
        ("begin", "r3"),
        ("resume", "r3"),
        ("close", "r3"),
    ] == probe.events


def test_silent_in_the_second_read_is_error_at_the_target_deadline() -> None:
    """The resumed read never answers: ERROR at the deadline; the session closes when it ends."""
    hold = threading.Event()
    probe = WaitingProbe({"quiet": 0.05}, timeout_seconds=0.4, hold=hold)
    [result] = execute(_waiting_jobs(probe), max_workers=4)
    assert (Status.ERROR, "quiet: no answer within") == (result.status, result.summary[:23])
    assert [] == probe.of("close")  # still inside its read, as a hung device keeps it
    hold.set()
    for _ in range(100):
        if probe.of("close"):
            break
        threading.Event().wait(0.05)
    assert ["quiet"] == probe.of("close")


def test_a_continuation_past_its_deadline_is_closed_unresumed() -> None:
    """Resume time beyond the deadline: ERROR at the deadline, closed, never resumed."""
    probe = WaitingProbe({"late": 30.0, "ok": 0.0}, timeout_seconds=0.3)
    results = {r.target: r for r in execute(_waiting_jobs(probe), max_workers=2)}
    for _ in range(100):  # the close runs in its own thread
        if probe.of("close") == ["ok", "late"]:
            break
        threading.Event().wait(0.05)
    assert (Status.ERROR, Status.PASS) == (results["late"].status, results["ok"].status)
    assert (["ok"], ["ok", "late"]) == (probe.of("resume"), probe.of("close"))


def test_an_interrupted_run_closes_every_waiting_continuation() -> None:
    """KeyboardInterrupt while samples wait: every session held for them is closed."""
    probe = WaitingProbe({"now": 0.0, "w1": 30.0, "w2": 30.0})

    def interrupt(result: CheckResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(_waiting_jobs(probe), max_workers=3, on_result=interrupt)
    for _ in range(100):  # a worker still in begin() closes its own on arrival
        if len(probe.of("close")) == 3:
            break
        threading.Event().wait(0.05)
    assert (["now"], ["now", "w1", "w2"]) == (probe.of("resume"), sorted(probe.of("close")))


def test_a_probe_without_begin_is_collected_as_before() -> None:
    """Third-party probes implement only collect: the runner calls it, nothing else changes."""
    probe = ScriptedProbe({"a": "ok"})
    assert not isinstance(probe, plugins.DeferringProbe)
    assert isinstance(WaitingProbe({}), plugins.DeferringProbe)
    results = execute(
        plan_jobs(None, {"scripted": probe}, {"scripted.echo": EchoCheck()}),  # type: ignore[arg-type]
        max_workers=1,
    )
    assert [Status.PASS] == [r.status for r in results]


@dataclass
class ThresholdProbe(ScriptedProbe):
    """Answers 'ok' and notes the collector's first threshold while it collects."""

    seen: list[int] = field(default_factory=list)

    def collect(self, target: Target, timeout_seconds: float) -> object:
        self.seen.append(gc.get_threshold()[0])
        return "ok"


@pytest.mark.parametrize(("targets", "during"), [(99, 700), (100, 50_000)])
def test_a_large_run_collects_young_garbage_less_often_then_restores(
    targets: int, during: int
) -> None:
    """From 100 targets the first gc threshold is 50000 while the run goes on, then restored."""
    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])
    try:
        probe = ThresholdProbe({f"r{n}": "ok" for n in range(targets)})
        jobs = plan_jobs(None, {"scripted": probe}, {"scripted.echo": EchoCheck()})  # type: ignore[arg-type]
        results = execute(jobs, max_workers=8)
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)
    assert ({during}, targets) == (set(probe.seen), len(results))
    assert (700, *before[1:]) == after

"""The per-job schedule: intervals, deadlines, one run per target, worker limit, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from deferring_probe import WaitingProbe

from holdtime.exporters.scheduler import DeviceIO, Scheduled, Scheduler, job_interval
from holdtime.exporters.state import ResultStore
from holdtime.models import CheckResult, Status
from holdtime.plugins import CheckDescription, Target
from holdtime.runner import Job


@dataclass
class SlowProbe:
    """Collects take `delay` seconds ('hang' targets wait for `release`); tracks concurrency."""

    name: str = "slow"
    section: None = None  # reads no inventory section
    delay: float = 0.05
    hang: frozenset[str] = frozenset()
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    active: dict[str, int] = field(default_factory=dict)
    peak_per_target: dict[str, int] = field(default_factory=dict)
    active_total: int = 0
    peak_total: int = 0
    calls: int = 0

    def targets(self, inventory: Any) -> Sequence[Target]:
        return []

    def collect(self, target: Target, timeout_seconds: float) -> object:
        with self.lock:
            self.calls += 1
            self.active[target.name] = self.active.get(target.name, 0) + 1
            self.active_total += 1
            self.peak_per_target[target.name] = max(
                self.peak_per_target.get(target.name, 0), self.active[target.name]
            )
            self.peak_total = max(self.peak_total, self.active_total)
        try:
            if target.name in self.hang:
                self.release.wait(10)
            else:
                time.sleep(self.delay)
            return "ok"
        finally:
            with self.lock:
                self.active[target.name] -= 1
                self.active_total -= 1


@dataclass
class OkCheck:
    """PASS for every observation."""

    name: str = "slow.ok"
    probe: str = "slow"

    def describe(self) -> CheckDescription:
        return CheckDescription(self.name, self.probe, "ok", "nothing")

    def evaluate(self, target: Target, observation: Any) -> Sequence[CheckResult]:
        return [CheckResult(self.name, target.name, Status.PASS, str(observation))]


def _job(probe: SlowProbe, target: str, timeout: float = 2.0, check: str = "slow.ok") -> Job:
    return Job(
        probe=probe,
        target=Target(name=target, device=target, config=None, timeout_seconds=timeout),
        checks=(OkCheck(name=check, probe=probe.name),),
    )


@pytest.fixture
def stoppers() -> Iterator[list[Scheduler]]:
    """Schedulers to stop at the end of the test, whatever happens."""
    started: list[Scheduler] = []
    yield started
    for scheduler in started:
        scheduler.stop(grace_seconds=2)


def _start(stoppers: list[Scheduler], jobs: list[Scheduled], **kwargs: Any) -> Scheduler:
    store = ResultStore()
    scheduler = Scheduler(jobs, store, initial_spread_seconds=0.0, jitter_fraction=0, **kwargs)
    stoppers.append(scheduler)
    scheduler.start()
    return scheduler


def _wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_each_job_runs_again_after_its_interval(stoppers: list[Scheduler]) -> None:
    """A job with a 0.2 s interval runs about five times in one second, not once, not 50."""
    probe = SlowProbe(delay=0.01)
    _start(stoppers, [Scheduled(_job(probe, "a"), 0.2)])
    time.sleep(1.0)
    assert True is (4 <= probe.calls <= 7), probe.calls


def test_hung_target_is_error_at_deadline_and_never_piled_on(stoppers: list[Scheduler]) -> None:
    """A hung collect is ERROR at its deadline; later runs say it still runs, no new collect."""
    probe = SlowProbe(hang=frozenset({"hung"}))
    io = DeviceIO()
    scheduler = _start(stoppers, [Scheduled(_job(probe, "hung", timeout=0.2), 0.1)], io=io)
    try:
        _wait_for(lambda: scheduler.runs >= 3)
        (record,) = scheduler.store.snapshot().records
        (result,) = record.results
        assert (Status.ERROR, 1, True) == (
            result.status,
            probe.calls,
            "previous collection still running" in result.summary,
        )
    finally:
        probe.release.set()


def test_jobs_on_one_target_never_overlap(stoppers: list[Scheduler]) -> None:
    """Two probes of the same target run one after the other, never at the same time."""
    first = SlowProbe(name="p1", delay=0.1)  # both jobs share it: it sees every collect
    jobs = [
        Scheduled(_job(first, "router", check="p1.a"), 0.05),
        Scheduled(
            Job(
                probe=_Renamed(first, "p2"),
                target=Target("router", "router", None, 2.0),
                checks=(OkCheck("p2.b", "p2"),),
            ),
            0.05,
        ),
    ]
    scheduler = _start(stoppers, jobs)
    _wait_for(lambda: scheduler.runs >= 6)
    assert 1 == first.peak_per_target["router"]


@dataclass
class _Renamed:
    """The same probe under another name (a second job on the same target)."""

    probe: SlowProbe
    name: str
    section: None = None

    def targets(self, inventory: Any) -> Sequence[Target]:
        return []

    def collect(self, target: Target, timeout_seconds: float) -> object:
        return self.probe.collect(target, timeout_seconds)


def test_worker_limit_caps_concurrent_collections(stoppers: list[Scheduler]) -> None:
    """With max_workers=2 and six targets, no more than two collections run at once."""
    probe = SlowProbe(delay=0.1)
    jobs = [Scheduled(_job(probe, f"t{n}"), 0.05) for n in range(6)]
    scheduler = _start(stoppers, jobs, max_workers=2)
    _wait_for(lambda: scheduler.runs >= 12)
    assert 2 == probe.peak_total


def test_stop_waits_for_running_checks_and_starts_no_more(stoppers: list[Scheduler]) -> None:
    """stop() returns once the running collect ended; no collect starts afterwards."""
    probe = SlowProbe(delay=0.3)
    scheduler = _start(stoppers, [Scheduled(_job(probe, "a"), 0.05)])
    _wait_for(lambda: probe.calls >= 1)
    finished = scheduler.stop(grace_seconds=2)
    calls = probe.calls
    time.sleep(0.4)
    assert (True, calls, 0) == (finished, probe.calls, probe.active_total)


def test_a_run_waiting_for_its_sample_gives_its_worker_back(stoppers: list[Scheduler]) -> None:
    """One worker, three targets with a 0.5 s sample: all three begin before one resumes."""
    probe = WaitingProbe({"t0": 0.5, "t1": 0.5, "t2": 0.5})
    jobs = [Scheduled(_job(probe, name), 60) for name in probe.waits]  # type: ignore[arg-type]
    scheduler = _start(stoppers, jobs, max_workers=1)
    _wait_for(lambda: scheduler.runs >= 3)
    assert ["begin"] * 3 + ["resume"] * 3 == [k for k, _ in probe.events if k != "close"]
    records = scheduler.store.snapshot().records
    assert [Status.PASS] * 3 == [r.status for record in records for r in record.results]


def test_a_sampling_collection_stays_in_flight_on_its_device(stoppers: list[Scheduler]) -> None:
    """While its sample waits the device counts as in flight; once resumed, no longer."""
    probe = WaitingProbe({"r1": 0.5})
    io = DeviceIO()
    scheduler = _start(stoppers, [Scheduled(_job(probe, "r1"), 60)], io=io)  # type: ignore[arg-type]
    _wait_for(lambda: bool(probe.of("begin")))
    time.sleep(0.1)
    during = io.in_flight_since("r1")
    _wait_for(lambda: scheduler.runs >= 1)
    assert (True, None) == (during is not None, io.in_flight_since("r1"))


def test_job_interval_takes_the_shortest_matching_override() -> None:
    """A job's interval is the shortest PATTERN=SECONDS match among its checks, else default."""
    probe = SlowProbe()
    job = Job(probe, Target("r", "r", None), (OkCheck("bgp.peer"), OkCheck("ipsec.sa")))
    assert (30.0, 60.0) == (
        job_interval(job, 60, [("bgp.*", 45), ("ipsec.*", 30), ("nfs.*", 5)]),
        job_interval(job, 60, [("nfs.*", 5)]),
    )

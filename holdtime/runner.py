"""Run probes and checks for many targets concurrently, with deadlines.

Each target is collected in a worker thread (at most ``max_workers`` at once, reused). A target
that does not finish by its own deadline (``Target.timeout_seconds``) or by the run deadline
yields ERROR results for its checks and the run moves on: Python cannot kill a thread, so the
hung worker is abandoned (daemon thread) and its late answer is ignored. An exception from one
target becomes ERROR results for that target only. Results stream to ``on_result`` as they
complete, in the calling thread.

A probe that offers ``begin`` (holdtime.plugins.DeferringProbe) may answer with a
:class:`~holdtime.plugins.Deferred` instead of waiting in its worker (the router probe's 4 s
IPsec traffic sample): the worker is freed, the continuation waits in a heap ordered by its
``resume_at`` and runs in a worker again when due, before any job not started yet, still under
the target's own deadline. A continuation whose deadline passes while it waits is closed
(its SSH session ends) and its checks are ERROR; every waiting continuation is closed when the
run ends in any way (an exception, KeyboardInterrupt).
"""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from holdtime.defaults import DEFAULT_WORKERS
from holdtime.errors import CommandTimeout
from holdtime.models import CheckResult, RunResult, error_result, utc_now
from holdtime.plugins import Check, Deferred, DeferringProbe, Probe, Target

if TYPE_CHECKING:
    from holdtime.inventory import Inventory

ResultCallback = Callable[[CheckResult], None]


@dataclass(frozen=True, slots=True)
class Job:
    """One target of one probe, with the checks that judge its observation."""

    probe: Probe[Any]
    target: Target[Any]
    checks: tuple[Check[Any, Any], ...]

    @property
    def key(self) -> str:
        return f"{self.probe.name}:{self.target.name}"


@dataclass(slots=True)
class _Running:
    job: Job
    deadline: float
    started: float
    abandoned: bool = False
    deferred: Deferred | None = None  # set when the worker resumes a continuation


Outcome: TypeAlias = list[CheckResult] | Deferred


def matches(patterns: Sequence[str], check: str, target: Target[Any]) -> bool:
    """True if any glob pattern matches the check name, the target name or the device name."""
    if not patterns:
        return True
    names = (check, target.name, target.device, f"{check}[{target.name}]")
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names)


def plan_jobs(
    inventory: Inventory,
    probes: Mapping[str, Probe[Any]],
    checks: Mapping[str, Check[Any, Any]],
    only: Sequence[str] = (),
) -> list[Job]:
    """Pair every probe target with the checks that apply to it (no I/O)."""
    jobs: list[Job] = []
    for probe_name in sorted(probes):
        probe = probes[probe_name]
        family = [c for _, c in sorted(checks.items()) if c.probe == probe_name]
        if not family:
            continue
        for target in probe.targets(inventory):
            selected = tuple(
                c for c in family if c.applies_to(target) and matches(only, c.name, target)
            )
            if selected:
                planned = replace(
                    target, checks=tuple(c.name for c in selected), reads=reads_of(selected)
                )
                jobs.append(Job(probe=probe, target=planned, checks=selected))
    return jobs


def reads_of(checks: Iterable[Check[Any, Any]]) -> frozenset[str]:
    """What a probe must read for these checks: the union of their `reads`.

    Empty (read everything) as soon as one check declares no reads: it may need any section.
    """
    wanted: set[str] = set()
    for check in checks:
        if not check.reads:
            return frozenset()
        wanted.update(check.reads)
    return frozenset(wanted)


def evaluate_job(job: Job, observation: object, duration_seconds: float) -> list[CheckResult]:
    """Run every check of a job on its observation; a crashing check becomes ERROR."""
    results: list[CheckResult] = []
    for check in job.checks:
        try:
            produced = list(check.evaluate(job.target, observation))
        except Exception as exc:
            produced = [error_result(check.name, job.target.name, exc, device=job.target.device)]
        for result in produced:
            results.append(_with_timing(result, job.target.device, duration_seconds))
    return results


def _with_timing(result: CheckResult, device: str, duration_seconds: float) -> CheckResult:
    return replace(
        result,
        device=result.device or device,
        duration_seconds=result.duration_seconds or duration_seconds,
    )


def errors_for(job: Job, exc: BaseException, duration_seconds: float) -> list[CheckResult]:
    """ERROR results for every check of a job whose collection failed."""
    return [
        error_result(
            check.name,
            job.target.name,
            exc,
            device=job.target.device,
            duration_seconds=duration_seconds,
        )
        for check in job.checks
    ]


def execute(
    jobs: Iterable[Job],
    *,
    max_workers: int = DEFAULT_WORKERS,
    run_deadline_seconds: float | None = None,
    on_result: ResultCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[CheckResult]:
    """Run jobs concurrently; return all results (also streamed to `on_result`)."""
    if max_workers < 1:
        raise ValueError("max_workers must be >= 1")
    start = clock()
    planned = list(jobs)
    pool = _Pool(
        pending=planned[::-1],  # pop() from the end keeps the planned order
        max_workers=max_workers,
        run_deadline=start + run_deadline_seconds if run_deadline_seconds else None,
        on_result=on_result,
        clock=clock,
    )
    with _young_collections_rarer(len(planned) >= _LARGE_RUN_JOBS):
        try:
            while pool.pending or pool.running or pool.waiting:
                pool.start_ready()
                if pool.running or pool.waiting:
                    pool.wait_for_one()
        finally:
            pool.close_waiting()
            pool.stop_workers()
    return pool.results


# A run over this many targets collects with a larger first-generation threshold (see below).
_LARGE_RUN_JOBS = 100
_YOUNG_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_runs: list[tuple[int, int, int]] = []  # thresholds before the first large run still going


@contextlib.contextmanager
def _young_collections_rarer(large: bool) -> Iterator[None]:
    """Raise the garbage collector's first threshold (700 objects) while large runs go on.

    Every SSH packet allocates a few short-lived objects: at the default, 1000 routers ran
    ~1000 collections, ~1.4 ms of CPU per router (measured with ``gc.callbacks``), and most of
    what they scanned would have been freed by reference counting soon after. The collector
    stays on (cycles are still found) and the previous thresholds come back when the last of
    the concurrent large runs (``holdtime serve`` may overlap them) ends.
    """
    if not large:
        yield
        return
    with _gc_lock:
        if not _gc_runs:
            before = gc.get_threshold()
            gc.set_threshold(max(before[0], _YOUNG_THRESHOLD), *before[1:])
        else:
            before = _gc_runs[0]
        _gc_runs.append(before)
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs.pop()
            if not _gc_runs:
                gc.set_threshold(*before)


@dataclass
class _Pool:
    """The jobs not started yet, the ones running (each with its deadline), the continuations
    waiting for their time, the results."""

    pending: list[Job]
    max_workers: int
    run_deadline: float | None
    on_result: ResultCallback | None
    clock: Callable[[], float]
    running: list[_Running] = field(default_factory=list)
    # (resume_at, tie-breaker, slot, continuation), earliest first
    waiting: list[tuple[float, int, _Running, Deferred]] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    finished: queue.Queue[tuple[_Running, Outcome]] = field(default_factory=queue.Queue)
    closed: bool = False  # the run is over: a continuation arriving now is closed at once
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _slots: queue.SimpleQueue[_Running | None] = field(default_factory=queue.SimpleQueue)
    _idle: int = 0  # worker threads waiting on _slots with no slot promised to them
    _threads: int = 0  # worker threads started and not yet told to stop

    def emit(self, batch: list[CheckResult]) -> None:
        """Keep results and stream them, in the order they complete."""
        for result in batch:
            self.results.append(result)
            if self.on_result is not None:
                self.on_result(result)

    def start_ready(self) -> None:
        """Start due continuations, then jobs, while workers are free.

        Past the run deadline a job is an ERROR at once.
        """
        now = self.clock()
        while len(self.running) < self.max_workers:
            if self.waiting and self.waiting[0][0] <= now:
                _, _, slot, deferred = heapq.heappop(self.waiting)
                slot.deferred = deferred
                self._start(slot)
                continue
            if not self.pending:
                return
            job = self.pending.pop()
            if self.run_deadline is not None and now >= self.run_deadline:
                reason = CommandTimeout("run deadline reached before it started")
                self.emit(errors_for(job, reason, 0))
                continue
            deadline = now + job.target.timeout_seconds
            if self.run_deadline is not None:
                deadline = min(deadline, self.run_deadline)
            self._start(_Running(job=job, deadline=deadline, started=now))

    def _start(self, slot: _Running) -> None:
        """Hand the slot to an idle worker thread, or to a new one when none is idle.

        Threads are reused across jobs and continuations: starting one per slot cost ~17% of
        holdtime's CPU at 300 routers (each start waits for the new thread to take the GIL). A
        hung worker is never idle again, so it never delays a later slot.
        """
        self.running.append(slot)
        with self._lock:
            spawn = self._idle == 0
            if spawn:
                self._threads += 1
            else:
                self._idle -= 1
        self._slots.put(slot)
        if spawn:
            threading.Thread(target=self._worker, name="holdtime-worker", daemon=True).start()

    def _worker(self) -> None:
        while (slot := self._slots.get()) is not None:
            threading.current_thread().name = f"holdtime-{slot.job.key}"
            self._work(slot)

    def stop_workers(self) -> None:
        """Let every worker thread end once it is idle (a hung one when it returns)."""
        with self._lock:
            threads, self._threads = self._threads, 0
        for _ in range(threads):
            self._slots.put(None)

    def _work(self, slot: _Running) -> None:
        outcome: Outcome
        try:
            target, probe = slot.job.target, slot.job.probe
            if slot.deferred is not None:
                observation = slot.deferred.resume()
            elif isinstance(probe, DeferringProbe):
                observation = probe.begin(target, target.timeout_seconds)
            else:
                observation = probe.collect(target, target.timeout_seconds)
            if isinstance(observation, Deferred):
                outcome = observation
            else:
                outcome = evaluate_job(slot.job, observation, self.clock() - slot.started)
        except Exception as exc:
            outcome = errors_for(slot.job, exc, self.clock() - slot.started)
        with self._lock:
            self._idle += 1  # before the put: the run's loop may hand it the next slot at once
            if not self.closed:
                self.finished.put((slot, outcome))
                return
        if isinstance(outcome, Deferred):
            outcome.close()

    def wait_for_one(self) -> None:
        """Take one finished job, or at the earliest deadline turn the late ones into ERRORs."""
        times = [s.deadline for s in self.running] + [w[2].deadline for w in self.waiting]
        if self.waiting and len(self.running) < self.max_workers:
            times.append(self.waiting[0][0])  # a free worker for the next continuation
        wait = max(0.0, min(times) - self.clock())
        try:
            slot, outcome = self.finished.get(timeout=wait)
        except queue.Empty:
            self._expire_late()
            return
        if slot.abandoned:  # its ERROR was already reported at the deadline
            if isinstance(outcome, Deferred):
                outcome.close()
            return
        self.running.remove(slot)
        if isinstance(outcome, Deferred):
            slot.deferred = None
            heapq.heappush(self.waiting, (outcome.resume_at, next(self._order), slot, outcome))
            return
        self.emit(outcome)

    def _expire_late(self) -> None:
        now = self.clock()
        for late in [s for s in self.running if now >= s.deadline]:
            late.abandoned = True
            self.running.remove(late)
            self._late(late, now)
        if any(now >= w[2].deadline for w in self.waiting):
            expired = [w for w in self.waiting if now >= w[2].deadline]
            self.waiting = [w for w in self.waiting if now < w[2].deadline]
            heapq.heapify(self.waiting)
            for _, _, slot, deferred in expired:
                # closing a session may wait for its transport thread: not in the run's loop
                threading.Thread(target=_close_quietly, args=(deferred,), daemon=True).start()
                self._late(slot, now)

    def _late(self, slot: _Running, now: float) -> None:
        elapsed = now - slot.started
        device = slot.job.target.device
        reason = CommandTimeout(f"{device}: no answer within {elapsed:.1f} s (target deadline)")
        self.emit(errors_for(slot.job, reason, elapsed))

    def close_waiting(self) -> None:
        """End of the run: close every continuation that will not be resumed (idempotent)."""
        with self._lock:
            self.closed = True
        waiting, self.waiting = self.waiting, []
        for _, _, _, deferred in waiting:
            _close_quietly(deferred)
        while True:
            try:
                _, outcome = self.finished.get_nowait()
            except queue.Empty:
                return
            if isinstance(outcome, Deferred):
                _close_quietly(outcome)


def _close_quietly(deferred: Deferred) -> None:
    try:
        deferred.close()
    except Exception:  # closing must never mask how the run ended
        return


def run_checks(
    inventory: Inventory,
    *,
    only: Sequence[str] = (),
    probes: Mapping[str, Probe[Any]] | None = None,
    checks: Mapping[str, Check[Any, Any]] | None = None,
    max_workers: int = DEFAULT_WORKERS,
    run_deadline_seconds: float | None = None,
    on_result: ResultCallback | None = None,
) -> RunResult:
    """Plan and execute every check of an inventory; the one call the CLI and plugins use."""
    from holdtime import plugins

    started_at = utc_now()
    jobs = plan_jobs(
        inventory,
        probes if probes is not None else plugins.probes(),
        checks if checks is not None else plugins.checks(),
        only,
    )
    results = execute(
        jobs,
        max_workers=max_workers,
        run_deadline_seconds=run_deadline_seconds,
        on_result=on_result,
    )
    return RunResult.collect(results, started_at=started_at, inventory_path=str(inventory.path))

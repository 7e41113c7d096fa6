"""Run every job (one probe on one target) on its own schedule and store the results.

Each job runs every ``interval_seconds`` (jittered), through :func:`holdtime.runner.execute` so
a hung target is ERROR at its own deadline. At most one run per target is in flight: a second
job on a busy target waits for the first, and a target whose previous collection hung past its
deadline (its thread cannot be killed) is reported ERROR instead of being piled on. A run
whose collection waits (the router probe's 4 s IPsec traffic sample, a
:class:`~holdtime.plugins.Deferred`) gives its worker back until the sample is due, so 64
workers are not 64 routers sleeping through their samples.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import heapq
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from holdtime.defaults import DEFAULT_WORKERS
from holdtime.errors import CommandTimeout
from holdtime.exporters.state import ResultStore
from holdtime.plugins import Deferred, DeferringProbe
from holdtime.runner import Job, errors_for, execute

if TYPE_CHECKING:
    from holdtime.inventory import Inventory
    from holdtime.models import CheckResult
    from holdtime.plugins import Probe, Target

C = TypeVar("C")  # the proxied probe's config type


class DeviceIO:
    """Knows which targets have a device collection in flight."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, float] = {}
        self.clock = clock

    def begin(self, target: str) -> None:
        with self._lock:
            self._in_flight[target] = self.clock()

    def end(self, target: str) -> None:
        with self._lock:
            self._in_flight.pop(target, None)

    def in_flight_since(self, target: str) -> float | None:
        """Monotonic start of the target's running collection, None if none runs."""
        with self._lock:
            return self._in_flight.get(target)

    def wrap(self, job: Job, slot: WorkerSlot | None = None) -> Job:
        """The same job with its probe's collections tracked (and its worker given back while
        a collection waits, when a scheduler's ``slot`` is passed)."""
        return dataclasses.replace(job, probe=_TrackedProbe(job.probe, self, slot))


class WorkerSlot:
    """One scheduled run's claim on a scheduler worker, given back while its sample waits.

    ``release`` and ``reacquire`` are idempotent; ``end`` gives the claim back for good.
    """

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self.held = True  # the dispatcher counted this run in _running when it started it
        self.ended = False  # the run is over (a late resume after its deadline takes nothing)

    def release(self) -> None:
        self._scheduler._give_back(self)

    def reacquire(self) -> None:
        self._scheduler._take_again(self)


class _TrackedProbe(Generic[C]):
    """A probe proxy that reports each collection to a DeviceIO tracker.

    ``begin`` is forwarded (a probe without one is collected): a collection that waits (the
    router probe's traffic sample) stays in flight on its device until it resumes or is
    closed, and gives its scheduler worker back meanwhile. Without ``begin`` here the runner
    saw a plain probe and every sample held a worker for its whole 4 s.
    """

    def __init__(self, probe: Probe[C], io: DeviceIO, slot: WorkerSlot | None = None) -> None:
        self.probe = probe
        self.io = io
        self.slot = slot
        self.name = probe.name
        self.section = probe.section

    def targets(self, inventory: Inventory) -> Sequence[Target[C]]:
        return self.probe.targets(inventory)

    def collect(self, target: Target[C], timeout_seconds: float) -> object:
        self.io.begin(target.name)
        try:
            return self.probe.collect(target, timeout_seconds)
        finally:
            self.io.end(target.name)

    def begin(self, target: Target[C], timeout_seconds: float) -> object:
        self.io.begin(target.name)
        try:
            if isinstance(self.probe, DeferringProbe):
                outcome = self.probe.begin(target, timeout_seconds)
            else:
                outcome = self.probe.collect(target, timeout_seconds)
        except BaseException:
            self.io.end(target.name)
            raise
        return self._tracked(target.name, outcome)

    def _tracked(self, target: str, outcome: object) -> object:
        if not isinstance(outcome, Deferred):
            self.io.end(target)
            return outcome
        if self.slot is not None:
            self.slot.release()
        waiting = outcome

        def resume() -> object:
            if self.slot is not None:
                self.slot.reacquire()
            try:
                later = waiting.resume()
            except BaseException:
                self.io.end(target)
                raise
            return self._tracked(target, later)

        def close() -> None:
            try:
                waiting.close()
            finally:
                self.io.end(target)

        return Deferred(resume_at=waiting.resume_at, resume=resume, close=close)


def job_interval(
    job: Job, default_seconds: float, overrides: Sequence[tuple[str, float]] = ()
) -> float:
    """The job's interval: the shortest matching `PATTERN=SECONDS` override among its checks."""
    chosen = [
        seconds
        for check in job.checks
        for pattern, seconds in overrides
        if fnmatch.fnmatchcase(check.name, pattern)
    ]
    return min(chosen) if chosen else default_seconds


def _stable_fraction(key: str) -> float:
    # Same offset for the same job on every restart, like Prometheus' scrape offsets.
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A job and how often it runs."""

    job: Job
    interval_seconds: float

    @property
    def key(self) -> str:
        return self.job.key


class Scheduler:
    """Dispatch scheduled jobs to worker threads, at most `max_workers` at once."""

    def __init__(
        self,
        scheduled: Sequence[Scheduled],
        store: ResultStore,
        *,
        max_workers: int = DEFAULT_WORKERS,
        jitter_fraction: float = 0.1,
        initial_spread_seconds: float = 5.0,
        io: DeviceIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be >= 1")
        self.jobs = {s.key: s for s in scheduled}
        self.store = store
        self.max_workers = max_workers
        self.jitter_fraction = jitter_fraction
        self.initial_spread_seconds = initial_spread_seconds
        self.io = io or DeviceIO()
        self.clock = clock
        self.rng = rng or random.Random()
        self._cond = threading.Condition()
        self._heap: list[tuple[float, str]] = []
        self._running = 0  # runs holding a worker
        self._sampling = 0  # runs whose collection waits without one (a traffic sample)
        self._resuming = 0  # of those, the ones due and waiting for a worker
        self._busy_targets: set[str] = set()
        self._waiting: dict[str, list[str]] = {}
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.runs = 0  # finished runs (tests, bench)

    def start(self) -> None:
        """Register every job in the store and start dispatching."""
        now = self.clock()
        for key, scheduled in sorted(self.jobs.items()):
            job = scheduled.job
            self.store.register(
                key,
                collector=job.probe.name,
                target=job.target.name,
                device=job.target.device,
                checks=[c.name for c in job.checks],
                interval_seconds=scheduled.interval_seconds,
            )
            spread = min(scheduled.interval_seconds, self.initial_spread_seconds)
            heapq.heappush(self._heap, (now + _stable_fraction(key) * spread, key))
        self._thread = threading.Thread(target=self._dispatch, name="holdtime-scheduler")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, grace_seconds: float = 10.0) -> bool:
        """Start no new run; wait up to `grace_seconds` for running ones. True if all ended."""
        deadline = self.clock() + grace_seconds
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            while (self._running or self._sampling) and self.clock() < deadline:
                self._cond.wait(max(0.0, deadline - self.clock()))
            finished = self._running == 0 and self._sampling == 0
        if self._thread is not None:
            self._thread.join(timeout=max(0.0, deadline - self.clock()))
        return finished

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                if not self._heap or self._running >= self.max_workers or self._resuming:
                    self._cond.wait(1.0)
                    continue
                due, key = self._heap[0]
                delay = due - self.clock()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                target = self.jobs[key].job.target.name
                if target in self._busy_targets:
                    self._waiting.setdefault(target, []).append(key)
                    continue
                self._busy_targets.add(target)
                self._running += 1
            threading.Thread(
                target=self._run, args=(key,), name=f"holdtime-run-{key}", daemon=True
            ).start()

    def _run(self, key: str) -> None:
        scheduled = self.jobs[key]
        job = scheduled.job
        started = self.clock()
        slot = WorkerSlot(self)
        try:
            hung_since = self.io.in_flight_since(job.target.name)
            results: list[CheckResult]
            if hung_since is not None:
                # The last collection hung past its deadline and still holds the device.
                results = errors_for(
                    job,
                    CommandTimeout(
                        f"{job.target.device}: previous collection still running after "
                        f"{started - hung_since:.0f} s"
                    ),
                    0.0,
                )
            else:
                results = execute([self.io.wrap(job, slot)], max_workers=1)
            self.store.put(key, results, self.clock() - started)
        finally:
            with self._cond:
                self.runs += 1
                if slot.held:
                    self._running -= 1
                else:
                    self._sampling -= 1
                slot.held, slot.ended = False, True
                target = job.target.name
                self._busy_targets.discard(target)
                now = self.clock()
                for waiting in self._waiting.pop(target, []):
                    heapq.heappush(self._heap, (now, waiting))
                jitter = self.rng.uniform(-0.5, 0.5) * self.jitter_fraction
                due = max(started + scheduled.interval_seconds * (1.0 + jitter), now)
                heapq.heappush(self._heap, (due, key))
                self._cond.notify_all()

    def _give_back(self, slot: WorkerSlot) -> None:
        """The run's collection waits (its traffic sample): its worker may start another run."""
        with self._cond:
            if slot.held and not slot.ended:
                slot.held = False
                self._running -= 1
                self._sampling += 1
                self._cond.notify_all()

    def _take_again(self, slot: WorkerSlot) -> None:
        """The sample is due: wait for a free worker (not when stopping), then hold it again."""
        with self._cond:
            if slot.held or slot.ended:
                return
            self._resuming += 1  # the dispatcher starts no new run meanwhile: samples go first
            try:
                while self._running >= self.max_workers and not (self._stopping or slot.ended):
                    self._cond.wait(1.0)
            finally:
                self._resuming -= 1
                self._cond.notify_all()
            if not slot.ended:  # else its deadline passed meanwhile: the run gave it up
                slot.held = True
                self._sampling -= 1
                self._running += 1

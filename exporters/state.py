"""Thread-safe store of the last results of every scheduled job; scrapes read snapshots of it.

Writers (scheduler threads) replace a job's record whole; readers take an immutable snapshot
under the lock, so any number of concurrent scrapes see a consistent view and never wait for a
device. Staleness is applied when reading: a job not run for more than ``STALE_FACTOR`` x its
interval turns every result ERROR with reason "stale", never a stale PASS.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from holdtime.models import CheckResult, Status

STALE_FACTOR = 2.0
STALE_REASON = "stale"


@dataclass(frozen=True, slots=True)
class JobRecord:
    """The last run of one probe on one target, with what is needed to judge staleness."""

    key: str  # "probe:target"
    collector: str  # probe name
    target: str
    device: str
    checks: tuple[str, ...]
    interval_seconds: float
    registered_at: float  # Unix time the schedule started
    last_run: float | None = None  # Unix time the last run finished; None = not run yet
    duration_seconds: float = 0.0
    results: tuple[CheckResult, ...] = ()

    @property
    def stale_after(self) -> float:
        """Unix time after which this record is stale unless a new run lands."""
        since = self.registered_at if self.last_run is None else self.last_run
        return since + STALE_FACTOR * self.interval_seconds

    def is_stale(self, now: float) -> bool:
        """True when the job has not produced results for more than 2 intervals."""
        return now > self.stale_after

    @property
    def up(self) -> bool:
        """The collection worked: at least one result that is not ERROR."""
        return any(r.status is not Status.ERROR for r in self.results)

    def effective_results(self, now: float) -> tuple[CheckResult, ...]:
        """The results as a scrape must show them: stale ones (or never-run ones) are ERROR."""
        if not self.is_stale(now):
            return self.results
        if self.last_run is None:
            summary = f"stale: never ran in {now - self.registered_at:.0f} s"
            return tuple(
                CheckResult(
                    check=check,
                    target=self.target,
                    device=self.device,
                    status=Status.ERROR,
                    summary=summary,
                    reasons=(STALE_REASON,),
                )
                for check in self.checks
            )
        summary = f"stale: last run {now - self.last_run:.0f} s ago"
        previous = self.results or tuple(
            CheckResult(check, self.target, Status.ERROR, summary, device=self.device)
            for check in self.checks
        )
        return tuple(
            dataclasses.replace(
                r,
                status=Status.ERROR,
                summary=summary,
                reasons=(STALE_REASON, *r.reasons),
                observed={},
            )
            for r in previous
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable view of the store at one version."""

    version: int
    records: tuple[JobRecord, ...]

    def next_change(self, now: float) -> float:
        """The earliest future time at which some record turns stale (inf if none will)."""
        upcoming = [r.stale_after for r in self.records if r.stale_after >= now]
        return min(upcoming, default=float("inf"))


class ResultStore:
    """Last results per job; every write bumps the version (used to cache renders)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}
        self._version = 0
        self.clock = clock

    def register(
        self,
        key: str,
        *,
        collector: str,
        target: str,
        device: str,
        checks: Sequence[str],
        interval_seconds: float,
    ) -> None:
        """Declare a scheduled job, so one that never runs still turns ERROR (stale)."""
        record = JobRecord(
            key=key,
            collector=collector,
            target=target,
            device=device,
            checks=tuple(checks),
            interval_seconds=interval_seconds,
            registered_at=self.clock(),
        )
        with self._lock:
            self._records[key] = record
            self._version += 1

    def put(self, key: str, results: Iterable[CheckResult], duration_seconds: float) -> None:
        """Record a finished run of a registered job (finish time = now)."""
        finished = self.clock()
        with self._lock:
            record = self._records[key]
            self._records[key] = dataclasses.replace(
                record,
                last_run=finished,
                duration_seconds=duration_seconds,
                results=tuple(results),
            )
            self._version += 1

    @property
    def version(self) -> int:
        """Bumped by every write (an int read: no lock needed)."""
        return self._version

    def snapshot(self) -> Snapshot:
        """A consistent, immutable copy (cheap: records are frozen)."""
        with self._lock:
            return Snapshot(self._version, tuple(self._records.values()))

    def ready(self) -> bool:
        """True once every registered job has run at least once."""
        with self._lock:
            return all(r.last_run is not None for r in self._records.values())

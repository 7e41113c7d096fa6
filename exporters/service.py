"""Wire an inventory into a running exporter: plan, shard, schedule, serve, stop."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from holdtime.defaults import DEFAULT_WORKERS
from holdtime.exporters.connections import ConnectionLimits
from holdtime.exporters.scheduler import DeviceIO, Scheduled, Scheduler, job_interval
from holdtime.exporters.server import ExporterApp, ExporterServer, start_server
from holdtime.exporters.sharding import Shard
from holdtime.exporters.state import ResultStore
from holdtime.exporters.webconfig import WebConfig
from holdtime.runner import Job, plan_jobs

if TYPE_CHECKING:
    from holdtime.inventory import Inventory
    from holdtime.plugins import Check, Probe


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Everything `holdtime serve` can tune."""

    interval_seconds: float = 60.0
    check_intervals: tuple[tuple[str, float], ...] = ()  # (check glob, seconds)
    only: tuple[str, ...] = ()
    shard: Shard | None = None
    max_workers: int = DEFAULT_WORKERS
    jitter_fraction: float = 0.1
    initial_spread_seconds: float = 5.0
    probe_endpoint: bool = True
    web: WebConfig = field(default_factory=WebConfig)
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)


class ExporterService:
    """A scheduler feeding a store and an HTTP server rendering it."""

    def __init__(
        self,
        jobs: Sequence[Job],
        options: ServeOptions,
        *,
        probe_jobs: Sequence[Job] = (),
        store: ResultStore | None = None,
        io: DeviceIO | None = None,
    ) -> None:
        self.options = options
        self.store = store or ResultStore()
        self.io = io or DeviceIO()
        owned = options.shard.select(jobs) if options.shard is not None else list(jobs)
        self.scheduler = Scheduler(
            [
                Scheduled(job, job_interval(job, options.interval_seconds, options.check_intervals))
                for job in owned
            ],
            self.store,
            max_workers=options.max_workers,
            jitter_fraction=options.jitter_fraction,
            initial_spread_seconds=options.initial_spread_seconds,
            io=self.io,
        )
        self.app = ExporterApp(
            store=self.store,
            probe_jobs=probe_jobs if options.probe_endpoint else (),
            io=self.io,
            web=options.web,
            ready=self.store.ready,
        )
        self.server: ExporterServer | None = None
        self._http_thread: threading.Thread | None = None
        self._render_stop = threading.Event()

    @property
    def job_count(self) -> int:
        """How many jobs this exporter schedules (after sharding)."""
        return len(self.scheduler.jobs)

    def start(self, listen: str) -> ExporterServer:
        """Bind the listener first (fail fast on a busy port), then start the schedule."""
        self.server, self._http_thread = start_server(self.app, listen, self.options.limits)
        self.scheduler.start()
        self.app.start_background_render(self._render_stop)
        return self.server

    def stop(self, grace_seconds: float = 10.0) -> bool:
        """Stop scheduling, close the listener, wait for running checks. True if all ended."""
        self._render_stop.set()
        finished = self.scheduler.stop(grace_seconds)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self._http_thread is not None:
            self._http_thread.join(timeout=grace_seconds)
        return finished


def build_service(
    inventory: Inventory,
    options: ServeOptions,
    *,
    probes: Mapping[str, Probe[Any]] | None = None,
    checks: Mapping[str, Check[Any, Any]] | None = None,
) -> ExporterService:
    """Plan the inventory's jobs (the entry-point plugins unless given) and build the service."""
    from holdtime import plugins

    probes = probes if probes is not None else plugins.probes()
    checks = checks if checks is not None else plugins.checks()
    jobs = plan_jobs(inventory, probes, checks, options.only)
    return ExporterService(jobs, options, probe_jobs=jobs)

"""Wire an inventory into a running exporter: plan, shard, schedule, serve, stop.

By default the scheduler and the probes run in a child process
(:mod:`holdtime.exporters.probing`) and this process only answers HTTP from the child's last
render, so scrapes never wait for the interpreter shared with hundreds of probe threads. In
process (``ServeOptions(probing_process=False)``, or a ``store``/``io`` passed in, or a probe
that cannot be pickled) everything runs here, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from holdtime.defaults import DEFAULT_WORKERS, EXPORTER_PROBING_NICE
from holdtime.exporters.connections import ConnectionLimits
from holdtime.exporters.probing import (
    ProbingPlan,
    ProbingProcess,
    pickled_plan,
    registered_secrets,
)
from holdtime.exporters.scheduler import DeviceIO, Scheduled, Scheduler, job_interval
from holdtime.exporters.server import ExporterApp, ExporterServer, start_server, unknown_probe
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
    probing_process: bool = True  # scheduler and probes in a child process (HTTP alone here)
    probing_nice: int = EXPORTER_PROBING_NICE  # the child's niceness above the HTTP process'


_log = logging.getLogger(__name__)


@dataclass
class _ForwardingApp(ExporterApp):
    """The HTTP side of a service whose probing runs in a child process."""

    probing: ProbingProcess | None = None

    def metrics_body(self, accept: str | None, gzipped: bool = False) -> tuple[bytes, str] | None:
        assert self.probing is not None
        return self.probing.body(gzipped)

    def unavailable_reason(self) -> str:
        assert self.probing is not None
        return self.probing.unavailable_reason()

    def not_ready_reason(self) -> str:
        assert self.probing is not None
        return self.probing.not_ready_reason()

    def probe(self, target: str, module: str, budget_seconds: float) -> tuple[int, bytes]:
        assert self.probing is not None
        if not self.probe_jobs_for(target, module):
            return unknown_probe(target, module)
        return self.probing.probe(target, module, budget_seconds)


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
        owned = options.shard.select(jobs) if options.shard is not None else list(jobs)
        scheduled = [
            Scheduled(job, job_interval(job, options.interval_seconds, options.check_intervals))
            for job in owned
        ]
        self._job_count = len({s.key for s in scheduled})
        served = tuple(probe_jobs) if options.probe_endpoint else ()
        self.io = io or DeviceIO()
        self.probing: ProbingProcess | None = None
        self.store: ResultStore | None = None
        self.scheduler: Scheduler | None = None
        if options.probing_process and store is None and io is None:
            self.probing = self._probing(scheduled, served, options)
        if self.probing is not None:
            self.app: ExporterApp = _ForwardingApp(
                probe_jobs=served, web=options.web, probing=self.probing
            )
            self.app.ready = self.probing.ready
        else:
            self.store = store or ResultStore()
            self.scheduler = Scheduler(
                scheduled,
                self.store,
                max_workers=options.max_workers,
                jitter_fraction=options.jitter_fraction,
                initial_spread_seconds=options.initial_spread_seconds,
                io=self.io,
            )
            self.app = ExporterApp(
                store=self.store,
                probe_jobs=served,
                io=self.io,
                web=options.web,
                ready=self.store.ready,
            )
        self.server: ExporterServer | None = None
        self._http_thread: threading.Thread | None = None
        self._render_stop = threading.Event()

    @staticmethod
    def _probing(
        scheduled: Sequence[Scheduled], probe_jobs: Sequence[Job], options: ServeOptions
    ) -> ProbingProcess | None:
        plan = ProbingPlan(
            scheduled=tuple(scheduled),
            probe_jobs=tuple(probe_jobs),
            max_workers=options.max_workers,
            jitter_fraction=options.jitter_fraction,
            initial_spread_seconds=options.initial_spread_seconds,
            secrets=registered_secrets(),
            nice=options.probing_nice,
        )
        payload = pickled_plan(plan)
        if isinstance(payload, str):
            _log.warning(
                "holdtime serve: %s: cannot hand it to a probing process, so the checks run in "
                "the HTTP process (scrapes share its interpreter)",
                payload,
            )
            return None
        return ProbingProcess(plan, payload)

    @property
    def job_count(self) -> int:
        """How many jobs this exporter schedules (after sharding)."""
        return self._job_count

    def start(self, listen: str) -> ExporterServer:
        """Bind the listener first (fail fast on a busy port), then start the schedule."""
        self.server, self._http_thread = start_server(self.app, listen, self.options.limits)
        try:
            if self.probing is not None:
                self.probing.start()
            else:
                assert self.scheduler is not None
                self.scheduler.start()
                self.app.start_background_render(self._render_stop)
        except BaseException:
            self.server.shutdown()
            self.server.server_close()
            raise
        return self.server

    def stop(self, grace_seconds: float = 10.0) -> bool:
        """Stop scheduling, close the listener, wait for running checks. True if all ended."""
        self._render_stop.set()
        if self.probing is not None:
            finished = self.probing.stop(grace_seconds)
        else:
            assert self.scheduler is not None
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

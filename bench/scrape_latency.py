"""Scrape latency of `holdtime serve` under 20 concurrent scrapers, and device I/O they cause.

The exporter schedules 1000 jobs (800 tcp-shaped, 200 BGP peers with every domain field) on a
counting probe with a one-hour interval; once every job has run, 20 scraper threads in a
separate process (so they do not share the server's GIL) scrape /metrics over keep-alive
connections, as Prometheus does (gzip, OpenMetrics Accept header), for DURATION seconds.

Run: .venv-dev/bin/python bench/scrape_latency.py [DURATION_SECONDS] [SCRAPERS]
Two phases: results static while scraping (interval 1 h), and churn (interval 5 s: 200
results land per second, so the store changes under the scrapers and is re-rendered in the
background). Targets: p99 under 50 ms, 0 probe collect calls caused by scrapes.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from holdtime.exporters.scheduler import DeviceIO, Scheduled, Scheduler
from holdtime.exporters.server import ExporterApp, start_server
from holdtime.exporters.state import ResultStore
from holdtime.models import CheckResult, Status
from holdtime.plugins import CheckDescription, Target
from holdtime.runner import Job

ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


class FakeProbe:
    """Answers at once, counting collects made outside the scheduler's worker threads."""

    name = "bench"

    def __init__(self) -> None:
        self.from_elsewhere = 0  # a collect not made by a scheduled run = caused by a scrape

    def targets(self, inventory: Any) -> Sequence[Target]:
        return []

    def collect(self, target: Target, timeout_seconds: float) -> object:
        # runner.execute names its worker threads "holdtime-<probe>:<target>".
        if not threading.current_thread().name.startswith("holdtime-"):
            self.from_elsewhere += 1
        return target.name


class FakeCheck:
    """tcp-shaped results, or BGP-peer-shaped ones with every domain field."""

    probe = "bench"

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> CheckDescription:
        return CheckDescription(self.name, self.probe, "bench", "nothing")

    def evaluate(self, target: Target, observation: Any) -> Sequence[CheckResult]:
        if self.name == "bgp.peer_established":
            observed: dict[str, object] = {
                "state": "Established",
                "uptime_seconds": 3600,
                "prefixes_received": 12,
                "prefixes_sent": 3,
                "hold_time_seconds": 9,
                "remote_as": 65010,
                "description": f"peer {target.name}",
            }
        else:
            observed = {"state": "open", "latency_seconds": 0.001}
        return [
            CheckResult(self.name, target.name, Status.PASS, "ok", observed, device=target.device)
        ]


def _scraper(port: int, until: float, out: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip"}
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            conn.request("GET", "/metrics", headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(str(response.status))
        except OSError as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        out.append(time.perf_counter() - began)
    conn.close()


def _load(port: int, seconds: float, scrapers: int, queue: Any) -> None:
    """Child process: `scrapers` threads, each a keep-alive connection, for `seconds`."""
    until = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_scraper, args=(port, until, latencies, errors))
        for _ in range(scrapers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((latencies, errors))


def phase(interval_seconds: float, duration: float, scrapers: int) -> dict[str, Any]:
    """Serve 1000 jobs run every `interval_seconds`, scrape for `duration`; the numbers."""
    probe = FakeProbe()
    jobs = [
        Scheduled(
            Job(
                probe,
                Target(f"router-{n // 2}/10.{n // 250}.{n % 250}.2", f"router-{n // 2}", None, 5),
                (FakeCheck("bgp.peer_established"),),
            ),
            interval_seconds,
        )
        for n in range(200)
    ] + [
        Scheduled(
            Job(probe, Target(f"svc-{n}/10.9.{n // 250}.{n % 250}:636", f"svc-{n}", None, 5),
                (FakeCheck("tcp.port_open"),)),
            interval_seconds,
        )
        for n in range(800)
    ]  # fmt: skip
    store = ResultStore()
    io = DeviceIO()
    # Spread first runs over the whole interval so runs keep landing evenly while scraping.
    spread = min(interval_seconds, 10.0)
    scheduler = Scheduler(jobs, store, initial_spread_seconds=spread, io=io, max_workers=32)
    app = ExporterApp(store, io=io, ready=store.ready)
    assert app.exposition is not None
    server, _ = start_server(app, "127.0.0.1:0")
    stop = threading.Event()
    scheduler.start()
    while not store.ready():
        time.sleep(0.1)
    time.sleep(0.2)
    app.metrics_body(ACCEPT, True)
    # What a render costs (paid in the background thread, never by a scrape).
    store.put(jobs[0].key, store.snapshot().records[0].results, 0.0)
    began = time.perf_counter()
    body, _ = app.metrics_body(ACCEPT)
    render_ms = (time.perf_counter() - began) * 1000
    app.start_background_render(stop)
    runs_before = scheduler.runs
    queue: Any = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(
        target=_load, args=(server.port, duration, scrapers, queue)
    )
    child.start()
    latencies, errors = queue.get()
    child.join()
    runs_during = scheduler.runs - runs_before
    stop.set()
    scheduler.stop(grace_seconds=2)
    server.shutdown()
    server.server_close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "check_interval_seconds": interval_seconds,
        "results_served": sum(len(r.results) for r in store.snapshot().records),
        "body_bytes_uncompressed": len(body),
        "scrapers": scrapers,
        "duration_seconds": duration,
        "scrapes": len(latencies),
        "errors": len(errors),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "render_ms": round(render_ms, 1),
        "scheduled_runs_during_scrapes": runs_during,
        "renders": app.exposition.renders,
        "probe_collects_caused_by_scrapes": probe.from_elsewhere,
    }


def main() -> int:
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    scrapers = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    reports = [
        phase(3600.0, duration, scrapers),  # results unchanged while scraping
        phase(5.0, duration, scrapers),  # 200 results land per second while scraping
    ]
    print(json.dumps(reports, indent=2))
    ok = all(
        r["p99_ms"] < 50 and r["probe_collects_caused_by_scrapes"] == 0 and not r["errors"]
        for r in reports
    )
    print("PASS" if ok else "FAIL: p99 >= 50 ms, errors, or scrapes caused device I/O")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

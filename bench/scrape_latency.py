"""Scrape latency of `holdtime serve` under 20 concurrent scrapers, and device I/O they cause.

The exporter schedules 1000 jobs (800 tcp-shaped, 200 BGP peers with every domain field) on a
counting probe with a one-hour interval; once every job has run, 20 scraper threads in a
separate process (so they do not share the server's GIL) scrape /metrics over keep-alive
connections, as Prometheus does (gzip, OpenMetrics Accept header), for DURATION seconds.

Run: .venv/bin/python bench/scrape_latency.py [DURATION_SECONDS] [SCRAPERS] [TRICKLERS]
Two phases: results static while scraping (interval 1 h), and churn (interval 5 s: 200
results land per second, so the store changes under the scrapers and is re-rendered in the
background). Targets: p99 under 50 ms, 0 probe collect calls caused by scrapes.

Then two phases on a one-result store: `keepalive` (one client, 500 sequential scrapes on one
kept-alive connection: what each Prometheus scrape costs; ~44 ms before responses left in one
write on a TCP_NODELAY socket) and `slowloris` (TRICKLERS connections, default 2000, each
sending its request head a byte at a time, then all closing, half with an RST: the server's
thread count, and how long a normal scrape takes during and right after).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import socket
import statistics
import struct
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


def _small_store() -> ResultStore:
    store = ResultStore()
    store.register(
        "bench:a", collector="bench", target="a", device="a", checks=["tcp.port_open"],
        interval_seconds=60,
    )  # fmt: skip
    store.put("bench:a", [CheckResult("tcp.port_open", "a", Status.PASS, "ok", device="a")], 0.1)
    return store


def keepalive_phase(requests: int = 500) -> dict[str, Any]:
    """One client, sequential scrapes of a small /metrics on one kept-alive connection."""
    server, _ = start_server(ExporterApp(_small_store()), "127.0.0.1:0")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    latencies = []
    for _ in range(requests):
        began = time.perf_counter()
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
    conn.close()
    server.shutdown()
    server.server_close()
    latencies.sort()
    return {
        "phase": "keepalive",
        "sequential_scrapes_one_connection": requests,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(0.99 * len(latencies))] * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
    }


def _trickle(port: int, count: int, ready: Any, done: Any) -> None:
    """Child process: `count` connections trickling a request head until told to stop."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        socks.append(sock)
    ready.set()
    while not done.wait(0.5):
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.send(b"a")
    for index, sock in enumerate(socks):
        if index % 2:  # an RST, as a crashed client leaves
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def _one_scrape(port: int) -> tuple[int, float]:
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - began


def slowloris_phase(tricklers: int) -> dict[str, Any]:
    """`tricklers` slow connections against the default limits; scrapes during and after."""
    server, _ = start_server(ExporterApp(_small_store()), "127.0.0.1:0")
    threads_before = threading.active_count()
    context = multiprocessing.get_context("fork")
    ready, done = context.Event(), context.Event()
    began = time.perf_counter()
    child = context.Process(target=_trickle, args=(server.port, tricklers, ready, done))
    child.start()
    peak = threads_before
    while not ready.wait(0.05):
        peak = max(peak, threading.active_count())
    opened_seconds = time.perf_counter() - began
    status_during, during = _one_scrape(server.port)
    for _ in range(6):
        peak = max(peak, threading.active_count())
        time.sleep(0.5)
    done.set()
    child.join()
    status_after, after = _one_scrape(server.port)
    slots = server.slots
    server.shutdown()
    server.server_close()
    return {
        "phase": "slowloris",
        "trickling_connections": tricklers,
        "seconds_to_open_them": round(opened_seconds, 2),
        "max_connections": server.limits.max_connections,
        "threads_before": threads_before,
        "threads_peak": peak,
        "evicted": slots.evicted,
        "refused": slots.refused,
        "scrape_during_status": status_during,
        "scrape_during_ms": round(during * 1000, 1),
        "scrape_right_after_status": status_after,
        "scrape_right_after_ms": round(after * 1000, 1),
    }


def main() -> int:
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    scrapers = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    tricklers = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    reports = [
        phase(3600.0, duration, scrapers),  # results unchanged while scraping
        phase(5.0, duration, scrapers),  # 200 results land per second while scraping
    ]
    keepalive = keepalive_phase()
    slowloris = slowloris_phase(tricklers)
    print(json.dumps([*reports, keepalive, slowloris], indent=2))
    ok = all(
        r["p99_ms"] < 50 and r["probe_collects_caused_by_scrapes"] == 0 and not r["errors"]
        for r in reports
    )
    bounded = (
        slowloris["threads_peak"]
        <= slowloris["threads_before"] + 1 + (slowloris["max_connections"])
    )
    answered = (slowloris["scrape_during_status"], slowloris["scrape_right_after_status"])
    ok = ok and bounded and answered == (200, 200)
    print(
        "PASS"
        if ok
        else "FAIL: p99 >= 50 ms, errors, scrapes caused device I/O, or slowloris not bounded"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

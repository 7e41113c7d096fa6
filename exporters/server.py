"""The HTTP listener: /metrics, /probe, /-/healthy, /-/ready, with optional TLS and basic auth.

/metrics only renders the last stored results (cached per store version): a scrape never
touches a device and any number of concurrent scrapes is safe. /probe runs a target's checks on
demand within the scrape's ``X-Prometheus-Scrape-Timeout-Seconds`` budget, like
blackbox_exporter's multi-target mode. TLS handshakes happen in the per-connection thread, so a
slow or plain-HTTP client never blocks the accept loop.
"""

from __future__ import annotations

import fnmatch
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from holdtime.errors import CommandTimeout, ConfigError
from holdtime.exporters.metrics import (
    CachedExposition,
    build_info,
    check_families,
    domain_families,
    registry_for,
)
from holdtime.exporters.scheduler import DeviceIO
from holdtime.exporters.state import ResultStore
from holdtime.exporters.webconfig import WebConfig
from holdtime.models import CheckResult, Status
from holdtime.runner import Job, errors_for, execute

DEFAULT_LISTEN = "127.0.0.1:9469"
PROBE_TIMEOUT_OFFSET_SECONDS = 0.5  # answer before Prometheus gives up (blackbox uses 0.5 too)
PROBE_DEFAULT_TIMEOUT_SECONDS = 10.0
_INDEX = (
    b"<html><head><title>holdtime exporter</title></head><body><h1>holdtime exporter</h1>"
    b'<p><a href="/metrics">metrics</a> | <a href="/-/healthy">health</a> | '
    b'<a href="/-/ready">ready</a></p></body></html>\n'
)


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` -> (host, port); a bad value is a one-line ConfigError."""
    host, colon, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ConfigError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9469")
    return host, int(port_text)


@dataclass
class ExporterApp:
    """What the handler serves: the store, the scrape cache and the on-demand probe jobs."""

    store: ResultStore
    probe_jobs: Sequence[Job] = ()
    io: DeviceIO = field(default_factory=DeviceIO)
    web: WebConfig = field(default_factory=WebConfig)
    exposition: CachedExposition | None = None
    ready: Callable[[], bool] | None = None
    _probe_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.exposition is None:
            self.exposition = CachedExposition(self.store)

    def metrics_body(self, accept: str | None, gzipped: bool = False) -> tuple[bytes, str]:
        """The cached /metrics payload for this Accept header."""
        assert self.exposition is not None
        return self.exposition.body(accept, gzipped)

    def start_background_render(self, stop: threading.Event) -> threading.Thread:
        """Render /metrics in a background thread (scrapes never wait for a render)."""
        assert self.exposition is not None
        thread = threading.Thread(
            target=self.exposition.run_background, args=(stop,), name="holdtime-render"
        )
        thread.daemon = True
        thread.start()
        return thread

    def _lock_for(self, target: str) -> threading.Lock:
        with self._locks_guard:
            return self._probe_locks.setdefault(target, threading.Lock())

    def probe(self, target: str, module: str, budget_seconds: float) -> tuple[int, bytes]:
        """Run the target's checks now (at most one on-demand run per target at a time)."""
        patterns = [p.strip() for p in module.split(",") if p.strip()] or ["*"]
        jobs = []
        for job in self.probe_jobs:
            if target not in (job.target.name, job.target.device):
                continue
            checks = tuple(
                c for c in job.checks if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)
            )
            if checks:
                jobs.append(replace(job, checks=checks))
        if not jobs:
            return 400, f"unknown target {target!r} or no check matches {module!r}\n".encode()
        began = time.monotonic()
        results: list[CheckResult] = []
        locks = [self._lock_for(name) for name in sorted({j.target.name for j in jobs})]
        acquired: list[threading.Lock] = []
        try:
            for lock in locks:
                if not lock.acquire(timeout=budget_seconds):
                    break
                acquired.append(lock)
            if len(acquired) != len(locks):
                busy = CommandTimeout(f"{target}: another probe of it is still running")
                for job in jobs:
                    results.extend(errors_for(job, busy, time.monotonic() - began))
            else:
                remaining = max(0.05, budget_seconds - (time.monotonic() - began))
                results = execute(
                    [self.io.wrap(job) for job in jobs],
                    max_workers=len(jobs),
                    run_deadline_seconds=remaining,
                )
        finally:
            for lock in acquired:
                lock.release()
        return 200, _render_probe(results, time.monotonic() - began)


def _render_probe(results: Sequence[CheckResult], duration_seconds: float) -> bytes:
    from prometheus_client import generate_latest
    from prometheus_client.core import GaugeMetricFamily

    now = time.time()
    success = GaugeMetricFamily(
        "holdtime_probe_success", "1 when every check of the probe passed (or warned)."
    )
    success.add_metric(
        [], 1.0 if all(r.status in (Status.PASS, Status.WARN) for r in results) else 0.0
    )
    took = GaugeMetricFamily(
        "holdtime_probe_duration_seconds", "How long the on-demand probe took."
    )
    took.add_metric([], duration_seconds)
    families = [
        build_info(),
        success,
        took,
        *check_families((r, now) for r in results),
        *domain_families((r, now) for r in results),
    ]
    return bytes(generate_latest(registry_for(families)))


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    protocol_version = "HTTP/1.1"  # keep-alive: Prometheus reuses its scrape connection
    timeout = 60  # drop idle keep-alive connections
    server_version = "holdtime"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # access logs would drown the scheduler's output; Prometheus has its own view

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        app = self.server.app
        auth = app.web.basic_auth
        if auth is not None and not auth.check(self.headers.get("Authorization")):
            self._send(
                HTTPStatus.UNAUTHORIZED,
                b"Unauthorized\n",
                headers=[("WWW-Authenticate", 'Basic realm="holdtime"')],
            )
            return
        url = urlsplit(self.path)
        if url.path == "/metrics":
            gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "")
            body, content_type = app.metrics_body(self.headers.get("Accept"), gzipped)
            headers = [("Content-Encoding", "gzip")] if gzipped else []
            self._send(HTTPStatus.OK, body, content_type, headers)
        elif url.path == "/probe":
            self._probe(url.query)
        elif url.path == "/-/healthy":
            self._send(HTTPStatus.OK, b"Healthy\n")
        elif url.path == "/-/ready":
            ready = app.ready() if app.ready is not None else True
            if ready:
                self._send(HTTPStatus.OK, b"Ready\n")
            else:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"Not ready: first runs pending\n")
        elif url.path == "/":
            self._send(HTTPStatus.OK, _INDEX, "text/html; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n")

    def _probe(self, query: str) -> None:
        params = parse_qs(query)
        target = (params.get("target") or [""])[0]
        if not target:
            self._send(HTTPStatus.BAD_REQUEST, b"target parameter is missing\n")
            return
        module = (params.get("module") or ["*"])[0]
        header = self.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
        try:
            scrape_timeout = float(header) if header else PROBE_DEFAULT_TIMEOUT_SECONDS
        except ValueError:
            self._send(HTTPStatus.BAD_REQUEST, b"bad X-Prometheus-Scrape-Timeout-Seconds\n")
            return
        budget = max(0.1, scrape_timeout - PROBE_TIMEOUT_OFFSET_SECONDS)
        code, body = self.server.app.probe(target, module, budget)
        content_type = "text/plain; version=0.0.4; charset=utf-8"
        self._send(code, body, content_type if code == 200 else "text/plain; charset=utf-8")


class ExporterServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with TLS in the connection thread and a gzip cache."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # 20+ concurrent scrapers connect at once

    def __init__(self, address: tuple[str, int], app: ExporterApp) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.ssl_context: ssl.SSLContext | None = (
            app.web.tls.context() if app.web.tls is not None else None
        )
        try:
            super().__init__(address, _Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {address[0]}:{address[1]}: {exc.strerror}"
            ) from None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10.0)  # a client that never finishes its handshake
        try:
            wrapped = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # plain HTTP or a bad client certificate: refused at the handshake
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


def start_server(app: ExporterApp, listen: str) -> tuple[ExporterServer, threading.Thread]:
    """Bind and serve in a background thread; returns the server and its thread."""
    server = ExporterServer(parse_listen(listen), app)
    thread = threading.Thread(target=server.serve_forever, name="holdtime-http", daemon=True)
    thread.start()
    return server, thread

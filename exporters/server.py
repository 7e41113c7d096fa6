"""The HTTP listener: /metrics, /probe, /-/healthy, /-/ready, with optional TLS and basic auth.

/metrics only renders the last stored results (cached per store version): a scrape never
touches a device and any number of concurrent scrapes is safe. /probe runs a target's checks on
demand within the scrape's ``X-Prometheus-Scrape-Timeout-Seconds`` budget, like
blackbox_exporter's multi-target mode. TLS handshakes happen in the per-connection thread, so a
slow or plain-HTTP client never blocks the accept loop.

Connections are bounded and timed (`holdtime.exporters.connections`): at most
`max_connections` threads, a request head must arrive within its deadline however slowly it
trickles, and a client that disconnects mid-response is one debug line, never a traceback.
Each response leaves in one write on a TCP_NODELAY socket: headers and body in two writes would
wait for the client's delayed ACK (~40 ms per keep-alive scrape).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import logging
import math
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from holdtime.errors import CommandTimeout, ConfigError
from holdtime.exporters.connections import Connection, ConnectionLimits, ConnectionSlots
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
PROBE_MAX_TIMEOUT_SECONDS = 300.0  # a larger (or infinite) scrape timeout header is clamped to it
REFUSAL_LOG_EVERY_SECONDS = 60.0
_log = logging.getLogger(__name__)
_thread = threading.local()  # .connection: the Connection this thread serves
_INDEX = (
    b"<html><head><title>holdtime exporter</title></head><body><h1>holdtime exporter</h1>"
    b'<p><a href="/metrics">metrics</a> | <a href="/-/healthy">health</a> | '
    b'<a href="/-/ready">ready</a></p></body></html>\n'
)


# [::1]:9469, [fe80::1%eth0]:9469
_BRACKETED = re.compile(r"\[(?P<host>[^\[\]]+)\]:(?P<port>[0-9]{1,5})")
# 127.0.0.1:9469, exporter.example.net:9469
_PLAIN = re.compile(r"(?P<host>[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` -> (host, port); a bad value is a one-line ConfigError."""
    bracketed = _BRACKETED.fullmatch(text)
    match = bracketed or _PLAIN.fullmatch(text)
    problem = ""
    if match is None:
        if text.startswith("[") and "]" not in text:
            problem = "no ']' closes the IPv6 address, "
        elif text.count(":") > 1 and not text.startswith("["):
            problem = "an IPv6 address goes in brackets, "
    elif int(match["port"]) > 65535:
        problem = f"port {match['port']} is above 65535, "
    elif bracketed is not None and not _is_ipv6(match["host"]):
        problem = f"{match['host']!r} is not an IPv6 address, "
    if match is None or problem:
        raise ConfigError(
            f"--listen {text!r}: {problem}expected HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9469"
        )
    return match["host"], int(match["port"])


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def probe_budget(header: str | None) -> float:
    """Seconds a /probe may take, from `X-Prometheus-Scrape-Timeout-Seconds`.

    Minus PROBE_TIMEOUT_OFFSET_SECONDS so the answer beats Prometheus' own timeout. A missing,
    unreadable, zero, negative or NaN header means the default; a huge or infinite one is
    clamped to PROBE_MAX_TIMEOUT_SECONDS (a lock or deadline cannot wait for 1e308 s).
    """
    try:
        seconds = float(header) if header else PROBE_DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        seconds = PROBE_DEFAULT_TIMEOUT_SECONDS
    if math.isnan(seconds) or seconds <= 0:
        seconds = PROBE_DEFAULT_TIMEOUT_SECONDS
    seconds = min(seconds, PROBE_MAX_TIMEOUT_SECONDS)
    return max(0.1, seconds - PROBE_TIMEOUT_OFFSET_SECONDS)


@dataclass
class ExporterApp:
    """What the handler serves: the store, the scrape cache and the on-demand probe jobs."""

    store: ResultStore | None = None  # None: the body comes from elsewhere (exposition)
    probe_jobs: Sequence[Job] = ()
    io: DeviceIO = field(default_factory=DeviceIO)
    web: WebConfig = field(default_factory=WebConfig)
    exposition: CachedExposition | None = None
    ready: Callable[[], bool] | None = None
    _probe_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.exposition is None and self.store is not None:
            self.exposition = CachedExposition(self.store)

    def metrics_body(self, accept: str | None, gzipped: bool = False) -> tuple[bytes, str] | None:
        """The cached /metrics payload for this Accept header (None: none can be served)."""
        if self.exposition is None:
            return None
        return self.exposition.body(accept, gzipped)

    def unavailable_reason(self) -> str:
        """Why metrics_body gave nothing (one line, the body of the 503)."""
        return "No metrics to serve\n"

    def not_ready_reason(self) -> str:
        """The body of /-/ready's 503."""
        return "Not ready: first runs pending\n"

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

    def probe_jobs_for(self, target: str, module: str) -> list[Job]:
        """The jobs (restricted to the matching checks) a /probe of `target` and `module` runs."""
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
        return jobs

    def probe(self, target: str, module: str, budget_seconds: float) -> tuple[int, bytes]:
        """Run the target's checks now (at most one on-demand run per target at a time)."""
        jobs = self.probe_jobs_for(target, module)
        if not jobs:
            return unknown_probe(target, module)
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


def unknown_probe(target: str, module: str) -> tuple[int, bytes]:
    """The answer to a /probe that matches no target or no check."""
    return 400, f"unknown target {target!r} or no check matches {module!r}\n".encode()


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
    server_version = "holdtime"
    disable_nagle_algorithm = True  # TCP_NODELAY: a response never waits for a delayed ACK

    def setup(self) -> None:
        super().setup()
        # per-recv timeout: only a backstop, the connection deadlines are shorter
        self.connection.settimeout(self.server.socket_timeout_seconds)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # access logs would drown the scheduler's output; Prometheus has its own view

    def handle_one_request(self) -> None:
        self.server.slots.waiting(_thread.connection)
        super().handle_one_request()

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        status = HTTPStatus(code)
        lines = [
            f"{self.protocol_version} {status.value} {status.phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            *(f"{name}: {value}" for name, value in headers),
            f"Content-Length: {len(body)}",
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.server.slots.sending(_thread.connection)
        # one write: headers and body in two would meet Nagle and the client's delayed ACK
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.server.slots.working(_thread.connection)
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
            payload = app.metrics_body(self.headers.get("Accept"), gzipped)
            if payload is None:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, app.unavailable_reason().encode())
                return
            body, content_type = payload
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
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, app.not_ready_reason().encode())
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
        budget = probe_budget(self.headers.get("X-Prometheus-Scrape-Timeout-Seconds"))
        code, body = self.server.app.probe(target, module, budget)
        content_type = "text/plain; version=0.0.4; charset=utf-8"
        self._send(code, body, content_type if code == 200 else "text/plain; charset=utf-8")


class ExporterServer(HTTPServer):
    """An HTTP server with one thread per connection, at most `limits.max_connections`."""

    allow_reuse_address = True
    request_queue_size = 1024  # a burst of connections waits in the kernel, not in SYN retries

    def __init__(
        self, address: tuple[str, int], app: ExporterApp, limits: ConnectionLimits | None = None
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.limits = limits or ConnectionLimits()
        self.slots = ConnectionSlots(self.limits)
        self.socket_timeout_seconds = 5.0 + max(
            self.limits.idle_timeout_seconds,
            self.limits.head_timeout_seconds,
            self.limits.send_timeout_seconds,
        )
        self._last_refusal_log = -math.inf
        self.ssl_context: ssl.SSLContext | None = (
            app.web.tls.context() if app.web.tls is not None else None
        )
        try:
            super().__init__(address, _Handler)
        except OSError as exc:
            host = f"[{address[0]}]" if ":" in address[0] else address[0]
            raise ConfigError(
                f"--listen '{host}:{address[1]}': cannot listen there: {exc.strerror}"
            ) from None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        """Give the connection a slot and a thread, or refuse it when every slot is busy."""
        peer = _peer(client_address)
        connection = self.slots.admit(request, peer)
        if connection is None:
            self._refuse(request, peer)
            return
        thread = threading.Thread(
            target=self._serve_connection,
            args=(connection, client_address),
            name="holdtime-http-connection",
            daemon=True,
        )
        thread.start()

    def _serve_connection(self, connection: Connection, client_address: Any) -> None:
        _thread.connection = connection
        try:
            if self.ssl_context is not None:
                connection.sock.settimeout(self.limits.head_timeout_seconds)
                # plain HTTP or a bad client certificate is refused here (an OSError)
                connection.sock = self.ssl_context.wrap_socket(connection.sock, server_side=True)
            self.finish_request(connection.sock, client_address)
        except Exception:
            self.handle_error(connection.sock, client_address)
        finally:
            self.shutdown_request(connection.sock)
            self.slots.release(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line per failed connection, never socketserver's traceback on stderr."""
        error = sys.exc_info()[1]
        peer = _peer(client_address)
        if isinstance(error, OSError):  # BrokenPipe, ConnectionReset, TLS refusals, timeouts
            _log.debug("client %s disconnected: %s", peer, error or "closed")
        else:
            _log.error("holdtime serve: error serving %s: %r", peer, error)

    def _refuse(self, request: socket.socket, peer: str) -> None:
        now = time.monotonic()
        if now - self._last_refusal_log >= REFUSAL_LOG_EVERY_SECONDS:
            self._last_refusal_log = now
            _log.warning(
                "holdtime serve: all %d connections busy with requests, refusing %s "
                "(%d refused so far; see --max-connections)",
                self.limits.max_connections,
                peer,
                self.slots.refused,
            )
        try:
            if self.ssl_context is None:
                request.setblocking(False)  # never let a refusal stall the accept loop
                request.send(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 21\r\n"
                    b"Connection: close\r\n\r\nToo many connections\n"
                )
        except OSError:
            pass
        self.shutdown_request(request)

    def service_actions(self) -> None:
        """Called by serve_forever every poll interval: close overdue connections."""
        self.slots.reap()

    def server_close(self) -> None:
        super().server_close()
        self.slots.close_all()


def _peer(client_address: Any) -> str:
    if isinstance(client_address, tuple) and len(client_address) >= 2:
        host, port = client_address[0], client_address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(client_address)


def start_server(
    app: ExporterApp, listen: str, limits: ConnectionLimits | None = None
) -> tuple[ExporterServer, threading.Thread]:
    """Bind and serve in a background thread; returns the server and its thread."""
    server = ExporterServer(parse_listen(listen), app, limits)
    thread = threading.Thread(target=server.serve_forever, name="holdtime-http", daemon=True)
    thread.start()
    return server, thread

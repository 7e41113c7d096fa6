"""The HTTP listener for real on loopback: /metrics, /probe, health, TLS and basic auth."""

from __future__ import annotations

import base64
import gzip
import http.client
import logging
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from holdtime.errors import ConfigError
from holdtime.exporters.connections import ConnectionLimits
from holdtime.exporters.server import (
    ExporterApp,
    ExporterServer,
    parse_listen,
    probe_budget,
    start_server,
)
from holdtime.exporters.state import ResultStore
from holdtime.exporters.webconfig import WebConfig, load_web_config
from holdtime.models import CheckResult, Status
from holdtime.plugins import CheckDescription, Target
from holdtime.runner import Job


@dataclass
class CountingProbe:
    """Answers 'ok' (or hangs for targets in `hang`), counting collect calls."""

    name: str = "counting"
    section: None = None  # reads no inventory section
    hang: frozenset[str] = frozenset()
    release: threading.Event = field(default_factory=threading.Event)
    calls: int = 0

    def targets(self, inventory: Any) -> Sequence[Target]:
        return []

    def collect(self, target: Target, timeout_seconds: float) -> object:
        self.calls += 1
        if target.name in self.hang:
            self.release.wait(10)
        return "ok"


@dataclass
class OkCheck:
    """PASS with the observation as summary."""

    name: str = "counting.ok"
    probe: str = "counting"

    def describe(self) -> CheckDescription:
        return CheckDescription(self.name, self.probe, "ok", "nothing")

    def evaluate(self, target: Target, observation: Any) -> Sequence[CheckResult]:
        return [CheckResult(self.name, target.name, Status.PASS, "ok", device=target.device)]


def _jobs(probe: CountingProbe, *names: str) -> list[Job]:
    return [Job(probe, Target(n, n, None, timeout_seconds=30.0), (OkCheck(),)) for n in names]


def _store_with_one_pass() -> ResultStore:
    store = ResultStore()
    store.register(
        "counting:a", collector="counting", target="a", device="a", checks=["counting.ok"],
        interval_seconds=60,
    )  # fmt: skip
    store.put("counting:a", [CheckResult("counting.ok", "a", Status.PASS, "ok", device="a")], 0.1)
    return store


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start ExporterServers on free loopback ports; shut them all down afterwards."""
    servers: list[ExporterServer] = []

    def start(app: ExporterApp) -> ExporterServer:
        server, _ = start_server(app, "127.0.0.1:0")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def test_concurrent_scrapes_never_collect(serve: Any) -> None:
    """50 scrapes from 10 threads all answer 200 with the stored PASS and call no probe."""
    probe = CountingProbe()
    server = serve(ExporterApp(_store_with_one_pass(), probe_jobs=_jobs(probe, "a")))
    codes: list[int] = []
    bodies: list[bool] = []

    def scraper() -> None:
        for _ in range(5):
            code, body, _ = _get(server.port, "/metrics")
            codes.append(code)
            bodies.append(b'status="pass",target="a"} 1.0' in body)

    threads = [threading.Thread(target=scraper) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ([200] * 50, [True] * 50, 0) == (codes, bodies, probe.calls)


def test_metrics_gzip_when_accepted(serve: Any) -> None:
    """With Accept-Encoding: gzip the body is gzip of the plain one."""
    server = serve(ExporterApp(_store_with_one_pass()))
    _, plain, _ = _get(server.port, "/metrics")
    _, packed, headers = _get(server.port, "/metrics", {"Accept-Encoding": "gzip"})
    assert ("gzip", plain) == (headers["Content-Encoding"], gzip.decompress(packed))


def test_health_ready_and_unknown_paths(serve: Any) -> None:
    """/-/healthy is 200; /-/ready is 503 until every job ran; unknown paths are 404."""
    store = ResultStore()
    store.register(
        "counting:a", collector="counting", target="a", device="a", checks=["counting.ok"],
        interval_seconds=60,
    )  # fmt: skip
    server = serve(ExporterApp(store, ready=store.ready))
    before = _get(server.port, "/-/ready")[0]
    store.put("counting:a", [], 0.0)
    assert (200, 503, 200, 404) == (
        _get(server.port, "/-/healthy")[0],
        before,
        _get(server.port, "/-/ready")[0],
        _get(server.port, "/nope")[0],
    )


def test_probe_runs_the_target_now(serve: Any) -> None:
    """/probe?target=a runs its checks on demand and reports success."""
    probe = CountingProbe()
    server = serve(ExporterApp(ResultStore(), probe_jobs=_jobs(probe, "a", "b")))
    code, body, _ = _get(server.port, "/probe?target=a&module=counting.*")
    assert (200, 1, True, True) == (
        code,
        probe.calls,
        b"holdtime_probe_success 1.0" in body,
        b'status="pass",target="a"} 1.0' in body,
    )


def test_probe_answers_within_the_scrape_timeout(serve: Any) -> None:
    """A hung target answers ERROR before Prometheus' scrape timeout (header) runs out."""
    probe = CountingProbe(hang=frozenset({"hung"}))
    server = serve(ExporterApp(ResultStore(), probe_jobs=_jobs(probe, "hung")))
    began = time.monotonic()
    try:
        code, body, _ = _get(
            server.port, "/probe?target=hung", {"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}
        )
    finally:
        probe.release.set()
    took = time.monotonic() - began
    assert (200, True, True) == (
        code,
        b'status="error",target="hung"} 1.0' in body,
        0.9 <= took < 1.4,
    ), took


def test_probe_unknown_target_is_400(serve: Any) -> None:
    """An unknown target or no matching module is a 400 naming it."""
    server = serve(ExporterApp(ResultStore(), probe_jobs=_jobs(CountingProbe(), "a")))
    code, body, _ = _get(server.port, "/probe?target=zz")
    assert (400, b"unknown target 'zz' or no check matches '*'\n") == (code, body)


def test_parse_listen_accepts_v4_v6_and_rejects_garbage() -> None:
    """HOST:PORT and [V6]:PORT parse; anything else is a one-line ConfigError."""
    with pytest.raises(ConfigError, match=r"--listen '9469': expected HOST:PORT"):
        parse_listen("9469")
    assert (("127.0.0.1", 9469), ("::1", 0), ("fe80::1%lo", 80), ("exporter.lan", 9469)) == (
        parse_listen("127.0.0.1:9469"),
        parse_listen("[::1]:0"),
        parse_listen("[fe80::1%lo]:80"),
        parse_listen("exporter.lan:9469"),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[::1", "no ']' closes the IPv6 address, "),
        ("::1:9469", "an IPv6 address goes in brackets, "),
        ("[::1]", ""),
        ("[127.0.0.1]:80", "'127.0.0.1' is not an IPv6 address, "),
        ("127.0.0.1:65536", "port 65536 is above 65535, "),
        ("127.0.0.1:+80", ""),
        ("host :80", ""),
        ("", ""),
    ],
)
def test_malformed_listen_values_name_the_flag(text: str, problem: str) -> None:
    """Each malformed --listen value is one line naming the flag, the value and the fix."""
    with pytest.raises(ConfigError) as caught:
        parse_listen(text)
    assert (
        f"--listen {text!r}: {problem}expected HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9469"
    ) == str(caught.value)


@pytest.mark.parametrize(
    ("header", "budget"),
    [
        (None, 9.5),
        ("15", 14.5),
        ("0.3", 0.1),
        ("inf", 299.5),
        ("1e308", 299.5),
        ("1e400", 299.5),
        ("nan", 9.5),
        ("-5", 9.5),
        ("-inf", 9.5),
        ("0", 9.5),
        ("garbage", 9.5),
        ("", 9.5),
    ],
)
def test_scrape_timeout_header_is_clamped_or_ignored(header: str | None, budget: float) -> None:
    """The /probe budget is finite and positive whatever the scrape-timeout header says."""
    assert budget == probe_budget(header)


def test_a_client_disconnect_is_one_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    """A BrokenPipe while serving becomes one DEBUG record naming the client, no traceback."""
    server = ExporterServer(("127.0.0.1", 0), ExporterApp(ResultStore()))
    try:
        with caplog.at_level(logging.DEBUG, logger="holdtime.exporters.server"):
            try:
                raise BrokenPipeError(32, "Broken pipe")
            except BrokenPipeError:
                server.handle_error(None, ("127.0.0.1", 40000))
    finally:
        server.server_close()
    assert [("DEBUG", "client 127.0.0.1:40000 disconnected: [Errno 32] Broken pipe", None)] == [
        (r.levelname, r.getMessage(), r.exc_info) for r in caplog.records
    ]


def _serve_limited(app: ExporterApp, limits: ConnectionLimits) -> ExporterServer:
    server, _ = start_server(app, "127.0.0.1:0", limits)
    return server


def test_a_request_head_trickling_past_its_deadline_is_cut(serve: Any) -> None:
    """A client sending its head a byte at a time is disconnected at the head timeout."""
    server = _serve_limited(ExporterApp(ResultStore()), ConnectionLimits(head_timeout_seconds=1))
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        cut_after = None
        began = time.monotonic()
        try:
            for _ in range(40):  # 8 s of trickling if nobody cuts it
                sock.send(b"G")
                time.sleep(0.2)
        except OSError:
            cut_after = time.monotonic() - began
        sock.close()
    finally:
        server.shutdown()
        server.server_close()
    assert (True, 1, 0) == (cut_after is not None, server.slots.timed_out, len(server.slots)), (
        cut_after
    )


def test_when_every_slot_is_working_a_new_connection_gets_503(serve: Any) -> None:
    """Two hung /probe requests fill max_connections=2: a third client is refused with 503."""
    probe = CountingProbe(hang=frozenset({"hung"}))
    app = ExporterApp(ResultStore(), probe_jobs=_jobs(probe, "hung"))
    server = _serve_limited(app, ConnectionLimits(max_connections=2))
    hung = []
    try:
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(
                b"GET /probe?target=hung HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 20"
                b"\r\n\r\n"
            )
            hung.append(sock)
        while sum(c.state == "working" for c in list(server.slots._open)) < 2:
            time.sleep(0.05)
        code, body, _ = _get(server.port, "/-/healthy")
    finally:
        probe.release.set()
        for sock in hung:
            sock.close()
        server.shutdown()
        server.server_close()
    assert (503, b"Too many connections\n", 1) == (code, body, server.slots.refused)


def test_a_new_connection_evicts_the_longest_idle_one(serve: Any) -> None:
    """max_connections=2 held by idle clients: a scrape still answers; the oldest is closed."""
    server = _serve_limited(
        ExporterApp(_store_with_one_pass()), ConnectionLimits(max_connections=2)
    )
    try:
        oldest = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        time.sleep(0.1)
        newer = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        while len(server.slots) < 2:
            time.sleep(0.05)
        code, _, _ = _get(server.port, "/metrics")
        evicted = oldest.recv(1)  # b"": closed by the server
        newer.close()
        oldest.close()
    finally:
        server.shutdown()
        server.server_close()
    assert (200, b"", 1) == (code, evicted, server.slots.evicted)


def test_responses_go_out_on_a_tcp_nodelay_socket(serve: Any) -> None:
    """The server side of a connection has TCP_NODELAY set (no wait for a delayed ACK)."""
    server = serve(ExporterApp(_store_with_one_pass()))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/-/healthy")
    conn.getresponse().read()
    (connection,) = list(server.slots._open)
    nodelay = connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    conn.close()
    assert 1 == nodelay


# --- TLS and basic auth, with a real openssl certificate -------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed cert for 127.0.0.1 and a web-config with TLS and one bcrypt user."""
    directory = tmp_path_factory.mktemp("webcfg")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(directory / "server.key"), "-out", str(directory / "server.crt"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    (directory / "web.yml").write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    return directory


def _https_get(port: int, cafile: Path, user: str | None, password: str = "") -> int:
    context = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    try:
        conn.request("GET", "/metrics", headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_tls_with_basic_auth_accepts_only_the_right_password(serve: Any, tls_files: Path) -> None:
    """Over TLS: right password 200, wrong password 401, no credentials 401."""
    web = load_web_config(tls_files / "web.yml")
    server = serve(ExporterApp(_store_with_one_pass(), web=web))
    ca = tls_files / "server.crt"
    assert (200, 401, 401, 200) == (
        _https_get(server.port, ca, "prometheus", "s3cret"),
        _https_get(server.port, ca, "prometheus", "wrong"),
        _https_get(server.port, ca, None),
        _https_get(server.port, ca, "prometheus", "s3cret"),  # cached verification
    )


def test_tls_listener_refuses_plain_http(serve: Any, tls_files: Path) -> None:
    """A plain-HTTP request to the TLS listener gets no HTTP answer: the connection drops."""
    server = serve(ExporterApp(_store_with_one_pass(), web=load_web_config(tls_files / "web.yml")))
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        _get(server.port, "/metrics")


def test_tls_listener_is_not_trusted_without_its_ca(serve: Any, tls_files: Path) -> None:
    """A client verifying against the system CAs rejects the self-signed certificate."""
    server = serve(ExporterApp(_store_with_one_pass(), web=load_web_config(tls_files / "web.yml")))
    conn = http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=ssl.create_default_context(), timeout=5
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/metrics")
    conn.close()


def test_basic_auth_without_tls_still_requires_the_password(serve: Any) -> None:
    """basic_auth_users alone (no TLS) protects the plain listener too."""
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))
    from holdtime.exporters.webconfig import BasicAuth

    server = serve(
        ExporterApp(_store_with_one_pass(), web=WebConfig(basic_auth=BasicAuth({"u": hashed})))
    )
    good = "Basic " + base64.b64encode(b"u:pw").decode()
    assert (401, 200) == (
        _get(server.port, "/metrics")[0],
        _get(server.port, "/metrics", {"Authorization": good})[0],
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tls_server_config:\n  cert_file: a.crt\n", "tls_server_config.key_file is required"),
        ("basic_auth_users:\n  u: plain\n", "basic_auth_users.u: expected a bcrypt hash"),
        ("http_server_config: {}\n", "unsupported key(s) http_server_config"),
        ("tls_server_config: [\n", "web.yml:2: not valid YAML"),
    ],
)
def test_bad_web_config_is_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    """Every web-config mistake is a one-line ConfigError naming the file."""
    path = tmp_path / "web.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert (True, True, 1) == (
        message in str(caught.value),
        str(path) in str(caught.value),
        len(str(caught.value).splitlines()),
    )


def test_missing_certificate_file_is_config_error(tmp_path: Path) -> None:
    """A web-config naming absent cert files fails at start with a ConfigError naming them."""
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: no.crt\n  key_file: no.key\n")
    web = load_web_config(path)
    with pytest.raises(ConfigError, match=r"cannot load TLS certificate .*no\.crt"):
        ExporterServer(("127.0.0.1", 0), ExporterApp(ResultStore(), web=web))


class _HugeMetrics(ExporterApp):
    """/metrics of 64 MB: more than any socket buffer holds."""

    def metrics_body(self, accept: str | None, gzipped: bool = False) -> tuple[bytes, str]:
        return b"#" * (64 << 20), "text/plain"


def test_a_client_that_never_reads_its_answer_is_cut_at_the_send_timeout(serve: Any) -> None:
    """A slow reader holding a slot in 'sending' is disconnected at the send timeout."""
    server = _serve_limited(_HugeMetrics(ResultStore()), ConnectionLimits(send_timeout_seconds=1))
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 20
        while server.slots.timed_out == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        while len(server.slots) and time.monotonic() < deadline:
            time.sleep(0.1)
        sock.close()
    finally:
        server.shutdown()
        server.server_close()
    assert (1, 0) == (server.slots.timed_out, len(server.slots))

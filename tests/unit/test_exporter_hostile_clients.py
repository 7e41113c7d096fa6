"""Hostile HTTP clients against a real `holdtime serve` process on 127.0.0.1, real sockets."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))


@dataclass
class Serve:
    """A running `holdtime serve` and the port it listens on."""

    process: subprocess.Popen[bytes]
    port: int

    def threads(self) -> int:
        """The server process' thread count, from /proc."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]

    def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit code and everything it wrote to stderr."""
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err.decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(inventory: Path, *flags: str, prefix: tuple[str, ...] = ()) -> Serve:
    port = _free_port()
    process = subprocess.Popen(
        [*prefix, HOLDTIME, "serve", "-i", str(inventory), "--listen", f"127.0.0.1:{port}",
         "--interval", "5", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as answer:
                if answer.status == 200:
                    return Serve(process, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"holdtime serve not ready: {process.communicate()[1].decode()}")


@pytest.fixture
def serve(inventory: Path) -> Iterator[list[Serve]]:
    """Started servers (append with `_start`); killed if a test left one running."""
    started: list[Serve] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate()


def _scrape(port: int) -> tuple[int, bytes, float]:
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        return response.status, response.read(), time.perf_counter() - began
    finally:
        conn.close()


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a client that crashed or gave up does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_flood_of_trickling_connections_keeps_threads_bounded(
    inventory: Path, serve: list[Serve]
) -> None:
    """1500 slowloris connections: threads stay under the cap, scrapes answer, no traceback."""
    server = _start(inventory, "--max-connections", "100")
    serve.append(server)
    baseline = server.threads()
    trickling: list[socket.socket] = []
    peak = baseline
    for n in range(1500):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # already evicted: that is the point
            sock.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        trickling.append(sock)
        if n % 100 == 0:
            peak = max(peak, server.threads())
    during, body_during, _ = _scrape(server.port)
    for _ in range(4):  # keep trickling: one byte per connection per round
        for sock in trickling:
            with contextlib.suppress(OSError):
                sock.send(b"a")
        peak = max(peak, server.threads())
        time.sleep(0.25)
    # half go away politely, half with an RST while the server may be answering them
    for index, sock in enumerate(trickling):
        if index % 2:
            _reset(sock)
        else:
            sock.close()
    # clients that send a full request and vanish before reading the answer (BrokenPipe)
    for _ in range(200):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        _reset(sock)
    after, body_after, took = _scrape(server.port)
    print(f"scrape right after 1500 trickling + 200 vanishing clients: {took * 1000:.1f} ms")
    code, stderr = server.stop()
    assert (200, 200, True, True) == (
        during,
        after,
        b"holdtime_check_status" in body_during,
        b"holdtime_check_status" in body_after,
    )
    assert (0, [], True) == (
        code,
        [line for line in stderr.splitlines() if "Traceback" in line or "Error" in line],
        peak <= baseline + 100 + 2,  # the cap, plus an evicted thread still on its way out
    ), (peak, baseline, stderr[-2000:])


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    inventory: Path, serve: list[Serve]
) -> None:
    """--idle-timeout 1: a kept-alive connection with no next request is closed by the server."""
    server = _start(inventory, "--idle-timeout", "1")
    serve.append(server)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"Healthy\n"):
        answer += sock.recv(4096)
    began = time.monotonic()
    closed = sock.recv(4096)  # blocks until the server closes the idle connection
    waited = time.monotonic() - began
    sock.close()
    print(f"idle keep-alive connection closed after {waited:.2f} s")
    assert (True, b"") == (answer.startswith(b"HTTP/1.1 200 OK\r\n"), closed)


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "-5", "0", "garbage", "-inf"])
def test_any_scrape_timeout_header_gets_a_probe_answer_on_the_same_connection(
    inventory: Path, serve: list[Serve], value: str
) -> None:
    """X-Prometheus-Scrape-Timeout-Seconds inf/1e308/nan/negative/garbage: 200, kept alive."""
    server = _start(inventory)
    serve.append(server)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    statuses = []
    for header in (value, "5"):  # the second request proves the connection survived
        conn.request(
            "GET", "/probe?target=svc", headers={"X-Prometheus-Scrape-Timeout-Seconds": header}
        )
        response = conn.getresponse()
        body = response.read()
        statuses.append((response.status, b"holdtime_probe_success 1.0" in body))
    sock_still_open = conn.sock is not None
    conn.close()
    code, stderr = server.stop()
    assert ([(200, True), (200, True)], True, 0, "") == (
        statuses,
        sock_still_open,
        code,
        "".join(line for line in stderr.splitlines(True) if "Traceback" in line),
    )


def test_each_keep_alive_response_leaves_in_one_write(inventory: Path, serve: list[Serve]) -> None:
    """strace of the real process: one sendto per response, headers and body together."""
    if shutil.which("strace") is None:
        pytest.skip("needs strace")
    trace = inventory.parent / "trace.txt"
    server = _start(
        inventory, prefix=("strace", "-f", "-qq", "-e", "trace=sendto,sendmsg,write",
                           "-s", "16", "-o", str(trace))
    )  # fmt: skip
    serve.append(server)
    time.sleep(0.5)  # let the readiness check's connection finish in the trace
    before = trace.read_text().count('"HTTP/1.1')
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for path in ("/metrics", "/-/healthy", "/metrics", "/"):
        conn.request("GET", path)
        conn.getresponse().read()
    conn.close()
    traced = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text()
    os.kill(int(traced.split()[0]), signal.SIGTERM)  # holdtime itself, not strace
    server.process.communicate(timeout=30)
    calls = [line for line in trace.read_text().splitlines() if re.search(r"sendto|sendmsg", line)]
    responses = [line for line in calls if '"HTTP/1.1 ' in line]
    # every send the server made is a whole response starting with its status line
    assert (4, len(calls)) == (len(responses) - before, len(responses)), calls


def test_malformed_listen_is_one_line_naming_the_flag(
    inventory: Path, listener: socket.socket
) -> None:
    """`holdtime serve --listen '[::1'`, other bad values, a busy port: one line, exit 2."""
    busy = f"127.0.0.1:{listener.getsockname()[1]}"
    outputs = []
    for value in ("[::1", "[::1]", "::1:9469", "[nothost]:80", "127.0.0.1:99999", "host:", ":",
                  "nosuch.invalid:9469", busy):  # fmt: skip
        done = subprocess.run(
            [HOLDTIME, "serve", "-i", str(inventory), "--listen", value],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines = done.stderr.splitlines()
        outputs.append(
            (
                done.returncode,
                len(lines),
                lines[0].startswith(f"holdtime: error: --listen {value!r}: "),
            )
        )
    assert [(2, 1, True)] * 9 == outputs, outputs

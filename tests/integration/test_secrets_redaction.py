"""A server that echoes the login request never gets the password into anything holdtime writes.

The "vCenter" is a small HTTPS proxy on 127.0.0.1 in front of a real vcsim: every SOAP request
goes to vcsim and back unchanged, except ``Login``, which it answers itself with a fault whose
text is the request it received, password included (vcsim's own fault envelope, with another
fault type and text: a fault no real vcsim produces). `holdtime check` and `holdtime drill` run
as a user would, in every report format; the SSH side is a real sshd whose device echoes the
login password in an error.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from vcsim_fixtures import scenarios, vcsim_binary, vcsim_site  # noqa: F401

pytestmark = pytest.mark.integration

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))  # the installed console script
PASSWORD = 's3cr&t<vc>"pw'
FORMATS = ("table", "json", "junit", "markdown", "html")

# vcsim's answer to a failed Login (recorded from vcsim-holdtime, govmomi 0.24.2), with the fault
# type and text replaced: the text is filled with the request the server received.
FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
    "<faultcode>ServerFaultCode</faultcode><faultstring>{text}</faultstring><detail>"
    '<InvalidRequestFault xmlns="urn:vim25" xsi:type="InvalidRequest"></InvalidRequestFault>'
    "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)


def _leaks(text: str) -> list[str]:
    """The spellings of PASSWORD found in text (raw, XML-escaped, JSON-escaped)."""
    forms = {PASSWORD, html.escape(PASSWORD, quote=False), json.dumps(PASSWORD)[1:-1]}
    forms |= {html.escape(PASSWORD, quote=True), "s3cr&amp;t", "s3cr&t"}
    return sorted(form for form in forms if form in text)


class EchoingVcenter(ThreadingHTTPServer):
    """HTTPS on 127.0.0.1: vcsim behind it, except that Login faults with the request's text."""

    daemon_threads = True

    def __init__(self, upstream: Any, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.upstream = upstream
        self.logins_echoed = 0
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.socket = context.wrap_socket(self.socket, server_side=True)


class _EchoHandler(BaseHTTPRequestHandler):
    server: EchoingVcenter
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Quiet: pytest shows the test's own output only."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if b"<Login " in body or b"<Login>" in body:
            request = body.decode("utf-8", errors="replace")
            login = re.search(r"<Login.*</Login>", request, re.DOTALL)
            text = "Cannot complete login: the identity source rejected " + (
                login.group(0) if login else request
            )
            self.server.logins_echoed += 1
            self._answer(500, [("Content-Type", "text/xml; charset=utf-8")], _fault(text))
            return
        upstream = self.server.upstream
        connection = http.client.HTTPSConnection(
            upstream.host, upstream.port, context=ssl._create_unverified_context(), timeout=30
        )
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        connection.request("POST", self.path, body, headers)
        response = connection.getresponse()
        data = response.read()
        passed = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        connection.close()
        self._answer(response.status, passed, data)

    def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


_HOP_BY_HOP = ("content-length", "transfer-encoding", "connection", "keep-alive")


def _fault(text: str) -> bytes:
    return FAULT.format(text=html.escape(text, quote=False)).encode("utf-8")


@pytest.fixture(scope="module")
def echoing_vcenter(vcsim_site: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:  # noqa: F811
    """The echoing proxy in front of vcsim's healthy scenario, serving a self-signed cert."""
    cert, key = scenarios.ensure_tls_cert(tmp_path_factory.mktemp("echo-tls"))
    server = EchoingVcenter(vcsim_site("healthy"), cert, key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _inventory(folder: Path, server: Any) -> Path:
    path = folder / "inventory.yaml"
    path.write_text(
        f"""version: 1
vcenters:
  - name: vc-echo
    host: 127.0.0.1
    port: {server.server_address[1]}
    username: {scenarios.USERNAME}
    password_env: HOLDTIME_TEST_ECHO_PW
    insecure: true
ping_paths:
  - name: loopback
    source: local
    destination: 127.0.0.1
    interval_seconds: 0.2
    count: 10
drills:
  vsphere-gated:
    description: gated on the vSphere checks, which cannot pass against this server
    steady_state: [nfs.*, sioc.*, vds.*]
    probes: [loopback]
    trigger: {{exec: ["true"]}}
    restore: {{exec: ["true"]}}
    budget: {{max_outage_seconds: 10, abort_outage_seconds: 30}}
    timing: {{settle_seconds: 1, observe_seconds: 1, clean_seconds: 1}}
"""
    )
    return path


def _holdtime(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOLDTIME_TEST_ECHO_PW": PASSWORD}
    return subprocess.run(
        [HOLDTIME, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=folder,
        env=env,
    )


def test_check_reports_and_stderr_never_show_an_echoed_password(
    echoing_vcenter: Any, tmp_path: Path
) -> None:
    """`holdtime check` in all five formats: the fault's text is shown, the password is ***."""
    inventory = _inventory(tmp_path, echoing_vcenter)
    outputs: dict[str, str] = {}
    codes = []
    for fmt in FORMATS:
        report = tmp_path / f"report.{fmt}"
        done = _holdtime(
            tmp_path, "check", "-i", str(inventory), "-v", "--format", fmt, "-o", str(report)
        )
        codes.append(done.returncode)
        outputs[f"{fmt} report"] = report.read_text(encoding="utf-8")
        outputs[f"{fmt} stderr"] = done.stderr
    summaries = {r["summary"] for r in json.loads(outputs["json report"])["results"]}
    assert [2] * len(FORMATS) == codes
    assert {name: [] for name in outputs} == {name: _leaks(t) for name, t in outputs.items()}
    assert 1 == len(summaries)
    assert "login failed (Cannot complete login: the identity source rejected <Login" in next(
        iter(summaries)
    )
    assert '<password versionId="6.5">***</password>' in next(iter(summaries))


def test_drill_journal_terminal_and_report_never_show_an_echoed_password(
    echoing_vcenter: Any, tmp_path: Path
) -> None:
    """A drill gated on the vSphere checks aborts; its journal, output and report show ***."""
    inventory = _inventory(tmp_path, echoing_vcenter)
    journal = tmp_path / "drill.jsonl"
    before = echoing_vcenter.logins_echoed
    done = _holdtime(
        tmp_path,
        *("drill", "-i", str(inventory), "vsphere-gated", "--journal", str(journal)),
        *("--format", "json", "-o", str(tmp_path / "drill.json")),
    )
    report = _holdtime(tmp_path, "report", str(journal), "--format", "markdown")
    written = {
        "stdout": done.stdout,
        "stderr": done.stderr,
        "journal": journal.read_text(encoding="utf-8"),
        "json report": (tmp_path / "drill.json").read_text(encoding="utf-8"),
        "holdtime report": report.stdout + report.stderr,
    }
    assert {name: [] for name in written} == {name: _leaks(t) for name, t in written.items()}
    assert (True, True) == (echoing_vcenter.logins_echoed > before, "***" in written["journal"])


@pytest.fixture(scope="module")
def sshd_echoing_device() -> Iterator[dict[str, Any]]:
    """A real sshd on 127.0.0.1 (password login for a test user) whose sysctl echoes it."""
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists():
        pytest.skip("needs root and openssh-server")
    root = Path(tempfile.mkdtemp(prefix="htec-"))  # pytest's tmp folders are 0700: not for `user`
    root.chmod(0o755)
    user = f"htec-{os.getpid() % 100000}"
    hashed = subprocess.run(
        ["openssl", "passwd", "-6", PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(
        [
            "useradd",
            "--system",
            "-M",
            "-N",
            "-p",
            hashed,
            "-d",
            "/",  # sshd prints "Could not chdir" on stderr for a missing home
            "-s",
            "/bin/sh",
            user,
        ],
        check=True,
        capture_output=True,
    )
    bin_dir = root / "bin"
    bin_dir.mkdir()
    sysctl = bin_dir / "sysctl"
    # The device echoes the credentials it was given in an error, as a broken wrapper might.
    sysctl.write_text(
        "#!/bin/sh\n"
        f"echo {_sh_quote(f'sysctl: wrapper login {user}:{PASSWORD} refused')} >&2\nexit 1\n"
    )
    sysctl.chmod(0o755)
    host_key = root / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile {root}/sshd.pid\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM no\n"
        f"StrictModes no\nLogLevel ERROR\nSetEnv PATH={bin_dir}:/usr/bin:/bin\n"
    )
    kind, blob = Path(f"{host_key}.pub").read_text().split()[:2]
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {kind} {blob}\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    process = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port)
        yield {"root": root, "port": port, "user": user}
    finally:
        process.terminate()
        process.wait(timeout=10)
        # --force: even while a leftover process of the user runs
        subprocess.run(["userdel", "--force", user], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int) -> None:
    import socket
    import time

    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port}")


def test_device_that_echoes_the_ssh_password_shows_stars(
    sshd_echoing_device: dict[str, Any], tmp_path: Path
) -> None:
    """A router whose command echoes the login password: the ERROR result and report show ***."""
    device = sshd_echoing_device
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        f"""version: 1
routers:
  - name: echoing-edge
    host: 127.0.0.1
    port: {device["port"]}
    username: {device["user"]}
    auth: {{password_env: HOLDTIME_TEST_ECHO_PW}}
    known_hosts: {device["root"]}/known_hosts
    timeouts: {{connect_seconds: 10, command_seconds: 10}}
"""
    )
    report = tmp_path / "report.json"
    done = _holdtime(
        tmp_path,
        *("check", "-i", str(inventory), "-v", "--only", "system.ip_forwarding"),
        *("--format", "json", "-o", str(report)),
    )
    text = report.read_text(encoding="utf-8")
    assert ([], [], True) == (
        _leaks(done.stderr),
        _leaks(text),
        f"wrapper login {device['user']}:***" in text,
    )

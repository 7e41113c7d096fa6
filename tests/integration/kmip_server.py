"""A real PyKMIP server for the tests, in its own process, with lab-CA certificates.

`start_kmip_server(directory, ca, ...)` issues the server certificate, starts
`kmip.services.server.KmipServer` (it installs signal handlers, so it needs the main thread of
its own process) on 127.0.0.1 and an ephemeral port, and waits until it accepts connections.
Run as a script, this file is that process.

`HangingTlsServer` is the one fault PyKMIP's server cannot produce: a real TLS listener that
completes the handshake (client certificate required) and then never answers.
"""

from __future__ import annotations

import argparse
import datetime
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from holdtime.lab.lab_ca import Issued, LabCa

HOST = "127.0.0.1"
SERVER_NAME = "kmip.lab.example"


def free_port(host: str = HOST) -> int:
    """A port nothing listens on now (PyKMIP takes a port number, not 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(host: str, port: int, seconds: float, process: subprocess.Popen[bytes]) -> None:
    """Return once host:port accepts TCP; RuntimeError when the process exits or time is up."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if process.poll() is not None:
            raise RuntimeError(f"the KMIP server exited with {process.returncode}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the KMIP server did not listen on {host}:{port} in {seconds} s")


@dataclass
class KmipServerProcess:
    """A running PyKMIP server and the files it uses."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    certificate: Issued
    log_path: Path

    def stop(self) -> None:
        """Terminate it and wait (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def issue_server_certificate(
    ca: LabCa, directory: Path, *, not_after: datetime.datetime | None = None
) -> Issued:
    """An RSA server certificate for SERVER_NAME and 127.0.0.1 (PyKMIP's suites want RSA)."""
    return ca.issue_server(
        directory,
        SERVER_NAME,
        dns_names=[SERVER_NAME],
        ips=[HOST],
        not_after=not_after,
        key_type="rsa",
    )


def start_kmip_server(
    directory: Path, ca: LabCa, *, not_after: datetime.datetime | None = None
) -> KmipServerProcess:
    """Issue a certificate and start PyKMIP's server on HOST:<free port>; wait until it listens."""
    directory.mkdir(parents=True, exist_ok=True)
    issued = issue_server_certificate(ca, directory, not_after=not_after)
    port = free_port()
    log_path = directory / "server.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-W",
            "ignore",
            __file__,
            "--port",
            str(port),
            "--certificate",
            str(issued.cert_path),
            "--key",
            str(issued.key_path),
            "--ca",
            str(ca.cert_path),
            "--directory",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "stderr.txt").open("wb"),
    )
    server = KmipServerProcess(process, HOST, port, issued, log_path)
    try:
        wait_listening(HOST, port, 30, process)
    except RuntimeError:
        server.stop()
        raise
    return server


class HangingTlsServer:
    """A TLS listener that completes mutual TLS and then reads nothing and answers nothing.

    With `reset=True` it instead resets the connection (RST, SO_LINGER 0) right after the
    handshake: a KMIP service that crashes on every request.
    """

    def __init__(
        self, issued: Issued, ca: LabCa, *, reset: bool = False, host: str = HOST, port: int = 0
    ) -> None:
        self.reset = reset
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca.cert_path))
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_cert_chain(str(issued.cert_path), str(issued.key_path))
        self.listener = socket.create_server((host, port))
        self.port: int = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.handshakes = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return  # closed by stop()
            try:
                tls = self.context.wrap_socket(raw, server_side=True)
                self.handshakes += 1
                if self.reset:
                    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    tls.close()
                else:
                    self.held.append(tls)
            except OSError:
                raw.close()

    def stop(self) -> None:
        """Close the listener and every held session."""
        self.listener.close()
        for held in self.held:
            held.close()
        self._thread.join(5)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--certificate", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--directory", type=Path, required=True)
    args = parser.parse_args()
    from kmip.services.server import KmipServer

    policies = args.directory / "policies"
    policies.mkdir(exist_ok=True)
    server = KmipServer(
        hostname=HOST,
        port=args.port,
        certificate_path=args.certificate,
        key_path=args.key,
        ca_path=args.ca,
        auth_suite="TLS1.2",
        config_path=None,
        log_path=str(args.directory / "server.log"),
        policy_path=str(policies),
        enable_tls_client_auth=True,
        database_path=str(args.directory / "pykmip.sqlite"),
    )
    with server:
        server.serve()


if __name__ == "__main__":
    _main()

"""tls.handshake against a real OpenSSL server that offers only TLS 1.0 (loopback, free port)."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdtime.checks.tls import HandshakeCheck
from holdtime.lab.lab_ca import LabCa
from holdtime.models import Status
from holdtime.plugins import Target
from holdtime.probes.tls import TlsProbe
from holdtime.probes.tls_config import TlsEndpoint

pytestmark = pytest.mark.integration


@pytest.fixture
def old_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A TLS 1.0-only server (Python's ssl, i.e. OpenSSL 3, at security level 0)."""
    ca = LabCa.create(tmp_path / "ca")
    issued = ca.issue_server(tmp_path, "old.lab.example", dns_names=["old.lab.example"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(issued.cert_path, issued.key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], ca.cert_path
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_tls_1_0_offered_fails(old_server: tuple[int, Path]) -> None:
    """The certificate verifies, but the server's best version is TLS 1.0: FAIL saying so."""
    port, ca_file = old_server
    entry = TlsEndpoint(
        name="old", host="127.0.0.1", port=port, server_name="old.lab.example", ca_file=ca_file
    )
    target = Target(name=f"old/127.0.0.1:{port}", device="old", config=entry)
    (result,) = HandshakeCheck().evaluate(target, TlsProbe().collect(target, 5.0))
    assert (Status.FAIL, "TLSv1") == (result.status, result.observed["tls_version"])
    assert (
        "TLS 1.0 offered: the server's best version is below the minimum TLS 1.2",
    ) == result.reasons

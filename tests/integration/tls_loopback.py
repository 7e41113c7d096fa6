"""A real TLS server on loopback for the LDAPS prober's tests and bench: it handshakes, resets
every connection, or listens and never answers, as a directory controller might."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from pathlib import Path
from types import TracebackType

MODES = ("tls", "reset", "silent")


class LoopbackTlsServer:
    """Listen on 127.0.0.1; `tls`: handshake with `cert`/`key`, `reset`: RST each connection,
    `silent`: hold each connection and never answer (a controller behind a dead tunnel). The
    mode may change while it serves (a drill's trigger and restore)."""

    def __init__(self, mode: str, cert: Path | None = None, key: Path | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.context: ssl.SSLContext | None = None
        if cert is not None and key is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(str(cert), str(key))
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self.handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> LoopbackTlsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            if self.mode == "silent":
                self._stop.wait(5.0)
                return
            if self.mode == "reset":  # close with linger 0: the kernel sends RST
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if self.context is None:
                return
            connection.settimeout(2)
            with (
                contextlib.suppress(OSError),
                self.context.wrap_socket(connection, server_side=True) as tls,
            ):
                self.handshakes += 1
                tls.recv(1)  # until the client closes


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port

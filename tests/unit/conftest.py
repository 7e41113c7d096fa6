"""Unit-test isolation (registered secrets) and the fixtures several test files share."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdtime import redaction


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    """holdtime.redaction is process-wide (as in a real run); each unit test starts empty.

    Without this, a fuzzed inventory whose literal password happened to be `reject` made every
    later message read `one of ***, accept-new, warn`.
    """
    yield
    redaction.forget_all()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port the `inventory` fixture's tcp check finds open (a file may define its own)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


@pytest.fixture
def inventory(tmp_path: Path, listener: socket.socket) -> Path:
    """An inventory with one tcp check (`svc`) against `listener`: what the `holdtime serve`
    process tests (test_exporter_hostile_clients.py, test_exporter_probing_process.py) serve.
    A file that needs another inventory defines its own `inventory` fixture."""
    path = tmp_path / "inventory.yaml"
    port = listener.getsockname()[1]
    path.write_text(f"version: 1\ntcp:\n  - {{name: svc, host: 127.0.0.1, port: {port}}}\n")
    return path


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two connected Unix stream sockets, closed at the end."""
    left, right = socket.socketpair()
    try:
        yield left, right
    finally:
        left.close()
        right.close()

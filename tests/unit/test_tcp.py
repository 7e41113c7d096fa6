"""tcp.port_open against real loopback sockets: open and refused told apart."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdtime.checks.tcp import PortOpenCheck
from holdtime.inventory import Inventory
from holdtime.models import Status
from holdtime.plugins import Target
from holdtime.probes.tcp import TcpProbe, classify
from holdtime.probes.tcp_config import TcpTarget


@pytest.fixture
def listener() -> Iterator[int]:
    """A real TCP listener on 127.0.0.1; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def _target(port: int) -> Target[TcpTarget]:
    entry = TcpTarget(name="svc", host="127.0.0.1", port=port, timeout_seconds=2.0)
    (target,) = TcpProbe().targets(Inventory(path=Path("tcp.yaml"), sections={"tcp": (entry,)}))
    return target


def test_open_port_passes_with_latency(listener: int) -> None:
    """A listening port is PASS and reports its connect latency."""
    target = _target(listener)
    observation = TcpProbe().collect(target, target.timeout_seconds)
    (result,) = PortOpenCheck().evaluate(target, observation)
    assert (Status.PASS, "open") == (result.status, result.observed["state"])
    assert isinstance(result.observed["latency_seconds"], float)


def test_closed_port_fails_as_refused(closed_port: int) -> None:
    """A port nothing listens on is FAIL with state refused and a reason saying so."""
    target = _target(closed_port)
    (result,) = PortOpenCheck().evaluate(target, TcpProbe().collect(target, 2.0))
    assert (Status.FAIL, "refused") == (result.status, result.observed["state"])
    assert "nothing listens" in result.reasons[0]


def test_target_name_carries_host_and_port() -> None:
    """Targets read `name/host:port`, with a deadline of the timeout plus slack."""
    target = _target(636)
    assert ("svc/127.0.0.1:636", "svc", 3.0) == (target.name, target.device, target.timeout_seconds)


@pytest.mark.parametrize(
    ("exc", "state"),
    [
        (TimeoutError("timed out"), "timeout"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "refused"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns_error"),
        (OSError(errno.EPERM, "Operation not permitted"), "error"),
    ],
)
def test_classify_tells_failures_apart(exc: OSError, state: str) -> None:
    """Each connect failure maps to its own state."""
    assert state == classify(exc)

"""TCP reachability probe: connect to host:port and tell open, refused, timeout, unreachable apart.

Users need it as-is: directory controllers on LDAPS 636 and DNS 53 across a VPN, KMIP on 5696,
vCenter on 443.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from holdtime import netns
from holdtime.plugins import Target
from holdtime.probes.tcp_config import TCP, TcpTarget

if TYPE_CHECKING:
    from holdtime.inventory import Inventory

# errno values that mean "no route": the network, not the service, is the problem.
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


@dataclass(frozen=True, slots=True)
class TcpObservation:
    """What one connect attempt saw."""

    host: str
    port: int
    state: str  # open | refused | timeout | unreachable | dns_error | error
    latency_seconds: float | None  # time to connect (open) or to fail
    timeout_seconds: float
    detail: str = ""


def classify(exc: OSError) -> str:
    """Map a connect failure to a state name."""
    if isinstance(exc, socket.gaierror):
        return "dns_error"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return "refused"
    if exc.errno in _UNREACHABLE:
        return "unreachable"
    return "error"


def connect(
    host: str,
    port: int,
    timeout_seconds: float,
    netns_name: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> TcpObservation:
    """Try one TCP connect and describe the outcome (no exception for network outcomes)."""
    began = clock()
    try:
        sock = netns.create_connection((host, port), timeout_seconds, netns_name)
    except OSError as exc:
        return TcpObservation(
            host=host,
            port=port,
            state=classify(exc),
            latency_seconds=clock() - began,
            timeout_seconds=timeout_seconds,
            detail=exc.strerror or str(exc) or type(exc).__name__,
        )
    latency = clock() - began
    sock.close()
    return TcpObservation(
        host=host, port=port, state="open", latency_seconds=latency, timeout_seconds=timeout_seconds
    )


class TcpProbe:
    """Probe plugin `tcp`: one target per `tcp:` inventory entry."""

    name = "tcp"
    section = TCP

    def targets(self, inventory: Inventory) -> Sequence[Target[TcpTarget]]:
        """One Target[TcpTarget] per tcp entry; deadline = connect timeout + 1 s slack."""
        return [
            Target(
                name=f"{entry.name}/{entry.host}:{entry.port}",
                device=entry.name,
                config=entry,
                timeout_seconds=entry.timeout_seconds + 1.0,
            )
            for entry in inventory.of(TcpTarget)
        ]

    def collect(self, target: Target[TcpTarget], timeout_seconds: float) -> TcpObservation:
        """Connect once, inside the entry's netns if it names one."""
        entry = target.config
        return connect(entry.host, entry.port, entry.timeout_seconds, entry.netns or None)

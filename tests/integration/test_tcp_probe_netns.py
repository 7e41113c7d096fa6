"""tcp.port_open inside network namespaces: timeout and unreachable for real."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from holdtime.probes.tcp import connect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A scratch namespace: loopback up with 10.77.0.1, and no route anywhere else."""
    name = f"httcp-{uuid.uuid4().hex[:6]}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", "10.77.0.1/32", "dev", "lo")
        yield name
    finally:
        _ip("netns", "del", name)


def test_dropped_syn_is_timeout(namespace: str) -> None:
    """An nftables drop on the port makes the connect time out (not refused)."""
    rules = (
        "table inet holdtime_test {\n chain input {\n type filter hook input priority 0;\n"
        " tcp dport 9 drop\n }\n}\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", "-f", "-"], input=rules, text=True, check=True
    )
    observation = connect("10.77.0.1", 9, 0.5, namespace)
    assert "timeout" == observation.state


def test_no_route_is_unreachable(namespace: str) -> None:
    """With no route to the address the connect fails at once as unreachable."""
    observation = connect("10.78.0.1", 443, 2.0, namespace)
    assert "unreachable" == observation.state


def test_refused_inside_namespace(namespace: str) -> None:
    """A closed port on the namespace's own address is refused."""
    observation = connect("10.77.0.1", 5696, 2.0, namespace)
    assert "refused" == observation.state

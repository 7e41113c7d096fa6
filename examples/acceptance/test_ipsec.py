"""The IPsec tunnels to both edges, read live with swanctl on vpc-router-1."""

from __future__ import annotations

from collections.abc import Callable

from holdtime.pytest_devices import RouterHandle

ROUTER = "vpc-router-1"
TUNNELS = ("esg1", "esg2")


def test_both_tunnels_installed(holdtime_router: Callable[[str], RouterHandle]) -> None:
    """Each tunnel has an established IKE SA with an INSTALLED child SA."""
    status = holdtime_router(ROUTER).ipsec()
    states = {
        name: {
            child.state
            for ike in status.sas_named(name)
            if ike.established
            for child in ike.children
        }
        for name in TUNNELS
    }
    assert {"esg1": {"INSTALLED"}, "esg2": {"INSTALLED"}} == states


def test_edges_forward_packets(holdtime_router: Callable[[str], RouterHandle]) -> None:
    """Both edge gateways have IPv4 forwarding on."""
    assert {e: holdtime_router(e).ip_forward() for e in TUNNELS} == {"esg1": True, "esg2": True}

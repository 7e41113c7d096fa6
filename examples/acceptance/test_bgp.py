"""BGP towards the two edge gateways, read live from vpc-router-1."""

from __future__ import annotations

from collections.abc import Callable

from holdtime.pytest_devices import RouterHandle

ROUTER = "vpc-router-1"
STRETCHED_PREFIX = "172.16.1.0/24"  # the VLAN stretched between the sites
ACTIVE_EDGE = "10.10.10.2"  # esg1, weight 2
STANDBY_EDGE = "10.10.10.6"  # esg2, weight 1
APP_PREFIX = "192.168.1.0/24"


def test_both_edges_established(holdtime_router: Callable[[str], RouterHandle]) -> None:
    """Both edge gateways are BGP neighbors in state Established."""
    state = holdtime_router(ROUTER).bgp()
    edges = {p.address: p.state for p in state.peers if p.address in (ACTIVE_EDGE, STANDBY_EDGE)}
    assert edges == {ACTIVE_EDGE: "Established", STANDBY_EDGE: "Established"}


def test_stretched_prefix_preferred_via_weight_2_edge(
    holdtime_router: Callable[[str], RouterHandle],
) -> None:
    """The stretched prefix's best path goes through esg1 (weight 2), not esg2."""
    route = holdtime_router(ROUTER).route(STRETCHED_PREFIX)
    best = route.best_path
    assert best is not None, f"{STRETCHED_PREFIX} has no best path"
    assert (best.peer, best.weight) == (ACTIVE_EDGE, 2)


def test_stretched_prefix_has_a_standby_path(
    holdtime_router: Callable[[str], RouterHandle],
) -> None:
    """esg2 also offers the stretched prefix, so a failover has somewhere to go."""
    route = holdtime_router(ROUTER).route(STRETCHED_PREFIX)
    assert {ACTIVE_EDGE, STANDBY_EDGE} == {p.peer for p in route.paths if p.valid}


def test_app_prefix_advertised_to_both_edges(
    holdtime_router: Callable[[str], RouterHandle],
) -> None:
    """The app network is announced to both edges (the return path can fail over too)."""
    route = holdtime_router(ROUTER).route(APP_PREFIX)
    assert {ACTIVE_EDGE, STANDBY_EDGE} <= set(route.advertised_to)

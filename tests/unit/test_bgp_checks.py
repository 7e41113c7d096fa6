"""BGP and ip_forwarding checks judged on observations parsed from recorded FRR 8.4 output."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from holdtime.checks.bgp import (
    BestPathCheck,
    BfdPeerUpCheck,
    PeerEstablishedCheck,
    PrefixesReceivedCheck,
    PrefixesSentCheck,
    TimersCheck,
)
from holdtime.checks.system import IpForwardingCheck
from holdtime.cli.parse import parser_for
from holdtime.models import CheckResult, Status
from holdtime.plugins import Check, Target
from holdtime.probes import frr
from holdtime.probes.bgp_model import BgpState
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import (
    BestPathExpect,
    BgpExpect,
    NeighborExpect,
    Router,
    RouterExpect,
    SshAuth,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "frr"
STRETCHED, OWN = "172.16.1.0/24", "192.168.1.0/24"
CHECKS: list[Check] = [
    PeerEstablishedCheck(),
    PrefixesReceivedCheck(),
    PrefixesSentCheck(),
    BestPathCheck(),
    TimersCheck(),
    BfdPeerUpCheck(),
    IpForwardingCheck(),
]
REFERENCE = RouterExpect(
    bgp=BgpExpect(
        neighbors=(
            NeighborExpect("10.10.10.2", 65010, (STRETCHED,), (OWN,)),
            NeighborExpect("10.10.10.6", 65010, (STRETCHED,), (OWN,)),
        ),
        best_paths=(BestPathExpect(STRETCHED, "10.10.10.2"),),
        max_hold_time_seconds=30.0,
    ),
    ip_forwarding=True,
)


def _read(command: str, case: str) -> str:
    return (FIXTURES / command / case / "output.txt").read_text()


def target(expect: RouterExpect = REFERENCE, platforms: tuple[str, ...] = ("frr",)) -> Target:
    """The reference router (vpc-router-1) with the given expectations."""
    router = Router(
        name="vpc-router-1",
        host="10.250.0.2",
        username="root",
        auth=SshAuth(agent=True),
        platforms=platforms,
        expect=expect,
    )
    return Target(name="vpc-router-1", device="vpc-router-1", config=router)


def observation(case: str, **changes: object) -> RouterObservation:
    """An observation built from one recorded FRR state (own prefix from the healthy state)."""
    state = BgpState(
        peers=frr.parse_frr_bgp_summary_json(_read("show-bgp-vrf-all-summary-json", case)),
        neighbors=frr.parse_frr_bgp_neighbors_json(_read("show-bgp-vrf-all-neighbors-json", case)),
        routes={
            STRETCHED: frr.parse_frr_bgp_route_json(
                _read("show-bgp-ipv4-unicast-prefix-json", case)
            ),
            OWN: frr.parse_frr_bgp_route_json(
                _read("show-bgp-ipv4-unicast-prefix-json", "own-prefix-advertised")
            ),
        },
        bfd_peers=frr.parse_frr_bfd_peers_json(_read("show-bfd-peers-json", case)),
    )
    obs = RouterObservation(
        device="vpc-router-1",
        platforms=("frr",),
        collected_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        bgp=state,
        ip_forward=True,
    )
    return replace(obs, **changes)  # type: ignore[arg-type]


def verdicts(results: list[CheckResult] | tuple[CheckResult, ...]) -> list[tuple[str, str]]:
    """(target, status) pairs, the part most tests compare."""
    return [(r.target, r.status.value) for r in results]


def test_every_check_meets_the_protocol_and_describes_itself() -> None:
    """Each check is a Check, names the router probe, and describe() carries its own name."""
    assert [(c.name, "router", True) for c in CHECKS] == [
        (c.describe().name, c.describe().probe, isinstance(c, Check)) for c in CHECKS
    ]


def test_healthy_reference_state_passes_everything() -> None:
    """Both edges Established with 3/9 timers and BFD on esg1: every result is PASS."""
    obs, tgt = observation("both-established"), target()
    statuses = {r.status for check in CHECKS for r in check.evaluate(tgt, obs)}
    assert {Status.PASS} == statuses


def test_peer_established_passes_with_uptime() -> None:
    """An Established neighbor's summary names it and says for how long."""
    results = PeerEstablishedCheck().evaluate(target(), observation("both-established"))
    assert [
        "neighbor 10.10.10.2 (esg1) Established for 35 s",
        "neighbor 10.10.10.6 (esg2) Established for 35 s",
    ] == [r.summary for r in results]


def test_shut_esg1_neighbor_fails_naming_it_and_the_reason() -> None:
    """`neighbor 10.10.10.2 shutdown`: peer_established FAILs for 10.10.10.2 only, with why."""
    results = PeerEstablishedCheck().evaluate(target(), observation("esg1-admin-shutdown"))
    assert [("vpc-router-1/10.10.10.2", "fail"), ("vpc-router-1/10.10.10.6", "pass")] == verdicts(
        results
    )
    assert "neighbor 10.10.10.2 (esg1) is Idle (Admin), not Established (down for 2 s)" == (
        results[0].summary
    )
    assert (
        "state Idle (Admin) for 2 s",
        "last reset: Admin. shutdown",
        "administratively shut down (neighbor ... shutdown)",
    ) == results[0].reasons


def test_shut_esg1_best_path_names_the_new_best_path() -> None:
    """After esg1 is shut the preferred-path check FAILs and names esg2 as the new best path."""
    (result,) = BestPathCheck().evaluate(target(), observation("esg1-admin-shutdown"))
    assert (
        "fail",
        "best path for 172.16.1.0/24 is via 10.10.10.6 (esg2), expected via 10.10.10.2",
    ) == (
        result.status.value,
        result.summary,
    )
    assert "10.10.10.6" == result.observed["best_via"]


def test_shut_esg1_prefixes_received_fails_for_esg1() -> None:
    """esg1 no longer sends 172.16.1.0/24; esg2 still does."""
    results = PrefixesReceivedCheck().evaluate(target(), observation("esg1-admin-shutdown"))
    assert [("vpc-router-1/10.10.10.2", "fail"), ("vpc-router-1/10.10.10.6", "pass")] == verdicts(
        results
    )
    assert "10.10.10.2 (esg1) does not send 172.16.1.0/24" == results[0].summary


def test_healthy_best_path_goes_via_the_weight_2_edge() -> None:
    """The best path for the stretched prefix is esg1, selected by weight."""
    (result,) = BestPathCheck().evaluate(target(), observation("both-established"))
    assert ("pass", "best path for 172.16.1.0/24 via 10.10.10.2 (esg1) (Weight)") == (
        result.status.value,
        result.summary,
    )


def test_untuned_timers_without_bfd_warn_with_the_failover_time() -> None:
    """esg2 at FRR's default 60/180 and no BFD: WARN with the drill prediction's number."""
    results = TimersCheck().evaluate(target(), observation("esg2-default-timers"))
    assert [("vpc-router-1/10.10.10.2", "pass"), ("vpc-router-1/10.10.10.6", "warn")] == verdicts(
        results
    )
    assert (
        "10.10.10.6 (esg2): hold time 180 s > 30 s and no BFD configured: a silent failure "
        "fails over in up to 180 s + route install"
    ) == results[1].summary
    assert (
        "predicted outage of a silent failure: hold time 180 s, no BFD: up to 180 s + route install"
    ) == results[1].reasons[1]
    assert {"hold_time_seconds": 180.0, "keepalive_seconds": 60.0, "bfd_status": None,
            "negotiated": True} == dict(results[1].observed)  # fmt: skip


def test_long_hold_time_with_bfd_up_passes() -> None:
    """A hold time above the threshold is fine when BFD is Up on the session."""
    tight = replace(REFERENCE, bgp=replace(REFERENCE.bgp, max_hold_time_seconds=5.0))
    results = TimersCheck().evaluate(target(tight), observation("both-established"))
    assert [("vpc-router-1/10.10.10.2", "pass"), ("vpc-router-1/10.10.10.6", "warn")] == verdicts(
        results
    )
    assert "BFD is Up" in results[0].summary


def test_bfd_down_after_silent_failure_fails_with_diagnostic() -> None:
    """Traffic to esg1 dropped: the BFD session is down and the diagnostic is reported."""
    (result,) = BfdPeerUpCheck().evaluate(target(), observation("esg1-silent-drop-bfd-down"))
    assert ("fail", "BFD with 10.10.10.2 (esg1) is down (control detection time expired)") == (
        result.status.value,
        result.summary,
    )


def test_bfd_required_but_missing_fails_for_that_neighbor() -> None:
    """expect.bgp.bfd: true and esg2 has no BFD session: FAIL for 10.10.10.6."""
    strict = replace(REFERENCE, bgp=replace(REFERENCE.bgp, bfd=True))
    results = BfdPeerUpCheck().evaluate(target(strict), observation("both-established"))
    assert [("vpc-router-1/10.10.10.2", "pass"), ("vpc-router-1/10.10.10.6", "fail")] == verdicts(
        results
    )


def test_no_bfd_anywhere_is_skip() -> None:
    """With no BFD configured and none required the BFD check SKIPs."""
    obs = observation("both-established")
    assert obs.bgp is not None
    bare = replace(
        obs,
        bgp=replace(
            obs.bgp,
            bfd_peers=(),
            neighbors=tuple(replace(n, bfd_status=None) for n in obs.bgp.neighbors),
        ),
    )
    assert [("vpc-router-1", "skip")] == verdicts(BfdPeerUpCheck().evaluate(target(), bare))


def test_unexpected_neighbor_is_reported_as_warn() -> None:
    """A configured neighbor missing from the inventory gets its own WARN result."""
    only_esg1 = replace(
        REFERENCE, bgp=replace(REFERENCE.bgp, neighbors=REFERENCE.bgp.neighbors[:1])
    )
    results = PeerEstablishedCheck().evaluate(target(only_esg1), observation("both-established"))
    assert [("vpc-router-1/10.10.10.2", "pass"), ("vpc-router-1/10.10.10.6", "warn")] == verdicts(
        results
    )


def test_wrong_remote_as_and_missing_neighbor_fail() -> None:
    """A neighbor peering with another AS, and one not configured at all, both FAIL."""
    odd = replace(
        REFERENCE,
        bgp=replace(
            REFERENCE.bgp,
            neighbors=(NeighborExpect("10.10.10.2", 65099), NeighborExpect("10.10.10.9", 65010)),
        ),
    )
    results = PeerEstablishedCheck().evaluate(target(odd), observation("both-established"))
    assert [
        ("fail", "neighbor 10.10.10.2 (esg1) has remote AS 65010, expected 65099"),
        ("fail", "neighbor 10.10.10.9 is not configured on the router"),
        ("warn", "unexpected neighbor 10.10.10.6 (esg2) (AS 65010, Established) is not in the "
                 "inventory"),
    ] == [(r.status.value, r.summary) for r in results]  # fmt: skip


def test_prefix_sent_to_both_edges_passes() -> None:
    """Our 192.168.1.0/24 is advertised to both neighbors."""
    results = PrefixesSentCheck().evaluate(target(), observation("both-established"))
    assert [
        "192.168.1.0/24 advertised to 10.10.10.2 (esg1)",
        "192.168.1.0/24 advertised to 10.10.10.6 (esg2)",
    ] == [r.summary for r in results]


def test_prefix_not_in_table_fails_best_path() -> None:
    """A prefix FRR does not know (recorded `{}`) has no best path: FAIL."""
    obs = observation("both-established")
    assert obs.bgp is not None
    missing = frr.parse_frr_bgp_route_json(
        _read("show-bgp-ipv4-unicast-prefix-json", "prefix-not-in-table")
    )
    gone = replace(
        obs, bgp=replace(obs.bgp, routes={STRETCHED: replace(missing, prefix=STRETCHED)})
    )
    (result,) = BestPathCheck().evaluate(target(), gone)
    assert ("fail", "172.16.1.0/24 has no best path (not in the BGP table)") == (
        result.status.value,
        result.summary,
    )


@pytest.mark.parametrize("check", CHECKS[:-1], ids=lambda c: c.name)
def test_unreadable_bgp_section_is_error_not_fail(check: Check) -> None:
    """When the BGP section could not be read every BGP check is ERROR with the message."""
    obs = observation(
        "both-established",
        bgp=None,
        errors={"bgp": "vpc-router-1: `show bgp vrf all summary json`: bgpd is not running"},
    )
    (result,) = check.evaluate(target(), obs)
    assert ("error", "vpc-router-1: `show bgp vrf all summary json`: bgpd is not running") == (
        result.status.value,
        result.summary,
    )


def test_text_only_device_skips_timers() -> None:
    """A device read through the plain-text summary has no timers: SKIP, not a guess."""
    obs = observation("both-established")
    assert obs.bgp is not None
    text = replace(obs, bgp=replace(obs.bgp, source="text", neighbors=()))
    assert [("vpc-router-1", "skip")] == verdicts(TimersCheck().evaluate(target(), text))


def test_bgp_checks_do_not_apply_to_a_router_without_frr() -> None:
    """applies_to keeps BGP checks off strongSwan-only routers."""
    ipsec_only = target(platforms=("strongswan",))
    assert [False] * 6 == [c.applies_to(ipsec_only) for c in CHECKS[:-1]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("actual", "wanted", "status"),
    [(True, True, "pass"), (False, True, "fail"), (False, None, "fail"), (False, False, "pass")],
)
def test_ip_forwarding(actual: bool, wanted: bool | None, status: str) -> None:
    """ip_forward must match expect.ip_forwarding, which defaults to enabled."""
    obs = observation("both-established", ip_forward=actual)
    (result,) = IpForwardingCheck().evaluate(target(replace(REFERENCE, ip_forwarding=wanted)), obs)
    assert status == result.status.value


def test_ip_forwarding_unreadable_is_error() -> None:
    """A failed sysctl read is ERROR with the device's message."""
    obs = observation(
        "both-established", ip_forward=None, errors={"system": "vpc-router-1: sysctl exited 1"}
    )
    (result,) = IpForwardingCheck().evaluate(target(), obs)
    assert ("error", "vpc-router-1: sysctl exited 1") == (result.status.value, result.summary)


def test_expected_targets_come_from_the_inventory_alone() -> None:
    """Neighbors, neighbors with prefixes, best-path prefixes; BFD per neighbor only if required."""
    names = {c.name: c.expected_targets(target()) for c in CHECKS[:-1]}  # type: ignore[attr-defined]
    neighbors = ["vpc-router-1/10.10.10.2", "vpc-router-1/10.10.10.6"]
    assert {
        "bgp.peer_established": neighbors,
        "bgp.prefixes_received": neighbors,
        "bgp.prefixes_sent": neighbors,
        "bgp.best_path": ["vpc-router-1/172.16.1.0/24"],
        "bgp.timers": neighbors,
        "bgp.bfd_peer_up": [],
    } == names
    strict = target(replace(REFERENCE, bgp=replace(REFERENCE.bgp, bfd=True)))
    assert neighbors == BfdPeerUpCheck().expected_targets(strict)
    bare = target(RouterExpect())
    assert [[]] * 6 == [c.expected_targets(bare) for c in CHECKS[:-1]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "case", ["both-established", "esg1-admin-shutdown", "esg1-silent-drop-bfd-down",
             "esg2-default-timers"],
)  # fmt: skip
@pytest.mark.parametrize("bfd", [None, True])
def test_results_only_for_expected_targets_or_the_router(case: str, bfd: bool | None) -> None:
    """Where expected_targets() names any, results are for those or the router (item contract)."""
    tgt = target(replace(REFERENCE, bgp=replace(REFERENCE.bgp, bfd=bfd)))
    listed = {c.name: c.expected_targets(tgt) for c in CHECKS[:-1]}  # type: ignore[attr-defined]
    outside = {
        (check.name, r.target)
        for check in CHECKS[:-1]
        for r in check.evaluate(tgt, observation(case))
        if listed[check.name] and r.target not in (*listed[check.name], "vpc-router-1")
    }
    assert set() == outside
    assert (bfd is True) == bool(listed["bgp.bfd_peer_up"])


def test_only_peer_established_reports_unlisted_targets() -> None:
    """The unexpected-neighbor WARN is outside expected_targets(), and the check declares it."""
    only_esg1 = target(
        replace(REFERENCE, bgp=replace(REFERENCE.bgp, neighbors=REFERENCE.bgp.neighbors[:1]))
    )
    check = PeerEstablishedCheck()
    results = check.evaluate(only_esg1, observation("both-established"))
    unlisted = [r.target for r in results if r.target not in check.expected_targets(only_esg1)]
    assert ["vpc-router-1/10.10.10.6"] == unlisted
    assert ["bgp.peer_established"] == [
        c.name
        for c in CHECKS
        if getattr(c, "reports_unlisted_targets", False)  # type: ignore[attr-defined]
    ]


def test_unreadable_route_is_an_error_of_what_it_was_needed_for() -> None:
    """A failed prefix lookup is ERROR for each neighbor / best path needing it, not the router."""
    obs = observation("both-established", errors={"bgp.route 172.16.1.0/24": "exit 1"})
    checks = (PrefixesReceivedCheck(), BestPathCheck(), PrefixesSentCheck())
    assert [
        ("vpc-router-1/10.10.10.2", "error"),
        ("vpc-router-1/10.10.10.6", "error"),
        ("vpc-router-1/172.16.1.0/24", "error"),
        ("vpc-router-1/10.10.10.2", "pass"),
        ("vpc-router-1/10.10.10.6", "pass"),
    ] == [v for check in checks for v in verdicts(check.evaluate(target(), obs))]


def test_prefix_that_was_not_read_skips_for_its_neighbor() -> None:
    """A route missing from the observation SKIPs the neighbor result that needed it."""
    obs = observation("both-established")
    assert obs.bgp is not None
    unread = replace(obs, bgp=replace(obs.bgp, routes={OWN: obs.bgp.routes[OWN]}))
    results = PrefixesReceivedCheck().evaluate(target(), unread)
    assert [
        ("vpc-router-1/10.10.10.2", "skip", "172.16.1.0/24 was not read"),
        ("vpc-router-1/10.10.10.6", "skip", "172.16.1.0/24 was not read"),
    ] == [(r.target, r.status.value, r.summary) for r in results]


def test_ip_forwarding_not_read_is_error_not_fail() -> None:
    """ip_forward never read (and no section error): ERROR, not a FAIL "forwarding unknown"."""
    (result,) = IpForwardingCheck().evaluate(
        target(), observation("both-established", ip_forward=None)
    )
    assert ("error", "vpc-router-1: `sysctl net.ipv4.ip_forward` was not read") == (
        result.status.value,
        result.summary,
    )


def test_hold_time_missing_from_the_output_is_error_not_pass() -> None:
    """A neighbor without bgpTimerHoldTimeMsecs: the timers check cannot judge it (ERROR)."""
    obs = observation("esg2-default-timers")
    assert obs.bgp is not None
    blind = replace(
        obs,
        bgp=replace(
            obs.bgp, neighbors=tuple(replace(n, hold_time_seconds=None) for n in obs.bgp.neighbors)
        ),
    )
    assert [("vpc-router-1/10.10.10.2", "error"), ("vpc-router-1/10.10.10.6", "error")] == verdicts(
        TimersCheck().evaluate(target(), blind)
    )


def test_bfd_unreadable_while_a_neighbor_has_bfd_is_error() -> None:
    """`show bfd peers` not understood and esg1 has BFD: ERROR, not a verdict from peerBfdInfo."""
    obs = observation(
        "both-established",
        errors={"bfd": "vpc-router-1: `show bfd peers` line 7 not understood: 'Foo: bar'"},
    )
    assert obs.bgp is not None
    partial = replace(obs, bgp=replace(obs.bgp, bfd_peers=None))
    (result,) = BfdPeerUpCheck().evaluate(target(), partial)
    assert ("error", "vpc-router-1: `show bfd peers` line 7 not understood: 'Foo: bar'") == (
        result.status.value,
        result.summary,
    )


def test_public_frr_7_neighbors_are_judged_by_the_timers_check() -> None:
    """Cumulus 4.3 (FRR 7.4) neighbors recorded by SuzieQ: 9 s hold passes for every neighbor."""
    neighbors = frr.parse_frr_bgp_neighbors_json(
        _read("show-bgp-vrf-all-neighbors-json", "cumulus43-leaf01-suzieq")
    )
    state = BgpState(peers=(), neighbors=neighbors)
    obs = observation("both-established", bgp=state)
    listed = tuple(NeighborExpect(n.address) for n in neighbors)
    expect = replace(REFERENCE, bgp=BgpExpect(neighbors=listed))
    results = TimersCheck().evaluate(target(expect), obs)
    assert {"pass"} == {r.status.value for r in results}
    assert [n.address for n in neighbors] == [r.target.split("/", 1)[1] for r in results]


@pytest.mark.parametrize(
    "command", ["show-bgp-vrf-all-summary-json", "show-ip-bgp-summary"], ids=["json", "text"]
)
def test_established_peer_without_policy_warns_that_it_exchanges_nothing(command: str) -> None:
    """Recorded (Policy) / peerState Policy: esg2 is Established but WARN, naming RFC 8212."""
    case = FIXTURES / command / "esg2-dynamic-no-policy"
    meta = json.loads((case / "meta.json").read_text())
    peers = parser_for("frr", meta["command"])((case / "output.txt").read_text())
    obs = observation("both-established", bgp=BgpState(peers=peers))
    results = {r.target: r for r in PeerEstablishedCheck().evaluate(target(), obs)}
    esg2 = results["vpc-router-1/10.10.10.6"]
    assert ("warn", "pass") == (
        esg2.status.value,
        results["vpc-router-1/10.10.10.2"].status.value,
    )
    assert "RFC 8212" in esg2.reasons[0]

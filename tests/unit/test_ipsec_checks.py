"""IPsec checks judged on observations from recorded libreswan/strongSwan output and models."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from holdtime.checks.ipsec import (
    ChildInstalledCheck,
    IkeEstablishedCheck,
    RekeyOverdueCheck,
    TrafficFlowingCheck,
)
from holdtime.inventory import IpsecExpect, Router, RouterExpect, SshAuth
from holdtime.models import CheckResult
from holdtime.plugins import Check, Target
from holdtime.probes import ipsec
from holdtime.probes.ipsec import ChildConfig, ChildSa, ConnectionConfig, IkeSa, IpsecStatus
from holdtime.probes.router import RouterObservation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CHECKS: list[Check] = [
    IkeEstablishedCheck(),
    ChildInstalledCheck(),
    TrafficFlowingCheck(),
    RekeyOverdueCheck(),
]


def target(tunnels: tuple[str, ...] = ("esg1", "esg2"), platform: str = "strongswan") -> Target:
    """A router expecting `tunnels` (none: every configured connection)."""
    router = Router(
        name="vpc-router-1",
        host="10.250.0.2",
        username="root",
        auth=SshAuth(agent=True),
        platforms=("frr", platform),
        expect=RouterExpect(ipsec=IpsecExpect(tunnels=tunnels)),
    )
    return Target(name="vpc-router-1", device="vpc-router-1", config=router)


def child(name: str, bytes_in: int, bytes_out: int, **changes: object) -> ChildSa:
    """An installed CHILD SA as swanctl reports it."""
    base = ChildSa(
        name=name,
        unique_id="#1",
        state="INSTALLED",
        installed=True,
        mode="TUNNEL-in-UDP",
        protocol="ESP",
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        installed_seconds=120,
        rekey_in_seconds=3000,
        local_ts=("0.0.0.0/0",),
        remote_ts=("0.0.0.0/0",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def tunnel(name: str, *children: ChildSa, **changes: object) -> IkeSa:
    """An established IKE SA with its children."""
    base = IkeSa(
        name=name,
        unique_id="#1",
        state="ESTABLISHED",
        established=True,
        version="IKEv2",
        local_host="100.64.1.1",
        remote_host="100.64.1.2",
        established_seconds=120,
        rekey_in_seconds=13000,
        children=children,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


CONNS = (
    ConnectionConfig("esg1", "IKEv2", 14400, None, children=(ChildConfig("esg1", "TUNNEL", 3600),)),
    ConnectionConfig("esg2", "IKEv2", 14400, None, children=(ChildConfig("esg2", "TUNNEL", 3600),)),
)


def observation(first: IpsecStatus, later: IpsecStatus | None = None) -> RouterObservation:
    """A router observation with one or two IPsec reads 2 s apart."""
    return RouterObservation(
        device="vpc-router-1",
        platforms=("frr", first.stack),
        collected_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        ipsec=first,
        ipsec_later=later,
        sample_interval_seconds=2.0 if later else 0.0,
    )


def healthy(bytes_in: int = 1000, bytes_out: int = 2000) -> IpsecStatus:
    """Both lab tunnels up with traffic counters."""
    return IpsecStatus(
        "strongswan",
        (
            tunnel("esg1", child("esg1", bytes_in, bytes_out)),
            tunnel("esg2", child("esg2", bytes_in, bytes_out), remote_host="100.64.2.2"),
        ),
        CONNS,
    )


def verdicts(results: list[CheckResult] | tuple[CheckResult, ...]) -> list[tuple[str, str]]:
    """(target, status) pairs."""
    return [(r.target, r.status.value) for r in results]


def test_every_check_meets_the_protocol_and_describes_itself() -> None:
    """Each IPsec check is a Check on the router probe and describes itself by name."""
    assert [(c.name, "router", True) for c in CHECKS] == [
        (c.describe().name, c.describe().probe, isinstance(c, Check)) for c in CHECKS
    ]


def test_healthy_tunnels_with_traffic_pass_everything() -> None:
    """Both tunnels established, installed, bytes growing, rekey on time: all PASS."""
    obs = observation(healthy(), healthy(1500, 2600))
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "pass")] * 4 == [
        v for check in CHECKS for v in verdicts(check.evaluate(target(), obs))
    ]


def test_traffic_summary_gives_the_deltas() -> None:
    """The traffic result says how many bytes moved each way during the interval."""
    results = TrafficFlowingCheck().evaluate(target(), observation(healthy(), healthy(1500, 2600)))
    assert "esg1: +500 B in, +600 B out in 2.0 s" == results[0].summary


def test_tunnel_down_fails_naming_it() -> None:
    """esg2 without any SA: IKE and child checks FAIL for esg2, saying it is configured."""
    down = replace(healthy(), ike_sas=healthy().ike_sas[:1])
    obs = observation(down)
    ike = IkeEstablishedCheck().evaluate(target(), obs)
    kids = ChildInstalledCheck().evaluate(target(), obs)
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(ike)
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(kids)
    assert "esg2: configured but no IKE SA" == ike[1].summary


def test_no_traffic_between_reads_fails() -> None:
    """Counters unchanged across the two reads: FAIL with a zero delta."""
    results = TrafficFlowingCheck().evaluate(target(), observation(healthy(), healthy()))
    assert [("vpc-router-1/esg1", "fail"), ("vpc-router-1/esg2", "fail")] == verdicts(results)
    assert 0 == results[0].observed["bytes_in_delta"]


def test_rekeyed_child_between_reads_counts_its_new_bytes() -> None:
    """A child SA replaced between the reads (new id) counts from zero, not as a negative."""
    later = replace(
        healthy(),
        ike_sas=(
            tunnel("esg1", child("esg1", 40, 0, unique_id="#2")),
            healthy().ike_sas[1],
        ),
    )
    (first, _) = TrafficFlowingCheck().evaluate(target(), observation(healthy(), later))
    assert ("pass", 40) == (first.status.value, first.observed["bytes_in_delta"])


def test_sampling_off_skips_traffic() -> None:
    """Without a second read the traffic check SKIPs (it never guesses)."""
    assert [("vpc-router-1", "skip")] == verdicts(
        TrafficFlowingCheck().evaluate(target(), observation(healthy()))
    )


def test_connecting_ike_sa_fails_with_its_state() -> None:
    """An IKE SA stuck in CONNECTING is not established: FAIL quoting the state."""
    stuck = replace(
        healthy(),
        ike_sas=(tunnel("esg1", state="CONNECTING", established=False), healthy().ike_sas[1]),
    )
    results = IkeEstablishedCheck().evaluate(target(), observation(stuck))
    assert "esg1: IKE SA not established (#1 CONNECTING)" == results[0].summary


def test_rekey_overdue_when_older_than_interval_plus_grace() -> None:
    """A child SA installed 4000 s ago with a 3600 s rekey interval is overdue (grace 300 s)."""
    old = replace(
        healthy(),
        ike_sas=(tunnel("esg1", child("esg1", 1, 1, installed_seconds=4000)), healthy().ike_sas[1]),
    )
    results = RekeyOverdueCheck().evaluate(target(), observation(old))
    assert [("vpc-router-1/esg1", "fail"), ("vpc-router-1/esg2", "pass")] == verdicts(results)
    assert ("CHILD SA esg1 #1 is 4000 s old, rekey interval 3600 s (+300 s grace)",) == results[
        0
    ].reasons


def test_negative_rekey_time_is_overdue() -> None:
    """A rekey time far in the past (libreswan `REKEY in -900s`) is overdue."""
    late = replace(
        healthy(),
        ike_sas=(tunnel("esg1", rekey_in_seconds=-900), healthy().ike_sas[1]),
    )
    (first, _) = RekeyOverdueCheck().evaluate(target(), observation(late))
    assert ("fail", ("IKE SA #1 should have rekeyed 900 s ago",)) == (
        first.status.value,
        first.reasons,
    )


def test_tunnel_without_sa_is_a_skip_not_silence() -> None:
    """No SA for esg2: rekey cannot be judged, said as a SKIP naming the tunnel."""
    down = replace(healthy(), ike_sas=(healthy().ike_sas[0],))
    results = RekeyOverdueCheck().evaluate(target(), observation(down))
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "skip")] == verdicts(results)
    assert results[1].summary.startswith("esg2: no established SA")


def _libreswan(case: str) -> IpsecStatus:
    text = (FIXTURES / "libreswan" / "ipsec-status" / case / "output.txt").read_text()
    return ipsec.libreswan_status(ipsec.parse_libreswan_status(text))


def test_libreswan_recording_ike_up_but_no_child_sa() -> None:
    """Recorded pluto (IKE up, no kernel ESP): IKE PASS, child FAIL, for every connection;
    the configured but idle eastnet-northnet FAILs by name."""
    obs = observation(_libreswan("responder-instance-and-idle-conn"))
    tgt = target(tunnels=(), platform="libreswan")
    ike = IkeEstablishedCheck().evaluate(tgt, obs)
    kids = ChildInstalledCheck().evaluate(tgt, obs)
    assert [
        ("vpc-router-1/east", "pass"),
        ("vpc-router-1/eastnet-northnet", "fail"),
        ("vpc-router-1/westnet-eastnet", "pass"),
    ] == verdicts(ike)
    assert ["fail", "fail", "fail"] == [r.status.value for r in kids]
    assert "eastnet-northnet: configured but no IKE SA" == ike[1].summary
    assert ("the IKE SA has no CHILD SA (negotiation failed or it was deleted)",) == kids[0].reasons


def test_expected_tunnel_that_is_not_configured_says_so() -> None:
    """An expected name with neither SA nor configuration FAILs and says it is not loaded."""
    obs = observation(_libreswan("initiator-two-ike-sas"))
    (result,) = IkeEstablishedCheck().evaluate(target(("esg9",), "libreswan"), obs)
    assert "esg9: no IKE SA (and no connection of that name is loaded)" == result.summary


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_unreadable_ipsec_section_is_error(check: Check) -> None:
    """If the SAs could not be read every IPsec check is ERROR with the device's message."""
    obs = replace(
        observation(healthy()),
        ipsec=None,
        errors={"ipsec": "vpc-router-1: `swanctl --list-sas` exited 1: connecting failed"},
    )
    (result,) = check.evaluate(target(), obs)
    assert ("error", "vpc-router-1: `swanctl --list-sas` exited 1: connecting failed") == (
        result.status.value,
        result.summary,
    )


def test_ipsec_checks_do_not_apply_to_an_frr_only_router() -> None:
    """applies_to keeps IPsec checks off routers without strongswan/libreswan."""
    router = Router(name="r", host="h", username="u", auth=SshAuth(agent=True), platforms=("frr",))
    frr_only = Target(name="r", device="r", config=router)
    assert [False] * 4 == [c.applies_to(frr_only) for c in CHECKS]  # type: ignore[attr-defined]


def _swanctl(command: str, case: str) -> str:
    return (FIXTURES / "strongswan" / command / case / "output.txt").read_text()


def test_recorded_strongswan_reads_show_traffic_on_esg1_only() -> None:
    """Two recorded reads around 10 pings: esg1 PASSes traffic; esg2 (no CHILD SA) FAILs."""
    conns = ipsec.parse_swanctl_list_conns(_swanctl("swanctl-list-conns", "two-connections"))
    first = ipsec.IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "traffic-read-1")),
        conns,
    )
    second = replace(
        first, ike_sas=ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "traffic-read-2"))
    )
    obs = observation(first, second)
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(
        TrafficFlowingCheck().evaluate(target(), obs)
    )
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(
        ChildInstalledCheck().evaluate(target(), obs)
    )
    assert "esg1: +840 B in, +840 B out in 2.0 s" == (
        TrafficFlowingCheck().evaluate(target(), obs)[0].summary
    )


def test_recorded_connecting_tunnel_fails_ike_check() -> None:
    """The recorded CONNECTING esg1 (peer silent) is a FAIL quoting the state."""
    status = ipsec.IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "esg1-connecting-peer-silent")),
        ipsec.parse_swanctl_list_conns(_swanctl("swanctl-list-conns", "two-connections")),
    )
    results = IkeEstablishedCheck().evaluate(target(), observation(status))
    assert [
        ("fail", "esg1: IKE SA not established (#4 CONNECTING)"),
        ("pass", "esg2: IKE SA #3 ESTABLISHED for 38 s (100.64.9.1 <-> 100.64.9.2)"),
    ] == [(r.status.value, r.summary) for r in results]


def test_recorded_no_sas_fails_every_configured_tunnel_by_name() -> None:
    """No SA at all (recorded empty listing) with tunnels unlisted: each configured one FAILs."""
    status = ipsec.IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "no-sas")),
        ipsec.parse_swanctl_list_conns(_swanctl("swanctl-list-conns", "two-connections")),
    )
    results = IkeEstablishedCheck().evaluate(target(tunnels=()), observation(status))
    assert [
        ("fail", "esg1: configured but no IKE SA"),
        ("fail", "esg2: configured but no IKE SA"),
    ] == [(r.status.value, r.summary) for r in results]


def test_expected_targets_are_the_listed_tunnels() -> None:
    """One target per expect.ipsec.tunnels entry; none listed: [] (every connection judged)."""
    assert [["vpc-router-1/esg1", "vpc-router-1/esg2"]] * 4 == [
        c.expected_targets(target())  # type: ignore[attr-defined]
        for c in CHECKS
    ]
    assert [[]] * 4 == [c.expected_targets(target(tunnels=())) for c in CHECKS]  # type: ignore[attr-defined]


def test_results_only_for_expected_tunnels_or_the_router() -> None:
    """A configured connection the inventory does not list gets no result (nothing unlisted)."""
    obs = observation(healthy(), healthy(1500, 2600))
    only_esg1 = target(tunnels=("esg1",))
    assert {"vpc-router-1/esg1"} == {
        r.target for check in CHECKS for r in check.evaluate(only_esg1, obs)
    }
    assert [False] * 4 == [getattr(c, "reports_unlisted_targets", None) for c in CHECKS]

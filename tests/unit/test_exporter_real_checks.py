"""Domain metrics are fed by the real checks: names and observed keys cannot drift apart."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from holdtime.checks.bgp import PeerEstablishedCheck
from holdtime.checks.ipsec import ChildInstalledCheck, IkeEstablishedCheck
from holdtime.exporters.domain_metrics import SPECS
from holdtime.exporters.metrics import CachedExposition
from holdtime.exporters.state import ResultStore
from holdtime.inventory import (
    BgpExpect,
    IpsecExpect,
    NeighborExpect,
    Router,
    RouterExpect,
    SshAuth,
)
from holdtime.models import CheckResult
from holdtime.plugins import Target
from holdtime.probes import frr, ipsec
from holdtime.probes.router import BgpState, RouterObservation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _read(tool: str, command: str, case: str) -> str:
    return (FIXTURES / tool / command / case / "output.txt").read_text()


def _target() -> Target:
    router = Router(
        name="vpc-router-1",
        host="10.250.0.2",
        username="root",
        auth=SshAuth(agent=True),
        platforms=("frr", "strongswan"),
        expect=RouterExpect(
            bgp=BgpExpect(
                neighbors=(
                    NeighborExpect("10.10.10.2", 65010, (), ()),
                    NeighborExpect("10.10.10.6", 65010, (), ()),
                )
            ),
            ipsec=IpsecExpect(tunnels=("esg1", "esg2")),
        ),
    )
    return Target(name="vpc-router-1", device="vpc-router-1", config=router)


def _observation() -> RouterObservation:
    """Recorded FRR (both neighbors up) and swanctl (esg1 up with traffic, esg2 no child)."""
    case = "both-established"
    bgp = BgpState(
        peers=frr.parse_frr_bgp_summary_json(_read("frr", "show-bgp-vrf-all-summary-json", case)),
        neighbors=frr.parse_frr_bgp_neighbors_json(
            _read("frr", "show-bgp-vrf-all-neighbors-json", case)
        ),
    )
    sas = ipsec.IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_read("strongswan", "swanctl-list-sas", "traffic-read-1")),
        ipsec.parse_swanctl_list_conns(
            _read("strongswan", "swanctl-list-conns", "two-connections")
        ),
    )
    return RouterObservation(
        device="vpc-router-1",
        platforms=("frr", "strongswan"),
        collected_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        bgp=bgp,
        ipsec=sas,
    )


def _samples(results: list[CheckResult]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    store = ResultStore()
    store.register(
        "router:vpc-router-1",
        collector="router",
        target="vpc-router-1",
        device="vpc-router-1",
        checks=sorted({r.check for r in results}),
        interval_seconds=60,
    )
    store.put("router:vpc-router-1", results, 0.5)
    text = CachedExposition(store).body()[0].decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "device"))
            samples[(sample.name, labels)] = sample.value
    return samples


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **want: str
) -> float:
    found = [
        v for (n, labels), v in samples.items() if n == name and set(want.items()) <= set(labels)
    ]
    assert 1 == len(found), f"{name}{want}: {len(found)} samples"
    return found[0]


def test_every_metric_spec_names_a_registered_check() -> None:
    """A spec naming a check that does not exist would silently never emit."""
    registered = {entry.name for entry in entry_points(group="holdtime.checks")}
    assert set() == {spec.check for spec in SPECS} - registered


def test_real_bgp_results_feed_the_bgp_families() -> None:
    """bgp.peer_established on recorded FRR output gives state, prefixes, hold time, info."""
    target, obs = _target(), _observation()
    samples = _samples(list(PeerEstablishedCheck().evaluate(target, obs)))
    esg1 = {"neighbor": "10.10.10.2"}
    peer = next(p for p in obs.bgp.peers if p.address == "10.10.10.2")  # type: ignore[union-attr]
    detail = obs.bgp.neighbor("10.10.10.2")  # type: ignore[union-attr]
    assert detail is not None
    assert [1.0, 1.0, float(peer.prefixes_received or 0), float(detail.hold_time_seconds or 0)] == [
        _value(samples, "holdtime_bgp_peer_established", **esg1),
        _value(samples, "holdtime_bgp_peer_established", neighbor="10.10.10.6"),
        _value(samples, "holdtime_bgp_peer_prefixes_received", **esg1),
        _value(samples, "holdtime_bgp_peer_hold_time_seconds", **esg1),
    ]
    assert 1.0 == _value(samples, "holdtime_bgp_peer_info", remote_as="65010", **esg1)


def test_shut_neighbor_is_zero_not_absent() -> None:
    """A neighbor that is not Established exports 0, so `== 0` alerts fire."""
    target = _target()
    obs = _observation()
    down = replace(
        obs,
        bgp=BgpState(
            peers=frr.parse_frr_bgp_summary_json(
                _read("frr", "show-bgp-vrf-all-summary-json", "esg1-admin-shutdown")
            )
        ),
    )
    samples = _samples(list(PeerEstablishedCheck().evaluate(target, down)))
    assert 0.0 == _value(samples, "holdtime_bgp_peer_established", neighbor="10.10.10.2")


def test_real_ipsec_results_feed_the_ipsec_families() -> None:
    """Recorded swanctl: esg1's IKE SA and CHILD SA are 1 with byte counters; esg2 IKE is 0."""
    target, obs = _target(), _observation()
    results = [
        *IkeEstablishedCheck().evaluate(target, obs),
        *ChildInstalledCheck().evaluate(target, obs),
    ]
    samples = _samples(results)
    assert 1.0 == _value(samples, "holdtime_ipsec_ike_sa_established", ike_sa="esg1")
    assert 1.0 == _value(
        samples, "holdtime_ipsec_child_sa_installed", ike_sa="esg1", child_sa="esg1"
    )
    assert 0 < _value(samples, "holdtime_ipsec_child_sa_in_bytes_total", ike_sa="esg1")
    assert 1.0 == _value(samples, "holdtime_ipsec_ike_sa_established", ike_sa="esg2")
    # esg2 has an IKE SA but no CHILD SA: no child series (nothing to label it with)
    assert [] == [n for (n, labels) in samples if ("child_sa", "esg2") in labels]


def test_missing_ike_sa_is_zero_not_absent() -> None:
    """A configured tunnel with no IKE SA at all exports 0."""
    target = _target()
    obs = _observation()
    empty = replace(obs, ipsec=replace(obs.ipsec, ike_sas=()))  # type: ignore[type-var]
    samples = _samples(list(IkeEstablishedCheck().evaluate(target, empty)))
    assert 0.0 == _value(samples, "holdtime_ipsec_ike_sa_established", ike_sa="esg1")

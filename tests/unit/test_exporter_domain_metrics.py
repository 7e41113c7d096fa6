"""The declarative observed-field -> metric table, rendered from CheckResults."""

from __future__ import annotations

import re
from typing import Any

import pytest
from exporter_results import router_results, vsphere_results
from prometheus_client.parser import text_string_to_metric_families

from holdtime.exporters.domain_metrics import (
    CONVERTERS,
    COUNTER,
    INFO,
    SPECS,
    STATESET,
    MetricSpec,
)
from holdtime.exporters.metrics import domain_families, render_text
from holdtime.models import CheckResult, Status

RUN_AT = 1_700_000_000.0
_NAME = re.compile(r"^holdtime_[a-z0-9_]+$")


def _samples(results: list[CheckResult]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = render_text(domain_families((r, RUN_AT) for r in results)).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _result(check: str, target: str, device: str, observed: dict[str, Any]) -> CheckResult:
    return CheckResult(check, target, Status.PASS, "ok", observed=observed, device=device)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.check}:{s.metric}")
def test_every_spec_follows_the_naming_rules(spec: MetricSpec) -> None:
    """Names are holdtime_*, `_total` only on counters, `_info` on info, <= 10 labels."""
    assert (True, spec.kind == COUNTER, spec.kind == INFO, True, True) == (
        bool(_NAME.match(spec.metric)),
        spec.metric.endswith("_total"),
        spec.metric.endswith("_info"),
        spec.convert in CONVERTERS,
        len(spec.labels) + 2 + (spec.kind == STATESET) <= 10,
    )


def test_bgp_peer_fields_become_gauges_timestamp_and_info() -> None:
    """Real bgp.peer_established (recorded FRR): every family, full labels, uptime as a time."""
    results = [r for r in router_results() if r.target == "vpc-router-1/10.10.10.2"]
    [peer] = [r for r in results if r.check == "bgp.peer_established"]
    labels = (("device", "vpc-router-1"), ("neighbor", "10.10.10.2"))
    labels = (*labels, ("target", "vpc-router-1/10.10.10.2"))
    info = (("description", "esg1"), *labels[:2], ("remote_as", "65010"), labels[2])
    assert {
        ("holdtime_bgp_peer_established", labels): 1.0,
        ("holdtime_bgp_peer_established_timestamp_seconds", labels): RUN_AT
        - float(peer.observed["uptime_seconds"]),  # type: ignore[arg-type]
        ("holdtime_bgp_peer_prefixes_received", labels): 2.0,
        ("holdtime_bgp_peer_prefixes_sent", labels): 3.0,
        ("holdtime_bgp_peer_hold_time_seconds", labels): 9.0,
        ("holdtime_bgp_peer_info", (*info, ("vrf", "default"))): 1.0,
    } == _samples(results)


def test_child_sas_are_one_series_each_with_byte_counters() -> None:
    """Real ipsec.child_installed (recorded swanctl): each CHILD SA a series, bytes as _total."""
    results = [r for r in router_results() if r.check == "ipsec.child_installed"]
    child = (("child_sa", "esg1"), ("device", "vpc-router-1"), ("ike_sa", "esg1"))
    child = (*child, ("target", "vpc-router-1/esg1"))
    [esg1] = [r for r in results if r.target == "vpc-router-1/esg1"]
    [item] = esg1.observed["children"]  # type: ignore[misc]
    assert {
        ("holdtime_ipsec_child_sa_installed", child): 1.0,
        ("holdtime_ipsec_child_sa_in_bytes_total", child): float(item["bytes_in"]),
        ("holdtime_ipsec_child_sa_out_bytes_total", child): float(item["bytes_out"]),
    } == _samples(results)


def test_vsphere_datastore_fields_convert_units() -> None:
    """Real nfs.version/sioc.enabled (vcsim healthy): version label, addresses, ms -> seconds."""
    results = [
        r
        for r in vsphere_results("healthy")
        if r.target == "vc-site-a/ds:nfs41-bronze" or r.target == "vc-site-a/ds:nfs3-gold"
    ]
    gold = (
        ("datastore", "nfs3-gold"),
        ("device", "vc-site-a"),
        ("target", "vc-site-a/ds:nfs3-gold"),
    )
    bronze = (("datastore", "nfs41-bronze"), ("device", "vc-site-a"))
    bronze = (*bronze, ("target", "vc-site-a/ds:nfs41-bronze"))
    assert {
        ("holdtime_vsphere_datastore_nfs_info", (*gold[:2], gold[2], ("version", "3"))): 1.0,
        ("holdtime_vsphere_datastore_nfs_info", (*bronze, ("version", "4.1"))): 1.0,
        ("holdtime_vsphere_datastore_nfs_server_addresses", gold): 1.0,
        ("holdtime_vsphere_datastore_nfs_server_addresses", bronze): 2.0,
        ("holdtime_vsphere_datastore_sioc_enabled", gold): 1.0,
        ("holdtime_vsphere_datastore_sioc_congestion_threshold_seconds", gold): 0.03,
    } == _samples(results)


def test_teaming_status_is_one_series_per_state() -> None:
    """Real vds.iphash_teaming (vcsim dvs-problems): every state present, 1 for the current."""
    results = [
        r
        for r in vsphere_results("dvs-problems")
        if r.check == "vds.iphash_teaming" and r.target == "vc-site-a/dvs:dvs-mismatch"
    ]
    base = (("device", "vc-site-a"), ("dvs", "dvs-mismatch"), ("host", "esx1.lab"))
    base = (*base, ("target", "vc-site-a/dvs:dvs-mismatch"))
    esx1 = {
        key: value for key, value in _samples(results).items() if ("host", "esx1.lab") in key[1]
    }
    assert {
        ("holdtime_vsphere_dvs_teaming_status", (*base[:3], ("status", s), base[3])): v
        for s, v in (("match", 0.0), ("mismatch", 1.0), ("unknown", 0.0))
    } == esx1


# Renderer edge cases below use hand-made results on purpose: no real check produces them.


def test_the_same_series_twice_is_rendered_once() -> None:
    """Two results with the same labels give one sample (the last), never a duplicate."""
    first = _result("bgp.peer_established", "r1/n1", "r1", {"state": "Idle"})
    second = _result("bgp.peer_established", "r1/n1", "r1", {"state": "Established"})
    peer = (("device", "r1"), ("neighbor", "n1"), ("target", "r1/n1"))
    assert 1.0 == _samples([first, second])[("holdtime_bgp_peer_established", peer)]


def test_unconvertible_values_emit_no_sample() -> None:
    """A value the converter cannot read (text where a number belongs) yields no series."""
    result = _result("bgp.peer_established", "r1/n1", "r1", {"hold_time_seconds": "n/a"})
    names = {name for name, _ in _samples([result])}
    assert "holdtime_bgp_peer_hold_time_seconds" not in names

"""The declarative observed-field -> metric table, rendered from CheckResults."""

from __future__ import annotations

import re
from typing import Any

import pytest
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
    """A bgp.peer_established result yields established, timestamp, prefixes, hold time, info."""
    result = _result(
        "bgp.peer_established",
        "vpc-router-1/10.10.10.2",
        "vpc-router-1",
        {
            "state": "Established",
            "uptime_seconds": 120,
            "prefixes_received": 3,
            "prefixes_sent": ["10.0.0.0/24", "10.0.1.0/24"],
            "hold_time_seconds": 9,
            "remote_as": 65010,
            "description": "esg1",
        },
    )
    peer = (("device", "vpc-router-1"), ("neighbor", "10.10.10.2"))
    peer = (*peer, ("target", "vpc-router-1/10.10.10.2"))
    info = tuple(sorted((*peer, ("remote_as", "65010"), ("description", "esg1"))))
    assert {
        ("holdtime_bgp_peer_established", peer): 1.0,
        ("holdtime_bgp_peer_established_timestamp_seconds", peer): RUN_AT - 120,
        ("holdtime_bgp_peer_prefixes_received", peer): 3.0,
        ("holdtime_bgp_peer_prefixes_sent", peer): 2.0,
        ("holdtime_bgp_peer_hold_time_seconds", peer): 9.0,
        ("holdtime_bgp_peer_info", info): 1.0,
    } == _samples([result])


def test_idle_peer_is_zero_and_missing_fields_emit_nothing() -> None:
    """A peer in Idle gives established 0; fields it does not report give no series."""
    result = _result("bgp.peer_established", "r1/10.0.0.9", "r1", {"state": "Idle"})
    peer = (("device", "r1"), ("neighbor", "10.0.0.9"), ("target", "r1/10.0.0.9"))
    assert {
        ("holdtime_bgp_peer_established", peer): 0.0,
        (
            "holdtime_bgp_peer_info",
            tuple(sorted((*peer, ("remote_as", ""), ("description", "")))),
        ): 1.0,
    } == _samples([result])


def test_child_sas_are_one_series_each_with_byte_counters() -> None:
    """Each CHILD SA of an ipsec result is a series; byte counters are exposed as _total."""
    result = _result(
        "ipsec.child_installed",
        "vpc-router-1/esg1",
        "vpc-router-1",
        {
            "children": [
                {"name": "esg1-net", "installed": True, "bytes_in": 1500, "bytes_out": 900},
                {"name": "esg1-mgmt", "installed": False},
            ],
        },
    )
    base = (("device", "vpc-router-1"), ("ike_sa", "esg1"))
    net = (*base, ("child_sa", "esg1-net"), ("target", "vpc-router-1/esg1"))
    mgmt = (*base, ("child_sa", "esg1-mgmt"), ("target", "vpc-router-1/esg1"))
    net, mgmt = tuple(sorted(net)), tuple(sorted(mgmt))
    assert {
        ("holdtime_ipsec_child_sa_installed", net): 1.0,
        ("holdtime_ipsec_child_sa_installed", mgmt): 0.0,
        ("holdtime_ipsec_child_sa_in_bytes_total", net): 1500.0,
        ("holdtime_ipsec_child_sa_out_bytes_total", net): 900.0,
    } == _samples([result])


def test_vsphere_datastore_fields_convert_units() -> None:
    """NFS version becomes an info label, addresses are counted, SIOC ms become seconds."""
    nfs = _result(
        "nfs.version",
        "vc-a/ds1",
        "vc-a",
        {"datastore": "ds1", "version": "4.1", "server_addresses": ["10.0.0.1"]},
    )
    sioc = _result(
        "sioc.enabled",
        "vc-a/ds1",
        "vc-a",
        {"datastore": "ds1", "enabled": False, "congestion_threshold_ms": 30},
    )
    ds = (("datastore", "ds1"), ("device", "vc-a"), ("target", "vc-a/ds1"))
    assert {
        ("holdtime_vsphere_datastore_nfs_info", tuple(sorted((*ds, ("version", "4.1"))))): 1.0,
        ("holdtime_vsphere_datastore_nfs_server_addresses", ds): 1.0,
        ("holdtime_vsphere_datastore_sioc_enabled", ds): 0.0,
        ("holdtime_vsphere_datastore_sioc_congestion_threshold_seconds", ds): 0.03,
    } == _samples([nfs, sioc])


def test_teaming_status_is_one_series_per_state() -> None:
    """vds teaming is the enum-as-labels pattern: every state present, 1 for the current."""
    result = _result(
        "vds.iphash_teaming",
        "vc-a/dvs1",
        "vc-a",
        {"dvs": "dvs1", "hosts": [{"host": "esx1", "status": "mismatch"}]},
    )
    base = (("device", "vc-a"), ("dvs", "dvs1"), ("host", "esx1"), ("target", "vc-a/dvs1"))
    assert {
        ("holdtime_vsphere_dvs_teaming_status", tuple(sorted((*base, ("status", s))))): v
        for s, v in (("match", 0.0), ("mismatch", 1.0), ("unknown", 0.0))
    } == _samples([result])


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

"""Domain metrics are fed by the real checks: names and observed keys cannot drift apart."""

from __future__ import annotations

from exporter_results import (
    router_observation,
    router_results,
    router_target,
    vsphere_results,
)
from prometheus_client.parser import text_string_to_metric_families

from holdtime import plugins
from holdtime.exporters.domain_metrics import SPECS
from holdtime.exporters.metrics import CachedExposition
from holdtime.exporters.state import ResultStore
from holdtime.models import CheckResult

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(results: list[CheckResult]) -> Samples:
    """The /metrics body (as served) for these results, target and device labels dropped."""
    store = ResultStore()
    for device in sorted({r.device for r in results}):
        batch = [r for r in results if r.device == device]
        store.register(
            f"probe:{device}",
            collector="probe",
            target=device,
            device=device,
            checks=sorted({r.check for r in batch}),
            interval_seconds=60,
        )
        store.put(f"probe:{device}", batch, 0.5)
    text = CachedExposition(store).body()[0].decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            drop = ("device", "target")
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in drop))
            samples[(sample.name, labels)] = sample.value
    return samples


def _family(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: value for (n, labels), value in samples.items() if n == name}


def test_every_metric_spec_names_a_registered_check() -> None:
    """A spec naming a check that is not a holdtime.checks entry point would never emit."""
    registered = plugins.checks()
    assert set() == {spec.check for spec in SPECS} - set(registered)


def test_every_domain_family_is_fed_by_real_results() -> None:
    """Every metric in SPECS gets a sample from real checks (router fixtures, vcsim healthy)."""
    samples = _samples([*router_results(), *vsphere_results("healthy")])
    assert set() == {spec.metric for spec in SPECS} - {name for name, _ in samples}


def test_real_bgp_results_feed_the_bgp_families() -> None:
    """bgp.peer_established on recorded FRR output: state, prefixes, hold time and info per peer."""
    samples = _samples(router_results())
    peers = router_observation().bgp.peers  # type: ignore[union-attr]
    expected: Samples = {}
    for address in ("10.10.10.2", "10.10.10.6"):
        peer = next(p for p in peers if p.address == address)
        labels: tuple[tuple[str, str], ...] = (("neighbor", address),)
        expected[("holdtime_bgp_peer_established", labels)] = 1.0
        expected[("holdtime_bgp_peer_prefixes_received", labels)] = float(peer.prefixes_received)
        expected[("holdtime_bgp_peer_prefixes_sent", labels)] = float(peer.prefixes_sent)
        expected[("holdtime_bgp_peer_hold_time_seconds", labels)] = 9.0
        info: tuple[tuple[str, str], ...] = (
            ("description", str(peer.description)),
            ("neighbor", address),
            ("remote_as", "65010"),
            ("vrf", "default"),
        )
        expected[("holdtime_bgp_peer_info", info)] = 1.0
    wanted = {name for name, _ in expected}
    assert expected == {key: v for key, v in samples.items() if key[0] in wanted}
    assert ["esg1", "esg2"] == [p.description for p in peers]


def test_shut_neighbor_is_zero_not_absent() -> None:
    """Recorded `neighbor shutdown` on esg1: its peer exports 0 and 0 prefixes, esg2 stays 1."""
    samples = _samples(router_results(bgp_case="esg1-admin-shutdown"))
    assert {
        (("neighbor", "10.10.10.2"),): 0.0,
        (("neighbor", "10.10.10.6"),): 1.0,
    } == _family(samples, "holdtime_bgp_peer_established")
    assert 0.0 == samples[("holdtime_bgp_peer_prefixes_received", (("neighbor", "10.10.10.2"),))]
    # no uptime while down: no "came up at" timestamp for esg1
    assert [(("neighbor", "10.10.10.6"),)] == list(
        _family(samples, "holdtime_bgp_peer_established_timestamp_seconds")
    )


def test_real_ipsec_results_feed_the_ipsec_families() -> None:
    """Recorded swanctl: both IKE SAs 1; esg1's CHILD SA installed with its byte counters."""
    samples = _samples(router_results())
    sas = router_observation().ipsec.sas_named("esg1")  # type: ignore[union-attr]
    [child] = sas[0].children
    esg1 = (("child_sa", "esg1"), ("ike_sa", "esg1"))
    assert {
        ("holdtime_ipsec_ike_sa_established", (("ike_sa", "esg1"),)): 1.0,
        ("holdtime_ipsec_ike_sa_established", (("ike_sa", "esg2"),)): 1.0,
        ("holdtime_ipsec_child_sa_installed", esg1): 1.0,
        ("holdtime_ipsec_child_sa_in_bytes_total", esg1): float(child.bytes_in or 0),
        ("holdtime_ipsec_child_sa_out_bytes_total", esg1): float(child.bytes_out or 0),
    } == {
        key: value
        for key, value in samples.items()
        if key[0].startswith(("holdtime_ipsec_ike_sa_established", "holdtime_ipsec_child_sa_"))
        and not key[0].endswith("_timestamp_seconds")
        and not key[0].endswith("_created")
    }
    assert 0 < child.bytes_in  # type: ignore[operator]


def test_missing_ike_sa_is_zero_not_absent() -> None:
    """Recorded `swanctl --list-sas` with no SAs: both configured tunnels export 0."""
    samples = _samples(router_results(sas_case="no-sas"))
    assert {(("ike_sa", "esg1"),): 0.0, (("ike_sa", "esg2"),): 0.0} == _family(
        samples, "holdtime_ipsec_ike_sa_established"
    )


def test_real_nfs_and_sioc_results_feed_the_datastore_families() -> None:
    """vcsim's healthy site: NFS version info, server count, SIOC on with 30 ms = 0.03 s."""
    samples = _samples(vsphere_results("healthy"))
    assert {
        (("datastore", "nfs3-gold"), ("version", "3")): 1.0,
        (("datastore", "nfs3-silver"), ("version", "3")): 1.0,
        (("datastore", "nfs41-bronze"), ("version", "4.1")): 1.0,
    } == _family(samples, "holdtime_vsphere_datastore_nfs_info")
    assert {
        (("datastore", "nfs3-gold"),): 1.0,
        (("datastore", "nfs3-silver"),): 1.0,
        (("datastore", "nfs41-bronze"),): 2.0,
    } == _family(samples, "holdtime_vsphere_datastore_nfs_server_addresses")
    # NFS 4.1 has no SIOC at all (the check WARNs): no series rather than a false 0
    assert {
        (("datastore", "nfs3-gold"),): 1.0,
        (("datastore", "nfs3-silver"),): 1.0,
    } == _family(samples, "holdtime_vsphere_datastore_sioc_enabled")
    assert {
        (("datastore", "nfs3-gold"),): 0.03,
        (("datastore", "nfs3-silver"),): 0.03,
    } == _family(samples, "holdtime_vsphere_datastore_sioc_congestion_threshold_seconds")


def test_sioc_off_on_nfs3_by_name_is_zero() -> None:
    """vcsim's nfs3-by-name site: SIOC disabled exports 0 (what HoldtimeSiocOffOnNfs3 reads)."""
    samples = _samples(vsphere_results("nfs3-by-name"))
    assert {(("datastore", "nfs3-named"),): 0.0} == _family(
        samples, "holdtime_vsphere_datastore_sioc_enabled"
    )


def test_real_vds_results_feed_teaming_and_healthcheck_families() -> None:
    """vcsim's dvs-problems site: esx1 mismatch, unchecked switch unknown and health checks 0."""
    samples = _samples(vsphere_results("dvs-problems"))
    teaming = _family(samples, "holdtime_vsphere_dvs_teaming_status")
    current = sorted(dict(labels)["dvs"] + "/" + dict(labels)["host"] + "=" + dict(labels)["status"]
                     for labels, value in teaming.items() if value == 1.0)  # fmt: skip
    assert [
        "dvs-mismatch/esx0.lab=match",
        "dvs-mismatch/esx1.lab=mismatch",
        "dvs-mismatch/esx2.lab=match",
        "dvs-nocheck/esx0.lab=unknown",
        "dvs-nocheck/esx1.lab=unknown",
        "dvs-nocheck/esx2.lab=unknown",
    ] == current
    assert 6 * 3 == len(teaming)  # one series per state, 3 states
    assert {
        (("check", "teaming"), ("dvs", "dvs-mismatch")): 1.0,
        (("check", "vlan_mtu"), ("dvs", "dvs-mismatch")): 1.0,
        (("check", "teaming"), ("dvs", "dvs-nocheck")): 0.0,
        (("check", "vlan_mtu"), ("dvs", "dvs-nocheck")): 0.0,
    } == _family(samples, "holdtime_vsphere_dvs_healthcheck_enabled")


def test_router_target_matches_the_recorded_neighbors() -> None:
    """The fixture target expects exactly the neighbors recorded (else results would be FAIL)."""
    expected = [str(n.address) for n in router_target().config.expect.bgp.neighbors]
    recorded = [p.address for p in router_observation().bgp.peers]  # type: ignore[union-attr]
    assert expected == recorded

"""The vSphere probe and the nfs/sioc/vds checks against a real vcsim (govmomi simulator)."""

# The vcsim fixtures are imported by name so this module runs whether or not conftest.py
# imports them; test parameters naming them is what pyflakes calls a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from vcsim_fixtures import vcenter_for, vcsim_binary, vcsim_site, vcsim_tls  # noqa: F401

from holdtime.checks.nfs import (
    NfsAccessibleCheck,
    NfsConsistentServerCheck,
    NfsMixedVersionsCheck,
    NfsMultipathCheck,
    NfsVersionCheck,
)
from holdtime.checks.sioc import SiocEnabledCheck, SiocThresholdCheck
from holdtime.checks.vds import HealthcheckEnabledCheck, IphashTeamingCheck, VlanMtuCheck
from holdtime.errors import AuthError, ConfigError, ConnectError
from holdtime.inventory import Inventory
from holdtime.models import CheckResult, Status
from holdtime.probes.vsphere import VsphereProbe, collect_vcenter
from holdtime.runner import run_checks

pytestmark = pytest.mark.integration

CHECKS = {
    c.name: c
    for c in (
        NfsVersionCheck(),
        NfsMultipathCheck(),
        NfsMixedVersionsCheck(),
        NfsAccessibleCheck(),
        NfsConsistentServerCheck(),
        SiocEnabledCheck(),
        SiocThresholdCheck(),
        IphashTeamingCheck(),
        HealthcheckEnabledCheck(),
        VlanMtuCheck(),
    )
}


def run_site(sim: Any) -> list[CheckResult]:
    """Run every vSphere check through the real runner against one vcsim."""
    inventory = Inventory(path=Path("vcsim.yaml"), sections={"vcenters": (vcenter_for(sim),)})
    run = run_checks(inventory, probes={"vsphere": VsphereProbe()}, checks=CHECKS)
    return list(run.results)


def verdicts(results: Sequence[CheckResult], check: str) -> dict[str, str]:
    """target -> status value for one check."""
    return {r.target: r.status.value for r in results if r.check == check}


def one(results: Sequence[CheckResult], check: str, target: str) -> CheckResult:
    """The single result of `check` on `target`."""
    found = [r for r in results if r.check == check and r.target == target]
    assert len(found) == 1, [(r.check, r.target) for r in results]
    return found[0]


def test_healthy_site_passes_every_check(vcsim_site: Any) -> None:
    """A healthy site: no FAIL/ERROR; v4.1 only warns that SIOC does not exist for it."""
    results = run_site(vcsim_site("healthy"))
    expected = {
        ("nfs.version", "vc-site-a/ds:nfs3-gold"): "pass",
        ("nfs.version", "vc-site-a/ds:nfs3-silver"): "pass",
        ("nfs.version", "vc-site-a/ds:nfs41-bronze"): "pass",
        ("nfs.multipath", "vc-site-a/ds:nfs3-gold"): "skip",
        ("nfs.multipath", "vc-site-a/ds:nfs3-silver"): "skip",
        ("nfs.multipath", "vc-site-a/ds:nfs41-bronze"): "pass",
        ("nfs.mixed_versions", "vc-site-a/share:10.0.0.11:/vol/gold"): "pass",
        ("nfs.mixed_versions", "vc-site-a/share:10.0.0.12:/vol/silver"): "pass",
        ("nfs.mixed_versions", "vc-site-a/share:10.0.0.21,10.0.0.22:/vol/bronze"): "pass",
        ("nfs.accessible", "vc-site-a/ds:nfs3-gold"): "pass",
        ("nfs.accessible", "vc-site-a/ds:nfs3-silver"): "pass",
        ("nfs.accessible", "vc-site-a/ds:nfs41-bronze"): "pass",
        ("nfs.consistent_server", "vc-site-a/share:10.0.0.11:/vol/gold"): "pass",
        ("nfs.consistent_server", "vc-site-a/share:10.0.0.12:/vol/silver"): "pass",
        ("sioc.enabled", "vc-site-a/ds:nfs3-gold"): "pass",
        ("sioc.enabled", "vc-site-a/ds:nfs3-silver"): "pass",
        ("sioc.enabled", "vc-site-a/ds:nfs41-bronze"): "warn",
        ("sioc.threshold", "vc-site-a/ds:nfs3-gold"): "pass",
        ("sioc.threshold", "vc-site-a/ds:nfs3-silver"): "pass",
        ("sioc.threshold", "vc-site-a/ds:nfs41-bronze"): "skip",
        ("vds.iphash_teaming", "vc-site-a/dvs:dvs-prod"): "pass",
        ("vds.healthcheck_enabled", "vc-site-a/dvs:dvs-prod"): "pass",
        ("vds.vlan_mtu", "vc-site-a/dvs:dvs-prod"): "pass",
    }
    assert expected == {(r.check, r.target): r.status.value for r in results}
    bronze = one(results, "sioc.enabled", "vc-site-a/ds:nfs41-bronze")
    assert bronze.summary == "SIOC not supported on NFS 4.1: no congestion control"
    assert one(results, "sioc.threshold", "vc-site-a/ds:nfs3-silver").summary == (
        "automatic at 90% of peak throughput"
    )


def test_nfs3_by_name_without_sioc_warns_and_fails(vcsim_site: Any) -> None:
    """NFS 3 by host name: nfs.version WARN with the re-resolve reason; sioc.enabled FAIL."""
    results = run_site(vcsim_site("nfs3-by-name"))
    version = one(results, "nfs.version", "vc-site-a/ds:nfs3-named")
    assert (Status.WARN, "NFS 3 mounted by host name nas1.example.net") == (
        version.status,
        version.summary,
    )
    assert "does not re-resolve" in version.reasons[0]
    sioc = one(results, "sioc.enabled", "vc-site-a/ds:nfs3-named")
    assert (Status.FAIL, "SIOC disabled on NFS 3 datastore") == (sioc.status, sioc.summary)
    assert {"vc-site-a/ds:nfs3-named": "skip"} == verdicts(results, "sioc.threshold")


def test_nfs41_single_address_fails_multipath(vcsim_site: Any) -> None:
    """NFS 4.1 with one server address: nfs.multipath FAIL, sioc.enabled WARN."""
    results = run_site(vcsim_site("nfs41-single"))
    multipath = one(results, "nfs.multipath", "vc-site-a/ds:nfs41-single")
    assert (Status.FAIL, "NFS 4.1 with 1 server address(es), want 2") == (
        multipath.status,
        multipath.summary,
    )
    assert ["10.0.0.41"] == multipath.observed["server_addresses"]
    assert {"vc-site-a/ds:nfs41-single": "warn"} == verdicts(results, "sioc.enabled")


def test_mixed_version_mount_fails_naming_hosts(vcsim_site: Any) -> None:
    """One share as NFS 3 on H0/H1 and NFS 4.1 on H2: nfs.mixed_versions FAIL naming them."""
    results = run_site(vcsim_site("mixed-version"))
    mixed = one(results, "nfs.mixed_versions", "vc-site-a/share:10.0.0.31:/vol/shared")
    assert Status.FAIL == mixed.status
    assert (
        "share 10.0.0.31:/vol/shared mounted with mixed versions: "
        "NFS 3 on DC0_C0_H0, DC0_C0_H1; NFS 4.1 on DC0_C0_H2"
    ) == mixed.summary


def test_inaccessible_and_inconsistent_spelling(vcsim_site: Any) -> None:
    """Inaccessible on one host -> nfs.accessible FAIL; path spelled two ways -> WARN."""
    results = run_site(vcsim_site("nfs-inconsistent"))
    down = one(results, "nfs.accessible", "vc-site-a/ds:nfs3-down")
    assert (Status.FAIL, "inaccessible on DC0_C0_H1") == (down.status, down.summary)
    assert ("nfs3-down inaccessible on DC0_C0_H1 (AllPathsDown_Start)",) == down.reasons
    spelled = one(results, "nfs.consistent_server", "vc-site-a/share:10.0.0.51:/vol/spelled")
    assert Status.WARN == spelled.status
    assert {
        "10.0.0.51:/vol/spelled": ["DC0_C0_H0", "DC0_C0_H1"],
        "10.0.0.51:/vol/spelled/": ["DC0_C0_H2"],
    } == spelled.observed["spellings"]
    assert (
        "pass" == verdicts(results, "nfs.mixed_versions")["vc-site-a/share:10.0.0.51:/vol/spelled"]
    )


def test_sioc_threshold_outside_policy_fails(vcsim_site: Any) -> None:
    """A manual SIOC threshold of 150 ms is outside the default 5-100 ms: FAIL."""
    results = run_site(vcsim_site("sioc-threshold"))
    high = one(results, "sioc.threshold", "vc-site-a/ds:nfs3-high")
    assert (Status.FAIL, "manual threshold 150 ms outside 5-100 ms") == (high.status, high.summary)


def test_dvs_iphash_mismatch_and_disabled_healthcheck(vcsim_site: Any) -> None:
    """iphashMismatch on H1 -> FAIL naming DVS/host/portgroup; disabled check -> WARN."""
    results = run_site(vcsim_site("dvs-problems"))
    mismatch = one(results, "vds.iphash_teaming", "vc-site-a/dvs:dvs-mismatch")
    assert (Status.FAIL, "teaming mismatch on DC0_C0_H1") == (mismatch.status, mismatch.summary)
    assert (
        "DVS dvs-mismatch host DC0_C0_H1: iphashMismatch: portgroup(s) pg-iphash use Route "
        "based on IP hash but the physical switch ports have no EtherChannel",
    ) == mismatch.reasons
    nocheck = one(results, "vds.iphash_teaming", "vc-site-a/dvs:dvs-nocheck")
    assert (Status.WARN, "teaming health check disabled: cannot verify IP hash on pg-inherit") == (
        nocheck.status,
        nocheck.summary,
    )
    assert ["pg-inherit"] == nocheck.observed["inherited_iphash_portgroups"]
    assert {
        "vc-site-a/dvs:dvs-mismatch": "pass",
        "vc-site-a/dvs:dvs-nocheck": "warn",
    } == verdicts(results, "vds.healthcheck_enabled")
    vlan = one(results, "vds.vlan_mtu", "vc-site-a/dvs:dvs-mismatch")
    assert (
        "DVS dvs-mismatch host DC0_C0_H0: VLAN(s) 200-210 not trunked on the physical switch",
        "DVS dvs-mismatch host DC0_C0_H2: MTU mismatch with the physical switch",
    ) == vlan.reasons
    assert "skip" == verdicts(results, "vds.vlan_mtu")["vc-site-a/dvs:dvs-nocheck"]


def test_round_trips_constant_for_10_and_100_datastores(vcsim_site: Any) -> None:
    """The probe needs the same number of SOAP round trips for 10 and 100 datastores."""
    small = collect_vcenter(vcenter_for(vcsim_site("bench-10")))
    large = collect_vcenter(vcenter_for(vcsim_site("bench-100")))
    assert (10, 100) == (len(small.nfs_datastores), len(large.nfs_datastores))
    assert (6, 6) == (small.round_trips, large.round_trips)


def test_password_from_env(vcsim_site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """password_env is read at collect time when the inventory kept no resolved secret."""
    monkeypatch.setenv("HOLDTIME_TEST_VC_PASSWORD", "vcsim-secret")
    vc = vcenter_for(vcsim_site("healthy"), password=None, password_env="HOLDTIME_TEST_VC_PASSWORD")
    assert 3 == len(collect_vcenter(vc).nfs_datastores)


def test_unset_password_env_is_a_config_error(vcsim_site: Any) -> None:
    """An unset password variable is a ConfigError naming the variable."""
    vc = vcenter_for(vcsim_site("healthy"), password=None, password_env="HOLDTIME_UNSET_VAR_X")
    with pytest.raises(ConfigError, match="HOLDTIME_UNSET_VAR_X is not set"):
        collect_vcenter(vc)


def test_wrong_password_is_auth_error(vcsim_site: Any) -> None:
    """vcsim rejects a wrong password: AuthError (not ConnectError)."""
    vc = vcenter_for(vcsim_site("healthy"), password="wrong")
    with pytest.raises(AuthError, match=r"login as holdtime@vsphere\.local rejected"):
        collect_vcenter(vc)


def test_closed_port_is_connect_error(vcsim_site: Any) -> None:
    """Nothing listening: ConnectError 'unreachable'."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    vc = vcenter_for(vcsim_site("healthy"), port=port)
    with pytest.raises(ConnectError, match="unreachable"):
        collect_vcenter(vc, timeout_seconds=5)


@pytest.fixture
def plain_http_server() -> Iterator[int]:
    """python's http.server on loopback: an HTTP server that is not a vCenter."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_http_server_is_not_a_vcenter(vcsim_site: Any, plain_http_server: int) -> None:
    """A plain HTTP server answers, but it is not a vCenter: ConnectError saying so."""
    # A negative port makes pyVmomi speak plain HTTP (its convention).
    vc = vcenter_for(vcsim_site("healthy"), port=-plain_http_server)
    with pytest.raises(ConnectError, match="not a vCenter"):
        collect_vcenter(vc, timeout_seconds=5)


def test_self_signed_cert_without_ca_file_is_untrusted(vcsim_tls: tuple[Any, Path]) -> None:
    """TLS is verified by default: an openssl self-signed cert without ca_file is refused."""
    sim, _ = vcsim_tls
    vc = vcenter_for(sim, verify_tls=True)
    with pytest.raises(
        ConnectError, match="TLS certificate not trusted; set ca_file or insecure: true"
    ):
        collect_vcenter(vc, timeout_seconds=5)


def test_self_signed_cert_with_ca_file_is_trusted(vcsim_tls: tuple[Any, Path]) -> None:
    """The same certificate given as ca_file verifies and the collection succeeds."""
    sim, cert = vcsim_tls
    observation = collect_vcenter(vcenter_for(sim, verify_tls=True, ca_file=cert))
    assert (6, "6.5") == (observation.round_trips, observation.api_version)


def test_probe_targets_one_per_vcenter(vcsim_site: Any) -> None:
    """VsphereProbe.targets yields one target per inventory vCenter, named after it."""
    sim = vcsim_site("healthy")
    vcenters = (vcenter_for(sim), vcenter_for(sim, name="vc-site-b"))
    inventory = Inventory(path=Path("x.yaml"), sections={"vcenters": vcenters})
    assert ["vc-site-a", "vc-site-b"] == [t.name for t in VsphereProbe().targets(inventory)]

"""The kms probe and checks against vcsim with holdtime's crypto manager (pyVmomi, real SOAP)."""

# The vcsim fixtures are imported by name so this module runs whether or not conftest.py
# imports them; test parameters naming them is what pyflakes calls a redefinition.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from vcsim_fixtures import scenarios, vcenter_for, vcsim_binary, vcsim_kms  # noqa: F401

from holdtime.checks.kms import DefaultProviderCheck, ProviderRedundantCheck, ServersConnectedCheck
from holdtime.checks.kms_certificates import ClientCertificateCheck, ServerCertificateCheck
from holdtime.checks.kms_objects import ProtectedObjectsCheck
from holdtime.inventory import Inventory
from holdtime.models import CheckResult
from holdtime.plugins import Target
from holdtime.probes.kms import KmsProbe, collect_kms
from holdtime.probes.kms_config import ExpectedProvider, KmsSite, KmsTarget
from holdtime.runner import run_checks

pytestmark = pytest.mark.integration

CHECKS = {
    c.name: c
    for c in (
        ProviderRedundantCheck(),
        ServersConnectedCheck(),
        DefaultProviderCheck(),
        ClientCertificateCheck(),
        ServerCertificateCheck(),
        ProtectedObjectsCheck(),
    )
}
VMS = ("DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1")  # the generated VMs, sorted by name
HOSTS = ("DC0_C0_H0", "DC0_C0_H1")


def run_site(sim: Any, site: KmsSite | None = None) -> list[CheckResult]:
    """Every kms check through the real runner against one vcsim."""
    vcenter = vcenter_for(sim)
    inventory = Inventory(
        path=Path("vcsim.yaml"),
        sections={"vcenters": (vcenter,), "kms": (site or KmsSite(vcenter=vcenter.name),)},
    )
    run = run_checks(inventory, probes={"kms": KmsProbe()}, checks=CHECKS)
    return list(run.results)


def verdicts(results: Sequence[CheckResult], check: str) -> dict[str, str]:
    """target -> status value of one check's results."""
    return {r.target: r.status.value for r in results if r.check == check}


def only(results: Sequence[CheckResult], check: str, target: str) -> CheckResult:
    """The one result of a check for a target."""
    found = [r for r in results if r.check == check and r.target == target]
    assert len(found) == 1, [(r.check, r.target) for r in results]
    return found[0]


@pytest.fixture(scope="module")
def healthy(vcsim_kms: Callable[[str], Any]) -> list[CheckResult]:
    """The kms checks on the healthy scenario: two providers, two servers each."""
    return run_site(vcsim_kms("kms-healthy"))


def test_healthy_site_passes_every_check(healthy: list[CheckResult]) -> None:
    """Two providers of two connected servers, a default, valid certificates: all PASS."""
    expected = {
        ("kms.provider_redundant", "vc-site-a/kp-prod"): "pass",
        ("kms.provider_redundant", "vc-site-a/kp-dr"): "pass",
        ("kms.default_provider", "vc-site-a"): "pass",
        ("kms.client_certificate", "vc-site-a/kp-prod"): "pass",
        ("kms.client_certificate", "vc-site-a/kp-dr"): "pass",
        ("kms.protected_objects", "vc-site-a/kp-prod"): "pass",
        ("kms.protected_objects", "vc-site-a/kp-dr"): "pass",
        **{
            (check, f"vc-site-a/{provider}/kms-{short}-{n}"): "pass"
            for check in ("kms.servers_connected", "kms.server_certificate")
            for provider, short in (("kp-prod", "prod"), ("kp-dr", "dr"))
            for n in (1, 2)
        },
    }
    assert expected == {(r.check, r.target): r.status.value for r in healthy}


def test_healthy_site_names_protected_objects_per_provider(healthy: list[CheckResult]) -> None:
    """VM 0 and host 0 use kp-prod, VM 1 uses kp-dr, as vcsim's key ids say."""
    prod = only(healthy, "kms.protected_objects", "vc-site-a/kp-prod").observed
    dr = only(healthy, "kms.protected_objects", "vc-site-a/kp-dr").observed
    assert ([VMS[0]], [HOSTS[0]], [VMS[1]], []) == (
        prod["vms"],
        prod["hosts"],
        dr["vms"],
        dr["hosts"],
    )


def test_default_provider_is_reported(healthy: list[CheckResult]) -> None:
    """useAsDefault of ListKmipServers names kp-prod."""
    assert (
        "kp-prod" == only(healthy, "kms.default_provider", "vc-site-a").observed["default_provider"]
    )


def test_single_server_provider_fails_redundancy(vcsim_kms: Callable[[str], Any]) -> None:
    """A provider with one KMIP server is a FAIL saying one is not HA."""
    results = run_site(vcsim_kms("kms-single-server"))
    redundant = only(results, "kms.provider_redundant", "vc-site-a/kp-solo")
    assert ("fail", 1) == (redundant.status.value, redundant.observed["server_count"])
    assert "not highly available" in redundant.reasons[0]


def test_disconnected_server_fails_with_vcenter_reason(vcsim_kms: Callable[[str], Any]) -> None:
    """A red server FAILs with vCenter's connectionStatus; the other server of it passes."""
    results = run_site(vcsim_kms("kms-disconnected"))
    down = only(results, "kms.servers_connected", "vc-site-a/kp-prod/kms-prod-2")
    up = only(results, "kms.servers_connected", "vc-site-a/kp-prod/kms-prod-1")
    assert ("fail", "pass") == (down.status.value, up.status.value)
    assert "connection refused" in down.reasons[0]


def test_client_certificate_expiring_in_ten_days_warns(vcsim_kms: Callable[[str], Any]) -> None:
    """A client certificate expiring in 10 days is a WARN (horizon 30), the other PASS."""
    results = run_site(vcsim_kms("kms-client-cert-expiring"))
    assert {"vc-site-a/kp-prod": "warn", "vc-site-a/kp-dr": "pass"} == verdicts(
        results, "kms.client_certificate"
    )
    days = only(results, "kms.client_certificate", "vc-site-a/kp-prod").observed["days_to_expiry"]
    assert isinstance(days, float)
    assert 10 == round(days)


def test_expired_and_untrusted_certificates_fail(vcsim_kms: Callable[[str], Any]) -> None:
    """An expired server certificate, an untrusted one and an expired client one all FAIL."""
    results = run_site(vcsim_kms("kms-server-cert-problems"))
    assert {
        "vc-site-a/kp-prod/kms-prod-1": "fail",
        "vc-site-a/kp-prod/kms-prod-2": "fail",
    } == verdicts(results, "kms.server_certificate")
    untrusted = only(results, "kms.server_certificate", "vc-site-a/kp-prod/kms-prod-2")
    assert "vCenter does not trust" in untrusted.reasons[0]
    assert {"vc-site-a/kp-prod": "fail"} == verdicts(results, "kms.client_certificate")


def test_no_default_provider_fails(vcsim_kms: Callable[[str], Any]) -> None:
    """Two providers, neither marked default: kms.default_provider FAILs."""
    results = run_site(vcsim_kms("kms-no-default"))
    assert {"vc-site-a": "fail"} == verdicts(results, "kms.default_provider")


def test_vm_and_host_of_removed_provider_fail_by_name(vcsim_kms: Callable[[str], Any]) -> None:
    """Objects keyed by a provider no longer configured FAIL, each named with the consequence."""
    results = run_site(vcsim_kms("kms-removed-provider"))
    retired = only(results, "kms.protected_objects", "vc-site-a/kp-retired")
    assert "fail" == retired.status.value
    assert [
        "key provider kp-retired is no longer configured in vCenter",
        f"host {HOSTS[1]}: it will not power on after its host reboots",
        f"vm {VMS[1]}: it will not power on after its host reboots",
    ] == list(retired.reasons)
    assert "pass" == only(results, "kms.protected_objects", "vc-site-a/kp-prod").status.value


def test_objects_of_partly_connected_provider_pass(vcsim_kms: Callable[[str], Any]) -> None:
    """kp-prod's two servers: one red, one green: still usable, its VM passes."""
    results = run_site(vcsim_kms("kms-disconnected"))
    assert "pass" == only(results, "kms.protected_objects", "vc-site-a/kp-prod").status.value


def test_objects_of_provider_without_connected_server_fail(
    vcsim_kms: Callable[[str], Any],
) -> None:
    """Every server of kp-dr red: the VM it protects FAILs by name."""
    results = run_site(vcsim_kms("kms-provider-down"))
    down = only(results, "kms.protected_objects", "vc-site-a/kp-dr")
    assert ("fail", [VMS[1]]) == (down.status.value, down.observed["vms"])
    assert f"vm {VMS[1]}: it will not power on after its host reboots" in down.reasons


@pytest.mark.parametrize(
    ("scenario", "fault"),
    [
        ("kms-not-supported", "NotSupported"),
        ("kms-no-crypto-manager", "MethodNotFound"),
    ],
)
def test_crypto_manager_fault_is_error_naming_it(
    vcsim_kms: Callable[[str], Any], scenario: str, fault: str
) -> None:
    """A crypto manager fault makes every kms check ERROR with the fault's name, none PASS."""
    results = run_site(vcsim_kms(scenario))
    assert {"error"} == {r.status.value for r in results}
    assert set(CHECKS) == {r.check for r in results}
    assert all(fault in r.summary for r in results), [r.summary for r in results]


def test_expected_provider_and_server_missing_fail(vcsim_kms: Callable[[str], Any]) -> None:
    """A provider and a server the inventory expects but vCenter lacks are FAILs."""
    site = KmsSite(
        vcenter="vc-site-a",
        providers=(
            ExpectedProvider("kp-prod", ("kms-prod-1", "kms-prod-2", "kms-prod-3")),
            ExpectedProvider("kp-dr-b"),
        ),
        default_provider="kp-prod",
    )
    results = run_site(vcsim_kms("kms-healthy"), site)
    assert "fail" == only(results, "kms.provider_redundant", "vc-site-a/kp-dr-b").status.value
    missing = only(results, "kms.servers_connected", "vc-site-a/kp-prod/kms-prod-3")
    assert ("fail", "not configured in vCenter") == (missing.status.value, missing.summary)


def test_round_trips_are_constant(vcsim_kms: Callable[[str], Any]) -> None:
    """One session costs the same SOAP requests for any number of objects (vcsim: task done)."""
    sim = vcsim_kms("kms-healthy")
    target = KmsTarget(site=KmsSite(vcenter="vc-site-a"), vcenter=vcenter_for(sim))
    observation = collect_kms(target, 30.0)
    # ServiceContent, Login, ListKmipServers, Status_Task, task.info, view, retrieve, destroy,
    # Logout
    assert 9 == observation.round_trips


def test_no_certificate_or_key_material_in_results(healthy: list[CheckResult]) -> None:
    """Results carry certificate metadata only: no PEM, no private key, no password."""
    text = repr(healthy)
    assert not any(marker in text for marker in ("BEGIN", "PRIVATE", scenarios.PASSWORD, "key-DC0"))


def test_cli_json_report_has_no_password_or_certificate(
    vcsim_kms: Callable[[str], Any], tmp_path: Path
) -> None:
    """`holdtime check --format json` on a real vcsim: no password, no PEM, exit 1 on a FAIL."""
    import os
    import subprocess
    import sys

    sim = vcsim_kms("kms-removed-provider")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "vcenters:\n"
        f"  - {{name: vc-a, host: {sim.host}, port: {sim.port}, username: {scenarios.USERNAME},"
        " password_env: HOLDTIME_TEST_KMS_PASSWORD, insecure: true}\n"
        "kms:\n  - vcenter: vc-a\n",
        encoding="utf-8",
    )
    env = {**os.environ, "HOLDTIME_TEST_KMS_PASSWORD": scenarios.PASSWORD}
    holdtime = Path(sys.executable).with_name("holdtime")
    run = subprocess.run(
        [str(holdtime), "check", "-i", str(inventory), "--only", "kms.*", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert (1, False, False, True) == (
        run.returncode,
        scenarios.PASSWORD in output,
        "BEGIN CERTIFICATE" in output,
        "kp-retired" in output,
    )


def test_status_task_that_never_ends_errors_at_the_deadline(
    vcsim_kms: Callable[[str], Any],
) -> None:
    """A status task still queued at the deadline: status checks ERROR, the list is judged."""
    sim = vcsim_kms("kms-status-hangs")
    target = KmsTarget(site=KmsSite(vcenter="vc-site-a"), vcenter=vcenter_for(sim))
    observation = collect_kms(target, 1.5)
    assert (None, "RetrieveKmipServersStatus_Task did not finish within 1.5 s (state queued)") == (
        observation.statuses,
        observation.statuses_error,
    )
    results = [
        r
        for check in CHECKS.values()
        for r in check.evaluate(Target("vc-site-a", "vc-site-a", target), observation)
    ]
    assert {
        "kms.provider_redundant": {"pass"},
        "kms.default_provider": {"pass"},
        "kms.servers_connected": {"error"},
        "kms.client_certificate": {"error"},
        "kms.server_certificate": {"error"},
        "kms.protected_objects": {"error"},
    } == {name: {r.status.value for r in results if r.check == name} for name in CHECKS}


@pytest.mark.parametrize("report", ["table", "markdown", "junit", "html", "json"])
def test_every_report_format_names_the_stranded_vm(
    vcsim_kms: Callable[[str], Any], report: str
) -> None:
    """Each registered report renders the kms results: the stranded VM's name is in it."""
    from importlib.metadata import entry_points

    sim = vcsim_kms("kms-removed-provider")
    vcenter = vcenter_for(sim)
    inventory = Inventory(
        path=Path("vcsim.yaml"),
        sections={"vcenters": (vcenter,), "kms": (KmsSite(vcenter=vcenter.name),)},
    )
    run = run_checks(inventory, probes={"kms": KmsProbe()}, checks=CHECKS)
    (entry,) = entry_points(group="holdtime.reports", name=report)
    text = entry.load()(run)
    assert (True, False) == (VMS[1] in text, "BEGIN CERTIFICATE" in text)

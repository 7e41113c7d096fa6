"""Unit tests of the kms.* checks from observations, and of the `kms:` inventory section."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from holdtime.checks.kms import DefaultProviderCheck, ProviderRedundantCheck, ServersConnectedCheck
from holdtime.checks.kms_certificates import ClientCertificateCheck, ServerCertificateCheck
from holdtime.checks.kms_objects import ProtectedObjectsCheck
from holdtime.cli import main
from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory
from holdtime.models import CheckResult
from holdtime.plugins import Target
from holdtime.probes.kms_config import ExpectedProvider, KmsSite, KmsTarget
from holdtime.probes.kms_model import (
    Certificate,
    KeyProvider,
    KmipServerEntry,
    KmsObservation,
    ProtectedObject,
    ProviderStatus,
    ServerStatus,
)
from holdtime.probes.vsphere_config import VCenter

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
VCENTER = VCenter(name="vc", host="vc.example", username="u", password="p")


def target(site: KmsSite | None = None) -> Target[KmsTarget]:
    """The kms target of vCenter `vc`."""
    return Target(name="vc", device="vc", config=KmsTarget(site or KmsSite("vc"), VCENTER))


def cert(days: float, not_before_days: float = -300) -> Certificate:
    """A certificate valid from NOW+not_before_days until NOW+days."""
    return Certificate(
        subject="CN=x",
        issuer="CN=ca",
        not_before=NOW + dt.timedelta(days=not_before_days),
        not_after=NOW + dt.timedelta(days=days),
        fingerprint="AA:BB",
    )


def server(name: str, status: str = "green", **changes: object) -> ServerStatus:
    """A server status (green, trusted both ways, certificate for a year) with changes."""
    fields: dict[str, object] = {
        "name": name,
        "status": status,
        "connection_status": "CONNECTED" if status == "green" else "connection refused",
        "certificate": cert(365),
        "client_trusts_server": True,
        "server_trusts_client": True,
    }
    fields.update(changes)
    return ServerStatus(**fields)  # type: ignore[arg-type]


def observation(
    providers: tuple[KeyProvider, ...] | None = None,
    statuses: tuple[ProviderStatus, ...] | None = None,
    objects: tuple[ProtectedObject, ...] | None = (),
    **errors: str,
) -> KmsObservation:
    """An observation of vc; None parts carry the error given for them."""
    if providers is None and "providers_error" not in errors:
        providers = (
            KeyProvider(
                "kp", (KmipServerEntry("s1", "a1", 5696), KmipServerEntry("s2", "a2", 5696)), True
            ),
        )
    if statuses is None and "statuses_error" not in errors:
        statuses = (ProviderStatus("kp", (server("s1"), server("s2")), cert(365)),)
    return KmsObservation(
        vcenter="vc",
        observed_at=NOW,
        providers=providers,
        providers_error=errors.get("providers_error"),
        statuses=statuses,
        statuses_error=errors.get("statuses_error"),
        objects=objects,
        objects_error=errors.get("objects_error"),
    )


def statuses(results: list[CheckResult] | tuple[CheckResult, ...]) -> dict[str, str]:
    """target -> status value."""
    return {r.target: r.status.value for r in results}


def test_provider_with_one_server_fails() -> None:
    """One server is below min_servers 2: FAIL; two is a PASS."""
    providers = (
        KeyProvider("solo", (KmipServerEntry("s1", "a1", 5696),), True),
        KeyProvider("pair", (KmipServerEntry("s1", "a", 1), KmipServerEntry("s2", "b", 1)), False),
    )
    results = ProviderRedundantCheck().evaluate(target(), observation(providers=providers))
    assert {"vc/solo": "fail", "vc/pair": "pass"} == statuses(list(results))


def test_no_provider_at_all_fails() -> None:
    """A kms entry on a vCenter without any provider is a FAIL, not a SKIP."""
    results = ProviderRedundantCheck().evaluate(target(), observation(providers=()))
    assert {"vc": "fail"} == statuses(list(results))


def test_red_server_fails_with_connection_status_and_gray_is_error() -> None:
    """red: FAIL quoting vCenter; yellow: WARN; gray: ERROR (state unknown)."""
    status = (
        ProviderStatus(
            "kp", (server("s1", "red"), server("s2", "yellow"), server("s3", "gray")), cert(365)
        ),
    )
    results = list(ServersConnectedCheck().evaluate(target(), observation(statuses=status)))
    assert {"vc/kp/s1": "fail", "vc/kp/s2": "warn", "vc/kp/s3": "error"} == statuses(results)
    assert "vCenter cannot use this KMIP server: connection refused" == results[0].reasons[0]


def test_listed_server_without_status_is_error() -> None:
    """A server ListKmipServers names but the status omits: ERROR, never PASS."""
    status = (ProviderStatus("kp", (server("s1"),), cert(365)),)
    results = ServersConnectedCheck().evaluate(target(), observation(statuses=status))
    assert {"vc/kp/s1": "pass", "vc/kp/s2": "error"} == statuses(list(results))


def test_status_fault_is_error_naming_it() -> None:
    """The status task's fault makes the status checks one ERROR each, naming the fault."""
    error = "RetrieveKmipServersStatus_Task failed: NoPermission: denied"
    obs = observation(statuses_error=error)
    for check in (
        ServersConnectedCheck(),
        ClientCertificateCheck(),
        ServerCertificateCheck(),
        ProtectedObjectsCheck(),
    ):
        [only] = check.evaluate(target(), obs)
        assert ("error", (error,)) == (only.status.value, only.reasons)


def test_default_provider_missing_several_or_other() -> None:
    """No default, two defaults, or not the expected one: FAIL; the expected one: PASS."""
    entry = (KmipServerEntry("s1", "a", 1),)
    check = DefaultProviderCheck()
    none = (KeyProvider("a", entry, False), KeyProvider("b", entry, False))
    two = (KeyProvider("a", entry, True), KeyProvider("b", entry, True))
    one = (KeyProvider("a", entry, True), KeyProvider("b", entry, False))
    expect_b = target(KmsSite("vc", default_provider="b"))
    assert [
        "no default key provider",
        "2 default providers",
        "default is a, not b",
        "default is a",
    ] == [
        check.evaluate(target(), observation(providers=none))[0].summary,
        check.evaluate(target(), observation(providers=two))[0].summary,
        check.evaluate(expect_b, observation(providers=one))[0].summary,
        check.evaluate(target(), observation(providers=one))[0].summary,
    ]


@pytest.mark.parametrize(
    ("days", "not_before", "status"),
    [(400, -1, "pass"), (29.5, -1, "warn"), (-0.5, -300, "fail"), (400, 2, "fail")],
)
def test_client_certificate_horizon(days: float, not_before: float, status: str) -> None:
    """WARN under 30 days, FAIL expired or not yet valid, PASS otherwise."""
    status_ = (ProviderStatus("kp", (server("s1"),), cert(days, not_before)),)
    [only] = ClientCertificateCheck().evaluate(target(), observation(statuses=status_))
    assert status == only.status.value


def test_client_certificate_not_reported_is_error() -> None:
    """A provider status without clientCertInfo: ERROR, not PASS."""
    status_ = (ProviderStatus("kp", (server("s1"),), None),)
    [only] = ClientCertificateCheck().evaluate(target(), observation(statuses=status_))
    assert "error" == only.status.value


def test_server_certificate_trust_and_expiry() -> None:
    """Untrusted either way or expired: FAIL; near expiry: WARN; trust unknown: ERROR."""
    status_ = (
        ProviderStatus(
            "kp",
            (
                server("s1"),
                server("s2", client_trusts_server=False),
                server("s3", server_trusts_client=False),
                server("s4", certificate=cert(-1)),
                server("s5", certificate=cert(10)),
                server("s6", client_trusts_server=None),
            ),
            cert(365),
        ),
    )
    results = ServerCertificateCheck().evaluate(target(), observation(statuses=status_))
    assert {
        "vc/kp/s1": "pass",
        "vc/kp/s2": "fail",
        "vc/kp/s3": "fail",
        "vc/kp/s4": "fail",
        "vc/kp/s5": "warn",
        "vc/kp/s6": "error",
    } == statuses(list(results))


def test_objects_of_removed_and_down_providers_fail_by_name() -> None:
    """A VM of a removed provider and a host of a provider without connected server FAIL."""
    providers = (
        KeyProvider("kp", (KmipServerEntry("s1", "a", 1),), True),
        KeyProvider("down", (KmipServerEntry("d1", "a", 1),), False),
    )
    status_ = (
        ProviderStatus("kp", (server("s1"),), cert(365)),
        ProviderStatus("down", (server("d1", "red"),), cert(365)),
    )
    objects = (
        ProtectedObject("vm", "app1", "kp"),
        ProtectedObject("vm", "old1", "gone"),
        ProtectedObject("host", "esx1", "down"),
    )
    results = list(
        ProtectedObjectsCheck().evaluate(
            target(), observation(providers=providers, statuses=status_, objects=objects)
        )
    )
    assert {"vc/kp": "pass", "vc/down": "fail", "vc/gone": "fail"} == statuses(results)
    gone = next(r for r in results if r.target == "vc/gone")
    assert (
        "key provider gone is no longer configured in vCenter",
        "vm old1: it will not power on after its host reboots",
    ) == gone.reasons


def test_object_without_provider_id_is_error() -> None:
    """A key id without a provider id cannot be placed: ERROR naming the object."""
    objects = (ProtectedObject("vm", "mystery", None),)
    results = ProtectedObjectsCheck().evaluate(target(), observation(objects=objects))
    assert {"vc/kp": "pass", "vc/no-provider": "error"} == statuses(list(results))


def test_no_encrypted_objects_is_one_skip() -> None:
    """Nothing encrypted: the single SKIP of the target."""
    [only] = ProtectedObjectsCheck().evaluate(target(), observation(objects=()))
    assert ("vc", "skip") == (only.target, only.status.value)


def test_expected_targets_come_from_the_inventory() -> None:
    """Items per provider and per server the inventory lists."""
    site = KmsSite("vc", providers=(ExpectedProvider("kp", ("s1", "s2")), ExpectedProvider("dr")))
    assert (["vc/kp", "vc/dr"], ["vc/kp/s1", "vc/kp/s2"]) == (
        list(ProviderRedundantCheck().expected_targets(target(site))),
        list(ServersConnectedCheck().expected_targets(target(site))),
    )


def _load(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    return str(caught.value)


VCENTERS = """\
vcenters:
  - {name: vc-a, host: vc.example, username: u, password_env: HOME}
"""


def test_unknown_vcenter_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    """A kms entry naming a vCenter not declared: file:line and what to do."""
    message = _load(tmp_path, VCENTERS + "kms:\n  - vcenter: vc-b\n")
    assert (
        f"{tmp_path / 'inventory.yaml'}:4:14: kms[0].vcenter: vcenter 'vc-b' is not declared "
        "under vcenters: (declared: vc-a); fix the name or add the vCenter there"
    ) in message.splitlines()


def test_default_provider_not_listed_is_one_line(tmp_path: Path) -> None:
    """default_provider naming a provider the entry does not list: file:line."""
    text = VCENTERS + (
        "kms:\n  - vcenter: vc-a\n    providers: [{name: kp-a}]\n    default_provider: kp-b\n"
    )
    message = _load(tmp_path, text)
    assert (
        f"{tmp_path / 'inventory.yaml'}:6:23: kms[0].default_provider: "
        "provider 'kp-b' is not in this entry's providers (kp-a)"
    ) in message.splitlines()


def test_second_entry_for_one_vcenter_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same key provider declared again for vc-a in a second entry: exit 2, one line."""
    path = tmp_path / "inventory.yaml"
    path.write_text(
        VCENTERS
        + "kms:\n"
        + "  - vcenter: vc-a\n    providers: [{name: kp, servers: [s1, s2]}]\n"
        + "  - vcenter: vc-a\n    providers: [{name: kp, servers: [s3]}]\n",
        encoding="utf-8",
    )
    assert 2 == main(["inventory", "validate", str(path)])
    assert [
        f"{path}:6:14: kms[1].vcenter: duplicate vcenter 'vc-a' (first used on line 4); "
        "one kms entry per vCenter: list all its key providers in the first",
        f"{path}: 1 problem",
    ] == capsys.readouterr().err.splitlines()


def test_entries_for_two_vcenters_are_not_duplicates(tmp_path: Path) -> None:
    """One entry per vCenter, the same provider name on each: both load."""
    path = tmp_path / "inventory.yaml"
    path.write_text(
        VCENTERS
        + "  - {name: vc-b, host: vc-b.example, username: u, password_env: HOME}\n"
        + "kms:\n  - vcenter: vc-a\n    providers: [{name: kp}]\n"
        + "  - vcenter: vc-b\n    providers: [{name: kp}]\n",
        encoding="utf-8",
    )
    assert ["vc-a", "vc-b"] == [site.vcenter for site in load_inventory(path).of(KmsSite)]


def test_provider_listed_twice_in_one_entry_is_one_line(tmp_path: Path) -> None:
    """The same provider twice under one vCenter's entry: file:line of the second."""
    message = _load(
        tmp_path,
        VCENTERS + "kms:\n  - vcenter: vc-a\n    providers:\n      - {name: kp}\n"
        "      - {name: kp}\n",
    )
    assert [
        f"{tmp_path / 'inventory.yaml'}:7:16: kms[0].providers[1].name: provider 'kp' listed twice"
    ] == message.splitlines()


def test_valid_kms_entry_builds(tmp_path: Path) -> None:
    """A valid entry becomes a KmsSite with its expected providers and policy."""
    path = tmp_path / "inventory.yaml"
    path.write_text(
        VCENTERS
        + "kms:\n  - vcenter: vc-a\n    providers: [{name: kp, servers: [s1, s2]}]\n"
        + "    expect: {min_servers: 3}\n",
        encoding="utf-8",
    )
    [site] = load_inventory(path).of(KmsSite)
    assert KmsSite("vc-a", (ExpectedProvider("kp", ("s1", "s2")),), None, site.expect) == site
    assert 3 == site.expect.min_servers


def test_metrics_in_base_units_per_provider_and_server() -> None:
    """Results render as holdtime_kms_* gauges: 0/1 per server, not-after as Unix seconds."""
    from prometheus_client.parser import text_string_to_metric_families

    from holdtime.exporters.metrics import domain_families, render_text

    status_ = (ProviderStatus("kp", (server("s1"), server("s2", "red")), cert(10)),)
    obs = observation(statuses=status_, objects=(ProtectedObject("vm", "app1", "kp"),))
    results = [
        r
        for check in (
            ServersConnectedCheck(),
            ClientCertificateCheck(),
            ProtectedObjectsCheck(),
            ProviderRedundantCheck(),
            DefaultProviderCheck(),
        )
        for r in check.evaluate(target(), obs)
    ]
    text = render_text(domain_families((r, 0.0) for r in results)).decode()
    samples = {
        (
            s.name,
            tuple(sorted((k, v) for k, v in s.labels.items() if k in ("provider", "server"))),
        ): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert {
        ("holdtime_kms_server_connected", (("provider", "kp"), ("server", "s1"))): 1.0,
        ("holdtime_kms_server_connected", (("provider", "kp"), ("server", "s2"))): 0.0,
        ("holdtime_kms_client_certificate_not_after_timestamp_seconds", (("provider", "kp"),)): (
            NOW + dt.timedelta(days=10)
        ).timestamp(),
        ("holdtime_kms_protected_objects", (("provider", "kp"),)): 1.0,
        ("holdtime_kms_provider_usable", (("provider", "kp"),)): 1.0,
        ("holdtime_kms_provider_servers", (("provider", "kp"),)): 2.0,
        ("holdtime_kms_default_provider_set", ()): 1.0,
    } == samples


def test_describe_states_threshold_with_unit_and_default() -> None:
    """`holdtime describe` reads class data: the warn horizon, its unit and default."""
    description = ClientCertificateCheck().describe()
    assert ("kms", [("client_certificate_warn_days", 30.0, "days")]) == (
        description.probe,
        [(t.name, t.default, t.unit) for t in description.thresholds],
    )


def test_cli_validate_bad_kms_entry_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime inventory validate` on an unknown vCenter reference: exit 2, file:line."""
    from holdtime.cli import main

    path = tmp_path / "inventory.yaml"
    path.write_text(VCENTERS + "kms:\n  - vcenter: vc-typo\n", encoding="utf-8")
    code = main(["inventory", "validate", str(path)])
    lines = [line for line in capsys.readouterr().err.splitlines() if "kms[0]" in line]
    assert (2, 1) == (code, len(lines))
    assert lines[0].startswith(f"{path}:4:14: kms[0].vcenter: vcenter 'vc-typo'")


def test_protected_from_reads_pyvmomi_key_ids_with_and_without_provider() -> None:
    """pyVmomi CryptoKeyIds: the provider id when set, None when the key names none."""
    from pyVmomi import vim

    from holdtime.probes.kms_model import ObjectRecord, protected_from

    keyed = vim.encryption.CryptoKeyId(keyId="k1", providerId=vim.encryption.KeyProviderId(id="kp"))
    records = [
        ObjectRecord("VirtualMachine", {"name": "vm-b", "config.keyId": keyed}),
        ObjectRecord("VirtualMachine", {"name": "vm-a"}),  # not encrypted
        ObjectRecord(
            "HostSystem",
            {"name": "esx1", "runtime.cryptoKeyId": vim.encryption.CryptoKeyId(keyId="k2")},
        ),
    ]
    assert (
        ProtectedObject("host", "esx1", None),
        ProtectedObject("vm", "vm-b", "kp"),
    ) == protected_from(records)


def test_pytest_plugin_collects_one_item_per_provider_and_server(tmp_path: Path) -> None:
    """`pytest --holdtime-inventory` makes kms items per provider and per KMIP server."""
    import os
    import subprocess
    import sys

    path = tmp_path / "inventory.yaml"
    path.write_text(
        VCENTERS + "kms:\n  - vcenter: vc-a\n    providers: [{name: kp, servers: [s1, s2]}]\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q"]
    run = subprocess.run(
        [*command, "--holdtime-inventory", str(path), "--holdtime-only", "kms.*"],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_ADDOPTS": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    items = sorted(line.split("::", 1)[1] for line in run.stdout.splitlines() if "::" in line)
    assert [
        "kms.client_certificate[vc-a/kp]",
        "kms.client_certificate[vc-a]",
        "kms.default_provider[vc-a]",
        "kms.protected_objects[vc-a/kp]",
        "kms.protected_objects[vc-a]",
        "kms.provider_redundant[vc-a/kp]",
        "kms.provider_redundant[vc-a]",
        "kms.server_certificate[vc-a/kp/s1]",
        "kms.server_certificate[vc-a/kp/s2]",
        "kms.server_certificate[vc-a]",
        "kms.servers_connected[vc-a/kp/s1]",
        "kms.servers_connected[vc-a/kp/s2]",
        "kms.servers_connected[vc-a]",
    ] == items

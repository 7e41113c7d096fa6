"""Every registered entry point loads and satisfies its Protocol."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

from holdtime import plugins
from holdtime.inventory import Inventory, load_inventory
from holdtime.plugins import Check, CheckDescription, Probe


def _names(group: str) -> list[str]:
    return sorted(e.name for e in entry_points(group=group))


@pytest.mark.parametrize("name", _names("holdtime.probes"))
def test_probe_entry_points_satisfy_protocol(name: str) -> None:
    """Each probe entry point builds an object with name, targets() and collect()."""
    (entry,) = entry_points(group="holdtime.probes", name=name)
    probe = entry.load()()
    assert isinstance(probe, Probe)
    assert name == probe.name


@pytest.mark.parametrize("name", _names("holdtime.checks"))
def test_check_entry_points_satisfy_protocol_and_describe_themselves(name: str) -> None:
    """Each check is named like its entry point, names a registered probe and describes itself."""
    (entry,) = entry_points(group="holdtime.checks", name=name)
    check = entry.load()()
    assert isinstance(check, Check)
    assert name == check.name
    assert check.probe in _names("holdtime.probes")
    description = check.describe()
    assert isinstance(description, CheckDescription)
    assert (name, check.probe) == (description.name, description.probe)
    assert description.summary
    assert description.compares


def _inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    """One entry of every built-in family: a router with BGP and IPsec, a vCenter, a port."""
    monkeypatch.setenv("HOLDTIME_TEST_VC_PASSWORD", "not used: nothing connects")
    (tmp_path / "key").write_text("not used: nothing connects\n")
    (tmp_path / "known_hosts").write_text("")
    (tmp_path / "kmip.pem").write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    (tmp_path / "kmip.key").write_text("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n")
    path = tmp_path / "inventory.yaml"
    path.write_text(
        f"""
routers:
  - name: r1
    host: 192.0.2.1
    username: holdtime
    auth: {{key_file: {tmp_path / "key"}}}
    known_hosts: {tmp_path / "known_hosts"}
    platform: [frr, strongswan]
    expect:
      bgp:
        neighbors: [{{address: 10.10.10.2, prefixes_received: [172.16.1.0/24]}}]
        best_paths: [{{prefix: 172.16.1.0/24, via: 10.10.10.2}}]
        bfd: true
      ipsec: {{tunnels: [esg1]}}
vcenters:
  - name: vc1
    host: 192.0.2.2
    username: holdtime
    password_env: HOLDTIME_TEST_VC_PASSWORD
kms:
  - {{vcenter: vc1, providers: [{{name: kp, servers: [kms1, kms2]}}]}}
tcp:
  - {{name: ldaps, host: 192.0.2.3, port: 636}}
dns:
  - name: directory
    resolvers: [{{name: dc1, address: 192.0.2.4}}, {{name: dc2, address: 192.0.2.5}}]
    names: [{{name: vcenter.example.net}}]
ldaps:
  - name: dc1
    host: 192.0.2.4
    bind_dn: cn=svc,dc=lab
    password_env: HOLDTIME_TEST_VC_PASSWORD
tls:
  - {{name: vc1-tls, host: 192.0.2.2, port: 443}}
kmip:
  - name: kms1
    host: 192.0.2.4
    client_certificate: {tmp_path / "kmip.pem"}
    client_key: {tmp_path / "kmip.key"}
"""
    )
    return load_inventory(path)


@pytest.mark.parametrize("name", _names("holdtime.checks"))
def test_check_entry_points_have_every_protocol_member(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each check has reads, reports_unlisted_targets, applies_to() and expected_targets()."""
    (entry,) = entry_points(group="holdtime.checks", name=name)
    check = entry.load()()
    assert isinstance(check.reads, tuple)
    assert all(isinstance(section, str) and section for section in check.reads)
    assert isinstance(check.reports_unlisted_targets, bool)
    (probe,) = (p for p in plugins.probes().values() if p.name == check.probe)
    targets = probe.targets(_inventory(tmp_path, monkeypatch))
    assert targets, f"the contract inventory has no target for {check.probe}"
    assert any(check.applies_to(target) for target in targets)
    for target in targets:
        assert isinstance(check.applies_to(target), bool)
        # result targets under the target's own name: `r1/10.10.10.2`
        listed = list(check.expected_targets(target))
        assert [] == [t for t in listed if not t.startswith(f"{target.name}/")]


def test_every_router_check_declares_what_it_reads() -> None:
    """A check of the router probe names its sections, so the probe can skip the others."""
    undeclared = [c.name for c in plugins.checks().values() if c.probe == "router" and not c.reads]
    assert [] == undeclared


@pytest.mark.parametrize("name", _names("holdtime.reports"))
def test_report_entry_points_are_callables(name: str) -> None:
    """Each report format is a callable renderer."""
    (entry,) = entry_points(group="holdtime.reports", name=name)
    assert callable(entry.load())


def test_check_names_are_family_dot_what() -> None:
    """Check names read `family.what` so --only 'bgp.*' selects a family."""
    for name in _names("holdtime.checks"):
        family, _, what = name.partition(".")
        assert family, name
        assert what, name

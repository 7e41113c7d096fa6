"""The `kmip` family against the lab's real PyKMIP server on kms, from app across the tunnels.

`holdtime check -i <lab inventory>` runs as a user would (a subprocess): mutual TLS with the
client certificate the lab CA issued for holdtime, a DiscoverVersions round trip, the server's
certificate. Faults: the server stopped (the lab's own stop), and a listener on kms:5696 that
completes the TLS handshake and then never answers (the one fault PyKMIP cannot produce). Each
makes the kms endpoint's checks ERROR and leaves the controllers' tls checks PASS. A drill with
the app-to-kms ping path shows the key server's reachability through the edge failover.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kmip_server import HangingTlsServer
from lab_check import Results, check_lab, statuses

from holdtime import netns
from holdtime.drill.scenario import scenario
from holdtime.drill.wiring import run_inventory_drill
from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.lab.lab_ca import LabCa
from holdtime.lab.topology import KMS_ADDRESS, KMS_PORT, KMS_SERVER_NAME

pytestmark = [pytest.mark.integration, pytest.mark.lab]

KMIP_CHECKS = ("kmip.handshake", "kmip.responds", "kmip.server_certificate")
ONLY = ("kmip.*", "tls.*")
TLS_PASS = {"tls.handshake": "pass", "tls.expiry": "pass"}


def _check(lab: Lab) -> tuple[int, Results, str]:
    """`holdtime check --only 'kmip.*' --only 'tls.*'` of the lab inventory, as JSON."""
    return check_lab(lab, ONLY)


def _key_body(path: Path) -> str:
    """The base64 body of a PEM key (what must never be printed)."""
    return "".join(line for line in path.read_text().splitlines() if not line.startswith("-----"))


def test_every_kmip_check_passes_across_the_tunnels(lab: Lab) -> None:
    """kms: TLS with holdtime's client certificate, DiscoverVersions, its certificate: PASS."""
    exit_code, results, output = _check(lab)
    assert (0, dict.fromkeys(KMIP_CHECKS, "pass"), TLS_PASS, TLS_PASS) == (
        exit_code,
        statuses(results, "kms"),
        statuses(results, "dc1-ldaps"),
        statuses(results, "dc2-ldaps"),
    ), output
    assert f"CN={KMS_SERVER_NAME}" in str(results[("kmip.server_certificate", "kms")]["summary"])
    for key in (lab.kmip_client_dir / "client.key", lab.root / "kms" / "tls" / "server.key"):
        assert _key_body(key)[:64] not in output


def test_key_server_stopped_errors_kms_only(lab: Lab) -> None:
    """PyKMIP stopped: `lab status` names it, kms's kmip checks ERROR, the controllers' PASS."""
    lab.stop_kms()
    try:
        assert ["kms-pykmip"] == lab.findings(sessions=False).stopped
        assert "missing: processes pykmip on kms" in lab.status()
        exit_code, results, output = _check(lab)
    finally:
        lab.start_kms()
    assert (2, dict.fromkeys(KMIP_CHECKS, "error"), TLS_PASS, TLS_PASS) == (
        exit_code,
        statuses(results, "kms"),
        statuses(results, "dc1-ldaps"),
        statuses(results, "dc2-ldaps"),
    ), output
    summary = str(results[("kmip.handshake", "kms")]["summary"])
    assert f"kms: {KMS_ADDRESS}:{KMS_PORT} refused" in summary, summary
    # started again: whole lab, every check passes
    assert [] == lab.findings(sessions=False).stopped
    exit_code, results, output = _check(lab)
    assert (0, {"pass"}) == (exit_code, {str(r["status"]) for r in results.values()}), output


def test_key_server_hanging_after_the_handshake_errors_at_the_deadline(
    lab: Lab, tmp_path: Path
) -> None:
    """A kms:5696 that completes mutual TLS and never answers: handshake PASS, responds ERROR."""
    ca = LabCa.load(lab.root / "ca")
    issued = ca.issue_server(
        tmp_path, KMS_SERVER_NAME, dns_names=[KMS_SERVER_NAME], ips=[KMS_ADDRESS], key_type="rsa"
    )
    lab.stop_kms()
    try:
        with netns.entered(lab.netns("kms")):  # the listener lives in the kms namespace
            hanging = HangingTlsServer(issued, ca, host=KMS_ADDRESS, port=KMS_PORT)
        try:
            exit_code, results, output = _check(lab)
        finally:
            hanging.stop()
    finally:
        lab.start_kms()
    assert (2, 1, "pass", "error", TLS_PASS) == (
        exit_code,
        hanging.handshakes,
        statuses(results, "kms")["kmip.handshake"],
        statuses(results, "kms")["kmip.responds"],
        statuses(results, "dc1-ldaps"),
    ), output
    assert "timeout" in str(results[("kmip.responds", "kms")]["summary"]).lower(), output


def test_drill_shows_the_key_server_across_the_failover(lab: Lab, tmp_path: Path) -> None:
    """esg1-bgp-shutdown probing app-to-db and app-to-kms: both paths measured in both phases."""
    document = yaml.safe_load(lab.inventory_path.read_text())
    drill = document["drills"]["esg1-bgp-shutdown"]
    drill["probes"] = ["app-to-db", "app-to-kms"]
    drill["timing"] = {
        "settle_seconds": 2,
        "observe_seconds": 6,
        "failback_observe_seconds": 6,
        "clean_seconds": 2,
    }
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    inventory = load_inventory(path)
    try:
        result = run_inventory_drill(
            inventory,
            scenario(inventory, "esg1-bgp-shutdown"),
            tmp_path / "drill.jsonl",
            steady_state=False,
        )
    finally:
        lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
        lab.wait_ready()
    measured = {(p.path, p.phase): p for p in result.phases}
    assert {
        ("app-to-db", "failover"),
        ("app-to-db", "failback"),
        ("app-to-kms", "failover"),
        ("app-to-kms", "failback"),
    } <= set(measured)
    kms_failover = measured[("app-to-kms", "failover")]
    # a BGP shutdown sends NOTIFICATION: the key server stays reachable through esg2
    assert (True, True) == (result.passed, kms_failover.lost < kms_failover.sent), result

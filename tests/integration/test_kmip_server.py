"""The kmip family against PyKMIP's real server, through the real `holdtime check` command."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kmip_server import (
    HOST,
    SERVER_NAME,
    HangingTlsServer,
    KmipServerProcess,
    issue_server_certificate,
    start_kmip_server,
)

from holdtime.lab.lab_ca import Issued, LabCa

pytestmark = pytest.mark.integration

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))
TIMEOUT = 2.0
KEY_PASSWORD = "kmip-key-pass-7c1e"  # a test secret: must never be printed


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LabCa:
    """The lab CA that signs the servers' and holdtime's certificates."""
    return LabCa.create(tmp_path_factory.mktemp("kmip-ca"))


@pytest.fixture(scope="module")
def client(ca: LabCa, tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """holdtime's client certificate, signed by the lab CA."""
    return ca.issue_client(tmp_path_factory.mktemp("kmip-client"), "holdtime")


@pytest.fixture(scope="module")
def healthy(ca: LabCa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KmipServerProcess]:
    """A PyKMIP server with a good certificate."""
    server = start_kmip_server(tmp_path_factory.mktemp("kmip-healthy"), ca)
    yield server
    server.stop()


def _entry(
    name: str, port: int, client: Issued, ca_path: Path, **extra: object
) -> dict[str, object]:
    return {
        "name": name,
        "host": HOST,
        "port": port,
        "server_name": SERVER_NAME,
        "ca_file": str(ca_path),
        "client_certificate": str(client.cert_path),
        "client_key": str(client.key_path),
        "timeout_seconds": TIMEOUT,
        **extra,
    }


def _check(
    tmp_path: Path, entries: list[dict[str, object]], env: dict[str, str] | None = None
) -> tuple[int, dict[str, dict[str, object]], str]:
    """Run `holdtime check --format json`; (exit code, results by check@target, all output)."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(json.dumps({"kmip": entries}))
    done = subprocess.run(
        [HOLDTIME, "check", "-i", str(inventory), "-v", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    report = json.loads(done.stdout)
    results = {f"{r['check']}@{r['device']}": r for r in report["results"]}
    return done.returncode, results, done.stdout + done.stderr


def _statuses(results: dict[str, dict[str, object]], device: str) -> dict[str, object]:
    return {
        key.split("@")[0]: value["status"]
        for key, value in results.items()
        if key.endswith(f"@{device}")
    }


def _assert_no_key_material(output: str, *keys: Path) -> None:
    for key in keys:
        body = "".join(
            line for line in key.read_text().splitlines() if not line.startswith("-----")
        )
        assert body[:40] not in output
    assert "PRIVATE KEY" not in output
    assert KEY_PASSWORD not in output


def test_healthy_server_passes(
    tmp_path: Path, healthy: KmipServerProcess, client: Issued, ca: LabCa
) -> None:
    """A good PyKMIP server: TLS up, DiscoverVersions SUCCESS offering 1.2, certificate PASS."""
    code, results, output = _check(tmp_path, [_entry("kms1", healthy.port, client, ca.cert_path)])
    expected = {
        "kmip.handshake": "pass",
        "kmip.responds": "pass",
        "kmip.server_certificate": "pass",
    }
    assert (0, expected) == (code, _statuses(results, "kms1")), output
    responds = results["kmip.responds@kms1"]["observed"]
    assert isinstance(responds, dict)
    assert "1.2" in responds["protocol_versions"]
    _assert_no_key_material(output, client.key_path, healthy.certificate.key_path)


def test_encrypted_client_key_with_password_env(
    tmp_path: Path, healthy: KmipServerProcess, ca: LabCa
) -> None:
    """An encrypted client key works through client_key_password_env; the password never shows."""
    from cryptography.hazmat.primitives import serialization

    plain = ca.issue_client(tmp_path / "enc", "holdtime")
    key = serialization.load_pem_private_key(plain.key_path.read_bytes(), password=None)
    encrypted = tmp_path / "enc" / "client-encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
        )
    )
    entry = _entry(
        "kms1",
        healthy.port,
        plain,
        ca.cert_path,
        client_key=str(encrypted),
        client_key_password_env="KMIP_KEY_PASSWORD",
    )
    code, results, output = _check(tmp_path, [entry], {"KMIP_KEY_PASSWORD": KEY_PASSWORD})
    assert (0, "pass") == (code, results["kmip.responds@kms1"]["status"])
    _assert_no_key_material(output, plain.key_path)


def test_stopped_server_is_error_and_others_unaffected(
    tmp_path: Path, healthy: KmipServerProcess, client: Issued, ca: LabCa
) -> None:
    """A stopped server: its three checks ERROR; the healthy server next to it still PASSes."""
    stopped = start_kmip_server(tmp_path / "stopped", ca)
    stopped.stop()
    entries = [
        _entry("kms-stopped", stopped.port, client, ca.cert_path),
        _entry("kms1", healthy.port, client, ca.cert_path),
    ]
    code, results, output = _check(tmp_path, entries)
    assert 2 == code
    assert {
        "kmip.handshake": "error",
        "kmip.responds": "error",
        "kmip.server_certificate": "error",
    } == _statuses(results, "kms-stopped")
    assert {"pass"} == set(_statuses(results, "kms1").values())
    assert "refused" in str(results["kmip.responds@kms-stopped"]["reasons"])
    _assert_no_key_material(output, client.key_path)


def test_server_hanging_after_handshake_is_error_at_the_deadline(
    tmp_path: Path, healthy: KmipServerProcess, client: Issued, ca: LabCa
) -> None:
    """TLS completes and nothing answers: kmip.responds ERROR (timeout); the handshake PASSes."""
    issued = issue_server_certificate(ca, tmp_path / "hang")
    hanging = HangingTlsServer(issued, ca)
    try:
        entries = [
            _entry("kms-hang", hanging.port, client, ca.cert_path),
            _entry("kms1", healthy.port, client, ca.cert_path),
        ]
        code, results, _ = _check(tmp_path, entries)
    finally:
        hanging.stop()
    assert 1 <= hanging.handshakes
    assert 2 == code
    assert {
        "kmip.handshake": "pass",
        "kmip.responds": "error",
        "kmip.server_certificate": "pass",
    } == _statuses(results, "kms-hang")
    observed = results["kmip.responds@kms-hang"]["observed"]
    assert isinstance(observed, dict)
    assert "timeout" == observed["kmip_state"]
    assert {"pass"} == set(_statuses(results, "kms1").values())


def test_expired_server_certificate_fails(tmp_path: Path, client: Issued, ca: LabCa) -> None:
    """An expired server certificate: handshake FAIL (we refuse it), certificate FAIL (expired)."""
    now = datetime.datetime.now(datetime.UTC)
    expired = start_kmip_server(
        tmp_path / "expired", ca, not_after=now - datetime.timedelta(days=3)
    )
    try:
        code, results, output = _check(
            tmp_path, [_entry("kms-old", expired.port, client, ca.cert_path)]
        )
    finally:
        expired.stop()
    statuses = _statuses(results, "kms-old")
    assert ("fail", "fail", "error") == (
        statuses["kmip.handshake"],
        statuses["kmip.server_certificate"],
        statuses["kmip.responds"],
    )
    assert "expired" in str(results["kmip.handshake@kms-old"]["summary"])
    assert "expired 3 days ago" in str(results["kmip.server_certificate@kms-old"]["summary"])
    assert 1 == code or 2 == code
    _assert_no_key_material(output, client.key_path, expired.certificate.key_path)


def test_client_certificate_from_another_ca_is_refused_with_the_servers_reason(
    tmp_path: Path, healthy: KmipServerProcess, ca: LabCa
) -> None:
    """A client certificate the server does not trust: handshake FAIL with the TLS alert."""
    rogue = LabCa.create(tmp_path / "rogue", "rogue CA")
    stranger = rogue.issue_client(tmp_path / "stranger", "holdtime")
    _, results, output = _check(tmp_path, [_entry("kms1", healthy.port, stranger, ca.cert_path)])
    handshake = results["kmip.handshake@kms1"]
    assert ("fail", "error") == (handshake["status"], results["kmip.responds@kms1"]["status"])
    assert "unknown ca" in str(handshake["summary"])
    assert "refused the TLS session" in str(handshake["reasons"])
    _assert_no_key_material(output, stranger.key_path, rogue.key_path)


def test_pytest_items_per_server(
    tmp_path: Path, healthy: KmipServerProcess, client: Issued, ca: LabCa
) -> None:
    """`pytest --holdtime-inventory`: three items per server, the stopped server's are errors."""
    stopped = start_kmip_server(tmp_path / "stopped", ca)
    stopped.stop()
    inventory = tmp_path / "inventory.yaml"
    entries = [
        _entry("kms1", healthy.port, client, ca.cert_path),
        _entry("kms-stopped", stopped.port, client, ca.cert_path),
    ]
    inventory.write_text(json.dumps({"kmip": entries}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rA",
            "-q",
            f"--holdtime-inventory={inventory}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=tmp_path,
    )
    outcomes = {
        line.split(" ")[1]: line.split(" ")[0]
        for line in done.stdout.splitlines()
        if line.startswith(("PASSED ", "ERROR ", "FAILED ")) and "::" in line
    }
    checks = ("kmip.handshake", "kmip.responds", "kmip.server_certificate")
    expected = {f"{c}[kms1]": "PASSED" for c in checks} | {
        f"{c}[kms-stopped]": "ERROR" for c in checks
    }
    by_device = {re.sub(r"/[^]]*]$", "]", k.rpartition("::")[2]): v for k, v in outcomes.items()}
    assert expected == by_device, done.stdout
    _assert_no_key_material(done.stdout + done.stderr, client.key_path)


def test_server_resetting_after_handshake_is_error(
    tmp_path: Path, client: Issued, ca: LabCa
) -> None:
    """TLS completes, then the server resets: kmip.responds ERROR (closed), never PASS/FAIL."""
    issued = issue_server_certificate(ca, tmp_path / "reset")
    resetting = HangingTlsServer(issued, ca, reset=True)
    try:
        code, results, _ = _check(
            tmp_path, [_entry("kms-reset", resetting.port, client, ca.cert_path)]
        )
    finally:
        resetting.stop()
    responds = results["kmip.responds@kms-reset"]
    observed = responds["observed"]
    assert isinstance(observed, dict)
    assert (2, "error", "closed") == (code, responds["status"], observed.get("kmip_state")), (
        responds["summary"],
        responds["reasons"],
    )

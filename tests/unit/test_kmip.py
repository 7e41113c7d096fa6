"""kmip family: inventory errors (file:line), pure checks, the DiscoverVersions codec, metrics."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from holdtime.checks.kmip import HandshakeCheck, RespondsCheck, ServerCertificateCheck
from holdtime.errors import ConfigError
from holdtime.exporters.metrics import domain_families, render_text
from holdtime.inventory import Inventory, load_inventory
from holdtime.lab.lab_ca import LabCa
from holdtime.models import Status
from holdtime.plugins import Target
from holdtime.probes import kmip_wire
from holdtime.probes.kmip import KmipObservation, KmipProbe, ServerCertificate
from holdtime.probes.kmip_config import KmipServer

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ca.pem, client.pem, client.key (lab CA) and a file that is not PEM."""
    folder = tmp_path_factory.mktemp("kmip-pki")
    ca = LabCa.create(folder / "ca")
    ca.issue_client(folder, "holdtime")
    (folder / "notes.txt").write_text("not a certificate\n")
    return folder


def _inventory(folder: Path, entry: str) -> Path:
    path = folder / "inventory.yaml"
    path.write_text(
        "kmip:\n"
        "  - name: kms1\n"
        "    host: 10.20.0.30\n"
        f"    ca_file: {folder / 'ca' / 'ca.pem'}\n" + entry
    )
    return path


GOOD_FILES = "    client_certificate: client.pem\n    client_key: client.key\n"


def test_good_entry_builds_with_defaults(pki: Path) -> None:
    """A minimal entry: port 5696, 5 s timeout, verify the host itself, files resolved."""
    inventory = load_inventory(_inventory(pki, GOOD_FILES))
    (server,) = inventory.of(KmipServer)
    assert (5696, 5.0, "10.20.0.30", pki / "client.key") == (
        server.port,
        server.timeout_seconds,
        server.verify_name,
        server.client_key,
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "    client_certificate: missing.pem\n    client_key: client.key\n",
            ":5:25: kmip[0].client_certificate: file 'missing.pem' does not exist",
        ),
        (
            "    client_certificate: notes.txt\n    client_key: client.key\n",
            ":5:25: kmip[0].client_certificate: file 'notes.txt' is not a PEM certificate",
        ),
        (
            "    client_certificate: client.pem\n    client_key: client.pem\n",
            ":6:17: kmip[0].client_key: file 'client.pem' is not a PEM private key "
            "(found CERTIFICATE)",
        ),
        (GOOD_FILES + "    port: 70000\n", ":7:11: kmip[0].port:"),
        (
            "    client_certificate: client.pem\n",
            ":2:5: kmip[0]: missing required key 'client_key'",
        ),
    ],
    ids=["missing-cert", "cert-not-pem", "key-is-a-cert", "port-out-of-range", "no-key"],
)
def test_bad_entry_is_one_line_with_file_and_line(pki: Path, entry: str, expected: str) -> None:
    """Each mistake is one line `file:line:col: where: message`, never a traceback."""
    path = _inventory(pki, entry)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    lines = str(caught.value).splitlines()
    assert (1, True) == (len(lines), lines[0].startswith(f"{path}{expected}")), lines


def test_encrypted_key_without_password_env_is_one_line(pki: Path, tmp_path: Path) -> None:
    """An encrypted client key and no client_key_password_env: told what to set."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((pki / "client.key").read_bytes(), password=None)
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret-pass"),
        )
    )
    path = _inventory(pki, f"    client_certificate: client.pem\n    client_key: {encrypted}\n")
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert [
        f"{path}:6:17: kmip[0].client_key: file '{encrypted}' is an encrypted key: "
        "set client_key_password_env"
    ] == str(caught.value).splitlines()


def _target(**expect: object) -> Target[KmipServer]:
    server = KmipServer(
        name="kms1", host="10.20.0.30", client_certificate=Path("c.pem"), client_key=Path("c.key")
    )
    if expect:
        server = dataclasses.replace(server, expect=dataclasses.replace(server.expect, **expect))
    (target,) = KmipProbe().targets(Inventory(path=Path("i.yaml"), sections={"kmip": (server,)}))
    return target


def _certificate(days_left: float, valid_since_days: float = 300) -> ServerCertificate:
    return ServerCertificate(
        subject="CN=kms1",
        issuer="CN=ca",
        not_before_timestamp=NOW - valid_since_days * DAY,
        not_after_timestamp=NOW + days_left * DAY,
    )


def _observation(**fields: object) -> KmipObservation:
    base: dict[str, object] = {
        "endpoint": "10.20.0.30:5696",
        "verify_name": "10.20.0.30",
        "checked_at": NOW,
        "timeout_seconds": 5.0,
        "tls_state": "ok",
        "tls_version": "TLSv1.2",
        "handshake_seconds": 0.01,
        "certificate": _certificate(200),
        "kmip_state": "ok",
        "latency_seconds": 0.02,
        "result_status": "SUCCESS",
        "protocol_versions": ("2.0", "1.4"),
    }
    base.update(fields)
    return KmipObservation(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, Status.PASS),
        ({"tls_state": "untrusted", "tls_detail": "certificate has expired"}, Status.FAIL),
        ({"tls_state": "rejected", "tls_detail": "tlsv1 alert unknown ca"}, Status.FAIL),
        ({"tls_state": "timeout", "tls_detail": "timed out"}, Status.ERROR),
        ({"tls_state": "closed", "tls_detail": "reset"}, Status.ERROR),
    ],
    ids=["ok", "untrusted", "rejected", "timeout", "closed"],
)
def test_handshake_states(fields: dict[str, object], expected: Status) -> None:
    """We refused them or they refused us: FAIL; an unfinished handshake: ERROR."""
    (result,) = HandshakeCheck().evaluate(_target(), _observation(**fields))
    assert expected == result.status
    assert (expected is Status.PASS) == (not result.reasons)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, Status.PASS),
        ({"latency_seconds": 1.5}, Status.FAIL),
        (
            {"result_status": "OPERATION_FAILED", "result_reason": "PERMISSION_DENIED"},
            Status.FAIL,
        ),
        ({"kmip_state": "timeout", "kmip_detail": "timed out"}, Status.ERROR),
        ({"kmip_state": "unreadable", "kmip_detail": "bad TTLV"}, Status.ERROR),
        ({"kmip_state": "closed", "kmip_detail": "EOF"}, Status.ERROR),
        ({"tls_state": "rejected", "kmip_state": "not_sent"}, Status.ERROR),
    ],
    ids=["ok", "slow", "operation-failed", "timeout", "unreadable", "closed", "no-tls"],
)
def test_responds_states(fields: dict[str, object], expected: Status) -> None:
    """A failure answer or a slow one is FAIL; no (readable) answer is ERROR, never FAIL."""
    (result,) = RespondsCheck().evaluate(_target(), _observation(**fields))
    assert expected == result.status


@pytest.mark.parametrize(
    ("certificate", "expected"),
    [
        (_certificate(200), Status.PASS),
        (_certificate(10), Status.WARN),
        (_certificate(-2), Status.FAIL),
        (_certificate(200, valid_since_days=-1), Status.FAIL),
        (None, Status.ERROR),
    ],
    ids=["valid", "expires-in-10-days", "expired", "not-yet-valid", "none-read"],
)
def test_server_certificate_states(certificate: ServerCertificate | None, expected: Status) -> None:
    """Days left against certificate_warn_days (30): WARN under, FAIL expired, ERROR unread."""
    (result,) = ServerCertificateCheck().evaluate(
        _target(), _observation(certificate=certificate, certificate_detail="TLS failed")
    )
    assert expected == result.status


def test_warn_days_come_from_the_entry() -> None:
    """expect.certificate_warn_days: 5 makes 10 days left a PASS."""
    (result,) = ServerCertificateCheck().evaluate(
        _target(certificate_warn_days=5), _observation(certificate=_certificate(10))
    )
    assert Status.PASS == result.status


def test_request_round_trips_through_pykmip() -> None:
    """The encoded DiscoverVersions request decodes with PyKMIP as one DiscoverVersions item."""
    from kmip.core import enums
    from kmip.core.messages import messages
    from kmip.core.utils import BytearrayStream

    request = messages.RequestMessage()
    request.read(BytearrayStream(kmip_wire.discover_versions_request()))
    assert [enums.Operation.DISCOVER_VERSIONS] == [i.operation.value for i in request.batch_items]


def test_response_decodes_versions_and_status() -> None:
    """A PyKMIP-encoded DiscoverVersions response gives SUCCESS and the versions in order."""
    from kmip.core import enums
    from kmip.core.messages import contents, messages, payloads
    from kmip.core.utils import BytearrayStream

    item = messages.ResponseBatchItem(
        operation=contents.Operation(enums.Operation.DISCOVER_VERSIONS),
        result_status=contents.ResultStatus(enums.ResultStatus.SUCCESS),
        response_payload=payloads.DiscoverVersionsResponsePayload(
            [contents.ProtocolVersion(1, 4), contents.ProtocolVersion(1, 2)]
        ),
    )
    header = messages.ResponseHeader(
        protocol_version=contents.ProtocolVersion(1, 2),
        time_stamp=contents.TimeStamp(int(NOW)),
        batch_count=contents.BatchCount(1),
    )
    stream = BytearrayStream()
    messages.ResponseMessage(response_header=header, batch_items=[item]).write(stream)
    wire = io.BytesIO(bytes(stream.buffer))
    answer = kmip_wire.parse_discover_versions_response(
        kmip_wire.read_message(lambda n: wire.read(min(n, 5)))  # a slow peer: 5 bytes a read
    )
    assert ("SUCCESS", ("1.4", "1.2")) == (answer.result_status, answer.protocol_versions)


@pytest.mark.parametrize(
    "data",
    [b"\x42\x00\x7b\x01\x00\x00\x00\x08" + b"\x00" * 8, b"garbage!" + b"\x00" * 0x10],
    ids=["empty-structure", "garbage"],
)
def test_unreadable_answer_raises_protocol_error(data: bytes) -> None:
    """Bytes that are not a KMIP response raise KmipProtocolError, nothing else."""
    with pytest.raises(kmip_wire.KmipProtocolError):
        kmip_wire.parse_discover_versions_response(data)


def test_connection_closed_mid_message_is_eof() -> None:
    """A server that closes after part of the header: EOFError."""
    chunks = [b"\x42\x00"]
    with pytest.raises(EOFError):
        kmip_wire.read_message(lambda _n: chunks.pop(0) if chunks else b"")


def test_metrics_up_round_trip_and_not_after() -> None:
    """holdtime_kmip_up 1, round trip in seconds, certificate notAfter as a Unix timestamp."""
    target = _target()
    observation = _observation()
    results = [
        *RespondsCheck().evaluate(target, observation),
        *ServerCertificateCheck().evaluate(target, observation),
    ]
    text = render_text(domain_families((r, NOW) for r in results)).decode()
    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert {
        "holdtime_kmip_up": 1.0,
        "holdtime_kmip_round_trip_seconds": 0.02,
        "holdtime_kmip_server_certificate_not_after_timestamp_seconds": NOW + 200 * DAY,
    } == {k: v for k, v in samples.items() if k.startswith("holdtime_kmip_")}

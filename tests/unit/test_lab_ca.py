"""The lab CA: what each certificate variant holds, and keys readable by their owner only."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from holdtime.lab.lab_ca import VARIANTS, LabCa, issue_server_variant


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LabCa:
    """One CA for the module."""
    return LabCa.create(tmp_path_factory.mktemp("ca"))


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_keys_are_written_0600(ca: LabCa, tmp_path: Path) -> None:
    """The CA key and every issued key are mode 0600, even over an existing 0644 file."""
    (tmp_path / "server.key").write_text("old")
    (tmp_path / "server.key").chmod(0o644)
    issued = ca.issue_server(tmp_path, "dc1.lab.example", dns_names=["dc1.lab.example"])
    assert [0o600, 0o600] == [p.stat().st_mode & 0o777 for p in (ca.key_path, issued.key_path)]


def test_server_certificate_has_dns_and_ip_sans_and_verifies(ca: LabCa, tmp_path: Path) -> None:
    """The SANs hold the names and IPs given; the chain loads into a verifying ssl context."""
    issued = ca.issue_server(
        tmp_path, "dc1.lab.example", dns_names=["dc1.lab.example"], ips=["10.20.0.10"]
    )
    san = _cert(issued.cert_path).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert ["dc1.lab.example"] == san.value.get_values_for_type(x509.DNSName)
    assert ["10.20.0.10"] == [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)]
    context = ssl.create_default_context(cafile=str(issued.ca_path))
    context.load_cert_chain(issued.cert_path, issued.key_path)  # key matches the certificate


def test_client_certificate_is_for_client_auth(ca: LabCa, tmp_path: Path) -> None:
    """A client certificate carries extended key usage clientAuth."""
    issued = ca.issue_client(tmp_path, "holdtime")
    usage = _cert(issued.cert_path).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert [ExtendedKeyUsageOID.CLIENT_AUTH] == list(usage.value)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants(ca: LabCa, tmp_path: Path, variant: str) -> None:
    """Each variant is broken in exactly its own way."""
    issued = issue_server_variant(ca, tmp_path, variant, "dc1.lab.example")  # type: ignore[arg-type]
    cert = _cert(issued.cert_path)
    now = datetime.datetime.now(datetime.UTC)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    seen = {
        "expired": cert.not_valid_after_utc < now,
        "not_yet_valid": cert.not_valid_before_utc > now,
        "wrong_name": "dc1.lab.example" not in names.get_values_for_type(x509.DNSName),
        "other_ca": cert.issuer != _cert(ca.cert_path).subject,
        "expiring_soon": now < cert.not_valid_after_utc < now + datetime.timedelta(days=30),
    }
    assert {k: k == variant for k in seen} == seen

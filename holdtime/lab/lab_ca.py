"""A certificate authority for the lab and the tests: server and client certificates on disk.

Built with the `cryptography` library (a paramiko dependency, so always installed), imported
inside the functions: `holdtime --help` never loads it. Keys are ECDSA P-256 by default (a key
takes under a millisecond; RSA 2048 is there for peers that want it) and are written 0600 and
never printed. Besides good certificates it issues the broken ones the failing scenarios need:
expired, not yet valid, for another host name (`dns_names` of another host), and signed by
another CA (issue from a second `LabCa`, e.g. `LabCa.create(dir, "rogue CA")`).

    ca = LabCa.create(state / "ca")
    good = ca.issue_server(state / "dc1", "dc1.lab.example", dns_names=["dc1.lab.example"],
                           ips=["10.20.0.10"])
    expired = ca.issue_server(state / "old", "dc1.lab.example", dns_names=["dc1.lab.example"],
                              not_after=now - timedelta(days=1))
    client = ca.issue_client(state / "kmip-client", "holdtime")
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

KeyType = Literal["ec", "rsa"]

# Validity when the caller names none: long enough for any lab session, far from the WARN window.
DEFAULT_VALID_DAYS = 365
# Backdate notBefore a little: a peer whose clock lags by seconds must not see "not yet valid".
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its key on disk (PEM), and the CA file that verifies it."""

    cert_path: Path
    key_path: Path
    ca_path: Path
    not_before: datetime.datetime
    not_after: datetime.datetime


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by its owner only (0600 from creation, not chmod after)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o644)


def _new_key(key_type: KeyType) -> CertificateIssuerPrivateKeyTypes:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "holdtime lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class LabCa:
    """A self-signed CA (its certificate at `cert_path`, its key 0600 at `key_path`)."""

    cert_path: Path
    key_path: Path

    @classmethod
    def create(
        cls,
        directory: Path,
        common_name: str = "holdtime lab CA",
        *,
        valid_days: int = 3650,
        key_type: KeyType = "ec",
    ) -> LabCa:
        """A new CA in `directory` (ca.pem, ca.key); overwrites one already there."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization

        key = _new_key(key_type)
        now = _utcnow()
        subject = _name(common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls(cert_path=directory / "ca.pem", key_path=directory / "ca.key")
        write_private(ca.key_path, _key_pem(key))
        _write_public(ca.cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return ca

    @classmethod
    def load(cls, directory: Path) -> LabCa:
        """The CA that `create` wrote in `directory` (FileNotFoundError when there is none)."""
        ca = cls(cert_path=directory / "ca.pem", key_path=directory / "ca.key")
        for path in (ca.cert_path, ca.key_path):
            if not path.is_file():
                raise FileNotFoundError(f"no lab CA in {directory}: {path.name} missing")
        return ca

    @classmethod
    def load_or_create(cls, directory: Path, common_name: str = "holdtime lab CA") -> LabCa:
        """Reuse the CA in `directory`, or create one (lab-up is idempotent)."""
        try:
            return cls.load(directory)
        except FileNotFoundError:
            return cls.create(directory, common_name)

    def issue_server(
        self,
        directory: Path,
        common_name: str,
        *,
        dns_names: Sequence[str] = (),
        ips: Sequence[str] = (),
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        key_type: KeyType = "ec",
        stem: str = "server",
    ) -> Issued:
        """A TLS server certificate (SANs: `dns_names` and `ips`) as `<stem>.pem`/`<stem>.key`.

        `not_before`/`not_after` in the future/past give the "not yet valid"/"expired" cases.
        """
        return self._issue(
            directory,
            common_name,
            dns_names=dns_names,
            ips=ips,
            not_before=not_before,
            not_after=not_after,
            key_type=key_type,
            stem=stem,
            server=True,
        )

    def issue_client(
        self,
        directory: Path,
        common_name: str,
        *,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        key_type: KeyType = "ec",
        stem: str = "client",
    ) -> Issued:
        """A TLS client certificate (extended key usage clientAuth), e.g. for KMIP."""
        return self._issue(
            directory,
            common_name,
            dns_names=(),
            ips=(),
            not_before=not_before,
            not_after=not_after,
            key_type=key_type,
            stem=stem,
            server=False,
        )

    def _issue(
        self,
        directory: Path,
        common_name: str,
        *,
        dns_names: Sequence[str],
        ips: Sequence[str],
        not_before: datetime.datetime | None,
        not_after: datetime.datetime | None,
        key_type: KeyType,
        stem: str,
        server: bool,
    ) -> Issued:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import ExtendedKeyUsageOID

        ca_key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        key = _new_key(key_type)
        now = _utcnow()
        begins = not_before if not_before is not None else now - _BACKDATE
        ends = not_after if not_after is not None else now + datetime.timedelta(DEFAULT_VALID_DAYS)
        if ends <= begins:
            # An expired certificate still needs notBefore < notAfter to be well-formed.
            begins = ends - datetime.timedelta(days=DEFAULT_VALID_DAYS)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(begins)
            .not_valid_after(ends)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError(f"{self.key_path}: not an EC or RSA key")
        cert = builder.sign(ca_key, hashes.SHA256())
        issued = Issued(
            cert_path=directory / f"{stem}.pem",
            key_path=directory / f"{stem}.key",
            ca_path=self.cert_path,
            not_before=begins,
            not_after=ends,
        )
        write_private(issued.key_path, _key_pem(key))
        _write_public(issued.cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return issued


Variant = Literal["good", "expired", "not_yet_valid", "wrong_name", "other_ca", "expiring_soon"]
VARIANTS: tuple[Variant, ...] = (
    "good",
    "expired",
    "not_yet_valid",
    "wrong_name",
    "other_ca",
    "expiring_soon",
)
EXPIRING_SOON_DAYS = 10  # inside the 30-day window in which tls.expiry and ldaps.expiry WARN


def issue_server_variant(
    ca: LabCa,
    directory: Path,
    variant: Variant,
    host: str,
    *,
    ips: Sequence[str] = (),
    wrong_host: str = "wrong-name.lab.example",
    key_type: KeyType = "ec",
) -> Issued:
    """A server certificate for `host` that is good or broken in one named way.

    expired: notAfter a day ago; expiring_soon: valid, notAfter in EXPIRING_SOON_DAYS days;
    not_yet_valid: notBefore in a day; wrong_name: the SANs and CN
    name `wrong_host` only (no IP SAN); other_ca: good in itself but signed by a second CA made in
    `directory/other-ca` (so `Issued.ca_path` is that CA; verify against `ca.cert_path`).
    """
    now = _utcnow()
    day = datetime.timedelta(days=1)
    if variant == "other_ca":
        ca = LabCa.create(directory / "other-ca", "holdtime other CA", key_type=key_type)
    if variant == "wrong_name":
        return ca.issue_server(directory, wrong_host, dns_names=[wrong_host], key_type=key_type)
    return ca.issue_server(
        directory,
        host,
        dns_names=[host],
        ips=ips,
        not_after={"expired": now - day, "expiring_soon": now + EXPIRING_SOON_DAYS * day}.get(
            variant
        ),
        not_before=now + day if variant == "not_yet_valid" else None,
        key_type=key_type,
    )

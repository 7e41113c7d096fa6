"""One TLS handshake to an endpoint, described: certificate, chain and name verified, version.

Shared by the `tls` and `ldaps` families. The handshake verifies like a client would (the CA
file, the host name, the validity dates); when verification fails, a second handshake that
verifies nothing reads the certificate the server sent, so the check can say *why* in the
user's terms ("expired on 2026-11-30", "wanted dc1.example, certificate has dc9.example")
instead of OpenSSL's. Versions from TLS 1.0 up are accepted here so that an old server is
observed as "offers TLS 1.0" (the check judges the minimum), not as a bare protocol error.

No pass/fail here: the observation says what happened, in fields (`handshake` is one of
HANDSHAKE_STATES), with the ssl library's own words in `detail`/`verify_message`.
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from holdtime import netns
from holdtime.errors import ParseError
from holdtime.probes.tcp import classify

HANDSHAKE_STATES = (
    "ok",  # verified: chain to the CA file, host name, validity dates
    "verify_failed",  # the server's certificate did not verify (verify_code says why)
    "protocol",  # no common version/cipher, an alert, or not TLS at all (detail)
    "timeout",  # connected, but no answer (TLS or preamble) within the time left
    "closed",  # the server closed or reset the connection during the handshake
    "preamble_failed",  # the server refused what comes before TLS (StartTLS); detail says how
    "preamble_unreadable",  # the server's answer to the preamble was not understood (detail)
    "not_attempted",  # the TCP connect failed (connect says how)
    "local_error",  # the CA file could not be loaded here
)

# OpenSSL X509_V_ERR_* codes the checks explain in words (openssl/x509_vfy.h, 3.0).
CERT_NOT_YET_VALID = 9
CERT_HAS_EXPIRED = 10
DEPTH_ZERO_SELF_SIGNED_CERT = 18
SELF_SIGNED_CERT_IN_CHAIN = 19
UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
HOSTNAME_MISMATCH = 62
IP_ADDRESS_MISMATCH = 64
UNKNOWN_CA_CODES = frozenset(
    {
        DEPTH_ZERO_SELF_SIGNED_CERT,
        SELF_SIGNED_CERT_IN_CHAIN,
        UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        UNABLE_TO_VERIFY_LEAF_SIGNATURE,
        2,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    }
)
NAME_MISMATCH_CODES = frozenset({HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH})

Preamble = Callable[[socket.socket], str]
"""Runs on the connected socket before TLS (StartTLS): returns "" when TLS may start, or why the
server refused it; raises ParseError for an answer it does not understand, OSError for I/O."""


@dataclass(frozen=True, slots=True)
class Certificate:
    """The server's (leaf) certificate, as read from the handshake."""

    subject: str  # RFC 4514, e.g. "CN=dc1.lab.example,O=holdtime lab"
    common_name: str
    issuer: str  # RFC 4514
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_before_timestamp: float  # Unix seconds
    not_after_timestamp: float
    serial: str  # hex
    sha256_fingerprint: str  # hex, lower case
    public_key: str  # "EC secp256r1", "RSA 2048"

    @property
    def names(self) -> tuple[str, ...]:
        """The names a client may match: SANs (DNS, then IP), else the subject CN."""
        return (self.dns_names + self.ip_addresses) or (
            (self.common_name,) if self.common_name else ()
        )


@dataclass(frozen=True, slots=True)
class TlsObservation:
    """What one TLS handshake (after an optional preamble such as StartTLS) saw."""

    host: str
    port: int
    server_name: str  # the name verified against the certificate (and sent as SNI)
    connect: str  # open | refused | timeout | unreachable | dns_error | error (tcp probe's)
    handshake: str  # one of HANDSHAKE_STATES
    observed_at: float  # Unix seconds when the handshake ran (for days to expiry)
    timeout_seconds: float
    detail: str = ""  # the library's words for a failure
    verify_code: int | None = None  # X509_V_ERR_* when handshake == "verify_failed"
    verify_message: str = ""
    tls_version: str = ""  # "TLSv1.3" (also read on a failed verification)
    cipher: str = ""
    certificate: Certificate | None = None
    handshake_seconds: float | None = None
    ca_file: str = ""  # "" = the system trust store


def read_certificate(der: bytes) -> Certificate:
    """Describe a DER certificate (cryptography, imported here: not at `holdtime --help`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns_names, ips = (), ()
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_text = f"RSA {key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_text = f"EC {key.curve.name}"
    else:
        key_text = type(key).__name__.removeprefix("_").removesuffix("PublicKey")
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        common_name=str(common[0].value) if common else "",
        issuer=cert.issuer.rfc4514_string(),
        dns_names=dns_names,
        ip_addresses=ips,
        not_before_timestamp=cert.not_valid_before_utc.timestamp(),
        not_after_timestamp=cert.not_valid_after_utc.timestamp(),
        serial=format(cert.serial_number, "x"),
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        public_key=key_text,
    )


def ca_file_problem(path: Path) -> str:
    """Why `path` cannot serve as a CA file ("" when it holds at least one PEM certificate)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"
    if b"-----BEGIN CERTIFICATE-----" not in text:
        return "not a PEM file with a certificate (want -----BEGIN CERTIFICATE-----)"
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        return f"its certificates do not load: {exc.reason or exc}"
    return ""


def _context(ca_file: str, verify: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Observe old servers instead of refusing them: the check judges the version.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "TLSv1 is deprecated": on purpose
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    if verify:
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _failure_state(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ConnectionError):
        return "closed"
    if isinstance(exc, ssl.SSLError):
        return "protocol"
    return "closed"


def _words(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return f"{exc.reason} ({exc.library or 'ssl'})" if exc.library else str(exc.reason)
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no TLS answer (the handshake timed out)"
    return str(exc) or type(exc).__name__


def handshake(
    host: str,
    port: int,
    *,
    server_name: str,
    ca_file: str = "",
    timeout_seconds: float = 5.0,
    netns_name: str | None = None,
    preamble: Preamble | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> TlsObservation:
    """Connect, run the preamble, handshake verifying `server_name` against `ca_file`.

    Every step shares one budget of `timeout_seconds`. No exception for network or TLS
    outcomes: they are fields of the observation.
    """
    began = clock()
    blank = TlsObservation(
        host=host,
        port=port,
        server_name=server_name,
        connect="open",
        handshake="not_attempted",
        observed_at=wall(),
        timeout_seconds=timeout_seconds,
        ca_file=ca_file,
    )
    try:
        verifying = _context(ca_file, verify=True)
    except (ssl.SSLError, OSError) as exc:
        return replace(blank, connect="error", handshake="local_error", detail=f"CA file: {exc}")

    def left() -> float:
        return max(0.05, timeout_seconds - (clock() - began))

    first = _attempt(host, port, server_name, verifying, left, netns_name, preamble)
    if first.tls is not None:
        with first.tls:
            return _described(first.tls, replace(blank, handshake="ok"), clock() - began)
    if first.connect != "open" or first.preamble_state:
        return replace(
            blank,
            connect=first.connect,
            handshake=first.preamble_state or "not_attempted",
            detail=first.preamble_error or first.connect_detail,
        )
    error = first.error
    if not isinstance(error, ssl.SSLCertVerificationError):
        return replace(
            blank,
            handshake=_failure_state(error) if error is not None else "protocol",
            detail=_words(error) if error is not None else "no TLS session",
        )
    elapsed = clock() - began
    failed = replace(
        blank,
        handshake="verify_failed",
        verify_code=error.verify_code,
        verify_message=error.verify_message or "",
        detail=_words(error),
        handshake_seconds=elapsed,
    )
    # Verification failed: read what the server presents, to name the problem precisely.
    second = _attempt(
        host, port, server_name, _context("", verify=False), left, netns_name, preamble
    )
    if second.tls is None:
        return failed
    with second.tls:
        return _described(second.tls, failed, elapsed)


def _described(tls: ssl.SSLSocket, seen: TlsObservation, elapsed: float) -> TlsObservation:
    der = tls.getpeercert(binary_form=True)
    cipher = tls.cipher()
    return replace(
        seen,
        tls_version=tls.version() or "",
        cipher=cipher[0] if cipher else "",
        certificate=read_certificate(der) if der else None,
        handshake_seconds=elapsed,
    )


@dataclass
class _Attempt:
    connect: str = "open"
    connect_detail: str = ""
    preamble_state: str = ""  # "" when the preamble succeeded (or there is none)
    preamble_error: str = ""
    tls: ssl.SSLSocket | None = None
    error: BaseException | None = None


def _attempt(
    host: str,
    port: int,
    server_name: str,
    context: ssl.SSLContext,
    left: Callable[[], float],
    netns_name: str | None,
    preamble: Preamble | None,
) -> _Attempt:
    try:
        sock = netns.create_connection((host, port), left(), netns_name)
    except OSError as exc:
        return _Attempt(connect=classify(exc), connect_detail=exc.strerror or str(exc))
    with_socket: socket.socket | None = sock
    try:
        if preamble is not None:
            sock.settimeout(left())
            try:
                why = preamble(sock)
            except OSError as exc:  # no answer, reset: before TLS, so not a TLS failure
                return _Attempt(preamble_state=_failure_state(exc), preamble_error=_words(exc))
            except ParseError as exc:
                return _Attempt(preamble_state="preamble_unreadable", preamble_error=str(exc))
            if why:
                return _Attempt(preamble_state="preamble_failed", preamble_error=why)
        sock.settimeout(left())
        tls = context.wrap_socket(sock, server_hostname=server_name)
        with_socket = None  # the SSLSocket owns it now
        return _Attempt(tls=tls)
    except OSError as exc:  # ssl.SSLError is an OSError
        return _Attempt(error=exc)
    finally:
        if with_socket is not None:
            with_socket.close()

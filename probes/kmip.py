"""KMIP probe: TLS with the client certificate, one DiscoverVersions round trip, the server cert.

Key servers are what encrypted VMs and vSAN need to power on; this probe talks to each one the
way vCenter does (mutual TLS on 5696, then KMIP) and records every step apart, so a check can
tell "the server does not trust our certificate" from "the server's certificate is expired"
from "the TLS session is up but KMIP never answers".

A TCP connect that fails (refused, timeout, no route, name not resolved) raises ConnectError:
nothing about the KMIP server could be evaluated, so every kmip check is an ERROR for it.
The whole exchange shares one budget, the entry's `timeout_seconds`.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from holdtime import netns
from holdtime.errors import ConnectError
from holdtime.plugins import Target
from holdtime.probes.kmip_config import KMIP, KmipServer
from holdtime.probes.tcp import classify

if TYPE_CHECKING:
    from holdtime.inventory import Inventory


@dataclass(frozen=True, slots=True)
class ServerCertificate:
    """The server certificate as read from the TLS handshake (public data only)."""

    subject: str
    issuer: str
    not_before_timestamp: float
    not_after_timestamp: float


@dataclass(frozen=True, slots=True)
class KmipObservation:
    """What one probe of a KMIP server saw, step by step."""

    endpoint: str  # host:port
    verify_name: str  # the name checked against the server certificate
    checked_at: float  # Unix time of the probe (the certificate's age is judged against it)
    timeout_seconds: float
    # TLS: ok | untrusted (we refused the server's certificate) | rejected (the server refused
    # us: an alert) | timeout | closed | error
    tls_state: str
    tls_detail: str = ""
    tls_version: str = ""
    handshake_seconds: float | None = None
    certificate: ServerCertificate | None = None
    certificate_detail: str = ""  # why no certificate could be read
    # KMIP: ok (an answer decoded) | timeout | closed | unreadable | not_sent
    kmip_state: str = "not_sent"
    kmip_detail: str = ""
    latency_seconds: float | None = None
    result_status: str = ""
    result_reason: str = ""
    result_message: str = ""
    protocol_versions: tuple[str, ...] = field(default_factory=tuple)


class _Budget:
    """The time left of one exchange (each socket operation gets what remains)."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.ends = clock() + seconds

    def left(self) -> float:
        return max(0.001, self.ends - self.clock())


def tls_context(server: KmipServer, *, verify: bool = True) -> ssl.SSLContext:
    """Mutual TLS: trust `ca_file` (or the system store), present the client certificate."""
    context = ssl.create_default_context(
        cafile=str(server.ca_file) if server.ca_file is not None else None
    )
    if not verify:  # only to read the certificate of a server that failed verification
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        context.load_cert_chain(
            str(server.client_certificate),
            str(server.client_key),
            password=server.client_key_password,
        )
    except (ssl.SSLError, OSError) as exc:
        # Never the file contents: the reason OpenSSL gives and the file names.
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise ConnectError(
            f"{server.name}: client certificate {server.client_certificate.name} / key "
            f"{server.client_key.name} cannot be loaded ({reason})"
        ) from None
    return context


def read_certificate(der: bytes | None) -> ServerCertificate | None:
    """Subject, issuer and validity of a DER certificate (None when there is none)."""
    if not der:
        return None
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return ServerCertificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before_timestamp=cert.not_valid_before_utc.timestamp(),
        not_after_timestamp=cert.not_valid_after_utc.timestamp(),
    )


def tls_failure(exc: ssl.SSLError) -> tuple[str, str]:
    """(state, detail) of a failed handshake: who refused whom, in the words OpenSSL used."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "untrusted", exc.verify_message or exc.reason or "certificate verify failed"
    reason = (exc.reason or "").lower().replace("_", " ")
    if "alert" in reason:  # e.g. "sslv3 alert bad certificate", "tlsv1 alert unknown ca"
        return "rejected", reason
    return "error", reason or str(exc)


def _connect(server: KmipServer, budget: _Budget) -> socket.socket:
    try:
        return netns.create_connection((server.host, server.port), budget.left(), server.netns)
    except OSError as exc:
        state = classify(exc)
        detail = exc.strerror or str(exc) or type(exc).__name__
        raise ConnectError(
            f"{server.name}: {server.host}:{server.port} {state} ({detail})"
        ) from None


def _peek_certificate(server: KmipServer, budget: _Budget) -> tuple[ServerCertificate | None, str]:
    """The certificate of a server we did not trust, read over a second, unverified handshake.

    Nothing is sent on that session: it only shows why verification failed (expired, other CA).
    """
    try:
        raw = _connect(server, budget)
    except ConnectError as exc:
        return None, str(exc)
    try:
        raw.settimeout(budget.left())
        with tls_context(server, verify=False).wrap_socket(raw) as tls:
            return read_certificate(tls.getpeercert(binary_form=True)), ""
    except (OSError, ConnectError) as exc:
        return None, f"unverified handshake failed too ({type(exc).__name__})"
    finally:
        raw.close()


def probe_server(
    server: KmipServer,
    clock: Callable[[], float] = time.perf_counter,
    wall_clock: Callable[[], float] = time.time,
) -> KmipObservation:
    """Connect, handshake, DiscoverVersions; every outcome past the TCP connect is recorded."""
    from holdtime.probes import kmip_wire

    budget = _Budget(server.timeout_seconds, clock)
    base = KmipObservation(
        endpoint=f"{server.host}:{server.port}",
        verify_name=server.verify_name,
        checked_at=wall_clock(),
        timeout_seconds=server.timeout_seconds,
        tls_state="error",
    )
    context = tls_context(server)
    request = kmip_wire.discover_versions_request()
    raw = _connect(server, budget)
    began = clock()
    try:
        raw.settimeout(budget.left())
        tls = context.wrap_socket(raw, server_hostname=server.verify_name)
    except ssl.SSLError as exc:
        raw.close()
        state, detail = tls_failure(exc)
        certificate, why = (None, "")
        if state == "untrusted":
            certificate, why = _peek_certificate(server, budget)
        return dataclasses.replace(
            base,
            tls_state=state,
            tls_detail=detail,
            handshake_seconds=clock() - began,
            certificate=certificate,
            certificate_detail=""
            if certificate is not None
            else why or "the TLS handshake failed before a certificate was read",
        )
    except (TimeoutError, OSError) as exc:
        raw.close()
        timed_out = isinstance(exc, TimeoutError)
        return dataclasses.replace(
            base,
            tls_state="timeout" if timed_out else "closed",
            tls_detail=exc.strerror or str(exc) or type(exc).__name__,
            handshake_seconds=clock() - began,
            certificate_detail="the TLS handshake did not finish",
        )
    with tls:
        handshake_seconds = clock() - began
        certificate = read_certificate(tls.getpeercert(binary_form=True))
        tls_version = tls.version() or ""
        sent = clock()
        try:
            tls.settimeout(budget.left())
            kmip_wire.send_all(tls, request)
            answer = kmip_wire.parse_discover_versions_response(kmip_wire.read_message(tls.recv))
        except ssl.SSLError as exc:
            # TLS 1.3: the server judges our certificate after the client's handshake is done,
            # so its refusal arrives as an alert on the first read.
            # Any other TLS error here (EOF, bad record) is the session dying under KMIP.
            state, detail = tls_failure(exc)
            if state == "rejected":
                return dataclasses.replace(
                    base,
                    tls_state=state,
                    tls_detail=detail,
                    tls_version=tls_version,
                    handshake_seconds=handshake_seconds,
                    certificate=certificate,
                )
            return dataclasses.replace(
                base,
                tls_state="ok",
                tls_version=tls_version,
                handshake_seconds=handshake_seconds,
                certificate=certificate,
                kmip_state="closed",
                kmip_detail=detail,
                latency_seconds=clock() - sent,
            )
        except (TimeoutError, EOFError, OSError, kmip_wire.KmipProtocolError) as exc:
            kmip_state = {
                TimeoutError: "timeout",
                EOFError: "closed",
                kmip_wire.KmipProtocolError: "unreadable",
            }.get(type(exc), "closed")
            return dataclasses.replace(
                base,
                tls_state="ok",
                tls_version=tls_version,
                handshake_seconds=handshake_seconds,
                certificate=certificate,
                kmip_state=kmip_state,
                kmip_detail=str(exc) or type(exc).__name__,
                latency_seconds=clock() - sent,
            )
        return dataclasses.replace(
            base,
            tls_state="ok",
            tls_version=tls_version,
            handshake_seconds=handshake_seconds,
            certificate=certificate,
            kmip_state="ok",
            latency_seconds=clock() - sent,
            result_status=answer.result_status,
            result_reason=answer.result_reason,
            result_message=answer.result_message,
            protocol_versions=answer.protocol_versions,
        )


class KmipProbe:
    """Probe plugin `kmip`: one target per `kmip:` inventory entry."""

    name = "kmip"
    section = KMIP

    def targets(self, inventory: Inventory) -> Sequence[Target[KmipServer]]:
        """One Target per KMIP server; deadline = the exchange budget + 1 s slack.

        PyKMIP is imported here, before any deadline runs: `import kmip` loads kmip.pie and
        SQLAlchemy (about 1.4 s of CPU), which must not count against a server's timeout.
        """
        entries = inventory.of(KmipServer)
        if entries:
            from holdtime.probes import kmip_wire

            kmip_wire.load_codec()
        return [
            Target(
                name=f"{entry.name}/{entry.host}:{entry.port}",
                device=entry.name,
                config=entry,
                timeout_seconds=entry.timeout_seconds + 1.0,
            )
            for entry in entries
        ]

    def collect(self, target: Target[KmipServer], timeout_seconds: float) -> KmipObservation:
        """Probe the server once."""
        return probe_server(target.config)

"""Judging one TLS handshake: shared by the `tls` and `ldaps` checks (not a check itself).

`handshake_verdict` says whether a client would accept the session (chain to the CA file, host
name, validity dates, TLS version) and, when not, why in the user's terms; `expiry_verdict`
judges the certificate's dates against the warning window. Both are pure functions of a
:class:`~holdtime.probes.tls_handshake.TlsObservation`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from holdtime.models import Status
from holdtime.probes import tls_handshake as th
from holdtime.probes.tls_handshake import Certificate, TlsObservation

DAY_SECONDS = 86400.0
# ssl.SSLSocket.version() names, lowest first; the inventory's min_tls_version is "1.0".."1.3".
VERSION_RANK = {"TLSv1": (1, 0), "TLSv1.1": (1, 1), "TLSv1.2": (1, 2), "TLSv1.3": (1, 3)}

# Failures before or around TLS that leave nothing to judge: ERROR (could not evaluate).
_NOT_EVALUATED = {
    "not_attempted": "no TCP connection",
    "timeout": "no answer within the time limit",
    "closed": "the server closed the connection during the handshake",
    "local_error": "the CA file could not be loaded here",
    "preamble_unreadable": "the answer before TLS was not understood",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A status with its one-line summary, reasons and what was seen."""

    status: Status
    summary: str
    reasons: tuple[str, ...]
    observed: Mapping[str, object]


def day(timestamp: float) -> str:
    """`2026-12-01 14:03 UTC` for a Unix timestamp."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _version_text(version: str) -> str:
    return version.replace("TLSv1", "TLS 1", 1) if version != "TLSv1" else "TLS 1.0"


def _trust(observation: TlsObservation) -> str:
    return f"the CA file {observation.ca_file}" if observation.ca_file else "the system trust store"


def verify_reason(observation: TlsObservation) -> str:
    """Why the certificate did not verify, in the user's terms (from OpenSSL's verify code)."""
    code, cert = observation.verify_code, observation.certificate
    if code == th.CERT_HAS_EXPIRED:
        when = f" on {day(cert.not_after_timestamp)}" if cert else ""
        return f"the certificate expired{when}"
    if code == th.CERT_NOT_YET_VALID:
        when = f" before {day(cert.not_before_timestamp)}" if cert else ""
        return f"the certificate is not yet valid: not valid{when}"
    if code in th.NAME_MISMATCH_CODES:
        has = ", ".join(cert.names) if cert and cert.names else "no name the probe could read"
        return f"name mismatch: wanted {observation.server_name}, certificate has {has}"
    if code in th.UNKNOWN_CA_CODES:
        issuer = f" (issuer {cert.issuer})" if cert else ""
        return f"unknown CA: the certificate{issuer} does not chain to {_trust(observation)}"
    return (
        f"the certificate did not verify: {observation.verify_message or observation.detail}"
        f" (OpenSSL verify error {code})"
    )


def handshake_observed(observation: TlsObservation) -> dict[str, object]:
    """What a handshake check puts in `observed` (metrics read `verified`, `tls_version` ...)."""
    cert = observation.certificate
    verified: bool | None = None
    if observation.handshake == "ok":
        verified = True
    elif observation.handshake == "verify_failed":
        verified = False
    return {
        "connect": observation.connect,
        "handshake": observation.handshake,
        "verified": verified,
        "tls_version": observation.tls_version,
        "cipher": observation.cipher,
        "verify_code": observation.verify_code,
        "server_name": observation.server_name,
        "certificate_names": list(cert.names) if cert else [],
        "issuer": cert.issuer if cert else "",
        "handshake_seconds": observation.handshake_seconds,
        "detail": observation.detail,
    }


def _why_not_evaluated(observation: TlsObservation) -> str:
    """`TCP connect timeout (timed out)`, `no TLS answer (...)`: why nothing could be judged."""
    state, detail = observation.handshake, observation.detail
    if state == "not_attempted":
        return f"TCP connect {observation.connect}" + (f" ({detail})" if detail else "")
    return detail or _NOT_EVALUATED.get(state, state)


def _unfinished(observation: TlsObservation, observed: Mapping[str, object]) -> Verdict | None:
    """The verdict of a handshake that did not get to a certificate decision (else None)."""
    where = f"{observation.host}:{observation.port}"
    state, detail = observation.handshake, observation.detail
    if state in _NOT_EVALUATED:
        why = _why_not_evaluated(observation)
        return Verdict(
            Status.ERROR,
            f"{where}: could not evaluate the TLS handshake: {why}",
            (f"{_NOT_EVALUATED[state]}: {why}",),
            observed,
        )
    if state == "preamble_failed":
        return Verdict(Status.FAIL, f"{where}: {detail}", (detail,), observed)
    if state == "protocol":
        reason = f"the server did not complete a TLS handshake: {detail}"
        return Verdict(Status.FAIL, f"{where}: TLS handshake failed: {detail}", (reason,), observed)
    if state not in ("ok", "verify_failed"):
        reason = f"handshake state {state!r} not understood"
        return Verdict(Status.ERROR, f"{where}: {reason}", (reason,), observed)
    return None


def handshake_verdict(observation: TlsObservation, min_tls_version: str) -> Verdict:
    """PASS when a client would accept the session (verified, version >= the minimum)."""
    observed = handshake_observed(observation)
    unfinished = _unfinished(observation, observed)
    if unfinished is not None:
        return unfinished
    where = f"{observation.host}:{observation.port}"
    reasons: list[str] = []
    if observation.handshake == "verify_failed":
        reasons.append(verify_reason(observation))
    negotiated = VERSION_RANK.get(observation.tls_version)
    if negotiated is None and (observation.tls_version or observation.handshake == "ok"):
        reason = f"TLS version {observation.tls_version!r} not understood"
        return Verdict(Status.ERROR, f"{where}: {reason}", (reason,), observed)
    wanted = tuple(int(part) for part in min_tls_version.split("."))
    if negotiated is not None and negotiated < wanted:
        reasons.append(
            f"{_version_text(observation.tls_version)} offered: the server's best version is"
            f" below the minimum TLS {min_tls_version}"
        )
    if reasons:
        return Verdict(Status.FAIL, f"{where}: {'; '.join(reasons)}", tuple(reasons), observed)
    return Verdict(
        Status.PASS,
        f"{where}: {_version_text(observation.tls_version)}, certificate for"
        f" {observation.server_name} verified against {_trust(observation)}",
        (),
        observed,
    )


def expiry_observed(observation: TlsObservation, cert: Certificate | None) -> dict[str, object]:
    """What an expiry check puts in `observed` (metrics read the two timestamps)."""
    if cert is None:
        return {"handshake": observation.handshake}
    return {
        "not_before_timestamp": cert.not_before_timestamp,
        "not_after_timestamp": cert.not_after_timestamp,
        "days_left": round((cert.not_after_timestamp - observation.observed_at) / DAY_SECONDS, 2),
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "sha256_fingerprint": cert.sha256_fingerprint,
        "names": list(cert.names),
        "public_key": cert.public_key,
    }


def expiry_verdict(observation: TlsObservation, warn_before_days: float) -> Verdict:
    """PASS inside the validity period with more than `warn_before_days` left; WARN under it;
    FAIL expired or not yet valid; ERROR when no certificate could be read."""
    cert = observation.certificate
    observed = expiry_observed(observation, cert)
    where = f"{observation.host}:{observation.port}"
    if cert is None:
        why = _why_not_evaluated(observation)
        return Verdict(
            Status.ERROR,
            f"{where}: no certificate read ({why})",
            (f"the handshake did not deliver a certificate: {why}",),
            observed,
        )
    now = observation.observed_at
    days_left = (cert.not_after_timestamp - now) / DAY_SECONDS
    if now < cert.not_before_timestamp:
        reason = f"not yet valid: valid from {day(cert.not_before_timestamp)}"
        return Verdict(Status.FAIL, f"{where}: certificate {reason}", (reason,), observed)
    if days_left < 0:
        reason = f"expired on {day(cert.not_after_timestamp)} ({-days_left:.1f} days ago)"
        return Verdict(Status.FAIL, f"{where}: certificate {reason}", (reason,), observed)
    ends = f"expires {day(cert.not_after_timestamp)}, in {days_left:.1f} days"
    if days_left < warn_before_days:
        reason = f"{ends}: under the {warn_before_days:g}-day warning window"
        return Verdict(Status.WARN, f"{where}: certificate {ends}", (reason,), observed)
    return Verdict(Status.PASS, f"{where}: certificate {ends}", (), observed)

"""Checks `tls.handshake` and `tls.expiry`: any TLS endpoint, as blackbox's TLS probe sees it.

`tls.handshake` is what a client decides (does the chain reach the CA file, does the name match,
are the dates valid, is the version high enough); `tls.expiry` is the calendar (WARN inside the
warning window, FAIL expired or not yet valid), judged even when the handshake did not verify,
so an expired certificate shows its date.
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import BaseCheck, default_of, result
from holdtime.checks.tls_kit import Verdict, expiry_verdict, handshake_verdict
from holdtime.exporters.domain_metrics import GAUGE, INFO, MetricSpec
from holdtime.models import CheckResult
from holdtime.plugins import Target, Threshold
from holdtime.probes.tls_config import TlsEndpoint
from holdtime.probes.tls_handshake import TlsObservation


def _results(
    check: str, target: Target[TlsEndpoint], verdict: Verdict, expected: dict[str, object]
) -> list[CheckResult]:
    return [
        result(
            check,
            target,
            "",
            verdict.status,
            verdict.summary,
            observed=verdict.observed,
            expected=expected,
            reasons=verdict.reasons,
        )
    ]


class HandshakeCheck(BaseCheck[TlsEndpoint, TlsObservation]):
    """PASS when a client verifying against ca_file would accept the session."""

    name = "tls.handshake"
    probe = "tls"
    summary = (
        "The TLS handshake verifies: the chain reaches the CA file, the certificate names"
        " server_name, its dates are valid, and the version is at least min_tls_version."
    )
    compares = (
        "one TLS handshake to host:port (SNI and name check: server_name, default host) against"
        " ca_file (default: the system trust store); the client offers TLS 1.0 to 1.3, so the"
        " version seen is the server's best"
    )
    thresholds = (
        Threshold(
            "min_tls_version",
            default_of(TlsEndpoint, "min_tls_version"),
            "TLS version",
            "a lower best version is a FAIL",
        ),
        Threshold(
            "timeout_seconds",
            default_of(TlsEndpoint, "timeout_seconds"),
            "seconds",
            "connect and handshake",
        ),
    )
    statuses = {
        "pass": "verified, version at or above the minimum",
        "fail": "expired / not yet valid / name mismatch (wanted X, certificate has Y) /"
        " unknown CA / a version below the minimum / the handshake refused",
        "error": "no TCP connection, no TLS answer in time, connection closed, CA file unusable",
    }
    metrics = (
        MetricSpec(
            "tls.handshake",
            "holdtime_tls_chain_verified",
            GAUGE,
            "1 when the certificate chain and name verified against the CA file, 0 when not.",
            value="verified",
            convert="bool",
        ),
        MetricSpec(
            "tls.handshake",
            "holdtime_tls_handshake_duration_seconds",
            GAUGE,
            "Seconds from the TCP connect to the end of the TLS handshake.",
            value="handshake_seconds",
        ),
        MetricSpec(
            "tls.handshake",
            "holdtime_tls_version_info",
            INFO,
            "The TLS version the endpoint negotiated (its best), e.g. TLSv1.3.",
            labels=(("version", "observed.tls_version"),),
        ),
    )

    def evaluate(
        self, target: Target[TlsEndpoint], observation: TlsObservation
    ) -> Sequence[CheckResult]:
        """Judge the handshake."""
        entry = target.config
        verdict = handshake_verdict(observation, entry.min_tls_version)
        expected: dict[str, object] = {
            "verified": True,
            "server_name": entry.verify_name,
            "min_tls_version": entry.min_tls_version,
        }
        return _results(self.name, target, verdict, expected)


class ExpiryCheck(BaseCheck[TlsEndpoint, TlsObservation]):
    """PASS inside the validity period and outside the warning window."""

    name = "tls.expiry"
    probe = "tls"
    summary = "The certificate is valid now and has more than warn_before_days left."
    compares = (
        "the server certificate's notBefore/notAfter against the time of the handshake"
        " (read even when the chain did not verify)"
    )
    thresholds = (
        Threshold(
            "warn_before_days",
            default_of(TlsEndpoint, "warn_before_days"),
            "days",
            "fewer days left is a WARN",
        ),
    )
    statuses = {
        "pass": "valid, more than warn_before_days left",
        "warn": "valid, fewer than warn_before_days left",
        "fail": "expired, or not yet valid",
        "error": "no certificate could be read (no connection, no TLS)",
    }
    metrics = (
        MetricSpec(
            "tls.expiry",
            "holdtime_tls_certificate_not_after_timestamp_seconds",
            GAUGE,
            "notAfter of the server certificate (Unix time); days left in PromQL:"
            " (this - time()) / 86400.",
            value="not_after_timestamp",
        ),
        MetricSpec(
            "tls.expiry",
            "holdtime_tls_certificate_not_before_timestamp_seconds",
            GAUGE,
            "notBefore of the server certificate (Unix time).",
            value="not_before_timestamp",
        ),
    )

    def evaluate(
        self, target: Target[TlsEndpoint], observation: TlsObservation
    ) -> Sequence[CheckResult]:
        """Judge the certificate's dates."""
        warn = target.config.warn_before_days
        verdict = expiry_verdict(observation, warn)
        return _results(self.name, target, verdict, {"warn_before_days": warn})

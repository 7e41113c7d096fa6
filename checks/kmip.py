"""KMIP checks: the TLS session with the client certificate, a DiscoverVersions round trip, and
the server certificate's expiry.

An encrypted VM or vSAN cluster cannot get its keys when its key server refuses vCenter's
client certificate, when the server's own certificate expired, or when the server accepts TLS
but its KMIP service hangs: each is told apart here.
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import BaseCheck, default_of, result
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.kmip import KmipObservation
from holdtime.probes.kmip_config import KmipExpect, KmipServer

_DAY_SECONDS = 86400.0

_TLS_WHY = {
    "untrusted": "holdtime does not trust the server certificate: check ca_file, the server's "
    "name (server_name) and the certificate's validity",
    "rejected": "the KMIP server refused the TLS session: it does not accept holdtime's client "
    "certificate (not signed by a CA it trusts, expired, or not registered)",
    "timeout": "the TLS handshake did not finish within the timeout: the server accepts TCP but "
    "does not speak TLS",
    "closed": "the server closed the connection during the TLS handshake",
    "error": "the TLS handshake failed",
}

_KMIP_WHY = {
    "timeout": "the TLS session is up but the KMIP service did not answer DiscoverVersions "
    "within the timeout",
    "closed": "the server closed the TLS session without answering DiscoverVersions",
    "unreadable": "the server's answer is not a KMIP response holdtime could decode",
}


def _tls_observed(observation: KmipObservation) -> dict[str, object]:
    return {
        "endpoint": observation.endpoint,
        "verify_name": observation.verify_name,
        "tls_state": observation.tls_state,
        "tls_version": observation.tls_version,
        "handshake_seconds": observation.handshake_seconds,
    }


def _no_session(
    check: str, target: Target[KmipServer], observation: KmipObservation
) -> CheckResult:
    return result(
        check,
        target,
        "",
        Status.ERROR,
        f"{observation.endpoint}: no KMIP session (TLS {observation.tls_state})",
        observed={**_tls_observed(observation), "up": False},
        reasons=(
            f"could not evaluate: the TLS session failed ({observation.tls_detail}); "
            "see kmip.handshake",
        ),
    )


class HandshakeCheck(BaseCheck[KmipServer, KmipObservation]):
    """PASS when mutual TLS succeeds with the server certificate and name verified."""

    name = "kmip.handshake"
    probe = "kmip"
    summary = "TLS with holdtime's client certificate succeeds; the server certificate verifies."
    compares = "a TLS handshake to host:port with ca_file, client_certificate and server_name"
    thresholds = (
        Threshold(
            "timeout_seconds",
            default_of(KmipServer, "timeout_seconds"),
            "seconds",
            "the whole exchange (connect, TLS, DiscoverVersions) gives up after this",
        ),
    )
    statuses = {
        "pass": "TLS session up, server certificate trusted for the name",
        "fail": "we refused the server certificate, or the server refused our client certificate",
        "error": "the server did not finish the handshake, or TCP failed (unreachable, refused)",
    }

    def evaluate(
        self, target: Target[KmipServer], observation: KmipObservation
    ) -> Sequence[CheckResult]:
        """One result per server."""
        observed = _tls_observed(observation)
        state = observation.tls_state
        if state == "ok":
            ms = (observation.handshake_seconds or 0.0) * 1000
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.PASS,
                    f"{observation.endpoint} TLS {observation.tls_version} up ({ms:.1f} ms)",
                    observed=observed,
                    expected={"tls_state": "ok"},
                )
            ]
        status = Status.FAIL if state in ("untrusted", "rejected") else Status.ERROR
        return [
            result(
                self.name,
                target,
                "",
                status,
                f"{observation.endpoint} TLS {state}: {observation.tls_detail}",
                observed={**observed, "tls_detail": observation.tls_detail},
                expected={"tls_state": "ok"},
                reasons=(_TLS_WHY.get(state, _TLS_WHY["error"]),),
            )
        ]


class RespondsCheck(BaseCheck[KmipServer, KmipObservation]):
    """PASS when DiscoverVersions succeeds within the latency limit."""

    name = "kmip.responds"
    probe = "kmip"
    summary = "The KMIP server answers DiscoverVersions with Success within the limit."
    compares = "one KMIP DiscoverVersions round trip against expect.max_latency_seconds"
    thresholds = (
        Threshold(
            "max_latency_seconds",
            default_of(KmipExpect, "max_latency_seconds"),
            "seconds",
            "a slower round trip is a FAIL",
        ),
    )
    statuses = {
        "pass": "Success within the limit; observed protocol_versions are what the server offers",
        "fail": "answered with a failure status, or slower than the limit",
        "error": "no TLS session, no answer within the timeout, or an answer holdtime cannot read",
    }
    metrics = (
        MetricSpec(
            "kmip.responds",
            "holdtime_kmip_up",
            GAUGE,
            "1 when the KMIP server answered DiscoverVersions with Success, 0 otherwise.",
            value="up",
            convert="bool",
        ),
        MetricSpec(
            "kmip.responds",
            "holdtime_kmip_round_trip_seconds",
            GAUGE,
            "Time from sending DiscoverVersions to the whole answer (TLS session already up).",
            value="latency_seconds",
        ),
    )

    def evaluate(
        self, target: Target[KmipServer], observation: KmipObservation
    ) -> Sequence[CheckResult]:
        """One result per server."""
        if observation.tls_state != "ok":
            return [_no_session(self.name, target, observation)]
        limit = target.config.expect.max_latency_seconds
        up = observation.kmip_state == "ok" and observation.result_status == "SUCCESS"
        observed: dict[str, object] = {
            "endpoint": observation.endpoint,
            "kmip_state": observation.kmip_state,
            "latency_seconds": observation.latency_seconds,
            "result_status": observation.result_status,
            "protocol_versions": list(observation.protocol_versions),
            "up": up,
        }
        expected: dict[str, object] = {"result_status": "SUCCESS", "max_latency_seconds": limit}
        latency = observation.latency_seconds or 0.0
        if observation.kmip_state != "ok":
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.ERROR,
                    f"{observation.endpoint} DiscoverVersions {observation.kmip_state} "
                    f"after {latency:.1f} s",
                    observed=observed,
                    expected=expected,
                    reasons=(
                        f"could not evaluate: {_KMIP_WHY.get(observation.kmip_state, 'no answer')}"
                        f" ({observation.kmip_detail})",
                    ),
                )
            ]
        if not up:
            why = observation.result_message or observation.result_reason or "no reason given"
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.FAIL,
                    f"{observation.endpoint} DiscoverVersions {observation.result_status}: {why}",
                    observed={**observed, "result_reason": observation.result_reason},
                    expected=expected,
                    reasons=(f"the KMIP server answered {observation.result_status}: {why}",),
                )
            ]
        versions = ", ".join(observation.protocol_versions) or "none listed"
        status = Status.PASS if latency <= limit else Status.FAIL
        return [
            result(
                self.name,
                target,
                "",
                status,
                f"{observation.endpoint} KMIP {versions} in {latency * 1000:.1f} ms",
                observed=observed,
                expected=expected,
                reasons=() if status is Status.PASS else (f"slower than {limit:g} s",),
            )
        ]


class ServerCertificateCheck(BaseCheck[KmipServer, KmipObservation]):
    """Days until the server certificate expires: WARN soon, FAIL expired or not yet valid."""

    name = "kmip.server_certificate"
    probe = "kmip"
    summary = "The KMIP server certificate is valid and not close to expiry."
    compares = "notAfter of the certificate the server presents against the probe's clock"
    thresholds = (
        Threshold(
            "certificate_warn_days",
            default_of(KmipExpect, "certificate_warn_days"),
            "days",
            "fewer days left is a WARN; expired is a FAIL",
        ),
    )
    statuses = {
        "pass": "valid for longer than certificate_warn_days",
        "warn": "expires within certificate_warn_days",
        "fail": "expired or not yet valid",
        "error": "no certificate was read (TCP or TLS failed before the server sent one)",
    }
    metrics = (
        MetricSpec(
            "kmip.server_certificate",
            "holdtime_kmip_server_certificate_not_after_timestamp_seconds",
            GAUGE,
            "Unix time the KMIP server certificate expires (notAfter).",
            value="not_after_timestamp_seconds",
        ),
    )

    def evaluate(
        self, target: Target[KmipServer], observation: KmipObservation
    ) -> Sequence[CheckResult]:
        """One result per server."""
        certificate = observation.certificate
        if certificate is None:
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.ERROR,
                    f"{observation.endpoint}: no server certificate read",
                    observed={"endpoint": observation.endpoint},
                    reasons=(f"could not evaluate: {observation.certificate_detail}",),
                )
            ]
        warn_days = target.config.expect.certificate_warn_days
        days_left = (certificate.not_after_timestamp - observation.checked_at) / _DAY_SECONDS
        observed: dict[str, object] = {
            "endpoint": observation.endpoint,
            "subject": certificate.subject,
            "issuer": certificate.issuer,
            "not_after_timestamp_seconds": certificate.not_after_timestamp,
            "days_left": round(days_left, 2),
        }
        expected: dict[str, object] = {"min_days_left": warn_days}
        if certificate.not_before_timestamp > observation.checked_at:
            status, summary = Status.FAIL, "not yet valid"
            reasons: tuple[str, ...] = (
                "the server certificate is not valid yet: check the server's and holdtime's clocks",
            )
        elif days_left < 0:
            status, summary = Status.FAIL, f"expired {-days_left:.0f} days ago"
            reasons = ("the server certificate has expired: clients refuse the server; renew it",)
        elif days_left < warn_days:
            status, summary = Status.WARN, f"expires in {days_left:.0f} days"
            reasons = (f"fewer than {warn_days} days left: renew the server certificate",)
        else:
            status, summary, reasons = Status.PASS, f"valid for {days_left:.0f} more days", ()
        return [
            result(
                self.name,
                target,
                "",
                status,
                f"{observation.endpoint} certificate {summary} ({certificate.subject})",
                observed=observed,
                expected=expected,
                reasons=reasons,
            )
        ]

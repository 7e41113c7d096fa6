"""Checks of the `ldaps` family: one result per directory controller each.

- `ldaps.handshake`: the LDAPS handshake verifies (chain, name, dates, version), as tls.handshake.
- `ldaps.expiry`: the certificate's dates against the warning window, as tls.expiry.
- `ldaps.rootdse`: the rootDSE reads anonymously (and names base_dn when configured).
- `ldaps.bind`: the service account's simple bind succeeds (only with bind_dn).
- `ldaps.starttls`: StartTLS on starttls_port is accepted and its handshake verifies.

The directory is read only after the LDAPS handshake verified: a password is never sent to an
unverified server, and rootdse/bind are then ERROR ("not tried").
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import BaseCheck, default_of, no_data, result
from holdtime.checks.tls_kit import Verdict, expiry_verdict, handshake_verdict
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.ldaps import LdapsObservation, RootDse
from holdtime.probes.ldaps_config import LdapsController


def _one(
    check: str,
    target: Target[LdapsController],
    verdict: Verdict,
    expected: dict[str, object],
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


class _ControllerCheck(BaseCheck[LdapsController, LdapsObservation]):
    """One result per controller (the pytest plugin makes one item `check[controller]`)."""

    probe = "ldaps"


_MIN_VERSION = Threshold(
    "min_tls_version",
    default_of(LdapsController, "min_tls_version"),
    "TLS version",
    "a lower best version is a FAIL",
)
_HANDSHAKE_STATUSES = {
    "pass": "verified, version at or above the minimum",
    "fail": "expired / not yet valid / name mismatch (wanted X, certificate has Y) / unknown CA"
    " / a version below the minimum / the handshake refused",
    "error": "no TCP connection, no TLS answer in time, connection closed, CA file unusable",
}


class HandshakeCheck(_ControllerCheck):
    """PASS when the LDAPS handshake verifies against ca_file with server_name."""

    name = "ldaps.handshake"
    summary = (
        "The LDAPS handshake on port (636) verifies: chain to the CA file, server_name in the"
        " certificate, dates valid, TLS version at least min_tls_version."
    )
    compares = (
        "one TLS handshake to host:port against ca_file (default: the system trust store),"
        " name checked: server_name (default host); the client offers TLS 1.0 to 1.3"
    )
    thresholds = (
        _MIN_VERSION,
        Threshold(
            "timeout_seconds",
            default_of(LdapsController, "timeout_seconds"),
            "seconds",
            "budget of the LDAPS steps (handshake, rootDSE, bind), and of StartTLS",
        ),
    )
    statuses = _HANDSHAKE_STATUSES
    metrics = (
        MetricSpec(
            "ldaps.handshake",
            "holdtime_ldaps_chain_verified",
            GAUGE,
            "1 when the LDAPS certificate chain and name verified, 0 when not.",
            value="verified",
            convert="bool",
        ),
        MetricSpec(
            "ldaps.handshake",
            "holdtime_ldaps_handshake_duration_seconds",
            GAUGE,
            "Seconds from the TCP connect to the end of the LDAPS handshake.",
            value="handshake_seconds",
        ),
    )

    def evaluate(
        self, target: Target[LdapsController], observation: LdapsObservation
    ) -> Sequence[CheckResult]:
        """Judge the LDAPS handshake."""
        entry = target.config
        verdict = handshake_verdict(observation.ldaps, entry.min_tls_version)
        expected: dict[str, object] = {
            "verified": True,
            "server_name": entry.verify_name,
            "min_tls_version": entry.min_tls_version,
        }
        return _one(self.name, target, verdict, expected)


class ExpiryCheck(_ControllerCheck):
    """PASS when the LDAPS certificate is valid with more than warn_before_days left."""

    name = "ldaps.expiry"
    summary = "The LDAPS certificate is valid now and has more than warn_before_days left."
    compares = (
        "notBefore/notAfter of the certificate the controller presents on port, against the"
        " time of the handshake (read even when the chain did not verify)"
    )
    thresholds = (
        Threshold(
            "warn_before_days",
            default_of(LdapsController, "warn_before_days"),
            "days",
            "fewer days left is a WARN",
        ),
    )
    statuses = {
        "pass": "valid, more than warn_before_days left",
        "warn": "valid, fewer than warn_before_days left",
        "fail": "expired, or not yet valid",
        "error": "no certificate could be read",
    }
    metrics = (
        MetricSpec(
            "ldaps.expiry",
            "holdtime_ldaps_certificate_not_after_timestamp_seconds",
            GAUGE,
            "notAfter of the controller's LDAPS certificate (Unix time).",
            value="not_after_timestamp",
        ),
        MetricSpec(
            "ldaps.expiry",
            "holdtime_ldaps_certificate_not_before_timestamp_seconds",
            GAUGE,
            "notBefore of the controller's LDAPS certificate (Unix time).",
            value="not_before_timestamp",
        ),
    )

    def evaluate(
        self, target: Target[LdapsController], observation: LdapsObservation
    ) -> Sequence[CheckResult]:
        """Judge the certificate's dates."""
        warn = target.config.warn_before_days
        verdict = expiry_verdict(observation.ldaps, warn)
        return _one(self.name, target, verdict, {"warn_before_days": warn})


def _readable(rootdse: RootDse) -> bool | None:
    """True read, False refused by the controller (a result code), None not evaluated."""
    if rootdse.state == "read":
        return True
    if rootdse.state == "failed" and rootdse.result_code not in (None, 0):
        return False
    return None


class RootDseCheck(_ControllerCheck):
    """PASS when the rootDSE reads anonymously over LDAPS (naming base_dn when configured)."""

    name = "ldaps.rootdse"
    summary = "The rootDSE is readable anonymously over LDAPS, and lists base_dn if configured."
    compares = (
        "an anonymous base search of '' (namingContexts, supportedLDAPVersion, vendorName) over"
        " a verified LDAPS session; namingContexts against base_dn (case-insensitive)"
    )
    statuses = {
        "pass": "read; base_dn among namingContexts when configured",
        "fail": "the controller refused the read, or base_dn is not served",
        "error": "not tried (the handshake did not verify) or no answer",
    }
    metrics = (
        MetricSpec(
            "ldaps.rootdse",
            "holdtime_ldaps_rootdse_readable",
            GAUGE,
            "1 when the rootDSE was read over LDAPS, 0 when the controller refused it.",
            value="readable",
            convert="bool",
        ),
    )

    def evaluate(
        self, target: Target[LdapsController], observation: LdapsObservation
    ) -> Sequence[CheckResult]:
        """Judge the rootDSE read."""
        rootdse = observation.rootdse
        base_dn = target.config.base_dn
        observed: dict[str, object] = {
            "state": rootdse.state,
            "readable": _readable(rootdse),
            "naming_contexts": list(rootdse.naming_contexts),
            "supported_ldap_versions": list(rootdse.supported_ldap_versions),
            "vendor": rootdse.vendor,
            "result_code": rootdse.result_code,
        }
        expected: dict[str, object] = {"readable": True, "base_dn": base_dn or None}
        if rootdse.state == "read":
            served = [c.lower() for c in rootdse.naming_contexts]
            contexts = ", ".join(rootdse.naming_contexts) or "none"
            if base_dn and base_dn.lower() not in served:
                reason = f"base DN {base_dn} is not among the namingContexts ({contexts})"
                return [
                    result(
                        self.name,
                        target,
                        "",
                        Status.FAIL,
                        reason,
                        observed=observed,
                        expected=expected,
                        reasons=(reason,),
                    )
                ]
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.PASS,
                    f"rootDSE read: namingContexts {contexts}",
                    observed=observed,
                    expected=expected,
                )
            ]
        if _readable(rootdse) is False:
            reason = f"the controller refused the rootDSE read: {rootdse.detail}"
            status, summary = Status.FAIL, reason
        else:
            status = Status.ERROR
            summary = f"could not read the rootDSE: {rootdse.detail or rootdse.state}"
            reason = summary
        return [
            result(
                self.name,
                target,
                "",
                status,
                summary,
                observed=observed,
                expected=expected,
                reasons=(reason,),
            )
        ]


class BindCheck(_ControllerCheck):
    """PASS when the service account's simple bind over LDAPS succeeds."""

    name = "ldaps.bind"
    summary = "The service account (bind_dn, password from password_env) binds over LDAPS."
    compares = (
        "one simple bind as bind_dn over a verified LDAPS session; the password is read from"
        " password_env, sent only after the handshake verified, and never shown"
    )
    statuses = {
        "pass": "bound",
        "fail": "the controller rejected the bind (invalidCredentials, ...), naming the account",
        "error": "not tried (the handshake did not verify) or no answer",
        "skip": "no bind_dn configured",
    }
    metrics = (
        MetricSpec(
            "ldaps.bind",
            "holdtime_ldaps_bind_succeeded",
            GAUGE,
            "1 when the service account's bind succeeded, 0 when the controller rejected it.",
            value="bound",
            convert="bool",
        ),
    )

    def evaluate(
        self, target: Target[LdapsController], observation: LdapsObservation
    ) -> Sequence[CheckResult]:
        """Judge the bind."""
        bind = observation.bind
        if bind is None:
            return no_data(self.name, target, "no bind_dn configured: no bind tried")
        observed: dict[str, object] = {
            "dn": bind.dn,
            "state": bind.state,
            "bound": {"bound": True, "rejected": False}.get(bind.state),
            "result_code": bind.result_code,
            "result_name": bind.result_name,
        }
        expected: dict[str, object] = {"bound": True, "dn": bind.dn}
        reasons: tuple[str, ...] = ()
        if bind.state == "bound":
            status, summary = Status.PASS, f"bound as {bind.dn}"
        elif bind.state == "rejected":
            said = f": {bind.detail}" if bind.detail else ""
            code = f"{bind.result_name or 'result'} {bind.result_code}"
            summary = f"the controller rejected the bind of {bind.dn} ({code}){said}"
            hint = (
                "the password in password_env is wrong or the account is locked/expired"
                if bind.result_code == 49
                else "the controller refused this account's bind"
            )
            status, reasons = Status.FAIL, (summary, hint)
        else:
            summary = f"bind of {bind.dn} not evaluated: {bind.detail or bind.state}"
            status, reasons = Status.ERROR, (summary,)
        return [
            result(
                self.name,
                target,
                "",
                status,
                summary,
                observed=observed,
                expected=expected,
                reasons=reasons,
            )
        ]


class StartTlsCheck(_ControllerCheck):
    """PASS when StartTLS on starttls_port is accepted and its handshake verifies."""

    name = "ldaps.starttls"
    summary = (
        "StartTLS on starttls_port (389) is accepted and the handshake after it verifies like"
        " ldaps.handshake."
    )
    compares = (
        "an LDAP StartTLS extended request (1.3.6.1.4.1.1466.20037) on starttls_port, then one"
        " TLS handshake against ca_file with server_name"
    )
    thresholds = (_MIN_VERSION,)
    statuses = {
        **_HANDSHAKE_STATUSES,
        "fail": _HANDSHAKE_STATUSES["fail"] + " / StartTLS refused",
        "error": _HANDSHAKE_STATUSES["error"] + " / StartTLS answer not understood",
        "skip": "no starttls_port configured",
    }
    metrics = (
        MetricSpec(
            "ldaps.starttls",
            "holdtime_ldaps_starttls_verified",
            GAUGE,
            "1 when StartTLS was accepted and its certificate verified, 0 when not.",
            value="verified",
            convert="bool",
        ),
    )

    def evaluate(
        self, target: Target[LdapsController], observation: LdapsObservation
    ) -> Sequence[CheckResult]:
        """Judge StartTLS."""
        if observation.starttls is None:
            return no_data(self.name, target, "no starttls_port configured")
        entry = target.config
        verdict = handshake_verdict(observation.starttls, entry.min_tls_version)
        if verdict.status is Status.FAIL and observation.starttls.handshake == "preamble_failed":
            observed = {**verdict.observed, "verified": False}
            verdict = Verdict(verdict.status, verdict.summary, verdict.reasons, observed)
        expected: dict[str, object] = {
            "verified": True,
            "server_name": entry.verify_name,
            "min_tls_version": entry.min_tls_version,
        }
        return _one(self.name, target, verdict, expected)

"""Certificate checks of a vCenter's key providers: its client certificates, the servers' ones.

vCenter authenticates to each KMIP server with a client certificate per provider, and trusts
each server's certificate; either side expiring or losing trust stops key retrieval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from holdtime.checks.kit import default_of, no_data, result
from holdtime.checks.kms_kit import (
    PROVIDER_LABELS,
    SERVER_LABELS,
    KmsCheck,
    certificate_observed,
    judge_validity,
    provider_targets,
    read_error,
    server_targets,
)
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.kms_config import KmsExpect, KmsTarget
from holdtime.probes.kms_model import KmsObservation, ServerStatus


class ClientCertificateCheck(KmsCheck):
    """PASS when vCenter's client certificate of each provider is valid beyond the horizon."""

    name = "kms.client_certificate"
    summary = "vCenter's KMIP client certificate of each key provider is valid and not expiring."
    compares = "the provider's clientCertInfo.notAfter against the time of the status read"
    thresholds = (
        Threshold(
            "client_certificate_warn_days",
            default_of(KmsExpect, "client_certificate_warn_days"),
            "days",
            "fewer days left is a WARN; expired or not yet valid is a FAIL",
        ),
    )
    statuses = {
        "pass": "valid beyond the horizon",
        "warn": "expires within the horizon",
        "fail": "expired or not yet valid",
        "error": "status task failed or vCenter did not report the certificate",
    }
    metrics = (
        MetricSpec(
            "kms.client_certificate",
            "holdtime_kms_client_certificate_not_after_timestamp_seconds",
            GAUGE,
            "Unix time vCenter's KMIP client certificate of the provider expires.",
            value="not_after_timestamp_seconds",
            labels=PROVIDER_LABELS,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per provider the inventory lists."""
        return provider_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per provider."""
        if observation.statuses is None:
            return read_error(self.name, target, observation.statuses_error or "no answer")
        if not observation.statuses:
            return no_data(self.name, target, "no key providers")
        warn_days = target.config.site.expect.client_certificate_warn_days
        now = observation.observed_at
        results = []
        for provider in observation.statuses:
            certificate = provider.client_certificate
            if certificate is None:
                results.append(
                    result(
                        self.name,
                        target,
                        provider.name,
                        Status.ERROR,
                        "could not evaluate: vCenter did not report the client certificate",
                        observed={"provider": provider.name},
                        reasons=("clientCertInfo unset in the provider's status",),
                    )
                )
                continue
            status, summary, reasons = judge_validity(
                certificate, now, warn_days, "client certificate"
            )
            results.append(
                result(
                    self.name,
                    target,
                    provider.name,
                    status,
                    summary,
                    observed={"provider": provider.name, **certificate_observed(certificate, now)},
                    expected={"client_certificate_warn_days": warn_days},
                    reasons=reasons,
                )
            )
        return results


class ServerCertificateCheck(KmsCheck):
    """PASS when each KMIP server's certificate is trusted both ways and not expiring."""

    name = "kms.server_certificate"
    summary = "Each KMIP server's certificate is trusted by vCenter, and it trusts vCenter's."
    compares = "clientTrustServer, serverTrustClient and certInfo.notAfter of each server's status"
    thresholds = (
        Threshold(
            "server_certificate_warn_days",
            default_of(KmsExpect, "server_certificate_warn_days"),
            "days",
            "fewer days left is a WARN; expired or untrusted is a FAIL",
        ),
    )
    statuses = {
        "pass": "trusted both ways, valid beyond the horizon",
        "warn": "expires within the horizon",
        "fail": "untrusted (either way), expired or not yet valid",
        "error": "status task failed, or vCenter did not report the certificate or the trust",
    }
    metrics = (
        MetricSpec(
            "kms.server_certificate",
            "holdtime_kms_server_certificate_not_after_timestamp_seconds",
            GAUGE,
            "Unix time the KMIP server's certificate expires.",
            value="not_after_timestamp_seconds",
            labels=SERVER_LABELS,
        ),
        MetricSpec(
            "kms.server_certificate",
            "holdtime_kms_server_certificate_trusted",
            GAUGE,
            "1 when vCenter trusts the server's certificate and the server trusts vCenter's.",
            value="trusted",
            labels=SERVER_LABELS,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per server the inventory lists."""
        return server_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per server."""
        if observation.statuses is None:
            return read_error(self.name, target, observation.statuses_error or "no answer")
        warn_days = target.config.site.expect.server_certificate_warn_days
        now = observation.observed_at
        results = []
        for provider in observation.statuses:
            for server in provider.servers:
                results.append(self._one(target, provider.name, server, now, warn_days))
        if not results:
            return no_data(self.name, target, "no KMIP servers configured")
        return results

    def _one(
        self,
        target: Target[KmsTarget],
        provider: str,
        server: ServerStatus,
        now: dt.datetime,
        warn_days: float,
    ) -> CheckResult:
        suffix = f"{provider}/{server.name}"
        observed: dict[str, object] = {
            "provider": provider,
            "server": server.name,
            "client_trusts_server": server.client_trusts_server,
            "server_trusts_client": server.server_trusts_client,
        }
        unknown = [
            what
            for what, value in (
                ("whether vCenter trusts the server", server.client_trusts_server),
                ("whether the server trusts vCenter", server.server_trusts_client),
            )
            if value is None
        ]
        if server.certificate is None:
            unknown.insert(0, "the server certificate")
        if unknown:
            return result(
                self.name,
                target,
                suffix,
                Status.ERROR,
                f"could not evaluate: vCenter did not report {unknown[0]}",
                observed=observed,
                reasons=tuple(f"not reported: {what}" for what in unknown),
            )
        certificate = server.certificate
        assert certificate is not None  # unknown would name it otherwise
        observed.update(certificate_observed(certificate, now))
        trusted = bool(server.client_trusts_server and server.server_trusts_client)
        observed["trusted"] = trusted
        status, summary, reasons = judge_validity(certificate, now, warn_days, "server certificate")
        valid = status is Status.PASS
        distrust = []
        if not server.client_trusts_server:
            distrust.append("vCenter does not trust the server's certificate: make it trusted")
        if not server.server_trusts_client:
            distrust.append("the server does not trust vCenter's client certificate")
        if distrust:
            status = Status.FAIL
            summary = "not trusted" + ("" if valid else f"; {summary}")
            reasons = (*distrust, *reasons)
        return result(
            self.name,
            target,
            suffix,
            status,
            summary,
            observed=observed,
            expected={
                "client_trusts_server": True,
                "server_trusts_client": True,
                "server_certificate_warn_days": warn_days,
            },
            reasons=reasons,
        )

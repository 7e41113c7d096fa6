"""Key provider checks of a vCenter: redundancy, server connection, default provider.

Why these matter: vCenter fetches the key encryption keys of encrypted VMs (and of hosts in
encryption mode) from the key provider that encrypted them, over KMIP. An encrypted VM cannot
power on, and a host cannot unlock its core dumps and VMs after a reboot, when that provider's
servers cannot be reached or its certificates are no longer accepted; a provider with one
server has no failover; without a default provider, new encryptions fail.

ERROR means the crypto manager's answer that a check needs was not read (its fault is named);
FAIL means it was read and shows a problem.
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import default_of, no_data, result
from holdtime.checks.kms_kit import (
    PROVIDER_LABELS,
    SERVER_LABELS,
    KmsCheck,
    provider_targets,
    read_error,
    server_targets,
)
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.kms_config import KmsExpect, KmsTarget
from holdtime.probes.kms_model import HEALTHY_STATUS, KmsObservation, ServerStatus


class ProviderRedundantCheck(KmsCheck):
    """PASS when each key provider lists at least expect.min_servers KMIP servers."""

    name = "kms.provider_redundant"
    summary = "Each key provider lists enough KMIP servers to survive losing one."
    compares = "the servers of each provider (ListKmipServers) against expect.min_servers"
    thresholds = (
        Threshold(
            "min_servers",
            default_of(KmsExpect, "min_servers"),
            "servers",
            "fewer is a FAIL: one KMIP server is not highly available",
        ),
    )
    statuses = {
        "pass": "enough servers",
        "fail": "too few servers, a provider the inventory expects is missing, or none at all",
        "error": "ListKmipServers failed (the fault is named)",
    }
    metrics = (
        MetricSpec(
            "kms.provider_redundant",
            "holdtime_kms_provider_servers",
            GAUGE,
            "KMIP servers the key provider lists in vCenter.",
            value="server_count",
            labels=PROVIDER_LABELS,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per provider the inventory lists."""
        return provider_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per provider (configured or expected)."""
        if observation.providers is None:
            return read_error(self.name, target, observation.providers_error or "no answer")
        site = target.config.site
        minimum = site.expect.min_servers
        if not observation.providers and not site.providers:
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.FAIL,
                    "vCenter has no key provider",
                    observed={"providers": []},
                    reasons=("no key provider configured: VMs cannot be encrypted",),
                )
            ]
        results = []
        for provider in observation.providers:
            count = len(provider.servers)
            status = Status.PASS if count >= minimum else Status.FAIL
            results.append(
                result(
                    self.name,
                    target,
                    provider.name,
                    status,
                    f"{count} KMIP server{'s' if count != 1 else ''}",
                    observed={
                        "provider": provider.name,
                        "server_count": count,
                        "servers": [f"{s.name} ({s.address}:{s.port})" for s in provider.servers],
                    },
                    expected={"min_servers": minimum},
                    reasons=()
                    if status is Status.PASS
                    else (
                        f"{count} server{'s' if count != 1 else ''}, {minimum} needed: "
                        "one KMIP server is not highly available",
                    ),
                )
            )
        configured = {p.name for p in observation.providers}
        for expected in site.providers:
            if expected.name not in configured:
                results.append(
                    result(
                        self.name,
                        target,
                        expected.name,
                        Status.FAIL,
                        "not configured in vCenter",
                        observed={"provider": expected.name, "server_count": 0},
                        expected={"min_servers": minimum},
                        reasons=(f"the inventory expects key provider {expected.name}",),
                    )
                )
        return results


def _server_result(
    check: str, target: Target[KmsTarget], provider: str, server: ServerStatus
) -> CheckResult:
    connected = server.status == HEALTHY_STATUS
    words = server.connection_status or "no connection status given"
    reasons: tuple[str, ...]
    if connected:
        status, summary, reasons = Status.PASS, f"connected ({words})", ()
    elif server.status == "yellow":
        status, summary = Status.WARN, f"degraded: {words}"
        reasons = (f"vCenter reports status yellow: {words}",)
    elif server.status == "red":
        status, summary = Status.FAIL, f"not connected: {words}"
        reasons = (f"vCenter cannot use this KMIP server: {words}",)
    else:
        status, summary = Status.ERROR, f"could not evaluate: status {server.status}: {words}"
        reasons = (f"vCenter does not know this server's state (status {server.status})",)
    return result(
        check,
        target,
        f"{provider}/{server.name}",
        status,
        summary,
        observed={
            "provider": provider,
            "server": server.name,
            "status": server.status,
            "connection_status": server.connection_status,
            "connected": connected,
        },
        expected={"status": HEALTHY_STATUS},
        reasons=reasons,
    )


def _servers_without_status(
    check: str,
    target: Target[KmsTarget],
    observation: KmsObservation,
    reported: set[tuple[str, str]],
) -> list[CheckResult]:
    """Servers listed but without a status (ERROR), expected but not configured (FAIL)."""
    results = []
    for provider in observation.providers or ():
        for entry in provider.servers:
            if (provider.name, entry.name) not in reported:
                results.append(
                    result(
                        check,
                        target,
                        f"{provider.name}/{entry.name}",
                        Status.ERROR,
                        "could not evaluate: vCenter returned no status for this server",
                        observed={"provider": provider.name, "server": entry.name},
                        reasons=("listed by ListKmipServers but absent from the status",),
                    )
                )
                reported.add((provider.name, entry.name))
    for expected in target.config.site.providers:
        for name in expected.servers:
            if (expected.name, name) not in reported:
                results.append(
                    result(
                        check,
                        target,
                        f"{expected.name}/{name}",
                        Status.FAIL,
                        "not configured in vCenter",
                        observed={"provider": expected.name, "server": name, "connected": False},
                        reasons=(f"the inventory expects server {name} in {expected.name}",),
                    )
                )
    return results


class ServersConnectedCheck(KmsCheck):
    """PASS when vCenter reports every KMIP server of every provider healthy."""

    name = "kms.servers_connected"
    summary = "vCenter is connected to every KMIP server of every key provider."
    compares = (
        "each server's status from RetrieveKmipServersStatus_Task (green: connected), "
        "with vCenter's connectionStatus as the reason"
    )
    statuses = {
        "pass": "status green",
        "warn": "status yellow",
        "fail": "status red (vCenter's reason given), or a server the inventory expects is missing",
        "error": "status unknown (gray), or the status task failed (the fault is named)",
    }
    metrics = (
        MetricSpec(
            "kms.servers_connected",
            "holdtime_kms_server_connected",
            GAUGE,
            "1 when vCenter reports the KMIP server connected (status green), 0 otherwise.",
            value="connected",
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
        results = []
        reported: set[tuple[str, str]] = set()
        for provider in observation.statuses:
            for server in provider.servers:
                reported.add((provider.name, server.name))
                results.append(_server_result(self.name, target, provider.name, server))
        results += _servers_without_status(self.name, target, observation, reported)
        if not results:
            return no_data(self.name, target, "no KMIP servers configured")
        return results


class DefaultProviderCheck(KmsCheck):
    """PASS when vCenter has one default key provider (the one the inventory names, if any)."""

    name = "kms.default_provider"
    summary = "A default key provider is set, exists, and is the one the inventory expects."
    compares = "the provider marked useAsDefault (ListKmipServers) against default_provider"
    statuses = {
        "pass": "one default, as expected",
        "fail": "no default (new encryptions fail), several, or another than expected",
        "error": "ListKmipServers failed (the fault is named)",
    }
    reports_unlisted_targets = False
    metrics = (
        MetricSpec(
            "kms.default_provider",
            "holdtime_kms_default_provider_set",
            GAUGE,
            "1 when vCenter has a default key provider, 0 otherwise.",
            value="default_set",
        ),
    )

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result for the vCenter."""
        if observation.providers is None:
            return read_error(self.name, target, observation.providers_error or "no answer")
        wanted = target.config.site.default_provider
        defaults = [p.name for p in observation.providers if p.is_default]
        observed = {
            "default_provider": defaults[0] if len(defaults) == 1 else None,
            "defaults": defaults,
            "providers": [p.name for p in observation.providers],
            "default_set": bool(defaults),
        }
        expected = {"default_provider": wanted} if wanted else {}
        if not defaults:
            status, summary = Status.FAIL, "no default key provider"
            reasons: tuple[str, ...] = (
                "no provider is marked default: encrypting a VM without naming a provider fails",
            )
        elif len(defaults) > 1:
            status, summary = Status.FAIL, f"{len(defaults)} default providers"
            reasons = (f"several providers marked default: {', '.join(defaults)}",)
        elif wanted and defaults[0] != wanted:
            status, summary = Status.FAIL, f"default is {defaults[0]}, not {wanted}"
            reasons = (f"the inventory expects {wanted} as the default key provider",)
        else:
            status, summary, reasons = Status.PASS, f"default is {defaults[0]}", ()
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

"""Key provider checks of a vCenter: redundancy, connection, default, certificates, objects.

Why these matter: vCenter fetches the key encryption keys of encrypted VMs (and of hosts in
encryption mode) from the key provider that encrypted them, over KMIP. An encrypted VM cannot
power on, and a host cannot unlock its core dumps and VMs after a reboot, when that provider's
servers cannot be reached or its certificates are no longer accepted; a provider with one
server has no failover; without a default provider, new encryptions fail.

ERROR means the crypto manager's answer that a check needs was not read (its fault is named);
FAIL means it was read and shows a problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from holdtime.checks.kit import BaseCheck, default_of, no_data, result
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.kms_config import KmsExpect, KmsTarget
from holdtime.probes.kms_model import (
    HEALTHY_STATUS,
    Certificate,
    KmsObservation,
    ProtectedObject,
    ServerStatus,
)

_PROVIDER = (("provider", "observed.provider"),)
_SERVER = (("provider", "observed.provider"), ("server", "observed.server"))
_SECONDS_PER_DAY = 86400.0
REASONS_LISTED = 20  # objects named one per reason; the rest are counted (all are in observed)


class KmsCheck(BaseCheck[KmsTarget, KmsObservation]):
    """A check of the `kms` probe's observation; policy in ``target.config.site.expect``."""

    probe = "kms"
    reports_unlisted_targets = True  # vCenter may hold providers/servers the inventory omits


def _error(check: str, target: Target[KmsTarget], reason: str) -> list[CheckResult]:
    """The single ERROR of a check whose input the probe could not read."""
    return [
        result(
            check,
            target,
            "",
            Status.ERROR,
            f"could not evaluate: {reason}",
            reasons=(reason,),
        )
    ]


def _provider_targets(target: Target[KmsTarget]) -> list[str]:
    return [f"{target.name}/{p.name}" for p in target.config.site.providers]


def _server_targets(target: Target[KmsTarget]) -> list[str]:
    return [
        f"{target.name}/{p.name}/{server}"
        for p in target.config.site.providers
        for server in p.servers
    ]


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _days_left(certificate: Certificate, now: dt.datetime) -> float:
    return (certificate.not_after - now).total_seconds() / _SECONDS_PER_DAY


def _certificate_observed(certificate: Certificate, now: dt.datetime) -> dict[str, object]:
    return {
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "fingerprint": certificate.fingerprint,
        "not_before": certificate.not_before.isoformat(),
        "not_after": certificate.not_after.isoformat(),
        "not_after_timestamp_seconds": certificate.not_after.timestamp(),
        "days_to_expiry": round(_days_left(certificate, now), 2),
    }


def judge_validity(
    certificate: Certificate, now: dt.datetime, warn_days: float, what: str
) -> tuple[Status, str, tuple[str, ...]]:
    """(status, summary, reasons) of a certificate's validity window at `now`."""
    days = _days_left(certificate, now)
    if certificate.not_before > now:
        return (
            Status.FAIL,
            f"{what} is not valid before {_date(certificate.not_before)}",
            (f"{what} is not yet valid (not before {_date(certificate.not_before)})",),
        )
    if days < 0:
        return (
            Status.FAIL,
            f"{what} expired {-days:.0f} days ago ({_date(certificate.not_after)})",
            (f"{what} expired on {_date(certificate.not_after)}: renew it in vCenter",),
        )
    if days < warn_days:
        return (
            Status.WARN,
            f"{what} expires in {days:.0f} days ({_date(certificate.not_after)})",
            (f"{what} expires in {days:.1f} days, under {warn_days:g}: renew it",),
        )
    return Status.PASS, f"{what} valid for {days:.0f} more days", ()


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
            labels=_PROVIDER,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per provider the inventory lists."""
        return _provider_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per provider (configured or expected)."""
        if observation.providers is None:
            return _error(self.name, target, observation.providers_error or "no answer")
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
            labels=_SERVER,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per server the inventory lists."""
        return _server_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per server."""
        if observation.statuses is None:
            return _error(self.name, target, observation.statuses_error or "no answer")
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
            return _error(self.name, target, observation.providers_error or "no answer")
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
            labels=_PROVIDER,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per provider the inventory lists."""
        return _provider_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per provider."""
        if observation.statuses is None:
            return _error(self.name, target, observation.statuses_error or "no answer")
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
                    observed={"provider": provider.name, **_certificate_observed(certificate, now)},
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
            labels=_SERVER,
        ),
        MetricSpec(
            "kms.server_certificate",
            "holdtime_kms_server_certificate_trusted",
            GAUGE,
            "1 when vCenter trusts the server's certificate and the server trusts vCenter's.",
            value="trusted",
            labels=_SERVER,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per server the inventory lists."""
        return _server_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per server."""
        if observation.statuses is None:
            return _error(self.name, target, observation.statuses_error or "no answer")
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
        observed.update(_certificate_observed(certificate, now))
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


def _named(objects: Sequence[ProtectedObject]) -> list[str]:
    return [f"{o.kind} {o.name}" for o in objects]


class ProtectedObjectsCheck(KmsCheck):
    """PASS when every encrypted VM and host has a configured provider with a connected server."""

    name = "kms.protected_objects"
    summary = "Every encrypted VM and host gets its keys from a configured, reachable provider."
    compares = (
        "each VM's config.keyId.providerId and host's runtime.cryptoKeyId.providerId against "
        "the configured providers and their servers' status"
    )
    statuses = {
        "pass": "the provider is configured and has a connected server",
        "fail": "the provider is no longer configured or none of its servers is connected: "
        "its objects will not power on after their host reboots",
        "error": "key ids, providers or status not read; or a key id without a provider",
        "skip": "no encrypted VMs or hosts",
    }
    metrics = (
        MetricSpec(
            "kms.protected_objects",
            "holdtime_kms_protected_objects",
            GAUGE,
            "Encrypted VMs and hosts whose keys come from the provider.",
            value="object_count",
            labels=_PROVIDER,
        ),
        MetricSpec(
            "kms.protected_objects",
            "holdtime_kms_provider_usable",
            GAUGE,
            "1 when the provider is configured and has a connected KMIP server, 0 otherwise.",
            value="usable",
            labels=_PROVIDER,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per provider the inventory lists."""
        return _provider_targets(target)

    def evaluate(
        self, target: Target[KmsTarget], observation: KmsObservation
    ) -> Sequence[CheckResult]:
        """One result per provider that is configured or protects an object."""
        for part, error in (
            (observation.objects, observation.objects_error),
            (observation.providers, observation.providers_error),
            (observation.statuses, observation.statuses_error),
        ):
            if part is None:
                return _error(self.name, target, error or "no answer")
        objects = observation.objects or ()
        providers = [p.name for p in observation.providers or ()]
        by_provider: dict[str, list[ProtectedObject]] = {name: [] for name in providers}
        unplaced = [o for o in objects if o.provider is None]
        for item in objects:
            if item.provider is not None:
                by_provider.setdefault(item.provider, []).append(item)
        if not objects:
            return no_data(self.name, target, "no encrypted VMs or hosts", observed={"objects": 0})
        results = [
            self._provider_result(target, observation, name, members, name in providers)
            for name, members in by_provider.items()
        ]
        if unplaced:
            results.append(
                result(
                    self.name,
                    target,
                    "no-provider",
                    Status.ERROR,
                    f"could not evaluate {len(unplaced)} encrypted objects: no provider in key id",
                    observed={"objects": _named(unplaced), "object_count": len(unplaced)},
                    reasons=tuple(f"{n}: key id without providerId" for n in _named(unplaced)),
                )
            )
        return results

    def _provider_result(
        self,
        target: Target[KmsTarget],
        observation: KmsObservation,
        provider: str,
        members: list[ProtectedObject],
        configured: bool,
    ) -> CheckResult:
        status_of = observation.status_of(provider)
        servers = status_of.servers if status_of is not None else ()
        connected = [s.name for s in servers if s.status == HEALTHY_STATUS]
        observed: dict[str, object] = {
            "provider": provider,
            "configured": configured,
            "connected_servers": connected,
            "vms": [o.name for o in members if o.kind == "vm"],
            "hosts": [o.name for o in members if o.kind == "host"],
            "object_count": len(members),
            "usable": configured and bool(connected),
        }
        count = f"{len(members)} encrypted object{'s' if len(members) != 1 else ''}"
        if configured and connected:
            return result(
                self.name,
                target,
                provider,
                Status.PASS,
                f"{count}; {len(connected)} server{'s' if len(connected) != 1 else ''} connected",
                observed=observed,
            )
        if configured and status_of is None:
            return result(
                self.name,
                target,
                provider,
                Status.ERROR,
                "could not evaluate: vCenter returned no status for this provider",
                observed=observed,
                reasons=("provider absent from RetrieveKmipServersStatus_Task",),
            )
        if configured and servers and all(s.status == "gray" for s in servers):
            return result(
                self.name,
                target,
                provider,
                Status.ERROR,
                "could not evaluate: vCenter does not know its servers' state (gray)",
                observed=observed,
                reasons=("every server of the provider has status gray",),
            )
        why = (
            "is no longer configured in vCenter"
            if not configured
            else "has no connected KMIP server"
        )
        if not members:  # nothing at risk; the servers are kms.servers_connected's to judge
            return result(
                self.name,
                target,
                provider,
                Status.PASS,
                f"protects no object (the provider {why})",
                observed=observed,
            )
        named = _named(members)
        listed = [
            f"{name}: it will not power on after its host reboots"
            for name in named[:REASONS_LISTED]
        ]
        if len(named) > REASONS_LISTED:
            listed.append(f"... and {len(named) - REASONS_LISTED} more (see observed)")
        return result(
            self.name,
            target,
            provider,
            Status.FAIL,
            f"{count} protected by {provider}, which {why}: {', '.join(named[:3])}"
            + (" ..." if len(named) > 3 else ""),
            observed=observed,
            reasons=(f"key provider {provider} {why}", *listed),
        )

"""Which encrypted VMs and hosts depend on which key provider, and which are stranded.

An object stays bound to the provider that encrypted it until it is rekeyed: when that provider
is removed or none of its servers is reachable, the object will not power on (a host will not
unlock) after its host reboots.
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import no_data, result
from holdtime.checks.kms_kit import PROVIDER_LABELS, KmsCheck, provider_targets, read_error
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target
from holdtime.probes.kms_config import KmsTarget
from holdtime.probes.kms_model import HEALTHY_STATUS, KmsObservation, ProtectedObject

REASONS_LISTED = 20  # objects named one per reason; the rest are counted (all are in observed)


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
            labels=PROVIDER_LABELS,
        ),
        MetricSpec(
            "kms.protected_objects",
            "holdtime_kms_provider_usable",
            GAUGE,
            "1 when the provider is configured and has a connected KMIP server, 0 otherwise.",
            value="usable",
            labels=PROVIDER_LABELS,
        ),
    )

    def expected_targets(self, target: Target[KmsTarget]) -> Sequence[str]:
        """One item per provider the inventory lists."""
        return provider_targets(target)

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
                return read_error(self.name, target, error or "no answer")
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

"""Distributed switch checks: IP hash teaming against the physical switch, health check, VLAN/MTU.

A portgroup on "Route based on IP hash" (``loadbalance_ip``) needs an EtherChannel on the
physical switch; without one the teaming health check reports ``iphashMismatch`` (the reverse,
an EtherChannel under a non-IP-hash portgroup, is ``nonIphashMismatch``). With the health check
disabled nothing warns, so that is a WARN of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import no_data, result
from holdtime.checks.vsphere_kit import VsphereCheck
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target
from holdtime.probes.vsphere_config import VCenter
from holdtime.probes.vsphere_model import Switch, VsphereObservation

IP_HASH = "loadbalance_ip"
MISMATCH = {"iphashMismatch", "nonIphashMismatch"}
MATCH = {"iphashMatch", "nonIphashMatch"}


def _no_switch(check: str, target: Target[VCenter]) -> list[CheckResult]:
    return no_data(check, target, "no distributed switches", observed={"switches": 0})


def teaming_state(status: str | None) -> str:
    """match | mismatch | unknown, the exporter's states for a teamingStatus."""
    if status in MATCH:
        return "match"
    if status in MISMATCH:
        return "mismatch"
    return "unknown"


def _enabled(switch: Switch, kind: str) -> bool:
    check = switch.healthcheck(kind)
    return check is not None and check.enabled


class IphashTeamingCheck(VsphereCheck):
    """IP hash portgroups must sit on EtherChannel uplinks (teaming health check per host)."""

    name = "vds.iphash_teaming"
    summary = "Route-based-on-IP-hash portgroups match the physical switch's EtherChannel."
    compares = (
        "portgroup uplinkTeamingPolicy (explicit or inherited from the switch) and "
        "runtime.hostMemberRuntime[].healthCheckResult teamingStatus per host"
    )
    statuses = {
        "pass": "every host reports a teaming match, or no portgroup uses IP hash",
        "warn": "teaming health check disabled (cannot verify IP hash), or no result",
        "fail": "iphashMismatch / nonIphashMismatch on a host (names DVS, host, portgroup)",
        "skip": "the vCenter has no distributed switches",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per distributed switch."""
        if not observation.switches:
            return _no_switch(self.name, target)
        out = []
        for switch in observation.switches:
            iphash = [pg.name for pg in switch.portgroups if pg.teaming_policy == IP_HASH]
            other = [pg.name for pg in switch.portgroups if pg.teaming_policy != IP_HASH]
            enabled = _enabled(switch, "teaming")
            observed: dict[str, object] = {
                "dvs": switch.name,
                "iphash_portgroups": iphash,
                "inherited_iphash_portgroups": [
                    pg.name
                    for pg in switch.portgroups
                    if pg.teaming_policy == IP_HASH and pg.inherited
                ],
                "healthcheck_enabled": enabled,
                "hosts": [
                    {
                        "host": h.host,
                        "status": teaming_state(h.teaming_status) if enabled else "unknown",
                        "teaming_status": h.teaming_status,
                    }
                    for h in switch.hosts
                ],
            }
            suffix = f"dvs:{switch.name}"
            if not enabled:
                if iphash:
                    out.append(
                        result(
                            self.name,
                            target,
                            suffix,
                            Status.WARN,
                            f"teaming health check disabled: cannot verify IP hash on "
                            f"{', '.join(iphash)}",
                            observed=observed,
                            expected={"healthcheck_enabled": True},
                            reasons=(
                                f"DVS {switch.name}: portgroup(s) {', '.join(iphash)} use Route "
                                "based on IP hash and the teaming health check is disabled: "
                                "cannot verify IP hash, a missing EtherChannel would go unseen",
                            ),
                        )
                    )
                else:
                    out.append(
                        result(
                            self.name,
                            target,
                            suffix,
                            Status.PASS,
                            "no portgroup uses IP hash (teaming health check disabled)",
                            observed=observed,
                        )
                    )
                continue
            reasons = []
            for host in switch.hosts:
                if host.teaming_status == "iphashMismatch":
                    reasons.append(
                        f"DVS {switch.name} host {host.host}: iphashMismatch: portgroup(s) "
                        f"{', '.join(iphash) or '(none on IP hash)'} use Route based on IP hash "
                        "but the physical switch ports have no EtherChannel"
                    )
                elif host.teaming_status == "nonIphashMismatch":
                    reasons.append(
                        f"DVS {switch.name} host {host.host}: nonIphashMismatch: the physical "
                        f"switch ports are an EtherChannel but portgroup(s) "
                        f"{', '.join(other) or '(none)'} do not use Route based on IP hash"
                    )
            if reasons:
                bad_hosts = [h.host for h in switch.hosts if h.teaming_status in MISMATCH]
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.FAIL,
                        f"teaming mismatch on {', '.join(bad_hosts)}",
                        observed=observed,
                        expected={"teaming_status": "match on every host"},
                        reasons=reasons,
                    )
                )
                continue
            silent = [h.host for h in switch.hosts if h.teaming_status not in MATCH]
            if iphash and (silent or not switch.hosts):
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.WARN,
                        f"no teaming result from {', '.join(silent) or 'any host'}",
                        observed=observed,
                        expected={"teaming_status": "match on every host"},
                        reasons=(
                            f"DVS {switch.name}: the teaming health check has not reported for "
                            f"{', '.join(silent) or 'any host'}: IP hash unverified there",
                        ),
                    )
                )
                continue
            summary = (
                f"IP hash on {', '.join(iphash)} matches on {len(switch.hosts)} host(s)"
                if iphash
                else "no portgroup uses IP hash; no EtherChannel mismatch reported"
            )
            out.append(result(self.name, target, suffix, Status.PASS, summary, observed=observed))
        return out


class HealthcheckEnabledCheck(VsphereCheck):
    """The VLAN/MTU and teaming health checks are enabled on every distributed switch."""

    name = "vds.healthcheck_enabled"
    summary = "The vDS health checks (VLAN/MTU, teaming) are enabled."
    compares = "config.healthCheckConfig[].enable and interval (minutes)"
    statuses = {
        "pass": "both enabled (or disabled while require_healthcheck is false)",
        "warn": "a health check is disabled: its misconfigurations go unreported",
        "skip": "the vCenter has no distributed switches",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per distributed switch."""
        if not observation.switches:
            return _no_switch(self.name, target)
        required = target.config.expect.require_healthcheck
        out = []
        for switch in observation.switches:
            checks = [
                {
                    "check": kind,
                    "enabled": _enabled(switch, kind),
                    "interval_minutes": (
                        switch.healthcheck(kind).interval_minutes  # type: ignore[union-attr]
                        if switch.healthcheck(kind)
                        else None
                    ),
                }
                for kind in ("teaming", "vlan_mtu")
            ]
            observed: dict[str, object] = {"dvs": switch.name, "healthchecks": checks}
            suffix = f"dvs:{switch.name}"
            disabled = [str(c["check"]) for c in checks if not c["enabled"]]
            if disabled and required:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.WARN,
                        f"health check disabled: {', '.join(disabled)}",
                        observed=observed,
                        expected={"enabled": True},
                        reasons=(
                            f"DVS {switch.name}: {' and '.join(disabled)} health check disabled: "
                            "mismatched IP hash teaming, VLANs or MTU with the physical switch "
                            "go unreported",
                        ),
                    )
                )
            else:
                summary = (
                    f"disabled: {', '.join(disabled)} (not required)"
                    if disabled
                    else "teaming and VLAN/MTU health checks enabled"
                )
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.PASS,
                        summary,
                        observed=observed,
                        expected={"enabled": required},
                    )
                )
        return out


class VlanMtuCheck(VsphereCheck):
    """The physical switch trunks every VLAN and carries the vDS MTU (VLAN/MTU health check)."""

    name = "vds.vlan_mtu"
    summary = "No VLAN is missing from the physical trunk and no MTU mismatch is reported."
    compares = "runtime.hostMemberRuntime[].healthCheckResult untrunkedVlan / mtuMismatch"
    statuses = {
        "pass": "every host reports all VLANs trunked and MTU matching",
        "warn": "health check enabled but some host has not reported",
        "fail": "untrunked VLANs or MTU mismatch on a host (names DVS and host)",
        "skip": "VLAN/MTU health check disabled (see vds.healthcheck_enabled) or no DVS",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per distributed switch."""
        if not observation.switches:
            return _no_switch(self.name, target)
        out = []
        for switch in observation.switches:
            observed: dict[str, object] = {
                "dvs": switch.name,
                "hosts": [
                    {
                        "host": h.host,
                        "mtu_mismatch": h.mtu_mismatch,
                        "untrunked_vlans": list(h.untrunked_vlans),
                    }
                    for h in switch.hosts
                ],
            }
            suffix = f"dvs:{switch.name}"
            if not _enabled(switch, "vlan_mtu"):
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.SKIP,
                        "VLAN/MTU health check disabled; see vds.healthcheck_enabled",
                        observed=observed,
                    )
                )
                continue
            reasons = []
            for host in switch.hosts:
                if host.untrunked_vlans:
                    reasons.append(
                        f"DVS {switch.name} host {host.host}: VLAN(s) "
                        f"{', '.join(host.untrunked_vlans)} not trunked on the physical switch"
                    )
                if host.mtu_mismatch:
                    reasons.append(
                        f"DVS {switch.name} host {host.host}: MTU mismatch with the physical switch"
                    )
            expected = {"untrunked_vlans": [], "mtu_mismatch": False}
            if reasons:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.FAIL,
                        f"{len(reasons)} VLAN/MTU problem(s)",
                        observed=observed,
                        expected=expected,
                        reasons=reasons,
                    )
                )
                continue
            silent = [h.host for h in switch.hosts if h.mtu_mismatch is None]
            if silent or not switch.hosts:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.WARN,
                        f"no MTU result from {', '.join(silent) or 'any host'}",
                        observed=observed,
                        expected=expected,
                    )
                )
                continue
            out.append(
                result(
                    self.name,
                    target,
                    suffix,
                    Status.PASS,
                    f"VLANs and MTU match on {len(switch.hosts)} host(s)",
                    observed=observed,
                    expected=expected,
                )
            )
        return out

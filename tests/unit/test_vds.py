"""Unit tests of the vds.* checks and of the PropertyCollector conversion (no vCenter)."""

from __future__ import annotations

from types import SimpleNamespace

from holdtime.checks.vds import HealthcheckEnabledCheck, IphashTeamingCheck, VlanMtuCheck
from holdtime.plugins import Target
from holdtime.probes.vsphere_config import VCenter, VCenterExpect
from holdtime.probes.vsphere_model import (
    HealthCheck,
    HostHealth,
    Portgroup,
    Record,
    Switch,
    VsphereObservation,
    build_observation,
)

TARGET = Target(
    name="vc",
    device="vc",
    config=VCenter(
        name="vc", host="vc.example", username="u", expect=VCenterExpect(require_healthcheck=True)
    ),
)
ON = (HealthCheck("teaming", True, 1), HealthCheck("vlan_mtu", True, 1))
OFF = (HealthCheck("teaming", False, 1), HealthCheck("vlan_mtu", False, 1))


def switch(hosts: tuple[HostHealth, ...], checks: tuple[HealthCheck, ...] = ON) -> Switch:
    """A switch with one IP hash and one source-port portgroup."""
    groups = (
        Portgroup("pg-ip", "loadbalance_ip", False),
        Portgroup("pg-src", "loadbalance_srcid", False),
    )
    return Switch("dvs1", "dvs-1", "loadbalance_srcid", groups, checks, hosts)


def evaluate(check: object, sw: Switch) -> tuple[str, tuple[str, ...]]:
    """(status, reasons) of the single result."""
    [result] = check.evaluate(TARGET, VsphereObservation("vc", switches=(sw,)))  # type: ignore[attr-defined]
    return result.status.value, result.reasons


def test_iphash_mismatch_names_dvs_host_portgroup() -> None:
    """iphashMismatch on h2 fails naming DVS, host and the IP hash portgroup."""
    sw = switch((HostHealth("h1", "iphashMatch"), HostHealth("h2", "iphashMismatch")))
    assert (
        "fail",
        (
            "DVS dvs1 host h2: iphashMismatch: portgroup(s) pg-ip use Route based on IP hash "
            "but the physical switch ports have no EtherChannel",
        ),
    ) == evaluate(IphashTeamingCheck(), sw)


def test_non_iphash_mismatch_names_other_portgroups() -> None:
    """nonIphashMismatch names the portgroups that are not on IP hash."""
    sw = switch((HostHealth("h1", "nonIphashMismatch"),))
    status, reasons = evaluate(IphashTeamingCheck(), sw)
    assert ("fail", True) == (status, "pg-src do not use Route based on IP hash" in reasons[0])


def test_disabled_teaming_check_warns_cannot_verify() -> None:
    """With the health check off, IP hash portgroups give WARN 'cannot verify IP hash'."""
    sw = switch((HostHealth("h1"),), OFF)
    status, reasons = evaluate(IphashTeamingCheck(), sw)
    assert ("warn", True) == (status, "cannot verify IP hash" in reasons[0])


def test_healthcheck_enabled_warns_when_off_and_required() -> None:
    """Disabled health checks warn when require_healthcheck is true."""
    assert "warn" == evaluate(HealthcheckEnabledCheck(), switch((), OFF))[0]


def test_vlan_mtu_fails_on_untrunked_vlan() -> None:
    """An untrunked VLAN range fails naming the host."""
    sw = switch((HostHealth("h1", "iphashMatch", False, ("100-110",)),))
    assert (
        "fail",
        ("DVS dvs1 host h1: VLAN(s) 100-110 not trunked on the physical switch",),
    ) == evaluate(VlanMtuCheck(), sw)


def test_build_observation_resolves_inherited_policy_and_hosts() -> None:
    """Portgroups without their own policy inherit the switch default; host ids become names."""
    policy = SimpleNamespace(
        uplinkTeamingPolicy=SimpleNamespace(
            policy=SimpleNamespace(value="loadbalance_ip", inherited=False)
        )
    )
    inherit = SimpleNamespace(
        uplinkTeamingPolicy=SimpleNamespace(policy=SimpleNamespace(value=None, inherited=True))
    )
    records = [
        Record("HostSystem", "host-1", {"name": "esx1", "runtime.connectionState": "connected"}),
        Record(
            "VmwareDistributedVirtualSwitch",
            "dvs-1",
            {
                "name": "dvs1",
                "config.defaultPortConfig": policy,
                "runtime.hostMemberRuntime": [
                    SimpleNamespace(
                        host="host-1",
                        status="up",
                        healthCheckResult=[SimpleNamespace(teamingStatus="iphashMatch")],
                    )
                ],
            },
        ),
        Record(
            "DistributedVirtualPortgroup",
            "pg-1",
            {
                "name": "pg",
                "config.defaultPortConfig": inherit,
                "config.distributedVirtualSwitch": "dvs-1",
            },
        ),
    ]
    observed = build_observation("vc", records)
    assert (
        (Portgroup("pg", "loadbalance_ip", True),),
        (HostHealth("esx1", "iphashMatch", None, (), "up"),),
    ) == (observed.switches[0].portgroups, observed.switches[0].hosts)

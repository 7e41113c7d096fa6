"""Real CheckResults for the exporter tests: the registered checks on real observations.

Router results: recorded FRR and swanctl output (tests/fixtures) parsed by the real parsers.
vSphere results: pyVmomi data objects shaped like a vcsim scenario (tests/vcsim), converted by
the vSphere probe's own `build_observation`. Every check registered for the probe judges them, so
renaming a check or an `observed` key breaks the exporter tests instead of silently emitting
nothing (the drift issue 6 was about).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from vcsim_fixtures import scenarios

from holdtime import plugins
from holdtime.inventory import Inventory
from holdtime.models import CheckResult
from holdtime.plugins import Target
from holdtime.probes import frr, ipsec
from holdtime.probes.bgp_model import BgpState
from holdtime.probes.ipsec_model import IpsecStatus
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import (
    BgpExpect,
    IpsecExpect,
    NeighborExpect,
    Router,
    RouterExpect,
    SshAuth,
)
from holdtime.probes.vsphere import VsphereProbe
from holdtime.probes.vsphere_config import VCenter
from holdtime.probes.vsphere_model import Record, VsphereObservation, build_observation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROUTER = "vpc-router-1"
VCENTER = "vc-site-a"


def _read(tool: str, command: str, case: str) -> str:
    return (FIXTURES / tool / command / case / "output.txt").read_text()


def router_target() -> Target:
    """vpc-router-1 as the lab's inventory describes it (two ESG neighbors, two tunnels)."""
    router = Router(
        name=ROUTER,
        host="10.250.0.2",
        username="root",
        auth=SshAuth(agent=True),
        platforms=("frr", "strongswan"),
        expect=RouterExpect(
            bgp=BgpExpect(
                neighbors=(
                    NeighborExpect("10.10.10.2", 65010, (), ()),
                    NeighborExpect("10.10.10.6", 65010, (), ()),
                )
            ),
            ipsec=IpsecExpect(tunnels=("esg1", "esg2")),
        ),
    )
    return Target(name=ROUTER, device=ROUTER, config=router)


def router_observation(
    bgp_case: str = "both-established", sas_case: str = "traffic-read-1"
) -> RouterObservation:
    """Recorded `show bgp ... json` (FRR 8.4) and `swanctl --list-sas/--list-conns`, parsed."""
    bgp = BgpState(
        peers=frr.parse_frr_bgp_summary_json(
            _read("frr", "show-bgp-vrf-all-summary-json", bgp_case)
        ),
        neighbors=frr.parse_frr_bgp_neighbors_json(
            _read("frr", "show-bgp-vrf-all-neighbors-json", bgp_case)
        ),
    )
    sas = IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_read("strongswan", "swanctl-list-sas", sas_case)),
        ipsec.parse_swanctl_list_conns(
            _read("strongswan", "swanctl-list-conns", "two-connections")
        ),
    )
    return RouterObservation(
        device=ROUTER,
        platforms=("frr", "strongswan"),
        collected_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        bgp=bgp,
        ipsec=sas,
    )


def vsphere_target() -> Target[VCenter]:
    """The target the real vsphere probe makes of a vCenter inventory entry."""
    vcenter = VCenter(name=VCENTER, host="127.0.0.1", username=scenarios.USERNAME)
    inventory = Inventory(path=Path("vcsim.yaml"), sections={"vcenters": (vcenter,)})
    [target] = VsphereProbe().targets(inventory)
    return target


def vsphere_records(scenario: Any) -> list[Record]:
    """PropertyCollector-like Records of a tests/vcsim Scenario, made of real pyVmomi objects."""
    from pyVmomi import vim

    vmw = vim.dvs.VmwareDistributedVirtualSwitch
    hosts = [f"host-{i}" for i in range(scenario.hosts)]
    records = [
        Record("HostSystem", moid, {"name": f"esx{i}.lab", "runtime.connectionState": "connected"})
        for i, moid in enumerate(hosts)
    ]
    for index, nfs in enumerate(scenario.nfs):
        mounted = range(len(hosts)) if nfs.hosts is None else nfs.hosts
        nas = vim.host.NasVolume(
            name=nfs.name,
            capacity=0,
            type="NFS41" if nfs.version == "4.1" else "NFS",
            remoteHost=nfs.servers[0],
            remotePath=nfs.path,
            remoteHostNames=list(nfs.servers) if nfs.version == "4.1" else None,
        )
        mounts = [
            vim.Datastore.HostMount(
                key=vim.HostSystem(hosts[i]),
                mountInfo=vim.host.MountInfo(
                    accessMode="readWrite",
                    mounted=True,
                    accessible=i not in nfs.inaccessible_on,
                ),
            )
            for i in mounted
        ]
        props: dict[str, Any] = {"name": nfs.name, "summary.type": nas.type, "info.nas": nas}
        props["host"] = mounts
        if nfs.sioc is not None:
            props["iormConfiguration"] = vim.StorageResourceManager.IORMConfigInfo(**nfs.sioc)
        records.append(Record("Datastore", f"datastore-{index}", props))
    for index, dvs in enumerate(scenario.dvs):
        moid = f"dvs-{index}"

        def policy(value: str | None) -> Any:
            return vmw.VmwarePortConfigPolicy(
                uplinkTeamingPolicy=vmw.UplinkPortTeamingPolicy(
                    policy=vim.StringPolicy(inherited=value is None, value=value)
                )
            )

        members = []
        for i, host in enumerate(hosts):
            results: list[Any] = []
            if dvs.healthcheck and i in dvs.teaming:
                results.append(vmw.TeamingHealthCheckResult(teamingStatus=dvs.teaming[i]))
            if dvs.healthcheck and i in dvs.mtu_mismatch:
                results.append(
                    vmw.MtuHealthCheckResult(uplinkPortKey="1", mtuMismatch=dvs.mtu_mismatch[i])
                )
            members.append(
                vim.dvs.HostMember.RuntimeInfo(
                    host=vim.HostSystem(host), status="up", healthCheckResult=results
                )
            )
        records.append(
            Record(
                "VmwareDistributedVirtualSwitch",
                moid,
                {
                    "name": dvs.name,
                    "config.defaultPortConfig": policy(dvs.default_policy),
                    "config.uplinkPortgroup": [],
                    "config.healthCheckConfig": [
                        vmw.VlanMtuHealthCheckConfig(enable=dvs.healthcheck, interval=1),
                        vmw.TeamingHealthCheckConfig(enable=dvs.healthcheck, interval=1),
                    ],
                    "runtime.hostMemberRuntime": members,
                },
            )
        )
        for pg_index, (name, pg_policy) in enumerate(dvs.portgroups):
            records.append(
                Record(
                    "DistributedVirtualPortgroup",
                    f"dvportgroup-{index}-{pg_index}",
                    {
                        "name": name,
                        "config.defaultPortConfig": policy(pg_policy),
                        "config.distributedVirtualSwitch": vim.dvs.VmwareDistributedVirtualSwitch(
                            moid
                        ),
                    },
                )
            )
    return records


def vsphere_observation(scenario_name: str = "healthy") -> VsphereObservation:
    """The observation of a tests/vcsim scenario, built by the probe's own conversion."""
    return build_observation(VCENTER, vsphere_records(scenarios.SCENARIOS[scenario_name]))


def results_of(probe: str, target: Target, observation: object) -> list[CheckResult]:
    """Every registered check of `probe` (holdtime.plugins) that applies, on one observation."""
    out: list[CheckResult] = []
    for check in plugins.checks().values():
        if check.probe != probe or not check.applies_to(target):
            continue
        out.extend(check.evaluate(target, observation))
    return out


def router_results(
    bgp_case: str = "both-established", sas_case: str = "traffic-read-1"
) -> list[CheckResult]:
    """Every router check on recorded output of vpc-router-1."""
    return results_of("router", router_target(), router_observation(bgp_case, sas_case))


def vsphere_results(scenario_name: str = "healthy") -> list[CheckResult]:
    """Every vsphere check on a tests/vcsim scenario."""
    return results_of("vsphere", vsphere_target(), vsphere_observation(scenario_name))

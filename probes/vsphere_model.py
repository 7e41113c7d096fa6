"""vSphere observations (frozen dataclasses) and the pure conversion from PropertyCollector results.

The probe (holdtime.probes.vsphere) fetches every needed property in one RetrievePropertiesEx
over a ContainerView and hands the ObjectContents to :func:`records_from_contents` and
:func:`build_observation`. Both only read attributes of already deserialized data objects and
the ``_moId`` of references, so they never cause a SOAP round trip and need no pyVmomi import:
unit tests feed them plain objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from holdtime.errors import ParseError

NFS3 = "NFS"  # summary.type / info.nas.type of an NFS 3 datastore
NFS41 = "NFS41"


@dataclass(frozen=True, slots=True)
class HostMount:
    """How one host mounts one datastore (datastore.host[].mountInfo)."""

    host: str  # host name (or moid when the host was not collected)
    mounted: bool
    accessible: bool
    inaccessible_reason: str = ""


@dataclass(frozen=True, slots=True)
class SiocConfig:
    """Storage I/O Control settings of a datastore (datastore.iormConfiguration)."""

    enabled: bool
    threshold_mode: str  # automatic | manual | "" (not reported)
    threshold_ms: int | None  # congestionThreshold, used in manual mode
    peak_throughput_percent: int | None  # percentOfPeakThroughput, used in automatic mode


@dataclass(frozen=True, slots=True)
class Datastore:
    """One datastore; the NAS fields are empty for VMFS/vSAN/vVols."""

    name: str
    moid: str
    fs_type: str  # summary.type: NFS, NFS41, VMFS, vsan, ...
    remote_host: str = ""
    remote_host_names: tuple[str, ...] = ()
    remote_path: str = ""
    mounts: tuple[HostMount, ...] = ()
    sioc: SiocConfig | None = None  # None: iormConfiguration not reported

    @property
    def nfs_version(self) -> str | None:
        """'3', '4.1' or None for a datastore that is not NFS."""
        return {NFS3: "3", NFS41: "4.1"}.get(self.fs_type)

    @property
    def server_addresses(self) -> tuple[str, ...]:
        """The server addresses the datastore is mounted with (4.1: remoteHostNames)."""
        if self.remote_host_names:
            return self.remote_host_names
        return (self.remote_host,) if self.remote_host else ()


@dataclass(frozen=True, slots=True)
class Portgroup:
    """A distributed portgroup and its effective uplink teaming policy."""

    name: str
    teaming_policy: str  # e.g. loadbalance_ip, loadbalance_srcid; "" when unknown
    inherited: bool  # True when the policy comes from the switch default


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One vDS health check setting (config.healthCheckConfig[])."""

    kind: str  # vlan_mtu | teaming
    enabled: bool
    interval_minutes: int | None


@dataclass(frozen=True, slots=True)
class HostHealth:
    """What the vDS health check reports for one member host."""

    host: str
    teaming_status: str | None = None  # iphashMatch, iphashMismatch, nonIphashMatch, ...
    mtu_mismatch: bool | None = None
    untrunked_vlans: tuple[str, ...] = ()  # VLAN ranges the physical switch does not trunk
    status: str = ""  # hostMemberRuntime[].status (up, pending, outOfSync, warning, ...)


@dataclass(frozen=True, slots=True)
class Switch:
    """A distributed virtual switch with its portgroups and health check state."""

    name: str
    moid: str
    default_teaming_policy: str
    portgroups: tuple[Portgroup, ...] = ()
    healthchecks: tuple[HealthCheck, ...] = ()
    hosts: tuple[HostHealth, ...] = ()

    def healthcheck(self, kind: str) -> HealthCheck | None:
        """The health check setting of one kind, None when the switch does not report it."""
        return next((h for h in self.healthchecks if h.kind == kind), None)


@dataclass(frozen=True, slots=True)
class Host:
    """An ESXi host as vCenter sees it."""

    name: str
    moid: str
    connection_state: str


@dataclass(frozen=True, slots=True)
class VsphereObservation:
    """Everything the vSphere checks judge, from one session on one vCenter."""

    vcenter: str
    datastores: tuple[Datastore, ...] = ()
    switches: tuple[Switch, ...] = ()
    hosts: tuple[Host, ...] = ()
    round_trips: int = 0  # SOAP requests the collection took
    api_version: str = ""

    @property
    def nfs_datastores(self) -> tuple[Datastore, ...]:
        """The NFS 3 and 4.1 datastores."""
        return tuple(d for d in self.datastores if d.nfs_version is not None)


@dataclass(frozen=True, slots=True)
class Record:
    """One managed object's fetched properties, keyed by property path."""

    kind: str  # managed object type, e.g. Datastore, VmwareDistributedVirtualSwitch
    moid: str
    props: Mapping[str, Any] = field(default_factory=dict)


def moid_of(ref: Any) -> str:
    """The managed object id of a pyVmomi reference (or a plain string)."""
    if isinstance(ref, str):
        return ref
    moid = getattr(ref, "_moId", None)
    if not isinstance(moid, str):
        raise ParseError(f"expected a managed object reference, got {type(ref).__name__}")
    return moid


def records_from_contents(contents: Iterable[Any]) -> list[Record]:
    """Turn PropertyCollector ObjectContents into Records (no round trips)."""
    records = []
    for content in contents:
        obj = content.obj
        kind = getattr(obj, "_wsdlName", None) or type(obj).__name__
        props = {prop.name: prop.val for prop in content.propSet or ()}
        records.append(Record(kind=str(kind), moid=moid_of(obj), props=props))
    return records


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _flag(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)


def _sioc(value: Any) -> SiocConfig | None:
    if value is None:
        return None
    threshold = getattr(value, "congestionThreshold", None)
    percent = getattr(value, "percentOfPeakThroughput", None)
    return SiocConfig(
        enabled=bool(getattr(value, "enabled", False)),
        threshold_mode=_text(getattr(value, "congestionThresholdMode", None)),
        threshold_ms=int(threshold) if threshold is not None else None,
        peak_throughput_percent=int(percent) if percent is not None else None,
    )


def _datastore(record: Record, host_names: Mapping[str, str]) -> Datastore:
    props = record.props
    # only `info.nas` is fetched: the rest of DatastoreInfo (free space, URL...) is not needed
    nas = props.get("info.nas")
    if nas is None:  # records built from a whole `info` (older recordings, unit fixtures)
        nas = getattr(props.get("info"), "nas", None)
    fs_type = _text(props.get("summary.type")) or _text(getattr(nas, "type", None))
    mounts = []
    for mount in props.get("host") or ():
        host_id = moid_of(mount.key)
        mount_info = getattr(mount, "mountInfo", None)
        mounts.append(
            HostMount(
                host=host_names.get(host_id, host_id),
                mounted=_flag(getattr(mount_info, "mounted", None), True),
                accessible=_flag(getattr(mount_info, "accessible", None), True),
                inaccessible_reason=_text(getattr(mount_info, "inaccessibleReason", None)),
            )
        )
    return Datastore(
        name=_text(props.get("name")) or record.moid,
        moid=record.moid,
        fs_type=fs_type,
        remote_host=_text(getattr(nas, "remoteHost", None)),
        remote_host_names=tuple(str(h) for h in getattr(nas, "remoteHostNames", None) or ()),
        remote_path=_text(getattr(nas, "remotePath", None)),
        mounts=tuple(sorted(mounts, key=lambda m: m.host)),
        sioc=_sioc(props.get("iormConfiguration")),
    )


def _teaming_policy(port_config: Any) -> tuple[str, bool | None]:
    # uplinkTeamingPolicy.policy is a StringPolicy(inherited, value); value unset means inherited.
    teaming = getattr(port_config, "uplinkTeamingPolicy", None)
    policy = getattr(teaming, "policy", None)
    value = getattr(policy, "value", None)
    inherited = getattr(policy, "inherited", None)
    return _text(value), (None if inherited is None else bool(inherited))


def _healthchecks(configs: Iterable[Any]) -> tuple[HealthCheck, ...]:
    checks = []
    for config in configs:
        name = getattr(config, "_wsdlName", None) or type(config).__name__
        kind = "teaming" if "Teaming" in name else "vlan_mtu" if "VlanMtu" in name else name
        interval = getattr(config, "interval", None)
        checks.append(
            HealthCheck(
                kind=kind,
                enabled=bool(getattr(config, "enable", False)),
                interval_minutes=int(interval) if interval is not None else None,
            )
        )
    return tuple(sorted(checks, key=lambda c: c.kind))


def _vlan_ranges(ranges: Iterable[Any]) -> tuple[str, ...]:
    out = []
    for item in ranges:
        start, end = getattr(item, "start", None), getattr(item, "end", None)
        out.append(str(start) if start == end else f"{start}-{end}")
    return tuple(out)


def _host_health(member: Any, host_names: Mapping[str, str]) -> HostHealth:
    host_id = moid_of(member.host)
    teaming: str | None = None
    mtu_mismatch: bool | None = None
    untrunked: tuple[str, ...] = ()
    # healthCheckResult[] mixes VMwareDVSTeamingHealthCheckResult, VMwareDVSVlanHealthCheckResult
    # and VMwareDVSMtuHealthCheckResult; tell them apart by the fields they carry.
    for result in getattr(member, "healthCheckResult", None) or ():
        if getattr(result, "teamingStatus", None) is not None:
            teaming = str(result.teamingStatus)
        if getattr(result, "mtuMismatch", None) is not None:
            mtu_mismatch = bool(mtu_mismatch) or bool(result.mtuMismatch)
        untrunked += _vlan_ranges(getattr(result, "untrunkedVlan", None) or ())
    return HostHealth(
        host=host_names.get(host_id, host_id),
        teaming_status=teaming,
        mtu_mismatch=mtu_mismatch,
        untrunked_vlans=untrunked,
        status=_text(getattr(member, "status", None)),
    )


def _switch(record: Record, portgroups: Iterable[Record], host_names: Mapping[str, str]) -> Switch:
    props = record.props
    default_policy, _ = _teaming_policy(props.get("config.defaultPortConfig"))
    uplink_ids = {moid_of(ref) for ref in props.get("config.uplinkPortgroup") or ()}
    groups = []
    for pg in portgroups:
        if pg.moid in uplink_ids:
            continue  # the DVUplinks portgroup carries the uplinks, not VM traffic
        value, inherited = _teaming_policy(pg.props.get("config.defaultPortConfig"))
        if not value or inherited:
            groups.append(Portgroup(_text(pg.props.get("name")), default_policy, True))
        else:
            groups.append(Portgroup(_text(pg.props.get("name")), value, False))
    hosts = [_host_health(m, host_names) for m in props.get("runtime.hostMemberRuntime") or ()]
    return Switch(
        name=_text(props.get("name")) or record.moid,
        moid=record.moid,
        default_teaming_policy=default_policy,
        portgroups=tuple(sorted(groups, key=lambda g: g.name)),
        healthchecks=_healthchecks(props.get("config.healthCheckConfig") or ()),
        hosts=tuple(sorted(hosts, key=lambda h: h.host)),
    )


def build_observation(
    vcenter: str, records: Iterable[Record], round_trips: int = 0, api_version: str = ""
) -> VsphereObservation:
    """Assemble a VsphereObservation from Records of hosts, datastores, switches, portgroups."""
    by_kind: dict[str, list[Record]] = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)
    hosts = [
        Host(
            name=_text(r.props.get("name")) or r.moid,
            moid=r.moid,
            connection_state=_text(r.props.get("runtime.connectionState")),
        )
        for r in by_kind.get("HostSystem", [])
    ]
    host_names = {h.moid: h.name for h in hosts}
    datastores = [_datastore(r, host_names) for r in by_kind.get("Datastore", [])]
    portgroups_by_switch: dict[str, list[Record]] = {}
    for pg in by_kind.get("DistributedVirtualPortgroup", []):
        switch_ref = pg.props.get("config.distributedVirtualSwitch")
        if switch_ref is not None:
            portgroups_by_switch.setdefault(moid_of(switch_ref), []).append(pg)
    switch_records = by_kind.get("DistributedVirtualSwitch", []) + by_kind.get(
        "VmwareDistributedVirtualSwitch", []
    )
    switches = [
        _switch(r, portgroups_by_switch.get(r.moid, []), host_names) for r in switch_records
    ]
    return VsphereObservation(
        vcenter=vcenter,
        datastores=tuple(sorted(datastores, key=lambda d: (d.name, d.moid))),
        switches=tuple(sorted(switches, key=lambda s: s.name)),
        hosts=tuple(sorted(hosts, key=lambda h: h.name)),
        round_trips=round_trips,
        api_version=api_version,
    )

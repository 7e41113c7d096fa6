"""Build vcsim inventories for the vSphere tests: create through the API, dump, patch, reload.

vcsim 0.24 cannot set iormConfiguration, remoteHostNames, healthCheckConfig or hostMemberRuntime
through its API, but it loads a saved inventory (one ObjectContent XML file per object). So a
scenario is built in three steps:

1. start a generated vcsim (datacenter, one cluster with N hosts, nothing else) and create the NFS
   datastores, distributed switches and portgroups through the vSphere API (pyVmomi);
2. dump every inventory object with the PropertyCollector (``all=True``);
3. set the properties vcsim's API cannot (SIOC, 4.1 server lists, host mounts, health check
   config and results) on the pyVmomi objects, serialize them with pyVmomi's serializer into
   DIR/NNNNN-Type.xml and start ``vcsim-holdtime -load DIR``.

Used by tests/integration/vcsim_fixtures.py and bench/vsphere_roundtrips.py.
"""

from __future__ import annotations

import os
import re
import select
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
BINARY = HERE / "build" / "vcsim-holdtime"
BUILD_SCRIPT = HERE / "build.sh"
API_VERSION = "vim.version.version11"
USERNAME = "holdtime@vsphere.local"
PASSWORD = "vcsim-secret"  # the simulator's test password


# -- scenario description ------------------------------------------------------------------
@dataclass(frozen=True)
class Nfs:
    """An NFS datastore: servers[0] is remoteHost; 4.1 lists all servers in remoteHostNames."""

    name: str
    version: str  # "3" | "4.1"
    servers: tuple[str, ...]
    path: str
    hosts: tuple[int, ...] | None = None  # host indexes mounting it; None: all
    sioc: Mapping[str, Any] | None = None  # StorageIORMInfo fields
    inaccessible_on: tuple[int, ...] = ()


@dataclass(frozen=True)
class Dvs:
    """A distributed switch: portgroups as (name, teaming policy or None to inherit)."""

    name: str
    default_policy: str = "loadbalance_srcid"
    portgroups: tuple[tuple[str, str | None], ...] = ()
    healthcheck: bool = True
    teaming: Mapping[int, str] = field(default_factory=dict)  # host index -> teamingStatus
    mtu_mismatch: Mapping[int, bool] = field(default_factory=dict)
    untrunked: Mapping[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """One simulated site."""

    name: str
    hosts: int = 3
    nfs: tuple[Nfs, ...] = ()
    dvs: tuple[Dvs, ...] = ()


SIOC_OK = {"enabled": True, "congestionThresholdMode": "manual", "congestionThreshold": 30}
SIOC_AUTO = {
    "enabled": True,
    "congestionThresholdMode": "automatic",
    "congestionThreshold": 30,
    "percentOfPeakThroughput": 90,
}
SIOC_OFF = {"enabled": False, "congestionThresholdMode": "manual", "congestionThreshold": 30}

MATCH = "iphashMatch"
HEALTHY_DVS = Dvs(
    "dvs-prod",
    portgroups=(("pg-storage", "loadbalance_ip"), ("pg-vm", "loadbalance_srcid")),
    teaming=dict.fromkeys(range(3), MATCH),
    mtu_mismatch=dict.fromkeys(range(3), False),
)

SCENARIOS: dict[str, Scenario] = {
    "healthy": Scenario(
        "healthy",
        nfs=(
            Nfs("nfs3-gold", "3", ("10.0.0.11",), "/vol/gold", sioc=SIOC_OK),
            Nfs("nfs3-silver", "3", ("10.0.0.12",), "/vol/silver", sioc=SIOC_AUTO),
            Nfs("nfs41-bronze", "4.1", ("10.0.0.21", "10.0.0.22"), "/vol/bronze"),
        ),
        dvs=(HEALTHY_DVS,),
    ),
    "nfs3-by-name": Scenario(
        "nfs3-by-name",
        nfs=(Nfs("nfs3-named", "3", ("nas1.example.net",), "/vol/named", sioc=SIOC_OFF),),
    ),
    "nfs41-single": Scenario(
        "nfs41-single",
        nfs=(Nfs("nfs41-single", "4.1", ("10.0.0.41",), "/vol/single"),),
    ),
    "mixed-version": Scenario(
        "mixed-version",
        nfs=(
            Nfs("shared", "3", ("10.0.0.31",), "/vol/shared", hosts=(0, 1), sioc=SIOC_OK),
            Nfs("shared (1)", "4.1", ("10.0.0.31",), "/vol/shared", hosts=(2,)),
        ),
    ),
    "nfs-inconsistent": Scenario(
        "nfs-inconsistent",
        nfs=(
            Nfs("nfs3-spelled", "3", ("10.0.0.51",), "/vol/spelled", hosts=(0, 1), sioc=SIOC_OK),
            Nfs("nfs3-spelled (1)", "3", ("10.0.0.51",), "/vol/spelled/", (2,), SIOC_OK),
            Nfs("nfs3-down", "3", ("10.0.0.52",), "/vol/down", sioc=SIOC_OK, inaccessible_on=(1,)),
        ),
    ),
    "sioc-threshold": Scenario(
        "sioc-threshold",
        nfs=(
            Nfs(
                "nfs3-high",
                "3",
                ("10.0.0.61",),
                "/vol/high",
                sioc={**SIOC_OK, "congestionThreshold": 150},
            ),
        ),
    ),
    "dvs-problems": Scenario(
        "dvs-problems",
        dvs=(
            Dvs(
                "dvs-mismatch",
                portgroups=(("pg-iphash", "loadbalance_ip"), ("pg-vm", "loadbalance_srcid")),
                teaming={0: MATCH, 1: "iphashMismatch", 2: MATCH},
                mtu_mismatch={0: False, 1: False, 2: True},
                untrunked={0: ((200, 210),)},
            ),
            Dvs(
                "dvs-nocheck",
                default_policy="loadbalance_ip",
                portgroups=(("pg-inherit", None),),
                healthcheck=False,
            ),
        ),
    ),
}


def bench_scenario(datastores: int) -> Scenario:
    """A site with `datastores` healthy NFS 3 datastores (for bench/vsphere_roundtrips.py)."""
    return Scenario(
        f"bench-{datastores}",
        nfs=tuple(
            Nfs(
                f"nfs-{i:04d}", "3", (f"10.1.{i // 250}.{i % 250 + 1}",), f"/vol/v{i}", sioc=SIOC_OK
            )
            for i in range(datastores)
        ),
        dvs=(HEALTHY_DVS,),
    )


# -- the simulator process -----------------------------------------------------------------
class Vcsim:
    """A running vcsim-holdtime process (stdin held open: it exits when we go)."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = int(parsed.port or 443)

    def stop(self) -> None:
        """Terminate and reap the process."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def ensure_binary() -> Path:
    """Build the launcher if missing (tests/vcsim/build.sh is idempotent)."""
    subprocess.run([str(BUILD_SCRIPT)], check=True, timeout=600)
    return BINARY


def start(args: Sequence[str] = (), timeout_seconds: float = 30.0) -> Vcsim:
    """Start vcsim-holdtime on 127.0.0.1 (free port) and wait for its URL."""
    command = [
        str(BINARY),
        "-listen",
        "127.0.0.1:0",
        "-username",
        USERNAME,
        "-password",
        PASSWORD,
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("VCSIM_URL="):
                return Vcsim(process, line.split("=", 1)[1].strip())
            if not line:
                break
        if process.poll() is not None:
            break
    process.kill()
    process.wait()
    raise RuntimeError(f"vcsim did not start: {' '.join(command)}")


@contextmanager
def running(args: Sequence[str] = ()) -> Iterator[Vcsim]:
    """Context manager around :func:`start`."""
    sim = start(args)
    try:
        yield sim
    finally:
        sim.stop()


def connect(sim: Vcsim) -> Any:
    """A logged-in pyVmomi ServiceInstance content for a running vcsim (test helper)."""
    from pyVmomi import SoapStubAdapter, vim

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    stub = SoapStubAdapter(host=sim.host, port=sim.port, version=API_VERSION, sslContext=context)
    content = vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()
    content.sessionManager.Login(USERNAME, PASSWORD)
    return content


# -- building ------------------------------------------------------------------------------
def _wait(task: Any) -> Any:
    from pyVmomi import vim

    deadline = time.monotonic() + 30
    while task.info.state not in (vim.TaskInfo.State.success, vim.TaskInfo.State.error):
        if time.monotonic() > deadline:
            raise RuntimeError("vcsim task did not finish")
        time.sleep(0.05)
    if task.info.state == vim.TaskInfo.State.error:
        raise RuntimeError(f"vcsim task failed: {task.info.error}")
    return task.info.result


def _create(content: Any, scenario: Scenario, scratch: Path) -> tuple[list[Any], dict[str, str]]:
    """Create hosts' datastores and switches through the API; return hosts and dvs name->moid."""
    from pyVmomi import vim

    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    hosts = sorted(view.view, key=lambda h: h.name)
    view.DestroyView()
    datacenter = content.rootFolder.childEntity[0]
    datastore_system = hosts[0].configManager.datastoreSystem
    for index, nfs in enumerate(scenario.nfs):
        # vcsim stats the local path and names the datastore after its basename; the moid is
        # server:path, so two datastores of one share get a distinguishing suffix (fixed in dump).
        local = scratch / f"ds{index:05d}" / nfs.name
        local.mkdir(parents=True, exist_ok=True)
        spec = vim.host.NasVolume.Specification(
            remoteHost=nfs.servers[0],
            remotePath=f"{nfs.path}#{index}",
            localPath=str(local),
            accessMode="readWrite",
            type="NFS41" if nfs.version == "4.1" else "NFS",
        )
        datastore_system.CreateNasDatastore(spec)
    switches: dict[str, str] = {}
    for dvs in scenario.dvs:
        policy = vim.dvs.VmwareDistributedVirtualSwitch.UplinkPortTeamingPolicy(
            policy=vim.StringPolicy(inherited=False, value=dvs.default_policy)
        )
        config = vim.dvs.VmwareDistributedVirtualSwitch.ConfigSpec(
            name=dvs.name,
            defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
                uplinkTeamingPolicy=policy
            ),
            host=[vim.dvs.HostMember.ConfigSpec(operation="add", host=host) for host in hosts],
        )
        switch = _wait(
            datacenter.networkFolder.CreateDVS_Task(
                vim.DistributedVirtualSwitch.CreateSpec(configSpec=config)
            )
        )
        specs = []
        for pg_name, pg_policy in dvs.portgroups:
            port_config = None
            if pg_policy is not None:
                port_config = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
                    uplinkTeamingPolicy=vim.dvs.VmwareDistributedVirtualSwitch.UplinkPortTeamingPolicy(
                        policy=vim.StringPolicy(inherited=False, value=pg_policy)
                    )
                )
            else:
                port_config = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
                    uplinkTeamingPolicy=vim.dvs.VmwareDistributedVirtualSwitch.UplinkPortTeamingPolicy(
                        policy=vim.StringPolicy(inherited=True)
                    )
                )
            specs.append(
                vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
                    name=pg_name, type="earlyBinding", numPorts=8, defaultPortConfig=port_config
                )
            )
        if specs:
            _wait(switch.AddDVPortgroup_Task(specs))
        switches[dvs.name] = switch._moId
    return hosts, switches


def _dump(content: Any) -> list[Any]:
    """Every inventory object with all its properties (PropertyCollector, all=True)."""
    from pyVmomi import vim, vmodl

    pc = vmodl.query.PropertyCollector
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ManagedEntity], True)
    try:
        spec = pc.FilterSpec(
            objectSet=[
                pc.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[pc.TraversalSpec(type=vim.view.ContainerView, path="view")],
                ),
                pc.ObjectSpec(obj=content.rootFolder),
            ],
            propSet=[pc.PropertySpec(type=vim.ManagedEntity, all=True)],
        )
        return list(content.propertyCollector.RetrieveContents([spec]))
    finally:
        view.DestroyView()


def _props(content: Any) -> dict[str, Any]:
    return {p.name: p.val for p in content.propSet}


def _set(content: Any, name: str, value: Any) -> None:
    from pyVmomi import vmodl

    content.propSet = [p for p in content.propSet if p.name != name] + [
        vmodl.DynamicProperty(name=name, val=value)
    ]


def _patch(
    contents: list[Any], scenario: Scenario, hosts: list[Any], switches: dict[str, str]
) -> None:
    """Set what vcsim's API cannot: SIOC, 4.1 servers, mounts, health check config/results."""
    from pyVmomi import vim

    host_refs = [vim.HostSystem(h._moId) for h in hosts]
    by_moid = {c.obj._moId: c for c in contents}
    datastores = [c for c in contents if c.obj._wsdlName == "Datastore"]
    host_datastores: dict[str, list[Any]] = {h._moId: [] for h in hosts}
    for index, nfs in enumerate(scenario.nfs):
        marker = f"#{index}"
        ds = next(
            d
            for d in datastores
            if str(getattr(_props(d)["info"].nas, "remotePath", "")).endswith(marker)
        )
        props = _props(ds)
        info = props["info"]
        info.nas.remotePath = nfs.path
        info.name = nfs.name
        if nfs.version == "4.1":
            info.nas.remoteHostNames = list(nfs.servers)
        summary = props["summary"]
        summary.name = nfs.name
        _set(ds, "name", nfs.name)
        _set(ds, "info", info)
        _set(ds, "summary", summary)
        mounted = range(len(hosts)) if nfs.hosts is None else nfs.hosts
        mounts = []
        for i in mounted:
            accessible = i not in nfs.inaccessible_on
            mounts.append(
                vim.Datastore.HostMount(
                    key=host_refs[i],
                    mountInfo=vim.host.MountInfo(
                        path=f"/vmfs/volumes/{nfs.name}",
                        accessMode="readWrite",
                        mounted=True,
                        accessible=accessible,
                        inaccessibleReason=None if accessible else "AllPathsDown_Start",
                    ),
                )
            )
            host_datastores[hosts[i]._moId].append(vim.Datastore(ds.obj._moId))
        _set(ds, "host", vim.Datastore.HostMount.Array(mounts))
        if nfs.sioc is not None:
            _set(ds, "iormConfiguration", vim.StorageResourceManager.IORMConfigInfo(**nfs.sioc))
    for host in hosts:
        _set(by_moid[host._moId], "datastore", vim.Datastore.Array(host_datastores[host._moId]))

    vmw = vim.dvs.VmwareDistributedVirtualSwitch
    for dvs in scenario.dvs:
        switch = by_moid[switches[dvs.name]]
        props = _props(switch)
        config = props["config"]
        config.healthCheckConfig = [
            vmw.VlanMtuHealthCheckConfig(enable=dvs.healthcheck, interval=1),
            vmw.TeamingHealthCheckConfig(enable=dvs.healthcheck, interval=1),
        ]
        uplinks = [
            c.obj
            for c in contents
            if c.obj._wsdlName == "DistributedVirtualPortgroup"
            and _props(c).get("name", "").startswith(f"{dvs.name}-DVUplinks")
        ]
        # Required by the WSDL but left unset by vcsim's CreateDVS: the serializer insists.
        config.uplinkPortPolicy = vim.DistributedVirtualSwitch.NameArrayUplinkPortPolicy(
            uplinkPortName=["uplink1", "uplink2"]
        )
        config.uplinkPortgroup = [vim.dvs.DistributedVirtualPortgroup(u._moId) for u in uplinks]
        _set(switch, "config", config)
        members = []
        for i, ref in enumerate(host_refs):
            results: list[Any] = []
            if dvs.healthcheck:
                if i in dvs.teaming:
                    results.append(vmw.TeamingHealthCheckResult(teamingStatus=dvs.teaming[i]))
                if i in dvs.mtu_mismatch:
                    results.append(
                        vmw.MtuHealthCheckResult(uplinkPortKey="1", mtuMismatch=dvs.mtu_mismatch[i])
                    )
                results.append(
                    vmw.VlanHealthCheckResult(
                        uplinkPortKey="1",
                        trunkedVlan=[vim.NumericRange(start=0, end=4094)],
                        untrunkedVlan=[
                            vim.NumericRange(start=a, end=b) for a, b in dvs.untrunked.get(i, ())
                        ],
                    )
                )
            members.append(
                vim.dvs.HostMember.RuntimeInfo(host=ref, status="up", healthCheckResult=results)
            )
        _set(switch, "runtime", vim.DistributedVirtualSwitch.RuntimeInfo(hostMemberRuntime=members))


_SHORT_YEAR = re.compile(rb">(\d{1,3})-(?=\d\d-\d\dT)")


def _write(contents: list[Any], out_dir: Path) -> None:
    from pyVmomi import SoapAdapter

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.xml"):
        stale.unlink()
    # The root folder first: vcsim's Load walks the directory in name order.
    ordered = sorted(
        contents, key=lambda c: c.obj._wsdlName != "Folder" or c.obj._moId != "group-d1"
    )
    for index, item in enumerate(ordered):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{item.obj._wsdlName}-{item.obj._moId}")
        data = SoapAdapter.Serialize(item, version=API_VERSION)
        # vcsim reports unset times as Go's zero time (year 1); pyVmomi writes the year unpadded,
        # which Go's RFC 3339 parser refuses.
        data = _SHORT_YEAR.sub(lambda m: b">" + m.group(1).zfill(4) + b"-", data)
        # pyVmomi types a reference held in an anyType as "ManagedObject"; vcsim's decoder
        # knows only the WSDL name.
        data = data.replace(b'xsi:type="ManagedObject"', b'xsi:type="ManagedObjectReference"')
        (out_dir / f"{index:05d}-{safe}.xml").write_bytes(data)


def build(scenario: Scenario, out_dir: Path) -> Path:
    """Build `scenario` into out_dir (XML files + the NFS local dirs vcsim stats); return it."""
    ensure_binary()
    scratch = out_dir / "local"
    with running(("-cluster", "1", "-host", str(scenario.hosts), "-ds", "0", "-pg", "0")) as sim:
        content = connect(sim)
        hosts, switches = _create(content, scenario, scratch)
        contents = _dump(content)
        _patch(contents, scenario, hosts, switches)
        content.sessionManager.Logout()
    _write(contents, out_dir / "inventory")
    return out_dir / "inventory"


def ensure_tls_cert(out_dir: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with openssl (cert, key)."""
    cert, key = out_dir / "vcsim-cert.pem", out_dir / "vcsim-key.pem"
    if not cert.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    return cert, key


def environment_ready() -> str | None:
    """None when vcsim can be built here, else the reason it cannot (for pytest.skip)."""
    if not any(
        os.access(Path(p) / "go", os.X_OK) for p in os.environ.get("PATH", "").split(os.pathsep)
    ):
        return "go not installed (apt-get install golang-go)"
    if not Path("/usr/share/gocode/src/github.com/vmware/govmomi/simulator").is_dir():
        return "govmomi not installed (apt-get install golang-github-vmware-govmomi-dev)"
    return None


# -- key providers (the crypto manager of tests/vcsim/kms.go) ------------------------------
CONNECTED = "CONNECTED"  # the connectionStatus our simulator gives a healthy server


@dataclass(frozen=True)
class KmipServer:
    """A KMIP server of a key provider as vCenter reports it (status: ManagedEntity.Status)."""

    name: str
    address: str
    port: int = 5696
    status: str = "green"
    connection: str = CONNECTED
    cert_days: float = 365.0  # server certificate not-after, days from start
    client_trust_server: bool = True
    server_trust_client: bool = True


@dataclass(frozen=True)
class KeyProvider:
    """A key provider (KMS cluster): its servers and vCenter's client certificate."""

    id: str
    servers: tuple[KmipServer, ...]
    default: bool = False
    client_cert_days: float = 365.0


@dataclass(frozen=True)
class KmsScenario:
    """A vCenter with a crypto manager; vms/hosts: (index sorted by name, provider id)."""

    name: str
    providers: tuple[KeyProvider, ...] = ()
    vms: tuple[tuple[int, str], ...] = ()
    hosts: tuple[tuple[int, str], ...] = ()
    fault: str = ""  # "NotSupported": every crypto manager method answers that fault
    status_task_hangs: bool = False  # RetrieveKmipServersStatus_Task stays queued forever
    crypto_manager: bool = True  # False: the ServiceContent has no cryptoManager at all
    vms_per_host: int = 2


def _pair(prefix: str, **second: Any) -> tuple[KmipServer, ...]:
    return (
        KmipServer(f"{prefix}1", f"{prefix}1.example.net"),
        KmipServer(f"{prefix}2", f"{prefix}2.example.net", **second),
    )


_PROD = KeyProvider("kp-prod", _pair("kms-prod-"), default=True)
_DR = KeyProvider("kp-dr", _pair("kms-dr-"))
_ENCRYPTED = ((0, "kp-prod"), (1, "kp-dr"))

KMS_SCENARIOS: dict[str, KmsScenario] = {
    "kms-healthy": KmsScenario(
        "kms-healthy", (_PROD, _DR), vms=_ENCRYPTED, hosts=((0, "kp-prod"),)
    ),
    "kms-single-server": KmsScenario(
        "kms-single-server",
        (KeyProvider("kp-solo", (KmipServer("kms-solo", "kms-solo.example.net"),), default=True),),
        vms=((0, "kp-solo"),),
    ),
    "kms-disconnected": KmsScenario(
        "kms-disconnected",
        (
            KeyProvider(
                "kp-prod",
                _pair(
                    "kms-prod-",
                    status="red",
                    connection="Cannot establish connection with KMS: connection refused",
                ),
                default=True,
            ),
            _DR,
        ),
        vms=_ENCRYPTED,
    ),
    "kms-client-cert-expiring": KmsScenario(
        "kms-client-cert-expiring",
        (KeyProvider("kp-prod", _PROD.servers, default=True, client_cert_days=10), _DR),
        vms=_ENCRYPTED,
    ),
    "kms-server-cert-problems": KmsScenario(
        "kms-server-cert-problems",
        (
            KeyProvider(
                "kp-prod",
                (
                    KmipServer("kms-prod-1", "kms-prod-1.example.net", cert_days=-2),
                    KmipServer("kms-prod-2", "kms-prod-2.example.net", client_trust_server=False),
                ),
                default=True,
                client_cert_days=-1,
            ),
        ),
    ),
    "kms-no-default": KmsScenario(
        "kms-no-default", (KeyProvider("kp-prod", _PROD.servers), _DR), vms=_ENCRYPTED
    ),
    "kms-removed-provider": KmsScenario(
        "kms-removed-provider",
        (_PROD, _DR),
        vms=((0, "kp-prod"), (1, "kp-retired")),
        hosts=((1, "kp-retired"),),
    ),
    "kms-provider-down": KmsScenario(
        "kms-provider-down",
        (
            _PROD,
            KeyProvider(
                "kp-dr",
                tuple(
                    KmipServer(
                        s.name, s.address, status="red", connection="KMIP server unreachable"
                    )
                    for s in _DR.servers
                ),
            ),
        ),
        vms=_ENCRYPTED,
    ),
    "kms-status-hangs": KmsScenario(
        "kms-status-hangs", (_PROD, _DR), vms=_ENCRYPTED, status_task_hangs=True
    ),
    "kms-not-supported": KmsScenario("kms-not-supported", fault="NotSupported"),
    "kms-no-crypto-manager": KmsScenario("kms-no-crypto-manager", crypto_manager=False),
}


def kms_spec(scenario: KmsScenario) -> dict[str, Any]:
    """The JSON the launcher's -kms flag reads (tests/vcsim/kms.go, kmsSpec)."""
    return {
        "fault": scenario.fault,
        "status_task_hangs": scenario.status_task_hangs,
        "providers": [
            {
                "id": provider.id,
                "default": provider.default,
                "client_cert_days": provider.client_cert_days,
                "servers": [
                    {
                        "name": s.name,
                        "address": s.address,
                        "port": s.port,
                        "status": s.status,
                        "connection": s.connection,
                        "cert_days": s.cert_days,
                        "client_trust_server": s.client_trust_server,
                        "server_trust_client": s.server_trust_client,
                    }
                    for s in provider.servers
                ],
            }
            for provider in scenario.providers
        ],
        "vms": [{"index": index, "provider": provider} for index, provider in scenario.vms],
        "hosts": [{"index": index, "provider": provider} for index, provider in scenario.hosts],
    }


def kms_args(scenario: KmsScenario, out_dir: Path) -> tuple[str, ...]:
    """Launcher arguments for a generated site (1 cluster, 3 hosts) with this crypto manager."""
    import json

    args: tuple[str, ...] = (
        "-cluster",
        "1",
        "-host",
        "3",
        "-vm",
        str(scenario.vms_per_host),
        "-ds",
        "1",
        "-pg",
        "0",
    )
    if not scenario.crypto_manager:
        return args
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = out_dir / f"{scenario.name}.json"
    spec.write_text(json.dumps(kms_spec(scenario), indent=2), encoding="utf-8")
    return (*args, "-kms", str(spec))

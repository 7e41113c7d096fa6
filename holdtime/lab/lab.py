"""Bring the lab up and down: namespaces, veths, charons, FRR, sshd, named, slapd, PyKMIP.

Every FRR node gets a *holder*: a `sleep` process in the node's network namespace and in a
private mount namespace where /run/frr is bound to the node's own state folder, so each node's
daemons use FRR's default pathspace and a plain `vtysh -c ...` over SSH works exactly as on a real
router; /root is bound to an empty home of the node, so the host's dotfiles do not run in its
SSH sessions. Every charon additionally binds its own folder over /run (its pid file is hard-coded).
Everything the lab starts is tracked in `state.json` (in `/run/holdtime-lab/<prefix>/`, the
exact prefix); `down` kills every process left in the lab's namespaces (found with `ip netns pids`,
so it also cleans up after a crash) and deletes them. `up` and `down` of one prefix take turns on
a lock (`holdtime.lab.lock`); `up` rebuilds a lab whose pieces do not add up (a killed `up`).
The directory controllers' slapd serve certificates of the lab's own CA (`ca/` in the state
folder) and a service account whose password `up` generates once per lab (or takes from
HOLDTIME_LAB_LDAP_PASSWORD when that is set) and keeps 0600 in `ldap-password`.
The key server on kms (PyKMIP, `holdtime.lab.kms`) serves an RSA certificate of the same CA and
accepts only client certificates it issued; `up` issues holdtime's own (`kmip-client/`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from holdtime.errors import ConfigError, PrerequisiteError
from holdtime.lab import (
    dns_server,
    frr,
    health,
    inventory_file,
    kms,
    lab_ca,
    processes,
    slapd,
    sshd,
    strongswan,
)
from holdtime.lab.lock import Holder, Lock, busy
from holdtime.lab.prereqs import check_prerequisites
from holdtime.lab.topology import (
    DEFAULT_ROUTES,
    DNS_ZONE,
    DOMAIN_CONTROLLERS,
    FRR_NODES,
    KMS_ADDRESS,
    KMS_NODE,
    KMS_PORT,
    KMS_SERVER_NAME,
    LDAP_BASE_DN,
    LDAP_PASSWORD_ENV,
    LINKS,
    MGMT_ADDRESSES,
    NODES,
    SEGMENT_BRIDGE,
    SSH_NODES,
    STRETCHED_PREFIX,
    TUNNELS,
)

STATE_ROOT = Path("/run/holdtime-lab")
CHARON = "/usr/lib/ipsec/charon"
FRR_BIN = Path("/usr/lib/frr")
Say = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class Lab:
    """The reference deployment in namespaces named `<prefix><node>`."""

    prefix: str = "holdtime-"
    timers: tuple[int, int] = (3, 9)
    bfd: bool = False
    state_dir: Path | None = None
    say: Say = _quiet
    _state: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.prefix[:1].isalnum() and all(c.isalnum() or c in "-_." for c in self.prefix)):
            raise ConfigError(
                f"invalid lab prefix {self.prefix!r}: letters, digits, - _ . only, "
                "starting with a letter or digit"
            )
        if len(self.prefix) > 24:
            # interface names inside the namespaces never carry it; only namespace names do
            raise ConfigError(f"lab prefix {self.prefix!r} is longer than 24 characters")
        keepalive, hold = self.timers
        if not (keepalive >= 1 and 3 <= hold <= 65535 and keepalive * 3 <= hold):
            raise ConfigError(
                f"BGP timers {keepalive} {hold}: need keepalive >= 1 and hold >= 3 x keepalive"
            )
        # The exact prefix names the folder: `holdtime` and `holdtime-` are two labs. A prefix
        # starts with a letter or digit, so it is never `.`, `..` or a lock file's `.<name>`.
        self.state_dir = Path(self.state_dir or STATE_ROOT / self.prefix)

    # -- paths and state -----------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The lab's state folder."""
        assert self.state_dir is not None
        return self.state_dir

    @property
    def lock_path(self) -> Path:
        """The lock `up` and `down` take turns on; beside the state folder, which `down` removes."""
        return self.root.parent / f".{self.root.name}.lock"

    @property
    def inventory_path(self) -> Path:
        """The inventory the lab writes (routers, ping path, tcp targets, drills)."""
        return self.root / "inventory.yaml"

    @property
    def known_hosts_path(self) -> Path:
        """known_hosts with the lab's generated host keys."""
        return self.root / "known_hosts"

    @property
    def ca_path(self) -> Path:
        """The lab CA's certificate: what verifies the controllers' LDAPS (`ca_file`)."""
        return self.root / "ca" / "ca.pem"

    @property
    def ldap_password_path(self) -> Path:
        """The service account's password (0600): `export HOLDTIME_LAB_LDAP_PASSWORD=$(cat ...)`."""
        return self.root / "ldap-password"

    @property
    def kmip_client_dir(self) -> Path:
        """holdtime's KMIP client certificate (client.pem) and key (client.key, 0600)."""
        return self.root / "kmip-client"

    def ldap_password(self) -> str:
        """The service account's password of this lab (ConfigError when the lab has none)."""
        try:
            return self.ldap_password_path.read_text().rstrip("\n")
        except FileNotFoundError:
            raise ConfigError(
                f"lab {self.prefix} has no {self.ldap_password_path}: "
                f"`holdtime lab up --prefix {self.prefix}`"
            ) from None

    def netns(self, node: str) -> str:
        """Namespace name of a node."""
        if node not in NODES:
            raise ConfigError(f"no lab node {node!r}; nodes: {', '.join(NODES)}")
        return f"{self.prefix}{node}"

    def vici_uri(self, tunnel: str, node: str = "router") -> str:
        """The vici socket of the charon serving `tunnel` on `node`."""
        return f"unix://{self.root / node / f'charon-{tunnel}' / 'charon.vici'}"

    def _load_state(self) -> dict[str, object]:
        if not self._state:
            self._state = _read_state(self.root / "state.json") or {}
        return self._state

    def _save_state(self) -> None:
        # write then rename: an `up` killed mid-write leaves the old file, never half of one
        path = self.root / "state.json"
        scratch = path.with_name(f".state.json.{os.getpid()}")
        scratch.write_text(json.dumps(self._state, indent=2))
        os.replace(scratch, path)

    def _stage(self, stage: str) -> None:
        self._state["stage"] = stage
        self._save_state()

    def _holder(self, node: str) -> int:
        holders = self._load_state().get("holders", {})
        assert isinstance(holders, dict)
        if node not in holders:
            raise ConfigError(
                f"lab node {node} is not running: `holdtime lab up --prefix {self.prefix}`"
            )
        return int(holders[node])

    # -- running things ------------------------------------------------------------------
    def _prefix_argv(self, node: str) -> list[str]:
        if node in FRR_NODES and "holders" in self._load_state():
            return ["nsenter", "-t", str(self._holder(node)), "-m", "-n", "--"]
        return ["ip", "netns", "exec", self.netns(node)]

    def exec(
        self,
        node: str,
        argv: Sequence[str],
        check: bool = True,
        timeout: float = 30,
        input_text: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a lab node (its netns, and its mount namespace for FRR nodes)."""
        done = subprocess.run(
            [*self._prefix_argv(node), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            check=False,
        )
        if check and done.returncode != 0:
            raise PrerequisiteError(
                f"lab {node}: `{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()}"
            )
        return done

    def vtysh(self, node: str, *commands: str) -> str:
        """Run vtysh commands on an FRR node and return the output."""
        argv = ["vtysh"]
        for command in commands:
            argv += ["-c", command]
        return self.exec(node, argv).stdout

    def _spawn(self, name: str, node: str, argv: Sequence[str], log: Path) -> int:
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*self._prefix_argv(node), *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        pids = self._state.setdefault("pids", {})
        assert isinstance(pids, dict)
        pids[name] = process.pid
        self._save_state()
        return process.pid

    def _ip(self, *args: str) -> None:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PrerequisiteError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")

    # -- up ------------------------------------------------------------------------------
    def is_up(self) -> bool:
        """True when every piece runs and BGP and IPsec are up (what `lab status` exits 0 on)."""
        return not health.problems(self.findings())

    def up(self, timeout_seconds: float = 60.0) -> list[str]:
        """Build the lab (idempotent; repairs a half-built one) and wait for BGP Established."""
        check_prerequisites()
        lock = self._lock("up")
        try:
            return self._up(timeout_seconds)
        finally:
            lock.release(remove=not self.root.exists())  # a failed `up` removed its lab

    def _up(self, timeout_seconds: float) -> list[str]:
        self._state = {}
        self._ensure_owned()
        found = self.findings(sessions=False)
        if not found.absent and not health.build_problems(found):
            self._same_settings()
            self.wait_ready(timeout_seconds)
            return [f"lab {self.prefix} already up: nothing started"]
        if not found.absent:
            self.say(
                "half-built lab found, missing: "
                + "; ".join(health.build_problems(found))
                + ". Removing its namespaces, processes and state, then building it again"
            )
            self._teardown()
        began = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        self._state = {
            "prefix": self.prefix,
            "timers": list(self.timers),
            "bfd": self.bfd,
            "pids": {},
            "holders": {},
        }
        try:
            self._stage("network")
            self._network()
            self._stage("holders")
            self._holders()
            # PyKMIP takes seconds to import: it starts first and is awaited last
            self._stage("kms")
            key_server = self._kms()
            self._stage("ipsec")
            self._ipsec()
            self._stage("frr")
            self._frr()
            self._stage("sshd")
            self._sshd()
            self._stage("dns")
            named = self._dns()
            self._stage("ldaps")
            ldap = self._slapd()
            # all four start at once: wait for them together
            for node, pid in named.items():
                self._await_named(node, pid)
            for node, pid in ldap.items():
                self._await_slapd(node, pid)
            self._await_kms(key_server)
            self._stage("inventory")
            inventory_file.write(self)
            self._stage("built")
            self.wait_ready(timeout_seconds)
        except BaseException:
            if os.environ.get("HOLDTIME_LAB_KEEP_ON_FAILURE"):
                self.say(f"lab up failed: left as it is for debugging ({self.root})")
            else:
                self.say("lab up failed: tearing down what was started")
                self._teardown()
            raise
        took = time.monotonic() - began
        pids = self._state["pids"]
        assert isinstance(pids, dict)
        return [
            f"namespaces: {', '.join(self.netns(n) for n in NODES)}",
            f"processes: {len(pids)} ({_count_daemons(pids)})",
            f"BGP timers {self.timers[0]}/{self.timers[1]}{', BFD 300 ms x 3' if self.bfd else ''}",
            f"inventory: {self.inventory_path}",
            f"up in {took:.1f} s",
        ]

    def _same_settings(self) -> None:
        """A running lab with other timers or BFD is not the one asked for: say so, start none."""
        timers = self._state.get("timers")
        built = (
            tuple(timers) if isinstance(timers, list) else (),
            bool(self._state.get("bfd")),
        )
        if built != (self.timers, self.bfd):
            asked = _settings(self.timers, self.bfd)
            raise ConfigError(
                f"lab {self.prefix} is up with {_settings(*built)}, not {asked}: "
                f"`holdtime lab down --prefix {self.prefix}` first to change them"
            )

    def _lock(self, command: str) -> Lock:
        """Take this prefix's lock; while another `up`/`down` holds it, say so and wait."""
        lock = Lock(self.lock_path, f"holdtime lab {command} --prefix {self.prefix}")

        def waiting(holder: Holder) -> None:
            self.say(f"waiting for another `{holder.command}` (pid {holder.pid})")

        lock.acquire(waiting)
        return lock

    def _ensure_owned(self) -> None:
        """Refuse a state folder another lab wrote (an older holdtime keyed `p-` as `p`)."""
        owner = (_read_state(self.root / "state.json") or {}).get("prefix", self.prefix)
        if owner != self.prefix:
            raise ConfigError(
                f"{self.root} belongs to lab {owner!r} (written by an older holdtime): "
                f"`holdtime lab down --prefix {owner}` first"
            )

    def _network(self) -> None:
        self.say("namespaces and links")
        for node in NODES:
            self._ip("netns", "add", self.netns(node))
            self._ip("-n", self.netns(node), "link", "set", "lo", "up")
        for link in LINKS:
            a, b = self.netns(link.a), self.netns(link.b)
            self._ip(
                "-n",
                a,
                "link",
                "add",
                link.a_if,
                "type",
                "veth",
                "peer",
                "name",
                link.b_if,
                "netns",
                b,
            )
            for ns, ifname, addr in ((a, link.a_if, link.a_addr), (b, link.b_if, link.b_addr)):
                if addr:  # no address: a port of the segment bridge
                    self._ip("-n", ns, "addr", "add", addr, "dev", ifname)
                self._ip("-n", ns, "link", "set", ifname, "up")
        segment_node, bridge, gateway = SEGMENT_BRIDGE
        seg = self.netns(segment_node)
        self._ip("-n", seg, "link", "add", bridge, "type", "bridge")
        self._ip("-n", seg, "addr", "add", gateway, "dev", bridge)
        self._ip("-n", seg, "link", "set", bridge, "up")
        for link in LINKS:
            if link.a == segment_node and not link.a_addr:
                self._ip("-n", seg, "link", "set", link.a_if, "master", bridge)
        mgmt = self.netns("mgmt")
        self._ip("-n", mgmt, "link", "add", "br0", "type", "bridge")
        self._ip("-n", mgmt, "addr", "add", f"{MGMT_ADDRESSES['mgmt']}/24", "dev", "br0")
        self._ip("-n", mgmt, "link", "set", "br0", "up")
        for node in SSH_NODES:
            self._ip(
                "-n",
                mgmt,
                "link",
                "add",
                f"m-{node}",
                "type",
                "veth",
                "peer",
                "name",
                "mgmt0",
                "netns",
                self.netns(node),
            )
            self._ip("-n", mgmt, "link", "set", f"m-{node}", "master", "br0", "up")
            self._ip(
                "-n", self.netns(node), "addr", "add", f"{MGMT_ADDRESSES[node]}/24", "dev", "mgmt0"
            )
            self._ip("-n", self.netns(node), "link", "set", "mgmt0", "up")
        for node, gateway in DEFAULT_ROUTES.items():
            self._ip("-n", self.netns(node), "route", "add", "default", "via", gateway)
        for node in FRR_NODES:
            subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.netns(node),
                    "sysctl",
                    "-q",
                    "-w",
                    "net.ipv4.ip_forward=1",
                    "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.default.rp_filter=0",
                ],
                check=True,
                capture_output=True,
            )

    def _holders(self) -> None:
        Path("/run/frr").mkdir(exist_ok=True)
        Path("/run/sshd").mkdir(exist_ok=True)
        holders = self._state["holders"]
        assert isinstance(holders, dict)
        for node in FRR_NODES:
            frr_dir = self.root / node / "frr"
            frr_dir.mkdir(parents=True, exist_ok=True)
            shutil.chown(frr_dir, "frr", "frr")
            frr_dir.chmod(0o775)
            # The node's own (empty) home over /root: sshd runs every command through root's
            # login shell, and bash sources ~/.bashrc for SSH commands, so the host's dotfiles
            # (pyenv init on this VM: ~100 processes, 0.15 s CPU per command) would run on
            # every read. A router's root has a plain home.
            home = self.root / node / "home"
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            script = (
                f"mount --bind {frr_dir} /run/frr && mount --bind {home} /root "
                "&& exec sleep infinity"
            )
            process = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.netns(node),
                    "unshare",
                    "-m",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    script,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # else `holdtime lab up | tail` waits for it forever
                start_new_session=True,
            )
            holders[node] = process.pid
        self._save_state()
        deadline = time.monotonic() + 10
        for node in FRR_NODES:  # the bind mount is in place once /run/frr is the state folder
            while True:
                done = self.exec(node, ["stat", "-c", "%i", "/run/frr"], check=False)
                if done.stdout.strip() == str((self.root / node / "frr").stat().st_ino):
                    break
                if time.monotonic() > deadline:
                    raise PrerequisiteError(f"lab {node}: private /run/frr did not appear")
                time.sleep(0.05)

    def _charon(self, node: str, tunnel_name: str, ike: int, natt: int, table: int) -> str:
        """Start one charon; return the name of the TUN device it created."""
        folder = self.root / node / f"charon-{tunnel_name}"
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "strongswan.conf"
        conf.write_text(strongswan.strongswan_conf(ike, natt, table, "/run/charon.log"))
        before = set(self._links(node))
        # after the bind, the folder *is* /run: config, log, pid file and vici socket live there
        script = (
            f"mount --bind {folder} /run && exec env STRONGSWAN_CONF=/run/strongswan.conf {CHARON}"
        )
        self._spawn(
            f"{node}-charon-{tunnel_name}",
            node,
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            folder / "stdout.log",
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            new = [name for name in set(self._links(node)) - before if name.startswith("ipsec")]
            if new and (folder / "charon.vici").exists():
                return new[0]
            time.sleep(0.05)
        raise PrerequisiteError(
            f"lab {node}: charon for {tunnel_name} did not start (see {folder / 'charon.log'})"
        )

    def _links(self, node: str) -> list[str]:
        done = subprocess.run(
            ["ip", "-n", self.netns(node), "-o", "link", "show"],
            capture_output=True,
            text=True,
            check=True,
        )
        return [line.split(":")[1].strip().split("@")[0] for line in done.stdout.splitlines()]

    def _ipsec(self) -> None:
        self.say("IPsec: 4 charons (userspace ESP), 2 tunnels")
        secret = secrets.token_hex(16)
        for tunnel in TUNNELS:
            edge_dev = self._charon(tunnel.edge, "router", 500, 4500, 201)
            router_dev = self._charon(
                "router", tunnel.name, tunnel.router_ike_port, tunnel.router_natt_port, tunnel.table
            )
            for node, dev, addr in (
                ("router", router_dev, tunnel.router_inner),
                (tunnel.edge, edge_dev, tunnel.edge_inner),
            ):
                self._ip("-n", self.netns(node), "addr", "add", addr, "dev", dev)
                self._ip("-n", self.netns(node), "link", "set", dev, "up")
            edge_conf = self.root / tunnel.edge / "charon-router" / "swanctl.conf"
            edge_conf.write_text(
                strongswan.swanctl_conf(
                    "router",
                    tunnel.edge_underlay,
                    tunnel.router_underlay,
                    tunnel.edge,
                    "router",
                    secret,
                    tunnel.router_ike_port if tunnel.router_ike_port != 500 else None,
                    initiate=False,
                )
            )
            edge_conf.chmod(0o600)
            self._swanctl_load(tunnel.edge, edge_conf, self.vici_uri("router", tunnel.edge))
            router_conf = self.root / "router" / f"charon-{tunnel.name}" / "swanctl.conf"
            router_conf.write_text(
                strongswan.swanctl_conf(
                    tunnel.name,
                    tunnel.router_underlay,
                    tunnel.edge_underlay,
                    "router",
                    tunnel.edge,
                    secret,
                    None,
                    initiate=True,
                )
            )
            router_conf.chmod(0o600)
            self._swanctl_load("router", router_conf, self.vici_uri(tunnel.name))
            self._await_tunnel(tunnel.name)
            # libipsec adds `default dev ipsecN` in its table plus a rule even with
            # install_routes=no. Left alone, that rule would pull every packet (the next
            # tunnel's IKE included) into this tunnel: drop it so FRR alone decides.
            for node in ("router", tunnel.edge):
                self._drop_libipsec_rules(node)

    def _await_tunnel(self, name: str, timeout_seconds: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_seconds
        uri = self.vici_uri(name)
        while (
            "INSTALLED"
            not in self.exec("router", ["swanctl", "--list-sas", "--uri", uri], check=False).stdout
        ):
            if time.monotonic() > deadline:
                raise PrerequisiteError(
                    f"lab: IPsec tunnel {name} not established in {timeout_seconds:.0f} s "
                    f"(see {self.root / 'router' / f'charon-{name}' / 'charon.log'})"
                )
            time.sleep(0.1)

    def _drop_libipsec_rules(self, node: str) -> None:
        for table in (201, 202):
            while (
                subprocess.run(
                    ["ip", "-n", self.netns(node), "rule", "del", "table", str(table)],
                    capture_output=True,
                    check=False,
                ).returncode
                == 0
            ):
                pass

    def _swanctl_load(self, node: str, conf: Path, uri: str) -> None:
        self.exec(node, ["swanctl", "--load-all", "--file", str(conf), "--uri", uri])

    def _frr(self) -> None:
        self.say("FRR: zebra + bgpd" + (" + bfdd" if self.bfd else "") + " on 4 nodes")
        rendered = {
            "router": frr.router_frr(self.timers, self.bfd),
            "esg1": frr.edge_frr(TUNNELS[0], "172.31.1.2", self.timers, self.bfd),
            "esg2": frr.edge_frr(TUNNELS[1], "172.31.2.2", self.timers, self.bfd),
            "dr": frr.dr_frr("172.31.1.1", "172.31.2.1"),
        }
        for node, bgpd_conf in rendered.items():
            folder = self.root / node
            files = {"zebra.conf": f"hostname {node}\n", "bgpd.conf": bgpd_conf}
            if self.bfd and node != "dr":
                files["bfdd.conf"] = frr.bfdd_conf(node)
            for name, text in files.items():
                (folder / name).write_text(text)
                shutil.chown(folder / name, "frr", "frr")
            self._spawn(
                f"{node}-zebra",
                node,
                [str(FRR_BIN / "zebra"), "-f", str(folder / "zebra.conf"), "-P", "0"],
                folder / "zebra.log",
            )
            deadline = time.monotonic() + 10
            while not (folder / "frr" / "zserv.api").exists():
                if time.monotonic() > deadline:
                    raise PrerequisiteError(
                        f"lab {node}: zebra did not start (see {folder / 'zebra.log'})"
                    )
                time.sleep(0.05)
            if "bfdd.conf" in files:
                self._spawn(
                    f"{node}-bfdd",
                    node,
                    [str(FRR_BIN / "bfdd"), "-f", str(folder / "bfdd.conf"), "-P", "0"],
                    folder / "bfdd.log",
                )
            self._spawn(
                f"{node}-bgpd",
                node,
                [str(FRR_BIN / "bgpd"), "-f", str(folder / "bgpd.conf"), "-P", "0"],
                folder / "bgpd.log",
            )

    def _sshd(self) -> None:
        self.say("sshd on router, esg1, esg2 (keys generated for this lab)")
        client = self.root / "client_key"
        if not client.exists():
            _keygen(client)
        lines = []
        for node in SSH_NODES:
            folder = self.root / node
            host_key = folder / "ssh_host_ed25519_key"
            _keygen(host_key)
            conf = folder / "sshd_config"
            conf.write_text(
                sshd.sshd_config(
                    MGMT_ADDRESSES[node], str(host_key), f"{client}.pub", str(folder / "sshd.pid")
                )
            )
            self._spawn(
                f"{node}-sshd",
                node,
                ["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)],
                folder / "sshd.log",
            )
            public = Path(f"{host_key}.pub").read_text().split()
            lines.append(f"{MGMT_ADDRESSES[node]} {public[0]} {public[1]}")
        self.known_hosts_path.write_text("\n".join(lines) + "\n")

    def _dns(self) -> dict[str, int]:
        """Start named on every controller (not awaited: `_up` waits for all servers at once)."""
        self.say("DNS: named on " + ", ".join(DOMAIN_CONTROLLERS))
        started = {}
        for node, address in DOMAIN_CONTROLLERS.items():
            folder = self.named_folder(node)
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in dns_server.zone_files(node).items():
                (folder / name).write_text(text)
            (folder / "named.conf").write_text(dns_server.named_conf(str(folder), address))
            started[node] = self.start_named(node, wait=False)
        return started

    def named_folder(self, node: str) -> Path:
        """Config, zones, journals, log and pid file of a controller's named."""
        return self.root / node / "named"

    def start_named(self, node: str, wait: bool = True) -> int:
        """Start named on a directory controller; with `wait`, return once it answers (its pid)."""
        if node not in DOMAIN_CONTROLLERS:
            raise ConfigError(f"no directory controller {node!r}: {', '.join(DOMAIN_CONTROLLERS)}")
        self._load_state()  # _spawn records the pid in the state file: never over an empty one
        folder = self.named_folder(node)
        pid = self._spawn(
            f"{node}-named", node, dns_server.named_argv(str(folder)), folder / "stdout.log"
        )
        if wait:
            self._await_named(node, pid)
        return pid

    def _await_named(self, node: str, pid: int, timeout_seconds: float = 10.0) -> None:
        """Until named on `node` answers an SOA query over TCP (its health check)."""
        folder = self.named_folder(node)
        soa = ["dig", "+tcp", "+time=1", "+tries=1", "@127.0.0.1", DNS_ZONE, "SOA"]
        deadline = time.monotonic() + timeout_seconds
        while "status: NOERROR" not in self.exec(node, soa, check=False).stdout:
            if time.monotonic() > deadline or not processes.alive(pid):
                raise PrerequisiteError(
                    f"lab {node}: named did not answer in {timeout_seconds:g} s "
                    f"(see {folder / 'named.log'} and {folder / 'stdout.log'})"
                )
            time.sleep(0.05)

    def stop_named(self, node: str) -> None:
        """Stop a controller's named (SIGTERM, then SIGKILL after the grace period)."""
        pid = _recorded(self._load_state(), "pids").get(f"{node}-named")
        if pid is not None and self._running(pid, node):
            processes.terminate({pid})

    def _slapd(self) -> dict[str, int]:
        """The lab CA, a certificate per controller, slapd on each (not awaited, as `_dns`)."""
        self.say("LDAPS: slapd on " + ", ".join(DOMAIN_CONTROLLERS) + " (lab CA certificates)")
        ca = lab_ca.LabCa.load_or_create(self.root / "ca")
        if not self.ldap_password_path.exists():
            chosen = os.environ.get(LDAP_PASSWORD_ENV) or secrets.token_urlsafe(24)
            lab_ca.write_private(self.ldap_password_path, chosen.encode())
        for node, address in DOMAIN_CONTROLLERS.items():
            lab_ca.issue_server_variant(
                ca, self.root / node / "tls", "good", f"{node}.{DNS_ZONE}", ips=[address]
            )
        return {node: self.start_slapd(node, wait=False) for node in DOMAIN_CONTROLLERS}

    def slapd_folder(self, node: str) -> Path:
        """Config, database and log of a controller's slapd."""
        return self.root / node / "slapd"

    def start_slapd(self, node: str, wait: bool = True) -> int:
        """Start slapd on a directory controller (its directory loaded anew); return its pid.

        With `wait`, return once it accepts on 389 and 636 (PrerequisiteError if it does not).
        """
        if node not in DOMAIN_CONTROLLERS:
            raise ConfigError(f"no directory controller {node!r}: {', '.join(DOMAIN_CONTROLLERS)}")
        self._load_state()  # _spawn records the pid in the state file: never over an empty one
        folder, tls = self.slapd_folder(node), self.root / node / "tls"
        argv = slapd.prepare_slapd(
            folder,
            slapd.SlapdTls(tls / "server.pem", tls / "server.key", self.ca_path),
            self.ldap_password(),
            base_dn=LDAP_BASE_DN,
        )
        pid = self._spawn(f"{node}-slapd", node, argv, folder / "slapd.log")
        if wait:
            self._await_slapd(node, pid)
        return pid

    def _await_slapd(self, node: str, pid: int, timeout_seconds: float = 10.0) -> None:
        """Until slapd on `node` accepts on 389 and 636 inside its namespace (its health check)."""
        if not slapd.await_slapd(pid, netns=self.netns(node), timeout_seconds=timeout_seconds):
            raise PrerequisiteError(
                f"lab {node}: slapd did not accept on 389 and 636 in {timeout_seconds:g} s "
                f"(see {self.slapd_folder(node) / 'slapd.log'})"
            )

    def stop_slapd(self, node: str) -> None:
        """Stop a controller's slapd (SIGTERM, then SIGKILL after the grace period)."""
        pid = _recorded(self._load_state(), "pids").get(f"{node}-slapd")
        if pid is not None and self._running(pid, node):
            processes.terminate({pid})

    def issue_certificate(self, node: str, variant: lab_ca.Variant = "good") -> None:
        """Give a controller's slapd a new certificate, good or broken one way, and restart it.

        The failing scenarios of the `ldaps` and `tls` families (`expired`, `wrong_name`,
        `expiring_soon` ...: `holdtime.lab.lab_ca.issue_server_variant`); `good` puts it right.
        """
        if node not in DOMAIN_CONTROLLERS:
            raise ConfigError(f"no directory controller {node!r}: {', '.join(DOMAIN_CONTROLLERS)}")
        ca = lab_ca.LabCa.load_or_create(self.root / "ca")
        tls = self.root / node / "tls"
        lab_ca.issue_server_variant(
            ca, tls, variant, f"{node}.{DNS_ZONE}", ips=[DOMAIN_CONTROLLERS[node]]
        )
        self.stop_slapd(node)
        self.start_slapd(node)

    @contextlib.contextmanager
    def hung(self, node: str) -> Iterator[None]:
        """A controller that hangs: its named and slapd SIGSTOPped (they accept, never answer).

        The kernel still completes TCP handshakes into their listen queues and takes UDP
        datagrams into their buffers, so a client waits out its own deadline, as for a
        controller whose disk or CPU is stuck. SIGCONT on the way out.
        """
        pids = _recorded(self._load_state(), "pids")
        frozen = [
            pid
            for daemon in ("named", "slapd")
            if self._running(pid := pids.get(f"{node}-{daemon}"), node) and pid is not None
        ]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)

    def dns_update(self, node: str, commands: Sequence[str]) -> None:
        """Send a dynamic update to one controller only (nsupdate inside its namespace)."""
        script = "server 127.0.0.1 53\n" + "".join(f"{c}\n" for c in commands) + "send\n"
        self.exec(node, ["nsupdate", "-t", "5"], input_text=script)

    def _kms(self) -> int:
        """The lab CA issues the key server's and holdtime's certificates; PyKMIP starts."""
        self.say(f"KMIP: PyKMIP on {KMS_NODE} {KMS_ADDRESS}:{KMS_PORT} (client certificates)")
        ca = lab_ca.LabCa.load_or_create(self.root / "ca")
        ca.issue_server(
            self.root / KMS_NODE / "tls",
            KMS_SERVER_NAME,
            dns_names=[KMS_SERVER_NAME],
            ips=[KMS_ADDRESS],
            key_type="rsa",
        )
        ca.issue_client(self.kmip_client_dir, "holdtime")
        return self.start_kms(wait=False)

    def kms_folder(self) -> Path:
        """PyKMIP's server.conf, SQLite database, policy folder and log on the kms node."""
        return self.root / KMS_NODE / "pykmip"

    def start_kms(self, wait: bool = True) -> int:
        """Start PyKMIP's server on kms; with `wait`, return once it accepts on 5696 (its pid)."""
        self._load_state()  # _spawn records the pid in the state file: never over an empty one
        folder, tls = self.kms_folder(), self.root / KMS_NODE / "tls"
        argv = kms.prepare_kms(
            folder,
            kms.KmsTls(tls / "server.pem", tls / "server.key", self.ca_path),
            KMS_ADDRESS,
            KMS_PORT,
        )
        pid = self._spawn(f"{KMS_NODE}-pykmip", KMS_NODE, argv, folder / "stdout.log")
        if wait:
            self._await_kms(pid)
        return pid

    def _await_kms(self, pid: int, timeout_seconds: float = 30.0) -> None:
        """Until PyKMIP accepts on 5696 inside the kms namespace (its health check)."""
        if not kms.await_kms(
            pid, KMS_ADDRESS, KMS_PORT, self.netns(KMS_NODE), timeout_seconds=timeout_seconds
        ):
            folder = self.kms_folder()
            raise PrerequisiteError(
                f"lab {KMS_NODE}: PyKMIP did not accept on {KMS_ADDRESS}:{KMS_PORT} in "
                f"{timeout_seconds:g} s (see {folder / 'server.log'} and {folder / 'stdout.log'})"
            )

    def stop_kms(self) -> None:
        """Stop the key server (SIGTERM, then SIGKILL after the grace period)."""
        pid = _recorded(self._load_state(), "pids").get(f"{KMS_NODE}-pykmip")
        if pid is not None and self._running(pid, KMS_NODE):
            processes.terminate({pid})

    # -- readiness and status ------------------------------------------------------------
    def bgp_states(self) -> dict[str, str]:
        """The router's BGP neighbors and their states."""
        out = self.exec("router", ["vtysh", "-c", "show bgp summary json"], check=False).stdout
        try:
            peers = json.loads(out).get("ipv4Unicast", {}).get("peers", {})
        except json.JSONDecodeError:
            return {}
        return {address: str(peer.get("state")) for address, peer in peers.items()}

    def best_path(self, prefix: str = STRETCHED_PREFIX) -> str | None:
        """Next hop of the router's best path for `prefix`."""
        out = self.exec(
            "router", ["vtysh", "-c", f"show bgp ipv4 unicast {prefix} json"], check=False
        ).stdout
        try:
            paths = json.loads(out).get("paths", [])
        except json.JSONDecodeError:
            return None
        for path in paths:
            if path.get("bestpath", {}).get("overall"):
                hops = path.get("nexthops") or [{}]
                return str(hops[0].get("ip")) if hops[0].get("ip") else None
        return None

    def bfd_up(self) -> int:
        """How many of the router's BFD sessions are up."""
        out = self.exec("router", ["vtysh", "-c", "show bfd peers json"], check=False).stdout
        try:
            peers = json.loads(out)
        except json.JSONDecodeError:
            return 0
        return sum(1 for peer in peers if isinstance(peer, dict) and peer.get("status") == "up")

    def wait_ready(self, timeout_seconds: float = 60.0) -> None:
        """Until both BGP sessions are Established and the stretched prefix is via esg1."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            states = self.bgp_states()
            established = [a for a, s in states.items() if s == "Established"]
            if (
                len(established) == 2
                and self.best_path() == "10.10.10.2"
                and (not self.bfd or self.bfd_up() == 2)
            ):
                ping = self.exec("app", ["ping", "-c", "1", "-W", "1", "172.16.1.10"], check=False)
                if ping.returncode == 0:
                    return
            if time.monotonic() > deadline:
                summary = self.exec(
                    "router", ["vtysh", "-c", "show bgp summary"], check=False
                ).stdout
                # one line for the CLI, still the whole `show bgp summary` of the router
                said = " | ".join(" ".join(line.split()) for line in summary.splitlines() if line)
                raise PrerequisiteError(
                    f"lab {self.prefix}: BGP not ready in {timeout_seconds:g} s "
                    f"(states {states or 'none'}, best path {self.best_path()}); "
                    f"last `show bgp summary`: {said or 'no answer from bgpd'}"
                )
            time.sleep(0.25)

    def findings(self, sessions: bool = True) -> health.Findings:
        """What exists of the lab and what runs; with `sessions`, the router's BGP and IPsec."""
        status, state = _state_file(self.root / "state.json")
        self._state = state
        existing = set(self._existing_namespaces())
        missing = [self.netns(node) for node in NODES if self.netns(node) not in existing]
        holders = _recorded(state, "holders")
        daemons = _recorded(state, "pids")
        bfd = bool(state.get("bfd", self.bfd))
        stopped = [
            f"{node}-namespace holder"
            for node in health.expected_holders()
            if not self._running(holders.get(node), node)
        ]
        stopped += [
            name
            for name in health.expected_daemons(bfd)
            if not self._running(daemons.get(name), name.split("-")[0])
        ]
        found = health.Findings(
            prefix=self.prefix,
            root=str(self.root),
            state=status,
            stage=str(state.get("stage", "")),
            namespaces_missing=missing,
            namespaces_present=len(existing),
            stopped=stopped,
        )
        router_runs = "router-namespace holder" not in stopped and self.netns("router") in existing
        if not sessions or not router_runs:
            return found
        ipsec = {}
        for tunnel in TUNNELS:
            out = self.exec(
                "router",
                ["swanctl", "--list-sas", "--uri", self.vici_uri(tunnel.name)],
                check=False,
            ).stdout
            ipsec[tunnel.name] = (
                "INSTALLED"
                if "INSTALLED" in out
                else ("ESTABLISHED" if "ESTABLISHED" in out else "down")
            )
        return dataclasses.replace(
            found,
            bgp=self.bgp_states(),
            best_path=self.best_path(),
            ipsec=ipsec,
            sessions_checked=True,
        )

    def _running(self, pid: int | None, node: str) -> bool:
        """A recorded pid runs, is not a zombie and still sits in the node's namespace."""
        return (
            pid is not None
            and processes.alive(pid)
            and not processes.zombie(pid)
            and processes.in_namespaces(pid, [self.netns(node)])
        )

    def status(self) -> str:
        """BGP and IPsec state compactly; when not up, every missing piece named."""
        return self.inspect()[0]

    def inspect(self) -> tuple[str, bool]:
        """`status()` text and whether the lab is up, from one look at it."""
        found = self.findings()
        holder = busy(self.lock_path)
        if holder is not None:
            running = f"`{holder.command}` (pid {holder.pid})" if holder.pid else "`holdtime lab`"
            found = dataclasses.replace(found, busy_with=running)
        return health.render(found), not health.problems(found)

    # -- down ----------------------------------------------------------------------------
    def _existing_namespaces(self) -> list[str]:
        ours = {self.netns(node) for node in NODES}
        return [name for name in processes.namespaces() if name in ours]

    def pids(self) -> set[int]:
        """Every process running in the lab's namespaces (daemons, holders, SSH sessions)."""
        found: set[int] = set()
        for name in self._existing_namespaces():
            found |= processes.namespace_pids(name)
        return found

    def down(self) -> list[str]:
        """Remove what this lab created: processes in its namespaces, the namespaces, files.

        Waits for an `up` or `down` of the same prefix that is under way, then removes the lab it
        left (a lab half built by a killed `up` included).
        """
        lock = self._lock("down")
        removed = False
        try:
            self._ensure_owned()
            said = self._teardown()
            removed = True
        finally:
            lock.release(remove=removed)
        if self.root.parent == STATE_ROOT:
            with contextlib.suppress(OSError):  # only when no other lab lives there
                STATE_ROOT.rmdir()
        return said

    def _teardown(self) -> list[str]:
        """Stop this lab's processes, delete its namespaces and its state folder (no lock)."""
        namespaces = self._existing_namespaces()
        pids = self.pids()
        self._state = {}
        state = self._load_state()
        for group in ("pids", "holders"):
            pids.update(
                pid
                for pid in _recorded(state, group).values()
                if processes.alive(pid) and processes.in_namespaces(pid, namespaces)
            )
        processes.terminate(pids)
        for ns in namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        for folder in (self.root, self._legacy_root()):
            if folder is not None and folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
        self._state = {}
        return [f"stopped {len(pids)} processes, removed {len(namespaces)} namespaces"]

    def _legacy_root(self) -> Path | None:
        """This lab's folder as an older holdtime named it (trailing - _ . cut), if it is ours."""
        legacy = STATE_ROOT / self.prefix.rstrip("-_.")
        if self.root.parent != STATE_ROOT or legacy == self.root:
            return None
        owner = (_read_state(legacy / "state.json") or {}).get("prefix")
        return legacy if owner == self.prefix else None


def _state_file(path: Path) -> tuple[str, dict[str, object]]:
    """("ok", state), ("missing", {}) or ("damaged", {}) for a lab's state.json."""
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return "missing", {}
    except (OSError, ValueError):
        return "damaged", {}
    return ("ok", state) if isinstance(state, dict) else ("damaged", {})


def _read_state(path: Path) -> dict[str, object] | None:
    """The state a lab recorded, or None when there is none (or it is damaged)."""
    status, state = _state_file(path)
    return state if status == "ok" else None


def _recorded(state: dict[str, object], group: str) -> dict[str, int]:
    """`pids` or `holders` of a state file as name -> pid (anything malformed left out)."""
    recorded = state.get(group)
    if not isinstance(recorded, dict):
        return {}
    return {str(k): v for k, v in recorded.items() if isinstance(v, int) and v > 0}


def _settings(timers: tuple[object, ...], bfd: bool) -> str:
    """`BGP timers 3/9 without BFD`."""
    return f"BGP timers {'/'.join(map(str, timers))} {'with' if bfd else 'without'} BFD"


def _count_daemons(pids: dict[str, object]) -> str:
    """`charon x4, zebra x4, ...` from the spawned names (`<node>-<daemon>[-<tunnel>]`)."""
    counts: dict[str, int] = {}
    for name in pids:
        daemon = name.split("-")[1]
        counts[daemon] = counts.get(daemon, 0) + 1
    return ", ".join(f"{daemon} x{count}" for daemon, count in counts.items())


def _keygen(path: Path) -> None:
    for old in (path, Path(f"{path}.pub")):
        old.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "holdtime-lab", "-f", str(path)],
        check=True,
        capture_output=True,
    )

"""The inventory: one YAML file naming routers, vCenters, TCP targets, ping paths and drills.

`load_inventory(path)` validates everything at once and raises one ConfigError listing every
problem as ``file:line:col: where: message`` (its ``problems`` attribute holds the lines).
Secrets come from environment variables; the resolved values are kept out of repr, errors and
any dict form.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from holdtime import redaction
from holdtime.drill.scenario import DRILLS, check_references
from holdtime.errors import ConfigError
from holdtime.yaml_nodes import audit
from holdtime.yaml_schema import NAME_RE, Field, Walker

PLATFORMS = ("frr", "strongswan", "libreswan")
HOST_KEY_POLICIES = ("reject", "accept-new", "warn")
INVENTORY_VERSION = 1
MAX_INVENTORY_BYTES = 4_000_000
"""Checked before anything is parsed. Thousands of devices fit in 1 MB, and PyYAML's pure-Python
parser (needed for its exact error marks) took 27 s per MB on the loaded 2-core test VM: a 60 MB
file held validation for 5 minutes and 5 GB before this limit."""
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# -- the model -------------------------------------------------------------------------------
from holdtime.probes.ping_config import PingPath, PingSource  # noqa: E402
from holdtime.probes.router_config import (  # noqa: E402
    BestPathExpect,
    BgpExpect,
    IpsecExpect,
    NeighborExpect,
    Router,
    RouterExpect,
    SshAuth,
)
from holdtime.probes.tcp_config import TcpTarget  # noqa: E402
from holdtime.probes.vsphere_config import VCenter, VCenterExpect  # noqa: E402


@dataclass(frozen=True, slots=True)
class Inventory:
    """A validated inventory file."""

    path: Path
    routers: tuple[Router, ...] = ()
    vcenters: tuple[VCenter, ...] = ()
    tcp: tuple[TcpTarget, ...] = ()
    ping_paths: tuple[PingPath, ...] = ()
    drills: Mapping[str, Any] = field(default_factory=dict)
    locations: Mapping[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def router(self, name: str) -> Router:
        """A router by name (ConfigError naming the file when absent)."""
        for router in self.routers:
            if router.name == name:
                return router
        raise ConfigError(f"{self.path}: no router named {name!r}")

    def vcenter(self, name: str) -> VCenter:
        """A vCenter by name."""
        for vcenter in self.vcenters:
            if vcenter.name == name:
                return vcenter
        raise ConfigError(f"{self.path}: no vcenter named {name!r}")

    def locate(self, where: str) -> str:
        """`file:line:col` of a dotted key path such as `drills.esg1-down.trigger`."""
        while where:
            if where in self.locations:
                line, col = self.locations[where]
                return f"{self.path}:{line}:{col}"
            where = where.rpartition(".")[0]
        return str(self.path)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the inventory, without secrets (fields declared repr=False)."""
        plain = _plain(self)
        assert isinstance(plain, dict)
        return plain


def _plain(value: Any) -> Any:
    """JSON-ready copy of model values; repr=False fields (passwords, marks) are left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# -- the schema ------------------------------------------------------------------------------
def _seconds(low: float, high: float, default: float | None = None) -> Field:
    return Field("seconds", low=low, high=high, default=default)


def _version(value: int, node: yaml.Node, walker: Walker, where: str) -> int | None:
    if value != INVENTORY_VERSION:
        walker.problem(node, where, f"unsupported version {value} (this holdtime reads version 1)")
        return None
    return value


_NAMES = Field("list", item=Field("name"), one_or_list=True)
_PREFIXES = Field("list", item=Field("prefix"), one_or_list=True)
_BGP = Field(
    "map",
    fields={
        "neighbors": Field(
            "list",
            item=Field(
                "map",
                fields={
                    "address": Field("address", required=True),
                    "remote_as": Field("int", low=1, high=4294967295),
                    "prefixes_received": _PREFIXES,
                    "prefixes_sent": _PREFIXES,
                    "description": Field("str"),
                },
            ),
        ),
        "best_paths": Field(
            "list",
            item=Field(
                "map",
                fields={
                    "prefix": Field("prefix", required=True),
                    "via": Field("address", required=True),
                },
            ),
        ),
        "max_hold_time_seconds": _seconds(1, 65535),
        "bfd": Field("bool"),
    },
)
_ROUTER_EXPECT = Field(
    "map",
    fields={
        "bgp": _BGP,
        "ipsec": Field("map", fields={"tunnels": _NAMES}),
        "ip_forwarding": Field("bool"),
    },
)
_AUTH = Field(
    "map",
    fields={
        "key_file": Field("str"),
        "agent": Field("bool"),
        "password_env": Field("str"),
        "password": Field("str"),
    },
)
_TIMEOUTS = Field(
    "map",
    fields={
        "connect_seconds": _seconds(0.1, 600),
        "command_seconds": _seconds(0.1, 3600),
    },
)
_ROUTER = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "host": Field("host", required=True),
        "port": Field("port"),
        "username": Field("str"),
        "auth": _AUTH,
        "allow_literal_password": Field("bool"),
        "known_hosts": Field("str"),
        "host_key_policy": Field("str", choices=HOST_KEY_POLICIES),
        "ssh_config": Field("str"),
        "proxy_jump": Field("str"),
        "platform": Field("list", item=Field("str", choices=PLATFORMS), one_or_list=True),
        "sudo": Field("bool"),
        "timeouts": _TIMEOUTS,
        "netns": Field("name"),
        "swanctl_uris": Field("list", item=Field("str"), one_or_list=True),
        "ipsec_interface": Field("str", choices=("auto", "swanctl", "stroke")),
        "expect": _ROUTER_EXPECT,
    },
)
_VCENTER = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "host": Field("host", required=True),
        "port": Field("port"),
        "username": Field("str", required=True),
        "password_env": Field("str"),
        "password": Field("str"),
        "allow_literal_password": Field("bool"),
        "verify_tls": Field("bool"),
        "insecure": Field("bool"),
        "ca_file": Field("str"),
        "expect": Field(
            "map",
            fields={
                "nfs": Field("map", fields={"min_paths": Field("int", low=1, high=32)}),
                "sioc": Field(
                    "map",
                    fields={
                        "threshold_ms": Field(
                            "map",
                            fields={
                                "min": Field("float", low=1, high=1000),
                                "max": Field("float", low=1, high=1000),
                            },
                        )
                    },
                ),
                "vds": Field("map", fields={"require_healthcheck": Field("bool")}),
            },
        ),
    },
)
_TCP = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "host": Field("host", required=True),
        "port": Field("port", required=True),
        "timeout_seconds": _seconds(0.1, 120),
        "netns": Field("name"),
    },
)
_PING = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "source": Field("any"),
        "destination": Field("host", required=True),
        "interval_seconds": _seconds(0.01, 60),
        "count": Field("int", low=1, high=10_000_000),
        "duration_seconds": _seconds(0.1, 86400),
        "expect": Field("map", fields={"max_outage_seconds": _seconds(0, 86400)}),
    },
)
_DEFAULTS = Field(
    "map",
    fields={
        "ssh": Field(
            "map",
            fields={
                "username": Field("str"),
                "known_hosts": Field("str"),
                "host_key_policy": Field("str", choices=HOST_KEY_POLICIES),
                "ssh_config": Field("str"),
                "connect_timeout_seconds": _seconds(0.1, 600),
                "command_timeout_seconds": _seconds(0.1, 3600),
            },
        ),
        "tcp": Field("map", fields={"timeout_seconds": _seconds(0.1, 120)}),
        "expect": Field(
            "map",
            fields={
                "bgp": Field(
                    "map",
                    fields={
                        "max_hold_time_seconds": _seconds(1, 65535),
                    },
                )
            },
        ),
    },
)
SCHEMA = Field(
    "map",
    fields={
        "version": Field("int", check=_version),
        "defaults": _DEFAULTS,
        "routers": Field("list", item=_ROUTER),
        "vcenters": Field("list", item=_VCENTER),
        "tcp": Field("list", item=_TCP),
        "ping_paths": Field("list", item=_PING),
        "drills": DRILLS,  # holdtime.drill.scenario: scenarios, walked with the rest
    },
)


# -- loading ---------------------------------------------------------------------------------
def load_inventory(path: Path | str) -> Inventory:
    """Read, validate and build an inventory; ConfigError lists every problem at once."""
    path = Path(path)
    text = _read(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        # PyYAML composes recursively: thousands of nested brackets exhaust the stack
        raise _error([f"{path}: invalid YAML: nested too deeply"]) from None
    except yaml.reader.ReaderError as exc:
        raise _error([_reader_problem(path, text, exc)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise _error([f"{where}: invalid YAML: {_yaml_message(exc)}"]) from None
    except yaml.YAMLError as exc:
        raise _error([f"{path}: invalid YAML: {exc}"]) from None
    if root is None:
        raise _error([f"{path}: the inventory is empty"])
    walker = Walker(str(path))
    if not audit(root, walker.syntax_problem):
        raise _error(walker.lines())
    data = walker.value(root, SCHEMA, "")
    builder = _Builder(path, walker)
    inventory = builder.build(data, data.get("drills") or {}) if data is not None else None
    if inventory is not None:
        check_references(inventory, walker.problem_at)  # drills naming missing routers, paths
    if walker.problems or inventory is None:
        raise _error(walker.lines() or [f"{path}: the inventory must be a mapping"])
    return inventory


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem, with its context when that says where the broken construct began."""
    problem, context, start = exc.problem or "", exc.context or "", exc.context_mark
    if not problem:
        return context
    if context and problem.startswith("but "):
        return f"{context}, {problem}"  # "expected a single document in the stream, but found ..."
    if context and start is not None and start != exc.problem_mark:
        return f"{problem} ({context} at line {start.line + 1}, column {start.column + 1})"
    return problem


def _read(path: Path) -> str:
    limit_mb = MAX_INVENTORY_BYTES / 1e6
    try:
        size = path.stat().st_size
        if size > MAX_INVENTORY_BYTES:
            raise _error(
                [
                    f"{path}: {size / 1e6:.1f} MB is more than the {limit_mb:g} MB an inventory "
                    "may have (thousands of devices fit in 1 MB): is it the right file?"
                ]
            )
        with path.open("rb") as stream:
            data = stream.read(MAX_INVENTORY_BYTES + 1)  # a pipe or device has no size
    except FileNotFoundError:
        raise _error([f"{path}: no such inventory file"]) from None
    except IsADirectoryError:
        raise _error([f"{path}: is a directory, not an inventory file"]) from None
    except PermissionError:
        raise _error([f"{path}: permission denied reading the inventory"]) from None
    except OSError as exc:
        raise _error([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(data) > MAX_INVENTORY_BYTES:
        raise _error([f"{path}: more than the {limit_mb:g} MB an inventory may have"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as read_text() would


def _reader_problem(path: Path, text: str, exc: yaml.reader.ReaderError) -> str:
    """`file:line:col` of a character YAML refuses (PyYAML gives only an offset)."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    what = "a NUL byte" if code == 0 else f"control character #x{code:04x}"
    return f"{path}:{line}:{column}: invalid YAML: {what} is not allowed here; remove it"


def _error(lines: list[str]) -> ConfigError:
    return ConfigError("\n".join(lines), problems=lines)


@dataclass
class _Builder:
    """Turns validated plain data into the model, with the cross-field checks."""

    path: Path
    walker: Walker

    def problem(self, where: str, message: str) -> None:
        """Record a problem at the closest known position of `where` (or its parents)."""
        key = where
        while key and key not in self.walker.marks:
            key = key.rpartition(".")[0]
        line, col = self.walker.marks.get(key, (1, 1))
        self.walker.problems.append((line, col, f"{where}: {message}"))

    def file(self, value: str | None, where: str, *, must_exist: bool = True) -> Path | None:
        if value is None:
            return None
        resolved = Path(os.path.expanduser(value))
        if not resolved.is_absolute():
            resolved = self.path.parent / resolved
        if must_exist:
            try:
                if not resolved.exists():
                    self.problem(where, f"file {value!r} does not exist ({resolved})")
                elif not os.access(resolved, os.R_OK) or resolved.is_dir():
                    self.problem(where, f"file {value!r} is not a readable file ({resolved})")
            except OSError as exc:  # ENAMETOOLONG, EACCES on a parent folder, ...
                self.problem(where, f"file {value!r} cannot be checked: {exc.strerror}")
        return resolved

    def secret(self, env_name: str | None, where: str) -> str | None:
        if env_name is None:
            return None
        if not ENV_NAME_RE.match(env_name):
            self.problem(where, f"{env_name!r} is not an environment variable name")
            return None
        value = os.environ.get(env_name)
        if value is None:
            self.problem(where, f"environment variable {env_name} is not set")
        elif not value:
            self.problem(where, f"environment variable {env_name} is set but empty")
        return value or None

    def unique(self, items: list[dict[str, Any]], section: str) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            name = item.get("name")
            if name is None:
                continue
            if name in seen:
                first = self.walker.marks.get(f"{section}[{seen[name]}].name", (0, 0))[0]
                self.problem(
                    f"{section}[{index}].name",
                    f"duplicate name {name!r} (first used on line {first})",
                )
            else:
                seen[name] = index

    def build(self, data: dict[str, Any], drills: dict[str, Any]) -> Inventory:
        defaults = data.get("defaults") or {}
        sections = {
            k: [i for i in (data.get(k) or []) if i is not None]
            for k in ("routers", "vcenters", "tcp", "ping_paths")
        }
        for section, items in sections.items():
            self.unique(items, section)
        routers = tuple(
            self.router(i, r, defaults)
            for i, r in enumerate(data.get("routers") or [])
            if r is not None
        )
        vcenters = tuple(
            self.vcenter(i, v) for i, v in enumerate(data.get("vcenters") or []) if v is not None
        )
        tcp_default = (defaults.get("tcp") or {}).get("timeout_seconds", 3.0)
        tcp = tuple(
            TcpTarget(
                name=t["name"],
                host=t["host"],
                port=t["port"],
                timeout_seconds=t.get("timeout_seconds", tcp_default),
                netns=t.get("netns"),
            )
            for t in (data.get("tcp") or [])
            if t is not None
            and {"name", "host", "port"} <= set(t)
            and None not in (t["name"], t["host"], t["port"])
        )
        router_names = {r.name for r in routers}
        pings = tuple(
            self.ping(i, p, router_names)
            for i, p in enumerate(data.get("ping_paths") or [])
            if p is not None
        )
        return Inventory(
            path=self.path,
            routers=routers,
            vcenters=vcenters,
            tcp=tcp,
            ping_paths=tuple(p for p in pings if p is not None),
            drills=drills,
            locations=dict(self.walker.marks),
        )

    def router(self, index: int, raw: dict[str, Any], defaults: dict[str, Any]) -> Router:
        where = f"routers[{index}]"
        ssh = defaults.get("ssh") or {}
        username = raw.get("username") or ssh.get("username")
        if username is None:
            self.problem(where, "missing 'username' (set it here or in defaults.ssh.username)")
        auth = self.auth(raw.get("auth") or {}, f"{where}.auth", raw.get("allow_literal_password"))
        policy = raw.get("host_key_policy") or ssh.get("host_key_policy") or "reject"
        known_hosts = raw.get("known_hosts") or ssh.get("known_hosts")
        known_where = (
            f"{where}.known_hosts" if raw.get("known_hosts") else "defaults.ssh.known_hosts"
        )
        named = "known_hosts" in raw or "known_hosts" in ssh  # an invalid one is reported already
        if not named and policy == "reject" and not raw.get("ssh_config"):
            self.problem(
                where,
                "host keys are verified by default: set known_hosts (or "
                "host_key_policy: accept-new to trust on first use)",
            )
        timeouts = raw.get("timeouts") or {}
        expect = raw.get("expect") or {}
        bgp = expect.get("bgp") or {}
        hold_default = ((defaults.get("expect") or {}).get("bgp") or {}).get(
            "max_hold_time_seconds", 30.0
        )
        ssh_config = raw.get("ssh_config") or ssh.get("ssh_config")
        # -- issue 13: fields used only at run time, checked now (holdtime/router_syntax.py) --
        from holdtime.router_syntax import proxy_jump_problem, swanctl_uri_problem

        if raw.get("proxy_jump") is not None and proxy_jump_problem(raw["proxy_jump"]):
            self.problem(f"{where}.proxy_jump", proxy_jump_problem(raw["proxy_jump"]))
        uris = raw.get("swanctl_uris") or ()
        for uri in [uris] if isinstance(uris, str) else uris:
            if swanctl_uri_problem(uri):
                self.problem(f"{where}.swanctl_uris", swanctl_uri_problem(uri))
        # -- end issue 13 --
        return Router(
            name=raw.get("name") or f"routers[{index}]",
            host=raw.get("host") or "",
            port=raw.get("port") or 22,
            username=username or "",
            auth=auth,
            known_hosts=self.file(known_hosts, known_where, must_exist=policy == "reject"),
            host_key_policy=policy,
            ssh_config=self.file(ssh_config, f"{where}.ssh_config"),
            proxy_jump=raw.get("proxy_jump"),
            platforms=tuple(dict.fromkeys(raw.get("platform") or ["frr"])),
            sudo=bool(raw.get("sudo", False)),
            connect_timeout_seconds=timeouts.get(
                "connect_seconds", ssh.get("connect_timeout_seconds", 10.0)
            ),
            command_timeout_seconds=timeouts.get(
                "command_seconds", ssh.get("command_timeout_seconds", 20.0)
            ),
            netns=raw.get("netns"),
            swanctl_uris=tuple(raw.get("swanctl_uris") or ()),
            ipsec_interface=raw.get("ipsec_interface") or "auto",
            expect=RouterExpect(
                bgp=BgpExpect(
                    neighbors=tuple(
                        NeighborExpect(
                            address=n["address"],
                            remote_as=n.get("remote_as"),
                            prefixes_received=tuple(n.get("prefixes_received") or ()),
                            prefixes_sent=tuple(n.get("prefixes_sent") or ()),
                            description=n.get("description") or "",
                        )
                        for n in (bgp.get("neighbors") or [])
                        if n and n.get("address")
                    ),
                    best_paths=tuple(
                        BestPathExpect(prefix=b["prefix"], via=b["via"])
                        for b in (bgp.get("best_paths") or [])
                        if b and b.get("prefix") and b.get("via")
                    ),
                    max_hold_time_seconds=bgp.get("max_hold_time_seconds", hold_default),
                    bfd=bgp.get("bfd"),
                ),
                ipsec=IpsecExpect(tunnels=tuple((expect.get("ipsec") or {}).get("tunnels") or ())),
                ip_forwarding=expect.get("ip_forwarding"),
            ),
        )

    def auth(self, raw: dict[str, Any], where: str, allow_literal: bool | None) -> SshAuth:
        # a key present with an invalid value (None here, already reported) still counts as
        # chosen, so one mistake does not also read as "no auth given"
        chosen = [
            k
            for k in ("key_file", "agent", "password_env", "password")
            if k in raw and raw[k] is not False
        ]
        if len(chosen) != 1:
            self.problem(
                where,
                "needs exactly one of key_file, agent: true, password_env"
                + (f" (found {', '.join(chosen)})" if chosen else ""),
            )
        if raw.get("password") and not allow_literal:
            self.problem(
                f"{where}.password",
                "literal passwords are refused: use password_env, "
                "or set allow_literal_password: true on this entry",
            )
        return SshAuth(
            key_file=self.file(raw.get("key_file"), f"{where}.key_file"),
            agent=bool(raw.get("agent", False)),
            password_env=raw.get("password_env"),
            password=redaction.register(  # every message from now on shows it as ***
                self.secret(raw.get("password_env"), f"{where}.password_env") or raw.get("password")
            ),
        )

    def vcenter(self, index: int, raw: dict[str, Any]) -> VCenter:
        where = f"vcenters[{index}]"
        if ("password_env" in raw) == ("password" in raw):
            self.problem(where, "needs exactly one of password_env or password")
        if raw.get("password") and not raw.get("allow_literal_password"):
            self.problem(
                f"{where}.password",
                "literal passwords are refused: use password_env, "
                "or set allow_literal_password: true on this entry",
            )
        insecure, verify = raw.get("insecure"), raw.get("verify_tls")
        if insecure is True and verify is True:
            self.problem(where, "insecure: true contradicts verify_tls: true")
        expect = raw.get("expect") or {}
        threshold = ((expect.get("sioc") or {}).get("threshold_ms")) or {}
        low, high = threshold.get("min", 5.0), threshold.get("max", 100.0)
        if low is not None and high is not None and low > high:
            self.problem(f"{where}.expect.sioc.threshold_ms", f"min {low} is above max {high}")
        return VCenter(
            name=raw.get("name") or where,
            host=raw.get("host") or "",
            username=raw.get("username") or "",
            port=raw.get("port") or 443,
            password_env=raw.get("password_env"),
            password=redaction.register(  # every message from now on shows it as ***
                self.secret(raw.get("password_env"), f"{where}.password_env") or raw.get("password")
            ),
            verify_tls=not insecure if insecure is not None else (verify is not False),
            ca_file=self.file(raw.get("ca_file"), f"{where}.ca_file"),
            expect=VCenterExpect(
                nfs_min_paths=(expect.get("nfs") or {}).get("min_paths", 2),
                sioc_threshold_ms_min=low or 5.0,
                sioc_threshold_ms_max=high or 100.0,
                require_healthcheck=(expect.get("vds") or {}).get("require_healthcheck", True),
            ),
        )

    def ping(self, index: int, raw: dict[str, Any], routers: set[str]) -> PingPath | None:
        where = f"ping_paths[{index}]"
        source = self.source(raw.get("source", "local"), f"{where}.source", routers)
        if raw.get("count") is not None and raw.get("duration_seconds") is not None:
            self.problem(where, "give count or duration_seconds, not both")
        if not raw.get("name") or not raw.get("destination") or source is None:
            return None
        count = raw.get("count")
        return PingPath(
            name=raw["name"],
            source=source,
            destination=raw["destination"],
            interval_seconds=raw.get("interval_seconds", 1.0),
            count=count,
            duration_seconds=raw.get("duration_seconds"),  # None: as long as the drill runs
            max_outage_seconds=(raw.get("expect") or {}).get("max_outage_seconds"),
        )

    def source(self, raw: Any, where: str, routers: set[str]) -> PingSource | None:
        if raw == "local" or raw is None:
            return PingSource(kind="local")
        address: str | None = None
        if isinstance(raw, dict) and "address" in raw:
            raw = dict(raw)
            address = self.source_address(raw.pop("address"), f"{where}.address")
            if address is None:
                return None
            if not raw:
                return PingSource(kind="local", address=address)
        if isinstance(raw, dict) and len(raw) == 1:
            ((kind, name),) = raw.items()
            if kind == "netns" and isinstance(name, str) and NAME_RE.match(name):
                return PingSource(kind="netns", netns=name, address=address)
            if kind == "netns":
                self.problem(f"{where}.netns", f"{name!r} is not a valid network namespace name")
                return None
            if kind == "router" and isinstance(name, str):
                if name not in routers:
                    self.problem(where, f"no router named {name!r} in routers")
                    return None
                return PingSource(kind="router", router=name, address=address)
        self.problem(
            where, "must be local, {netns: NAME} or {router: NAME} (optionally with address: IP)"
        )
        return None

    def source_address(self, raw: Any, where: str) -> str | None:
        try:
            return str(ipaddress.ip_address(str(raw)))
        except ValueError:
            self.problem(where, f"{raw!r} is not an IP address")
            return None


def inventory_summary(inventory: Inventory) -> str:
    """One line counting what an inventory holds."""
    return (
        f"{len(inventory.routers)} routers, {len(inventory.vcenters)} vcenters, "
        f"{len(inventory.tcp)} tcp targets, {len(inventory.ping_paths)} ping paths, "
        f"{len(inventory.drills)} drills"
    )

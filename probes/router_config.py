"""The `routers:` section of the inventory: what holdtime knows about one router.

The models (:class:`Router` and its expectations), their schema and their builder; every
default is declared once, on the dataclass fields, and the builder falls back to those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holdtime.probes.platforms import PLATFORM_NAMES
from holdtime.router_syntax import proxy_jump_problem, swanctl_uri_problem
from holdtime.sections import BuildContext, Section, password, seconds
from holdtime.yaml_schema import Field

HOST_KEY_POLICIES = ("reject", "accept-new", "warn")
IPSEC_INTERFACES = ("auto", "swanctl", "stroke")


@dataclass(frozen=True, slots=True)
class NeighborExpect:
    """A BGP neighbor that must be Established and exchange prefixes."""

    address: str
    remote_as: int | None = None
    prefixes_received: tuple[str, ...] = ()
    prefixes_sent: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class BestPathExpect:
    """The neighbor the best path for a prefix must go through."""

    prefix: str
    via: str


@dataclass(frozen=True, slots=True)
class BgpExpect:
    """BGP expectations of a router."""

    neighbors: tuple[NeighborExpect, ...] = ()
    best_paths: tuple[BestPathExpect, ...] = ()
    max_hold_time_seconds: float = 30.0
    bfd: bool | None = None


@dataclass(frozen=True, slots=True)
class IpsecExpect:
    """IPsec expectations of a router: the tunnels (connection names) that must be up."""

    tunnels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RouterExpect:
    """Everything checked on a router."""

    bgp: BgpExpect = BgpExpect()
    ipsec: IpsecExpect = IpsecExpect()
    ip_forwarding: bool | None = None


@dataclass(frozen=True, slots=True)
class SshAuth:
    """How to authenticate: exactly one of key file, agent, password from env (or literal)."""

    key_file: Path | None = None
    agent: bool = False
    password_env: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Router:
    """A Linux router reached over SSH."""

    name: str
    host: str
    username: str
    auth: SshAuth
    port: int = 22
    known_hosts: Path | None = None
    host_key_policy: str = "reject"
    ssh_config: Path | None = None
    proxy_jump: str | None = None
    platforms: tuple[str, ...] = ("frr",)
    sudo: bool = False
    connect_timeout_seconds: float = 10.0
    command_timeout_seconds: float = 20.0
    netns: str | None = None
    swanctl_uris: tuple[str, ...] = ()
    ipsec_interface: str = "auto"  # strongSwan: auto | swanctl | stroke (probes/router.py)
    expect: RouterExpect = RouterExpect()


_DEFAULT_ROUTER = Router(name="", host="", username="", auth=SshAuth())
_DEFAULT_BGP = BgpExpect()

# -- the schema ------------------------------------------------------------------------------
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
        "max_hold_time_seconds": seconds(1, 65535),
        "bfd": Field("bool"),
    },
)
ROUTER_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "host": Field("host", required=True),
        "port": Field("port"),
        "username": Field("str"),
        "auth": Field(
            "map",
            fields={
                "key_file": Field("str"),
                "agent": Field("bool"),
                "password_env": Field("str"),
                "password": Field("str"),
            },
        ),
        "allow_literal_password": Field("bool"),
        "known_hosts": Field("str"),
        "host_key_policy": Field("str", choices=HOST_KEY_POLICIES),
        "ssh_config": Field("str"),
        "proxy_jump": Field("str"),
        "platform": Field("list", item=Field("str", choices=PLATFORM_NAMES), one_or_list=True),
        "sudo": Field("bool"),
        "timeouts": Field(
            "map",
            fields={
                "connect_seconds": seconds(0.1, 600),
                "command_seconds": seconds(0.1, 3600),
            },
        ),
        "netns": Field("name"),
        "swanctl_uris": Field("list", item=Field("str"), one_or_list=True),
        "ipsec_interface": Field("str", choices=IPSEC_INTERFACES),
        "expect": Field(
            "map",
            fields={
                "bgp": _BGP,
                "ipsec": Field(
                    "map", fields={"tunnels": Field("list", item=Field("name"), one_or_list=True)}
                ),
                "ip_forwarding": Field("bool"),
            },
        ),
    },
)
DEFAULTS_FIELDS = {
    "ssh": Field(
        "map",
        fields={
            "username": Field("str"),
            "known_hosts": Field("str"),
            "host_key_policy": Field("str", choices=HOST_KEY_POLICIES),
            "ssh_config": Field("str"),
            "connect_timeout_seconds": seconds(0.1, 600),
            "command_timeout_seconds": seconds(0.1, 3600),
        },
    ),
    "expect": Field(
        "map",
        fields={"bgp": Field("map", fields={"max_hold_time_seconds": seconds(1, 65535)})},
    ),
}


# -- the builder -----------------------------------------------------------------------------
def build_router(raw: Mapping[str, Any], where: str, context: BuildContext) -> Router:
    """One `routers:` entry, with `defaults.ssh` / `defaults.expect` filled in."""
    ssh = context.defaults.get("ssh") or {}
    username = raw.get("username") or ssh.get("username")
    if username is None:
        context.problem(where, "missing 'username' (set it here or in defaults.ssh.username)")
    auth = build_auth(
        raw.get("auth") or {}, f"{where}.auth", raw.get("allow_literal_password"), context
    )
    policy = raw.get("host_key_policy") or ssh.get("host_key_policy") or "reject"
    known_hosts = raw.get("known_hosts") or ssh.get("known_hosts")
    known_where = f"{where}.known_hosts" if raw.get("known_hosts") else "defaults.ssh.known_hosts"
    named = "known_hosts" in raw or "known_hosts" in ssh  # an invalid one is reported already
    if not named and policy == "reject" and not raw.get("ssh_config"):
        context.problem(
            where,
            "host keys are verified by default: set known_hosts (or "
            "host_key_policy: accept-new to trust on first use)",
        )
    timeouts = raw.get("timeouts") or {}
    ssh_config = raw.get("ssh_config") or ssh.get("ssh_config")
    # fields used only at run time, checked now (holdtime/router_syntax.py)
    jump_problem = proxy_jump_problem(raw["proxy_jump"]) if raw.get("proxy_jump") else None
    if jump_problem:
        context.problem(f"{where}.proxy_jump", jump_problem)
    uris = tuple(raw.get("swanctl_uris") or ())
    for uri in uris:
        uri_problem = swanctl_uri_problem(uri)
        if uri_problem:
            context.problem(f"{where}.swanctl_uris", uri_problem)
    return Router(
        name=raw.get("name") or where,
        host=raw.get("host") or "",
        port=raw.get("port") or _DEFAULT_ROUTER.port,
        username=username or "",
        auth=auth,
        known_hosts=context.file(known_hosts, known_where, must_exist=policy == "reject"),
        host_key_policy=policy,
        ssh_config=context.file(ssh_config, f"{where}.ssh_config"),
        proxy_jump=raw.get("proxy_jump"),
        platforms=tuple(dict.fromkeys(raw.get("platform") or _DEFAULT_ROUTER.platforms)),
        sudo=bool(raw.get("sudo", _DEFAULT_ROUTER.sudo)),
        connect_timeout_seconds=timeouts.get(
            "connect_seconds",
            ssh.get("connect_timeout_seconds", _DEFAULT_ROUTER.connect_timeout_seconds),
        ),
        command_timeout_seconds=timeouts.get(
            "command_seconds",
            ssh.get("command_timeout_seconds", _DEFAULT_ROUTER.command_timeout_seconds),
        ),
        netns=raw.get("netns"),
        swanctl_uris=uris,
        ipsec_interface=raw.get("ipsec_interface") or _DEFAULT_ROUTER.ipsec_interface,
        expect=build_expect(raw.get("expect") or {}, context),
    )


def build_expect(expect: Mapping[str, Any], context: BuildContext) -> RouterExpect:
    """The router's expectations; the hold-time bound falls back to defaults.expect.bgp."""
    bgp = expect.get("bgp") or {}
    hold_default = ((context.defaults.get("expect") or {}).get("bgp") or {}).get(
        "max_hold_time_seconds", _DEFAULT_BGP.max_hold_time_seconds
    )
    return RouterExpect(
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
    )


def build_auth(
    raw: Mapping[str, Any], where: str, allow_literal: object, context: BuildContext
) -> SshAuth:
    """Exactly one way to authenticate; a literal password only when explicitly allowed."""
    # a key present with an invalid value (None here, already reported) still counts as
    # chosen, so one mistake does not also read as "no auth given"
    chosen = [
        k
        for k in ("key_file", "agent", "password_env", "password")
        if k in raw and raw[k] is not False
    ]
    if len(chosen) != 1:
        context.problem(
            where,
            "needs exactly one of key_file, agent: true, password_env"
            + (f" (found {', '.join(chosen)})" if chosen else ""),
        )
    return SshAuth(
        key_file=context.file(raw.get("key_file"), f"{where}.key_file"),
        agent=bool(raw.get("agent", False)),
        password_env=raw.get("password_env"),
        password=password(raw, where, allow_literal, context),
    )


ROUTERS = Section(
    name="routers",
    item=ROUTER_FIELD,
    build=build_router,
    defaults=DEFAULTS_FIELDS,
    order=10,
)

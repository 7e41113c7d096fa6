"""The `routers:` section of the inventory: what holdtime knows about one router."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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

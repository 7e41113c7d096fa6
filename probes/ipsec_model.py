"""The vendor-neutral IPsec model: IKE SAs with their child SAs, and configured connections.

strongSwan (probes/strongswan.py) and libreswan (probes/libreswan.py) are read into it; the
checks (checks/ipsec.py) only ever see this model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChildSa:
    """A CHILD_SA (IPsec SA): the data-plane half of a tunnel."""

    name: str
    unique_id: str  # strongSwan "#5", libreswan state serial "#2"
    state: str  # strongSwan INSTALLED/REKEYING/...; libreswan STATE_V2_ESTABLISHED_CHILD_SA
    installed: bool
    mode: str = ""  # TUNNEL, TUNNEL-in-UDP, TRANSPORT
    protocol: str = ""  # ESP, AH
    bytes_in: int | None = None
    bytes_out: int | None = None
    packets_in: int | None = None
    packets_out: int | None = None
    last_in_seconds: int | None = None  # last inbound traffic this long ago (None: never/unknown)
    last_out_seconds: int | None = None
    installed_seconds: int | None = None
    rekey_in_seconds: int | None = None
    expires_in_seconds: int | None = None
    local_ts: tuple[str, ...] = ()
    remote_ts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IkeSa:
    """An IKE SA (the control-plane half) with its child SAs."""

    name: str  # connection name, e.g. "esg1" (libreswan: without the [N] instance suffix)
    unique_id: str
    state: str
    established: bool
    version: str = ""  # IKEv1 / IKEv2
    local_host: str = ""
    remote_host: str = ""
    local_id: str = ""
    remote_id: str = ""
    instance: str = ""  # libreswan instance, e.g. "[2] 192.1.2.45"
    established_seconds: int | None = None
    rekey_in_seconds: int | None = None
    reauth_in_seconds: int | None = None
    expires_in_seconds: int | None = None
    children: tuple[ChildSa, ...] = ()


@dataclass(frozen=True, slots=True)
class ChildConfig:
    """A configured child (strongSwan `--list-conns`)."""

    name: str
    mode: str
    rekey_seconds: int | None
    local_ts: tuple[str, ...] = ()
    remote_ts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """A configured connection: what should exist even when no SA does."""

    name: str
    version: str = ""
    rekey_seconds: int | None = None  # IKE SA rekey interval (None: no rekeying/unknown)
    reauth_seconds: int | None = None
    local_addrs: tuple[str, ...] = ()
    remote_addrs: tuple[str, ...] = ()
    children: tuple[ChildConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class IpsecStatus:
    """Everything one IPsec stack reported: SAs and configured connections."""

    stack: str  # "strongswan" | "libreswan"
    ike_sas: tuple[IkeSa, ...] = ()
    connections: tuple[ConnectionConfig, ...] = ()

    def sas_named(self, name: str) -> tuple[IkeSa, ...]:
        """IKE SAs of one connection (a tunnel may have two during a rekey)."""
        return tuple(sa for sa in self.ike_sas if sa.name == name)

    def connection(self, name: str) -> ConnectionConfig | None:
        """The configured connection of that name, if listed."""
        return next((c for c in self.connections if c.name == name), None)


def merge(statuses: Iterable[IpsecStatus]) -> IpsecStatus:
    """One status from several (one charon per tunnel in the lab, one vici socket each)."""
    items = list(statuses)
    stack = items[0].stack if items else "strongswan"
    return IpsecStatus(
        stack=stack,
        ike_sas=tuple(sa for s in items for sa in s.ike_sas),
        connections=tuple(c for s in items for c in s.connections),
    )

"""The vendor-neutral IPsec model: IKE SAs with their child SAs, and configured connections.

Each IPsec platform's reader (probes/platforms.py: strongSwan's in probes/strongswan_reader.py,
libreswan's in probes/libreswan_reader.py) fills it; the checks (checks/ipsec.py) only ever see
this model. States keep the words the platform printed (the checks judge ``established`` and
``installed``, which every reader sets); counters are in bytes and packets, times in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChildSa:
    """A CHILD_SA (IPsec SA): the data-plane half of a tunnel."""

    name: str
    unique_id: str  # the platform's SA id, e.g. "#5"
    state: str  # as the platform printed it: INSTALLED, REKEYING, STATE_V2_ESTABLISHED_CHILD_SA
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

    name: str  # connection name, e.g. "esg1" (without an instance suffix such as "[2]")
    unique_id: str
    state: str
    established: bool
    version: str = ""  # IKEv1 / IKEv2
    local_host: str = ""
    remote_host: str = ""
    local_id: str = ""
    remote_id: str = ""
    instance: str = ""  # an instance of a template connection, e.g. "[2] 192.1.2.45"
    established_seconds: int | None = None
    rekey_in_seconds: int | None = None
    reauth_in_seconds: int | None = None
    expires_in_seconds: int | None = None
    children: tuple[ChildSa, ...] = ()


@dataclass(frozen=True, slots=True)
class ChildConfig:
    """A configured child SA of a connection."""

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

    stack: str  # the platform that reported it (probes/platforms.py), e.g. "strongswan"
    ike_sas: tuple[IkeSa, ...] = ()
    connections: tuple[ConnectionConfig, ...] = ()

    def sas_named(self, name: str) -> tuple[IkeSa, ...]:
        """IKE SAs of one connection (a tunnel may have two during a rekey)."""
        return tuple(sa for sa in self.ike_sas if sa.name == name)

    def connection(self, name: str) -> ConnectionConfig | None:
        """The configured connection of that name, if listed."""
        return next((c for c in self.connections if c.name == name), None)


def merge(statuses: Iterable[IpsecStatus]) -> IpsecStatus:
    """One status from several (one daemon per tunnel, or two IPsec platforms on one router)."""
    items = list(statuses)
    stack = items[0].stack if items else ""
    return IpsecStatus(
        stack=stack,
        ike_sas=tuple(sa for s in items for sa in s.ike_sas),
        connections=tuple(c for s in items for c in s.connections),
    )

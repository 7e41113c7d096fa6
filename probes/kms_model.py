"""What the kms probe observes on a vCenter: key providers, server status, protected objects.

Vendor-neutral dataclasses, and the pure functions that read them from the pyVmomi answers of
``ListKmipServers``, ``RetrieveKmipServersStatus_Task`` and one PropertyCollector pass over VMs
and hosts. Each part that could not be read keeps the reason (``*_error``): the checks that need
it say ERROR with that reason instead of judging a partial reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HEALTHY_STATUS = "green"  # ManagedEntity.Status of a server vCenter reaches and uses
STATUSES = ("green", "yellow", "red", "gray")  # vim.ManagedEntity.Status


@dataclass(frozen=True, slots=True)
class KmipServerEntry:
    """A KMIP server as the provider lists it (ListKmipServers)."""

    name: str
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class KeyProvider:
    """A key provider (KMS cluster) and whether vCenter uses it as the default."""

    name: str
    servers: tuple[KmipServerEntry, ...]
    is_default: bool


@dataclass(frozen=True, slots=True)
class Certificate:
    """CryptoManagerKmip.CertificateInfo: who, and how long it is valid (aware UTC)."""

    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """CryptoManagerKmip.ServerStatus of one KMIP server."""

    name: str
    status: str  # ManagedEntity.Status: green yellow red gray (anything else is kept as read)
    connection_status: str  # vCenter's own words, e.g. why it cannot connect
    certificate: Certificate | None
    client_trusts_server: bool | None  # does vCenter trust the server's certificate
    server_trusts_client: bool | None  # does the server accept vCenter's client certificate


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """CryptoManagerKmip.ClusterStatus: the servers' status and the client certificate."""

    name: str
    servers: tuple[ServerStatus, ...]
    client_certificate: Certificate | None


@dataclass(frozen=True, slots=True)
class ProtectedObject:
    """A VM or host whose encryption key comes from `provider`."""

    kind: str  # "vm" | "host"
    name: str
    provider: str | None  # None: a key id without a provider id (the check cannot place it)


@dataclass(frozen=True, slots=True)
class KmsObservation:
    """Everything the kms checks judge for one vCenter.

    ``providers`` is None when ListKmipServers failed (``providers_error`` says why), likewise
    ``statuses`` and ``objects``. ``observed_at`` is when the status was read (aware UTC): the
    certificate checks count days from it.
    """

    vcenter: str
    observed_at: dt.datetime
    providers: tuple[KeyProvider, ...] | None
    providers_error: str | None
    statuses: tuple[ProviderStatus, ...] | None
    statuses_error: str | None
    objects: tuple[ProtectedObject, ...] | None
    objects_error: str | None
    round_trips: int = 0

    def status_of(self, provider: str) -> ProviderStatus | None:
        """The status vCenter reported for a provider, if any."""
        return next((s for s in self.statuses or () if s.name == provider), None)


def _utc(value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValueError(f"not a date and time: {value!r}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def certificate_from(info: Any) -> Certificate | None:
    """A Certificate from a CryptoManagerKmip.CertificateInfo (None when unset)."""
    if info is None:
        return None
    return Certificate(
        subject=str(info.subject),
        issuer=str(info.issuer),
        not_before=_utc(info.notBefore),
        not_after=_utc(info.notAfter),
        fingerprint=str(info.fingerprint),
    )


def providers_from(clusters: Iterable[Any]) -> tuple[KeyProvider, ...]:
    """KeyProviders from ListKmipServers' KmipClusterInfo[]."""
    return tuple(
        KeyProvider(
            name=str(cluster.clusterId.id),
            servers=tuple(
                KmipServerEntry(name=str(s.name), address=str(s.address), port=int(s.port))
                for s in cluster.servers or ()
            ),
            is_default=bool(cluster.useAsDefault),
        )
        for cluster in clusters or ()
    )


def _optional_bool(value: object) -> bool | None:
    return None if value is None else bool(value)


def statuses_from(clusters: Iterable[Any]) -> tuple[ProviderStatus, ...]:
    """ProviderStatus from RetrieveKmipServersStatus_Task's ClusterStatus[]."""
    return tuple(
        ProviderStatus(
            name=str(cluster.clusterId.id),
            servers=tuple(
                ServerStatus(
                    name=str(s.name),
                    status=str(s.status),
                    connection_status=str(s.connectionStatus or ""),
                    certificate=certificate_from(s.certInfo),
                    client_trusts_server=_optional_bool(s.clientTrustServer),
                    server_trusts_client=_optional_bool(s.serverTrustClient),
                )
                for s in cluster.servers or ()
            ),
            client_certificate=certificate_from(cluster.clientCertInfo),
        )
        for cluster in clusters or ()
    )


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """One VM or host of the PropertyCollector answer: its type and the properties read."""

    kind: str  # "VirtualMachine" | "HostSystem"
    properties: Mapping[str, Any]


KEY_PATHS = {"VirtualMachine": "config.keyId", "HostSystem": "runtime.cryptoKeyId"}
_KINDS = {"VirtualMachine": "vm", "HostSystem": "host"}


def protected_from(records: Sequence[ObjectRecord]) -> tuple[ProtectedObject, ...]:
    """The VMs and hosts that carry a key id, with the provider it names (sorted)."""
    protected = []
    for record in records:
        key = record.properties.get(KEY_PATHS[record.kind])
        if key is None:
            continue
        provider = getattr(key, "providerId", None)
        protected.append(
            ProtectedObject(
                kind=_KINDS[record.kind],
                name=str(record.properties.get("name", "")),
                provider=str(provider.id) if provider is not None else None,
            )
        )
    return tuple(sorted(protected, key=lambda o: (o.kind, o.name)))

"""TLS probe: one verifying handshake per `tls:` endpoint (see holdtime.probes.tls_handshake)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from holdtime.plugins import Target
from holdtime.probes.tls_config import TLS, TlsEndpoint
from holdtime.probes.tls_handshake import TlsObservation, handshake

if TYPE_CHECKING:
    from holdtime.inventory import Inventory


class TlsProbe:
    """Probe plugin `tls`: one target per `tls:` inventory entry."""

    name = "tls"
    section = TLS

    def targets(self, inventory: Inventory) -> Sequence[Target[TlsEndpoint]]:
        """One Target per endpoint; deadline = the handshake budget + 1 s slack."""
        return [
            Target(
                name=f"{entry.name}/{entry.host}:{entry.port}",
                device=entry.name,
                config=entry,
                timeout_seconds=entry.timeout_seconds + 1.0,
            )
            for entry in inventory.of(TlsEndpoint)
        ]

    def collect(self, target: Target[TlsEndpoint], timeout_seconds: float) -> TlsObservation:
        """Handshake once, inside the entry's netns if it names one."""
        entry = target.config
        return handshake(
            entry.host,
            entry.port,
            server_name=entry.verify_name,
            ca_file=str(entry.ca_file) if entry.ca_file else "",
            timeout_seconds=entry.timeout_seconds,
            netns_name=entry.netns,
        )

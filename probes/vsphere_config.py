"""The `vcenters:` section of the inventory: one vCenter (or vcsim) and its policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class VCenterExpect:
    """vSphere policy: NFS paths and SIOC threshold bounds."""

    nfs_min_paths: int = 2
    sioc_threshold_ms_min: float = 5.0
    sioc_threshold_ms_max: float = 100.0
    require_healthcheck: bool = True


@dataclass(frozen=True, slots=True)
class VCenter:
    """A vCenter (or vcsim) reached with pyVmomi."""

    name: str
    host: str
    username: str
    port: int = 443
    password_env: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)
    verify_tls: bool = True
    ca_file: Path | None = None
    expect: VCenterExpect = VCenterExpect()

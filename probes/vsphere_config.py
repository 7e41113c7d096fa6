"""The `vcenters:` section of the inventory: one vCenter (or vcsim) and its policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holdtime.sections import BuildContext, Section, password
from holdtime.yaml_schema import Field


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


_DEFAULT_VCENTER = VCenter(name="", host="", username="")
_DEFAULT_EXPECT = VCenterExpect()

VCENTER_FIELD = Field(
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


def build_vcenter(raw: Mapping[str, Any], where: str, context: BuildContext) -> VCenter:
    """One `vcenters:` entry: exactly one password source, TLS verified unless insecure."""
    if ("password_env" in raw) == ("password" in raw):
        context.problem(where, "needs exactly one of password_env or password")
    insecure, verify = raw.get("insecure"), raw.get("verify_tls")
    if insecure is True and verify is True:
        context.problem(where, "insecure: true contradicts verify_tls: true")
    expect = raw.get("expect") or {}
    threshold = ((expect.get("sioc") or {}).get("threshold_ms")) or {}
    low = threshold.get("min", _DEFAULT_EXPECT.sioc_threshold_ms_min)
    high = threshold.get("max", _DEFAULT_EXPECT.sioc_threshold_ms_max)
    if low is not None and high is not None and low > high:
        context.problem(f"{where}.expect.sioc.threshold_ms", f"min {low} is above max {high}")
    return VCenter(
        name=raw.get("name") or where,
        host=raw.get("host") or "",
        username=raw.get("username") or "",
        port=raw.get("port") or _DEFAULT_VCENTER.port,
        password_env=raw.get("password_env"),
        password=password(raw, where, raw.get("allow_literal_password"), context),
        verify_tls=not insecure if insecure is not None else (verify is not False),
        ca_file=context.file(raw.get("ca_file"), f"{where}.ca_file"),
        expect=VCenterExpect(
            nfs_min_paths=(expect.get("nfs") or {}).get("min_paths", _DEFAULT_EXPECT.nfs_min_paths),
            sioc_threshold_ms_min=low or _DEFAULT_EXPECT.sioc_threshold_ms_min,
            sioc_threshold_ms_max=high or _DEFAULT_EXPECT.sioc_threshold_ms_max,
            require_healthcheck=(expect.get("vds") or {}).get(
                "require_healthcheck", _DEFAULT_EXPECT.require_healthcheck
            ),
        ),
    )


VCENTERS = Section(name="vcenters", item=VCENTER_FIELD, build=build_vcenter, order=20)

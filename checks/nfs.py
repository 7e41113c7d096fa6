"""NFS datastore checks: version, multipathing, mixed versions, accessibility, consistent server.

Why these matter: NFS 3 has one server address and ESXi does not re-resolve a hostname after a
connection failure, so DNS-based failover does not help; NFS 4.1 can multipath (several
``remoteHostNames``) but has no SIOC, so a 4.1 datastore with one address has neither
protection; the same share mounted as NFS 3 on some hosts and 4.1 on others corrupts data (the
two protocols lock differently).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from holdtime.checks.kit import default_of, result
from holdtime.checks.vsphere_kit import VsphereCheck, no_nfs
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.vsphere_config import VCenter, VCenterExpect
from holdtime.probes.vsphere_model import Datastore, VsphereObservation

_COPY_SUFFIX = re.compile(r"\s+\(\d+\)$")  # vCenter names a second datastore "ds (1)"


def is_ip_address(text: str) -> bool:
    """True for an IPv4/IPv6 literal, False for a host name."""
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def share_label(datastore: Datastore) -> str:
    """server:path as an operator writes it (4.1: servers joined with commas)."""
    return f"{','.join(datastore.server_addresses)}:{datastore.remote_path}"


def _normal_path(path: str) -> str:
    return re.sub(r"/+", "/", path).rstrip("/") or "/"


def _normal_server(server: str) -> str:
    return server.strip().lower().rstrip(".")


def share_groups(datastores: Sequence[Datastore]) -> list[list[Datastore]]:
    """Datastores that are one share: same server and path after normalising, or same name.

    vCenter creates a separate datastore object for every spelling and protocol version of
    a share (and names the copy "ds (1)"), so spellings are joined through both keys.
    """
    parent = list(range(len(datastores)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[tuple[str, str], int] = {}
    for index, datastore in enumerate(datastores):
        keys = [("name", _COPY_SUFFIX.sub("", datastore.name))]
        keys += [
            ("share", f"{_normal_server(s)}:{_normal_path(datastore.remote_path)}")
            for s in datastore.server_addresses
        ]
        for key in keys:
            if key in first_by_key:
                parent[find(index)] = find(first_by_key[key])
            else:
                first_by_key[key] = index
    groups: dict[int, list[Datastore]] = {}
    for index, datastore in enumerate(datastores):
        groups.setdefault(find(index), []).append(datastore)
    return sorted(groups.values(), key=lambda g: (g[0].name, share_label(g[0])))


def _datastore_observed(datastore: Datastore) -> dict[str, object]:
    return {
        "datastore": datastore.name,
        "version": datastore.nfs_version,
        "server_addresses": list(datastore.server_addresses),
        "remote_path": datastore.remote_path,
    }


class NfsVersionCheck(VsphereCheck):
    """Reports each NFS datastore's version; WARN when NFS 3 is mounted by host name."""

    name = "nfs.version"
    summary = "NFS version per datastore; NFS 3 should be mounted by IP address."
    compares = "summary.type and info.nas.remoteHost of every NFS datastore"
    statuses = {
        "pass": "NFS 4.1, or NFS 3 mounted by IP address",
        "warn": "NFS 3 mounted by host name: ESXi never re-resolves it after a failure",
        "skip": "the vCenter has no NFS datastores",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per NFS datastore."""
        if not observation.nfs_datastores:
            return no_nfs(self.name, target)
        out = []
        for ds in observation.nfs_datastores:
            observed = _datastore_observed(ds)
            suffix = f"ds:{ds.name}"
            where = share_label(ds)
            if ds.nfs_version == "3" and not is_ip_address(ds.remote_host):
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.WARN,
                        f"NFS 3 mounted by host name {ds.remote_host}",
                        observed=observed,
                        expected={"server": "IP address"},
                        reasons=(
                            f"{ds.name} mounts {where} by name: ESXi resolves {ds.remote_host} "
                            "once and does not re-resolve it after a connection failure, so "
                            "DNS-based failover does not help; mount by IP address",
                        ),
                    )
                )
                continue
            out.append(
                result(
                    self.name,
                    target,
                    suffix,
                    Status.PASS,
                    f"NFS {ds.nfs_version} from {where}",
                    observed=observed,
                )
            )
        return out


class NfsMultipathCheck(VsphereCheck):
    """NFS 4.1 datastores must list at least `min_paths` server addresses."""

    name = "nfs.multipath"
    summary = "NFS 4.1 datastores are multipathed (enough server addresses)."
    compares = "len(info.nas.remoteHostNames) of NFS 4.1 datastores against min_paths"
    thresholds = (
        Threshold(
            "nfs_min_paths",
            default_of(VCenterExpect, "nfs_min_paths"),
            "addresses",
            "fewest server addresses",
        ),
    )
    statuses = {
        "pass": "NFS 4.1 with at least min_paths server addresses",
        "fail": "NFS 4.1 with fewer addresses: neither multipathing nor SIOC protects it",
        "skip": "NFS 3 (one address by design; SIOC is its protection) or no NFS",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per NFS datastore."""
        if not observation.nfs_datastores:
            return no_nfs(self.name, target)
        min_paths = target.config.expect.nfs_min_paths
        out = []
        for ds in observation.nfs_datastores:
            observed = _datastore_observed(ds)
            expected = {"min_paths": min_paths}
            suffix = f"ds:{ds.name}"
            count = len(ds.server_addresses)
            if ds.nfs_version == "3":
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.SKIP,
                        "NFS 3 cannot multipath (one server address); see sioc.enabled",
                        observed=observed,
                        expected=expected,
                    )
                )
            elif count < min_paths:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.FAIL,
                        f"NFS 4.1 with {count} server address(es), want {min_paths}",
                        observed=observed,
                        expected=expected,
                        reasons=(
                            f"{ds.name} ({share_label(ds)}) has {count} server address(es): "
                            "no multipathing, and NFS 4.1 has no SIOC either, so nothing "
                            "protects it from a path failure or from overrunning the array",
                        ),
                    )
                )
            else:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.PASS,
                        f"NFS 4.1 with {count} server addresses",
                        observed=observed,
                        expected=expected,
                    )
                )
        return out


class NfsMixedVersionsCheck(VsphereCheck):
    """One share must be mounted with one NFS version on every host."""

    name = "nfs.mixed_versions"
    summary = "No share is mounted as NFS 3 on some hosts and NFS 4.1 on others."
    compares = "NFS version of every datastore of one share (same server:path or name)"
    statuses = {
        "pass": "every host mounts the share with the same version",
        "fail": "mixed NFS 3 / 4.1 mounts of one share: data corruption (names hosts)",
        "skip": "the vCenter has no NFS datastores",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per share."""
        if not observation.nfs_datastores:
            return no_nfs(self.name, target)
        out = []
        for group in share_groups(observation.nfs_datastores):
            by_version: dict[str, list[str]] = {}
            for ds in group:
                by_version.setdefault(str(ds.nfs_version), []).extend(m.host for m in ds.mounts)
            hosts_by_version = {v: sorted(set(h)) for v, h in sorted(by_version.items())}
            observed: dict[str, object] = {
                "share": share_label(group[0]),
                "datastores": [d.name for d in group],
                "hosts_by_version": hosts_by_version,
            }
            suffix = f"share:{share_label(group[0])}"
            if len(hosts_by_version) > 1:
                named = "; ".join(
                    f"NFS {v} on {', '.join(h) or 'no host'}" for v, h in hosts_by_version.items()
                )
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.FAIL,
                        f"share {share_label(group[0])} mounted with mixed versions: {named}",
                        observed=observed,
                        expected={"versions": 1},
                        reasons=(
                            f"{named}: NFS 3 and NFS 4.1 use different locking, mounting one "
                            "share with both corrupts data; mount it with one version everywhere",
                        ),
                    )
                )
            else:
                version = next(iter(hosts_by_version))
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.PASS,
                        f"NFS {version} on every host mounting it",
                        observed=observed,
                        expected={"versions": 1},
                    )
                )
        return out


class NfsAccessibleCheck(VsphereCheck):
    """Every host that mounts an NFS datastore must see it accessible."""

    name = "nfs.accessible"
    summary = "Each NFS datastore is mounted and accessible on every host that has it."
    compares = "datastore.host[].mountInfo.mounted / accessible"
    statuses = {
        "pass": "mounted and accessible on every host",
        "warn": "mounted on no host",
        "fail": "unmounted or inaccessible on a host (names hosts and reason)",
        "skip": "the vCenter has no NFS datastores",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per NFS datastore."""
        if not observation.nfs_datastores:
            return no_nfs(self.name, target)
        out = []
        for ds in observation.nfs_datastores:
            bad = [m for m in ds.mounts if not (m.mounted and m.accessible)]
            observed = {
                **_datastore_observed(ds),
                "hosts": [m.host for m in ds.mounts],
                "inaccessible_hosts": [m.host for m in bad],
            }
            suffix = f"ds:{ds.name}"
            if not ds.mounts:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.WARN,
                        "mounted on no host",
                        observed=observed,
                    )
                )
            elif bad:
                reasons = [
                    f"{ds.name} {'inaccessible' if m.mounted else 'not mounted'} on {m.host}"
                    + (f" ({m.inaccessible_reason})" if m.inaccessible_reason else "")
                    for m in bad
                ]
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.FAIL,
                        f"inaccessible on {', '.join(m.host for m in bad)}",
                        observed=observed,
                        expected={"accessible_on": "every host"},
                        reasons=reasons,
                    )
                )
            else:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.PASS,
                        f"accessible on {len(ds.mounts)} host(s)",
                        observed=observed,
                    )
                )
        return out


class NfsConsistentServerCheck(VsphereCheck):
    """An NFS 3 share must be mounted with the same server and path spelling on every host."""

    name = "nfs.consistent_server"
    summary = "NFS 3 shares use one spelling of server and path on every host."
    compares = "info.nas.remoteHost and remotePath of the datastores of one share"
    statuses = {
        "pass": "one spelling",
        "warn": "several spellings: vCenter sees separate datastores ('ds (1)'), "
        "breaking vMotion, HA and SIOC across them",
        "skip": "the vCenter has no NFS datastores",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per share that has NFS 3 datastores."""
        if not observation.nfs_datastores:
            return no_nfs(self.name, target)
        out = []
        for group in share_groups(observation.nfs_datastores):
            v3 = [d for d in group if d.nfs_version == "3"]
            if not v3:
                continue
            spellings: dict[str, list[str]] = {}
            for ds in v3:
                spellings.setdefault(share_label(ds), []).extend(m.host for m in ds.mounts)
            observed: dict[str, object] = {
                "share": share_label(v3[0]),
                "spellings": {s: sorted(set(h)) for s, h in sorted(spellings.items())},
            }
            suffix = f"share:{share_label(v3[0])}"
            if len(spellings) > 1:
                reasons = [
                    f"{spelling} on {', '.join(sorted(set(hosts))) or 'no host'}"
                    for spelling, hosts in sorted(spellings.items())
                ]
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.WARN,
                        f"{len(spellings)} spellings of one NFS 3 share",
                        observed=observed,
                        expected={"spellings": 1},
                        reasons=[
                            *reasons,
                            "vCenter treats each spelling as a separate datastore: "
                            "mount with identical server and path everywhere",
                        ],
                    )
                )
            else:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.PASS,
                        f"one spelling: {next(iter(spellings))}",
                        observed=observed,
                        expected={"spellings": 1},
                    )
                )
        return out

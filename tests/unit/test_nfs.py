"""Unit tests of the nfs.* checks on hand-built observations (no vCenter)."""

from __future__ import annotations

from holdtime.checks.nfs import (
    NfsAccessibleCheck,
    NfsConsistentServerCheck,
    NfsMixedVersionsCheck,
    NfsMultipathCheck,
    NfsVersionCheck,
    share_groups,
)
from holdtime.plugins import Target
from holdtime.probes.vsphere_config import VCenter, VCenterExpect
from holdtime.probes.vsphere_model import Datastore, HostMount, VsphereObservation


def vcenter(policy: VCenterExpect) -> Target[VCenter]:
    """The target of vCenter `vc` with the given policy."""
    config = VCenter(name="vc", host="vc.example", username="u", expect=policy)
    return Target(name="vc", device="vc", config=config)


TARGET = vcenter(VCenterExpect(nfs_min_paths=2))


def mounts(*hosts: str, down: str = "") -> tuple[HostMount, ...]:
    """Host mounts, accessible except on `down`."""
    return tuple(HostMount(h, True, h != down, "" if h != down else "AllPathsDown") for h in hosts)


def obs(*datastores: Datastore) -> VsphereObservation:
    """An observation holding only datastores."""
    return VsphereObservation(vcenter="vc", datastores=datastores)


def status(results: object) -> list[tuple[str, str]]:
    """(target, status) pairs."""
    return [(r.target, r.status.value) for r in results]  # type: ignore[attr-defined]


V3_IP = Datastore("a", "1", "NFS", "10.0.0.1", (), "/vol/a", mounts("h1", "h2"))
V3_NAME = Datastore("b", "2", "NFS", "nas.example", (), "/vol/b", mounts("h1"))
V41_ONE = Datastore("c", "3", "NFS41", "10.0.0.3", ("10.0.0.3",), "/vol/c", mounts("h1"))
V41_TWO = Datastore("d", "4", "NFS41", "10.0.0.4", ("10.0.0.4", "10.0.0.5"), "/vol/d")


def test_version_warns_on_nfs3_by_host_name() -> None:
    """NFS 3 by IP passes, by host name warns; 4.1 passes."""
    results = NfsVersionCheck().evaluate(TARGET, obs(V3_IP, V3_NAME, V41_ONE))
    assert [("vc/ds:a", "pass"), ("vc/ds:b", "warn"), ("vc/ds:c", "pass")] == status(results)


def test_multipath_fails_below_min_paths() -> None:
    """4.1 with one address fails, with two passes, v3 is skipped."""
    results = NfsMultipathCheck().evaluate(TARGET, obs(V3_IP, V41_ONE, V41_TWO))
    assert [("vc/ds:a", "skip"), ("vc/ds:c", "fail"), ("vc/ds:d", "pass")] == status(results)


def test_multipath_min_paths_from_expectations() -> None:
    """nfs_min_paths 3 turns a two-address 4.1 datastore into a FAIL."""
    target = vcenter(VCenterExpect(nfs_min_paths=3))
    assert [("vc/ds:d", "fail")] == status(NfsMultipathCheck().evaluate(target, obs(V41_TWO)))


def test_mixed_versions_names_hosts() -> None:
    """v3 on h1 and v4.1 on h2 of one share: FAIL naming both."""
    v3 = Datastore("s", "5", "NFS", "10.0.0.9", (), "/vol/s", mounts("h1"))
    v41 = Datastore("s (1)", "6", "NFS41", "10.0.0.9", ("10.0.0.9",), "/vol/s", mounts("h2"))
    [result] = NfsMixedVersionsCheck().evaluate(TARGET, obs(v3, v41))
    assert "share 10.0.0.9:/vol/s mounted with mixed versions: NFS 3 on h1; NFS 4.1 on h2" == (
        result.summary
    )


def test_accessible_fails_naming_host_and_reason() -> None:
    """A mount inaccessible on h2 fails with its reason."""
    ds = Datastore("e", "7", "NFS", "10.0.0.7", (), "/vol/e", mounts("h1", "h2", down="h2"))
    [result] = NfsAccessibleCheck().evaluate(TARGET, obs(ds))
    assert ("fail", ("e inaccessible on h2 (AllPathsDown)",)) == (
        result.status.value,
        result.reasons,
    )


def test_consistent_server_groups_spellings_by_name() -> None:
    """IP and host name of one share, joined by datastore name: WARN listing both."""
    by_ip = Datastore("f", "8", "NFS", "10.0.0.8", (), "/vol/f/", mounts("h1"))
    by_name = Datastore("f (1)", "9", "NFS", "NAS8.example.", (), "/vol/f", mounts("h2"))
    [result] = NfsConsistentServerCheck().evaluate(TARGET, obs(by_ip, by_name))
    assert {"10.0.0.8:/vol/f/": ["h1"], "NAS8.example.:/vol/f": ["h2"]} == result.observed[
        "spellings"
    ]
    assert "warn" == result.status.value


def test_share_groups_normalise_case_and_slashes() -> None:
    """Server case, a trailing dot and slashes do not split a share."""
    one = Datastore("x", "1", "NFS", "Nas.Example.", (), "//vol//x/")
    two = Datastore("y", "2", "NFS", "nas.example", (), "/vol/x")
    assert [["x", "y"]] == [[d.name for d in g] for g in share_groups([one, two])]


def test_no_nfs_datastores_is_one_skip() -> None:
    """A vCenter without NFS datastores yields one SKIP per check."""
    vmfs = Datastore("v", "10", "VMFS")
    assert [("vc", "skip")] == status(NfsVersionCheck().evaluate(TARGET, obs(vmfs)))

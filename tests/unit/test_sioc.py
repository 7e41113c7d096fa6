"""Unit tests of the sioc.* checks on hand-built observations (no vCenter)."""

from __future__ import annotations

from holdtime.checks.sioc import NFS41_UNSUPPORTED, SiocEnabledCheck, SiocThresholdCheck
from holdtime.plugins import Target
from holdtime.probes.vsphere_config import VCenter, VCenterExpect
from holdtime.probes.vsphere_model import Datastore, SiocConfig, VsphereObservation

TARGET = Target(
    name="vc",
    device="vc",
    config=VCenter(
        name="vc",
        host="vc.example",
        username="u",
        expect=VCenterExpect(sioc_threshold_ms_min=10.0, sioc_threshold_ms_max=50.0),
    ),
)


def v3(name: str, sioc: SiocConfig | None) -> Datastore:
    """An NFS 3 datastore with the given SIOC config."""
    return Datastore(name, name, "NFS", "10.0.0.1", (), f"/vol/{name}", (), sioc)


def verdicts(check: object, *datastores: Datastore) -> dict[str, str]:
    """target -> status for one check."""
    results = check.evaluate(TARGET, VsphereObservation("vc", datastores))  # type: ignore[attr-defined]
    return {r.target: r.status.value for r in results}


def test_enabled_pass_fail_warn() -> None:
    """v3 on passes, v3 off or unreported fails, v4.1 warns."""
    v41 = Datastore("four", "4", "NFS41", "10.0.0.2", ("10.0.0.2", "10.0.0.3"), "/vol/4")
    assert {
        "vc/ds:on": "pass",
        "vc/ds:off": "fail",
        "vc/ds:unknown": "fail",
        "vc/ds:four": "warn",
    } == verdicts(
        SiocEnabledCheck(),
        v3("on", SiocConfig(True, "manual", 30, None)),
        v3("off", SiocConfig(False, "manual", 30, None)),
        v3("unknown", None),
        v41,
    )


def test_nfs41_warning_text() -> None:
    """The NFS 4.1 WARN says SIOC is not supported."""
    v41 = Datastore("four", "4", "NFS41", "10.0.0.2", ("10.0.0.2",), "/vol/4")
    [result] = SiocEnabledCheck().evaluate(TARGET, VsphereObservation("vc", (v41,)))
    assert NFS41_UNSUPPORTED == result.summary


def test_threshold_bounds_and_automatic() -> None:
    """Manual within 10-50 passes, outside fails; automatic needs 50-100 percent."""
    assert {
        "vc/ds:low": "fail",
        "vc/ds:edge": "pass",
        "vc/ds:high": "fail",
        "vc/ds:auto": "pass",
        "vc/ds:auto-bad": "fail",
        "vc/ds:off": "skip",
    } == verdicts(
        SiocThresholdCheck(),
        v3("low", SiocConfig(True, "manual", 5, None)),
        v3("edge", SiocConfig(True, "manual", 50, None)),
        v3("high", SiocConfig(True, "manual", 51, None)),
        v3("auto", SiocConfig(True, "automatic", 30, 90)),
        v3("auto-bad", SiocConfig(True, "automatic", 30, None)),
        v3("off", SiocConfig(False, "manual", 30, None)),
    )

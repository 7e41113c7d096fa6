"""Storage I/O Control checks on NFS datastores: enabled on NFS 3, threshold within policy.

NFS 3 cannot multipath, so SIOC is what keeps hosts from overrunning the array's IOPS when
latency climbs; NFS 4.1 does not support SIOC at all (WARN: no congestion control).
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import default_of, result
from holdtime.checks.vsphere_kit import VsphereCheck, no_nfs
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.vsphere_config import VCenter, VCenterExpect
from holdtime.probes.vsphere_model import Datastore, VsphereObservation

# vSphere accepts 50-100 % of peak throughput in automatic mode.
PEAK_PERCENT_MIN = 50
PEAK_PERCENT_MAX = 100
NFS41_UNSUPPORTED = "SIOC not supported on NFS 4.1: no congestion control"


def _observed(ds: Datastore) -> dict[str, object]:
    sioc = ds.sioc
    return {
        "datastore": ds.name,
        "version": ds.nfs_version,
        "enabled": sioc.enabled if sioc else None,
        "threshold_mode": sioc.threshold_mode if sioc else None,
        "congestion_threshold_ms": sioc.threshold_ms if sioc else None,
        "peak_throughput_percent": sioc.peak_throughput_percent if sioc else None,
    }


class SiocEnabledCheck(VsphereCheck):
    """NFS 3 datastores must have SIOC enabled; NFS 4.1 is reported as unprotected."""

    name = "sioc.enabled"
    summary = "Storage I/O Control is enabled on every NFS 3 datastore."
    compares = "datastore.iormConfiguration.enabled of NFS datastores"
    statuses = {
        "pass": "NFS 3 with SIOC enabled",
        "warn": NFS41_UNSUPPORTED,
        "fail": "NFS 3 without SIOC (or not reported): hosts can overrun the array",
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
            suffix = f"ds:{ds.name}"
            observed = _observed(ds)
            if ds.nfs_version == "4.1":
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.WARN,
                        NFS41_UNSUPPORTED,
                        observed=observed,
                        expected={},
                        reasons=(
                            f"{ds.name} is NFS 4.1: {NFS41_UNSUPPORTED}; rely on multipathing "
                            "(nfs.multipath) and the array's own QoS",
                        ),
                    )
                )
            elif ds.sioc is not None and ds.sioc.enabled:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.PASS,
                        "SIOC enabled",
                        observed=observed,
                        expected={"enabled": True},
                    )
                )
            else:
                state = "not reported" if ds.sioc is None else "disabled"
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.FAIL,
                        f"SIOC {state} on NFS 3 datastore",
                        observed=observed,
                        expected={"enabled": True},
                        reasons=(
                            f"{ds.name} is NFS 3 (no multipathing) with SIOC {state}: nothing "
                            "throttles the hosts when the array's latency climbs, they can "
                            "overrun its IOPS",
                        ),
                    )
                )
        return out


class SiocThresholdCheck(VsphereCheck):
    """SIOC's congestion threshold follows policy: manual ms within bounds, or automatic."""

    name = "sioc.threshold"
    summary = "SIOC congestion threshold is a tested value."
    compares = (
        "iormConfiguration.congestionThresholdMode / congestionThreshold / "
        "percentOfPeakThroughput of NFS 3 datastores with SIOC enabled"
    )
    thresholds = (
        Threshold(
            "sioc_threshold_ms_min",
            default_of(VCenterExpect, "sioc_threshold_ms_min"),
            "ms",
            "manual lowest",
        ),
        Threshold(
            "sioc_threshold_ms_max",
            default_of(VCenterExpect, "sioc_threshold_ms_max"),
            "ms",
            "manual highest",
        ),
        Threshold(
            "peak_throughput_percent",
            f"{PEAK_PERCENT_MIN}-{PEAK_PERCENT_MAX}",
            "percent",
            "automatic mode: share of peak throughput",
        ),
    )
    statuses = {
        "pass": "manual within bounds, or automatic with a peak-throughput percent",
        "fail": "manual outside bounds, or automatic without a valid percent",
        "skip": "SIOC disabled (see sioc.enabled), NFS 4.1, or no NFS",
    }

    def evaluate(
        self, target: Target[VCenter], observation: VsphereObservation
    ) -> Sequence[CheckResult]:
        """One result per NFS datastore."""
        if not observation.nfs_datastores:
            return no_nfs(self.name, target)
        policy = target.config.expect
        low, high = policy.sioc_threshold_ms_min, policy.sioc_threshold_ms_max
        expected = {"threshold_ms_min": low, "threshold_ms_max": high}
        out = []
        for ds in observation.nfs_datastores:
            suffix = f"ds:{ds.name}"
            observed = _observed(ds)
            sioc = ds.sioc
            if ds.nfs_version == "4.1":
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.SKIP,
                        NFS41_UNSUPPORTED,
                        observed=observed,
                        expected=expected,
                    )
                )
                continue
            if sioc is None or not sioc.enabled:
                out.append(
                    result(
                        self.name,
                        target,
                        suffix,
                        Status.SKIP,
                        "SIOC disabled; see sioc.enabled",
                        observed=observed,
                        expected=expected,
                    )
                )
                continue
            if sioc.threshold_mode == "automatic":
                percent = sioc.peak_throughput_percent
                if percent is not None and PEAK_PERCENT_MIN <= percent <= PEAK_PERCENT_MAX:
                    out.append(
                        result(
                            self.name,
                            target,
                            suffix,
                            Status.PASS,
                            f"automatic at {percent}% of peak throughput",
                            observed=observed,
                            expected=expected,
                        )
                    )
                else:
                    out.append(
                        result(
                            self.name,
                            target,
                            suffix,
                            Status.FAIL,
                            f"automatic mode with peak-throughput percent {percent}",
                            observed=observed,
                            expected=expected,
                            reasons=(
                                f"{ds.name}: automatic SIOC needs percentOfPeakThroughput "
                                f"{PEAK_PERCENT_MIN}-{PEAK_PERCENT_MAX}, got {percent}",
                            ),
                        )
                    )
                continue
            threshold = sioc.threshold_ms
            if sioc.threshold_mode == "manual" and threshold is not None:
                if low <= threshold <= high:
                    out.append(
                        result(
                            self.name,
                            target,
                            suffix,
                            Status.PASS,
                            f"manual threshold {threshold} ms",
                            observed=observed,
                            expected=expected,
                        )
                    )
                else:
                    out.append(
                        result(
                            self.name,
                            target,
                            suffix,
                            Status.FAIL,
                            f"manual threshold {threshold} ms outside {low:g}-{high:g} ms",
                            observed=observed,
                            expected=expected,
                            reasons=(
                                f"{ds.name}: congestion threshold {threshold} ms is outside the "
                                f"tested {low:g}-{high:g} ms: too high lets latency build up "
                                "before SIOC throttles, too low throttles a healthy array",
                            ),
                        )
                    )
                continue
            out.append(
                result(
                    self.name,
                    target,
                    suffix,
                    Status.FAIL,
                    f"threshold mode {sioc.threshold_mode or 'not reported'}",
                    observed=observed,
                    expected=expected,
                    reasons=(f"{ds.name}: SIOC threshold mode/value not reported: cannot verify",),
                )
            )
        return out

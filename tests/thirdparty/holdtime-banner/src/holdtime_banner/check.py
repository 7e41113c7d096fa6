"""Check `banner.matches`: the service greets with a line containing the expected text."""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import BaseCheck, default_of, result
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime_banner.probe import Banner, BannerObservation


class BannerMatchesCheck(BaseCheck[Banner, BannerObservation]):
    """PASS when the first line contains `expect_contains`, FAIL otherwise."""

    name = "banner.matches"
    probe = "banner"
    summary = "The service's greeting line contains the expected text."
    compares = "first line received after connect vs banners[].expect_contains"
    thresholds = (
        Threshold(
            "timeout_seconds", default_of(Banner, "timeout_seconds"), "s", "connect and read"
        ),
    )
    statuses = {"pass": "the text is in the line", "fail": "it is not"}
    metrics = (
        MetricSpec(
            "banner.matches",
            "holdtime_banner_latency_seconds",
            GAUGE,
            "Seconds from connect to the first line of the service's banner.",
            value="latency_seconds",
        ),
    )

    def expected_targets(self, target: Target[Banner]) -> Sequence[str]:
        """One result per entry, under the target's own name."""
        return [target.name]

    def evaluate(
        self, target: Target[Banner], observation: BannerObservation
    ) -> Sequence[CheckResult]:
        """Compare the line with the expectation."""
        wanted = target.config.expect_contains
        matched = wanted in observation.line
        verb = "contains" if matched else "lacks"
        return [
            result(
                self.name,
                target,
                "",
                Status.PASS if matched else Status.FAIL,
                f"banner {observation.line!r} {verb} {wanted!r}",
                observed={"line": observation.line, "latency_seconds": observation.latency_seconds},
                expected={"contains": wanted},
            )
        ]

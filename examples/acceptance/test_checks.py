"""Run holdtime's own checks from a test: every BGP and IPsec check of the inventory passes."""

from __future__ import annotations

from collections.abc import Callable

from holdtime.models import RunResult, Status


def test_no_bgp_or_ipsec_check_fails(holdtime_run: Callable[..., RunResult]) -> None:
    """No bgp.* or ipsec.* check FAILs or ERRORs (one summary test for a dashboard)."""
    run = holdtime_run(checks=["bgp.*", "ipsec.*"])
    bad = [
        f"{r.test_id}: {r.summary}" for r in run.results if r.status in (Status.FAIL, Status.ERROR)
    ]
    assert bad == []

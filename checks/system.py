"""Check `system.ip_forwarding`: the router forwards IPv4 (or does not, where told so)."""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import result
from holdtime.checks.router_kit import RouterCheck, section_error
from holdtime.errors import ParseError
from holdtime.models import CheckResult, Status, error_result
from holdtime.plugins import Target
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import Router

_WORD = {True: "enabled", False: "disabled"}


class IpForwardingCheck(RouterCheck):
    """PASS when net.ipv4.ip_forward matches the expectation (on, unless told otherwise)."""

    name = "system.ip_forwarding"
    reads = ("system",)
    summary = (
        "IPv4 forwarding is enabled on the router (a router that does not forward drops every "
        "transit packet while BGP and IPsec look healthy)."
    )
    compares = "`sysctl net.ipv4.ip_forward` against expect.ip_forwarding (default true)"
    statuses = {
        "pass": "the value matches",
        "fail": "forwarding is off (or on where expect.ip_forwarding is false)",
        "error": "the sysctl could not be read",
    }

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """Compare the sysctl with the expectation."""
        error = section_error(self.name, target, observation.errors, "system")
        if error is not None:
            return [error]
        # expect.ip_forwarding unset (None) means a router: forwarding on
        wanted = target.config.expect.ip_forwarding is not False
        actual = observation.ip_forward
        if actual is None:
            # not read (the section was skipped): unknown is neither enabled nor disabled
            return [
                error_result(
                    self.name,
                    target.name,
                    ParseError(f"{target.device}: `sysctl net.ipv4.ip_forward` was not read"),
                    device=target.device,
                )
            ]
        observed = {"ip_forward": actual}
        expected = {"ip_forward": wanted}
        if actual is wanted:
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.PASS,
                    f"IPv4 forwarding {_WORD[actual]}",
                    observed=observed,
                    expected=expected,
                )
            ]
        return [
            result(
                self.name,
                target,
                "",
                Status.FAIL,
                f"IPv4 forwarding is {_WORD[actual]}, expected {_WORD[wanted]}",
                observed=observed,
                expected=expected,
                reasons=(
                    "net.ipv4.ip_forward = 0: the router drops transit traffic"
                    if wanted
                    else "net.ipv4.ip_forward = 1 on a host expected not to route",
                ),
            )
        ]

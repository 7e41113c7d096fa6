"""Check `system.ip_forwarding`, and the helpers every router check shares (bgp, ipsec)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from holdtime.errors import ParseError
from holdtime.models import CheckResult, Status, error_result
from holdtime.plugins import CheckDescription, Target
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import Router

IPSEC_PLATFORMS = ("strongswan", "libreswan")


# -- shared helpers --------------------------------------------------------------------------
def expect_of(target: Target[Router]) -> Any:
    """The router's expectations object (inventory RouterExpect, duck-typed)."""
    return getattr(target.config, "expect", None)


def platforms_of(target: Target[Router]) -> tuple[str, ...]:
    """The router's platforms (frr, strongswan, libreswan)."""
    return tuple(getattr(target.config, "platforms", ()) or ())


def subtarget(target: Target[Router], suffix: str) -> str:
    """The result target `router/suffix` (the router itself when suffix is empty)."""
    return f"{target.name}/{suffix}" if suffix else target.name


def result(
    check: str,
    target: Target[Router],
    suffix: str,
    status: Status,
    summary: str,
    *,
    observed: Mapping[str, object] | None = None,
    expected: Mapping[str, object] | None = None,
    reasons: tuple[str, ...] = (),
) -> CheckResult:
    """A CheckResult for `router/suffix` (or the router itself when suffix is empty)."""
    return CheckResult(
        check=check,
        target=subtarget(target, suffix),
        device=target.device,
        status=status,
        summary=summary,
        observed=dict(observed or {}),
        expected=dict(expected or {}),
        reasons=reasons,
    )


def section_error(
    check: str, target: Target[Router], errors: Mapping[str, str], *sections: str, suffix: str = ""
) -> CheckResult | None:
    """An ERROR result if a section this check needs could not be read (else None).

    The result is the router's (every result of the check is unknown) unless ``suffix`` names
    the one thing the section is needed for (`router/10.10.10.2`).
    """
    for section in sections:
        if section in errors:
            return error_result(
                check, subtarget(target, suffix), ParseError(errors[section]), device=target.device
            )
    return None


def seconds_text(seconds: float | None) -> str:
    """`35 s`, `12 min`, `3 h 05 min`, `2 d 4 h`: durations for summaries."""
    if seconds is None:
        return "an unknown time"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


# -- system.ip_forwarding --------------------------------------------------------------------
class IpForwardingCheck:
    """PASS when net.ipv4.ip_forward matches the expectation (on, unless told otherwise)."""

    name = "system.ip_forwarding"
    probe = "router"

    def describe(self) -> CheckDescription:
        """What `holdtime describe system.ip_forwarding` prints."""
        return CheckDescription(
            name=self.name,
            probe=self.probe,
            summary="IPv4 forwarding is enabled on the router (a router that does not forward "
            "drops every transit packet while BGP and IPsec look healthy).",
            compares="`sysctl net.ipv4.ip_forward` against expect.ip_forwarding (default true)",
            statuses={
                "pass": "the value matches",
                "fail": "forwarding is off (or on where expect.ip_forwarding is false)",
                "error": "the sysctl could not be read",
            },
        )

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """Compare the sysctl with the expectation."""
        error = section_error(self.name, target, observation.errors, "system")
        if error is not None:
            return [error]
        wanted = getattr(expect_of(target), "ip_forwarding", None)
        wanted = True if wanted is None else bool(wanted)
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
        word = {True: "enabled", False: "disabled", None: "unknown"}
        if actual is wanted:
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.PASS,
                    f"IPv4 forwarding {word[actual]}",
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
                f"IPv4 forwarding is {word[actual]}, expected {word[wanted]}",
                observed=observed,
                expected=expected,
                reasons=(
                    "net.ipv4.ip_forward = 0: the router drops transit traffic"
                    if wanted
                    else "net.ipv4.ip_forward = 1 on a host expected not to route",
                ),
            )
        ]

"""Check `tcp.port_open`: the port accepts a TCP connection within the timeout."""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import BaseCheck, default_of, result
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.tcp import TcpObservation
from holdtime.probes.tcp_config import TcpTarget

_WHY = {
    "refused": "connection refused: the host answered but nothing listens on the port",
    "timeout": "no answer within the timeout: a firewall drops the SYN or the path is down",
    "unreachable": "no route to the host: the network path is down",
    "dns_error": "the host name does not resolve",
    "error": "the connect failed",
}


class PortOpenCheck(BaseCheck[TcpTarget, TcpObservation]):
    """PASS when the port accepts a connection; FAIL saying why when it does not."""

    name = "tcp.port_open"
    probe = "tcp"
    summary = "The TCP port accepts a connection within the timeout."
    compares = "one TCP connect to host:port (from the entry's netns if set)"
    thresholds = (
        Threshold(
            "timeout_seconds",
            default_of(TcpTarget, "timeout_seconds"),
            "seconds",
            "give up on the connect after this",
        ),
    )
    statuses = {
        "pass": "connected; observed latency_seconds is the connect time",
        "fail": "refused, timed out, unreachable or name not resolved (told apart)",
        "error": "holdtime could not try (bad netns, no permission)",
    }

    def evaluate(
        self, target: Target[TcpTarget], observation: TcpObservation
    ) -> Sequence[CheckResult]:
        """Judge one connect attempt."""
        observed: dict[str, object] = {
            "state": observation.state,
            "latency_seconds": observation.latency_seconds,
        }
        expected: dict[str, object] = {
            "state": "open",
            "timeout_seconds": observation.timeout_seconds,
        }
        where = f"{observation.host}:{observation.port}"
        if observation.state == "open":
            latency_ms = (observation.latency_seconds or 0.0) * 1000
            return [
                result(
                    self.name,
                    target,
                    "",
                    Status.PASS,
                    f"{where} open ({latency_ms:.1f} ms)",
                    observed=observed,
                    expected=expected,
                )
            ]
        detail = f" ({observation.detail})" if observation.detail else ""
        return [
            result(
                self.name,
                target,
                "",
                Status.FAIL,
                f"{where} {observation.state}{detail}",
                observed=observed,
                expected=expected,
                reasons=(_WHY.get(observation.state, "the connect failed"),),
            )
        ]

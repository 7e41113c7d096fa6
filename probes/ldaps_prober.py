"""LDAPS prober for failover drills: "LDAPS handshake to dc2 every 500 ms".

The LDAPS counterpart of :class:`holdtime.probes.dns_prober.DnsProber`, on the same schedule
(:class:`holdtime.probes.path_prober.PathProber`: absolute deadlines, a slow handshake never
shifts the ones after it). Each attempt is one TLS handshake on the controller's LDAPS port,
verified against the ldaps family's CA file, by the `ldaps` and `tls` families' own
:func:`holdtime.probes.tls_handshake.handshake`. An attempt succeeds only when the handshake
verified within ``late_after_seconds``; every other end is a failed attempt kept with its
outcome (OUTCOMES) for the drill report. A certificate that does not verify costs two handshakes
(tls_handshake reads the certificate with a second, unverified one, to say why).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from holdtime.errors import ParseError
from holdtime.probes.path_prober import PathProber, PathResult, PathState
from holdtime.probes.tls_handshake import TlsObservation, handshake

OUTCOMES = (
    "handshake",  # the handshake verified (chain to the CA file, name, dates) in time
    "refused",  # the TCP connect was refused (nothing listens on the port)
    "timeout",  # no connect, or no TLS answer, within the attempt's time; or verified too late
    "reset",  # the server closed or reset the connection during the handshake
    "certificate_error",  # the server's certificate did not verify (detail says why)
    "protocol",  # no common version/cipher, an alert, or not TLS at all
    "unreachable",  # no route to the controller
    "error",  # anything else (the name did not resolve, the CA file would not load...)
)

# tls_handshake's connect states and handshake states -> an attempt's outcome.
_CONNECT_OUTCOMES = {"refused": "refused", "timeout": "timeout", "unreachable": "unreachable"}
_RESET_WORDS = os.strerror(errno.ECONNRESET)  # tls_handshake keeps a connect error's strerror
_HANDSHAKE_OUTCOMES = {
    "ok": "handshake",
    "timeout": "timeout",
    "closed": "reset",
    "verify_failed": "certificate_error",
    "protocol": "protocol",
}


@dataclass(frozen=True, slots=True)
class LdapsPath:
    """One handshake stream: to `host`:`port`, verifying `server_name` against `ca_file`."""

    host: str
    port: int = 636
    server_name: str = ""  # "" = host
    ca_file: str = ""  # "" = the system trust store
    netns: str | None = None
    name: str = ""

    @property
    def label(self) -> str:
        """Name shown in progress and results (`dc1-ldaps`, else `10.20.0.10:636`)."""
        return self.name or f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class LdapsAttempt:
    """One handshake of a path and what became of it."""

    seq: int
    sent_at: float
    answered_at: float | None  # when the handshake ended (any end but a timeout); None: none
    outcome: str  # one of OUTCOMES
    detail: str = ""  # the ssl library's or the socket's words for a failure

    @property
    def succeeded(self) -> bool:
        """The handshake verified in time: the directory's TLS service worked for this attempt."""
        return self.outcome == "handshake"


LdapsPathResult = PathResult[LdapsPath, LdapsAttempt]
"""Everything one path saw: events for holdtime.gap plus every attempt with its outcome."""


def attempt_outcome(seen: TlsObservation) -> tuple[str, str]:
    """(outcome, detail) of one handshake observation."""
    if seen.connect != "open":
        if seen.detail == _RESET_WORDS:  # reset before the socket was handed over: a reset
            return "reset", seen.detail
        return _CONNECT_OUTCOMES.get(seen.connect, "error"), seen.detail
    detail = seen.verify_message or seen.detail
    return _HANDSHAKE_OUTCOMES.get(seen.handshake, "error"), detail


class LdapsProber(PathProber[LdapsPath, LdapsAttempt]):
    """Handshake once per path every interval and record every attempt's fate."""

    kind = "LDAPS"

    def _begin(self) -> None:
        import cryptography.x509  # noqa: F401  (once here, not in the first handshake's time)

    def _label(self, path: LdapsPath) -> str:
        return path.label

    def _lost(self, seq: int, sent_at: float) -> LdapsAttempt:
        return LdapsAttempt(seq, sent_at, None, "timeout")

    def _attempt(
        self, state: PathState[LdapsPath, LdapsAttempt], seq: int, sent_at: float
    ) -> LdapsAttempt:
        path = state.path
        try:
            seen = handshake(
                path.host,
                path.port,
                server_name=path.server_name or path.host,
                ca_file=path.ca_file,
                timeout_seconds=self.late_after_seconds,
                netns_name=path.netns,
                clock=self.clock,
            )
        except (ParseError, ValueError) as exc:  # a certificate the reader cannot describe
            return LdapsAttempt(seq, sent_at, self.clock(), "error", str(exc))
        ended_at = self.clock()
        outcome, detail = attempt_outcome(seen)
        if outcome == "handshake" and ended_at - sent_at > self.late_after_seconds:
            outcome, detail = "timeout", "verified after late_after_seconds"
        return LdapsAttempt(
            seq, sent_at, None if outcome == "timeout" else ended_at, outcome, detail
        )

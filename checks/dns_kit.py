"""What the `dns.*` checks share: finding a resolver's answers and saying what an answer was.

Not a check; registers none. Every function is pure (observations in, words out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from holdtime.probes.dns import DnsObservation
from holdtime.probes.dns_answer import DnsAnswer
from holdtime.probes.dns_config import DnsGroup, ExpectedName

# Outcomes that are a verdict about the name: the resolver answered and we understood it.
VERDICTS = frozenset({"answer", "nodata", "nxdomain"})

_SAID = {
    "servfail": "SERVFAIL (the server failed to answer: a broken zone or an unreachable forwarder)",
    "refused": "REFUSED (the server will not answer this name for us)",
    "referral": "a referral (the server does not serve the name and points elsewhere)",
    "truncated": "a truncated answer (TC set) and no TCP retry",
    "malformed": "an answer we could not read",
    "timeout": "no answer",
    "connection_refused": "connection refused (nothing listens on the port)",
    "unreachable": "no route to the resolver",
    "error": "a socket error",
    "not_asked": "not asked",
}


def outcome_text(answer: DnsAnswer) -> str:
    """`SERVFAIL (...)`, `rcode NOTIMP`, `no answer`, `connection refused`."""
    if answer.outcome == "rcode":
        return f"rcode {answer.rcode}"
    return _SAID.get(answer.outcome, answer.outcome)


def said(answer: DnsAnswer) -> str:
    """What an answer that is not a verdict was, for a reason: `dc1 A x over udp: no answer`."""
    detail = f" ({answer.detail})" if answer.detail else ""
    return f"{answer.label}: {outcome_text(answer)}{detail}"


def unreachable_reason(observation: DnsObservation, resolver: str) -> str:
    """Why a resolver was not asked for names: what its reach queries got, both transports."""
    short = {"connection_refused": "connection refused"}
    parts = [
        f"{a.transport.upper()} {short.get(a.outcome) or outcome_text(a)}"
        + (f" ({a.detail})" if a.detail else "")
        for a in observation.reach
        if a.resolver == resolver
    ]
    return f"{resolver} answered neither UDP nor TCP: {', '.join(parts) or 'not asked'}"


@dataclass(frozen=True, slots=True)
class Forward:
    """A resolver's A + AAAA answers for one name, read together."""

    resolver: str
    name: str
    answers: tuple[DnsAnswer, ...]  # A and AAAA (empty: the resolver was not asked)

    @property
    def problems(self) -> list[str]:
        """Why the answers are no verdict (empty when both were understood)."""
        out = [said(a) for a in self.answers if a.outcome not in VERDICTS]
        out += [
            f"{a.label}: answer records not understood: {'; '.join(a.unexpected)}"
            for a in self.answers
            if a.unexpected
        ]
        return out

    @property
    def nxdomain(self) -> bool:
        """The resolver says the name does not exist."""
        return any(a.outcome == "nxdomain" for a in self.answers)

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every A and AAAA address, sorted."""
        return tuple(sorted({r for a in self.answers if a.outcome == "answer" for r in a.records}))

    @property
    def answer_seconds(self) -> float | None:
        """The slower of the two answers (a client waits for both)."""
        times = [a.seconds for a in self.answers if a.seconds is not None]
        return max(times) if times else None

    @property
    def transport(self) -> str:
        """The transport the answers came over (`tcp` after a truncated UDP answer)."""
        return self.answers[0].transport if self.answers else ""

    @property
    def text(self) -> str:
        """The answer as people compare it: `172.16.1.10`, `NXDOMAIN`, `no A/AAAA record`."""
        if self.nxdomain:
            return "NXDOMAIN"
        return ", ".join(self.addresses) or "no A/AAAA record"


def forward(observation: DnsObservation, resolver: str, name: str) -> Forward:
    """The resolver's A and AAAA answers for `name`."""
    answers = tuple(a for a in observation.lookups if a.resolver == resolver and a.qname == name)
    return Forward(resolver, name, answers)


def ptr(observation: DnsObservation, resolver: str, reverse: str) -> DnsAnswer | None:
    """The resolver's PTR answer for a reverse name, if it was asked."""
    for answer in observation.reverse:
        if answer.resolver == resolver and answer.qname == reverse:
            return answer
    return None


def resolver_names(group: DnsGroup) -> Sequence[str]:
    """The group's resolver names, in inventory order."""
    return [r.name for r in group.resolvers]


def reversed_names(group: DnsGroup) -> Sequence[ExpectedName]:
    """The names whose addresses must point back to them."""
    return [n for n in group.names if n.reverse]

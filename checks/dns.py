"""Checks of the `dns` family: names resolve on every controller, the same way, both ways, over
UDP and TCP.

Result targets: ``group/resolver/name`` (`dns.resolves`, `dns.reverse_matches`),
``group/name`` (`dns.consistent`), ``group/resolver`` (`dns.transport`). An answer that is no
verdict (SERVFAIL, REFUSED, a referral, truncated, unreadable, a timeout) is an ERROR naming it;
NXDOMAIN for a name that must resolve is a FAIL.
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.dns_kit import (
    Forward,
    forward,
    outcome_text,
    ptr,
    resolver_names,
    reversed_names,
    said,
    unreachable_reason,
)
from holdtime.checks.kit import BaseCheck, default_of, result
from holdtime.exporters.domain_metrics import GAUGE, MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.dns import DnsObservation, reverse_name
from holdtime.probes.dns_answer import DnsAnswer
from holdtime.probes.dns_config import DnsGroup, ExpectedName

_TIMEOUT = Threshold(
    "timeout_seconds",
    default_of(DnsGroup, "timeout_seconds"),
    "seconds",
    "per query; the whole group gets 3 x this",
)
_RESOLVER_NAME = (("resolver", "observed.resolver"), ("name", "observed.name"))


def _not_asked(
    check: str, target: Target[DnsGroup], suffix: str, observation: DnsObservation, resolver: str
) -> CheckResult:
    reason = unreachable_reason(observation, resolver)
    return result(
        check,
        target,
        suffix,
        Status.ERROR,
        f"could not evaluate: {resolver} did not answer",
        observed={"resolver": resolver},
        reasons=(reason,),
    )


class ResolvesCheck(BaseCheck[DnsGroup, DnsObservation]):
    """PASS when a resolver returns A/AAAA records for the name (the expected ones, if listed)."""

    name = "dns.resolves"
    probe = "dns"
    summary = "Every resolver returns A/AAAA records for every name (exactly the expected ones)."
    compares = (
        "the A and AAAA answers of each resolver for each name against names[].addresses "
        "(any address when none are listed); observed answer_seconds is the slower of the two"
    )
    thresholds = (_TIMEOUT,)
    statuses = {
        "pass": "records present (and equal to the expected addresses)",
        "fail": "NXDOMAIN, no A/AAAA record, or other addresses than expected",
        "error": "SERVFAIL, REFUSED, referral, truncated, unreadable or no answer (named)",
    }
    metrics = (
        MetricSpec(
            "dns.resolves",
            "holdtime_dns_resolves",
            GAUGE,
            "1 when the resolver returned the name's expected A/AAAA records, 0 when it did not.",
            value="resolves",
            convert="bool",
            labels=_RESOLVER_NAME,
        ),
        MetricSpec(
            "dns.resolves",
            "holdtime_dns_answer_seconds",
            GAUGE,
            "Time the resolver took to answer the name's A and AAAA queries (the slower one).",
            value="answer_seconds",
            labels=(*_RESOLVER_NAME, ("transport", "observed.transport")),
        ),
    )

    def expected_targets(self, target: Target[DnsGroup]) -> Sequence[str]:
        """`group/resolver/name` for every resolver x name."""
        group = target.config
        return [f"{target.name}/{r}/{n.name}" for r in resolver_names(group) for n in group.names]

    def evaluate(
        self, target: Target[DnsGroup], observation: DnsObservation
    ) -> Sequence[CheckResult]:
        """One result per resolver x name."""
        results = []
        for resolver in resolver_names(target.config):
            for name in target.config.names:
                found = forward(observation, resolver, name.name)
                suffix = f"{resolver}/{name.name}"
                if not found.answers:
                    results.append(_not_asked(self.name, target, suffix, observation, resolver))
                    continue
                results.append(self._judge(target, suffix, name, found))
        return results

    def _judge(
        self, target: Target[DnsGroup], suffix: str, name: ExpectedName, found: Forward
    ) -> CheckResult:
        observed: dict[str, object] = {
            "resolver": found.resolver,
            "name": name.name,
            "transport": found.transport,
            "addresses": list(found.addresses),
            "rcodes": {a.rdtype: a.rcode or a.outcome for a in found.answers},
            "answer_seconds": found.answer_seconds,
        }
        expected: dict[str, object] = {"addresses": list(name.addresses) or "any"}
        problems = found.problems
        if problems:
            return result(
                self.name,
                target,
                suffix,
                Status.ERROR,
                f"could not evaluate {name.name} on {found.resolver}: {problems[0]}",
                observed={**observed, "resolves": None},
                expected=expected,
                reasons=problems,
            )
        reasons = []
        if found.nxdomain:
            reasons.append(f"{found.resolver} says {name.name} does not exist (NXDOMAIN)")
        elif not found.addresses:
            reasons.append(f"{found.resolver} has no A or AAAA record for {name.name}")
        elif name.addresses and set(found.addresses) != set(name.addresses):
            missing = sorted(set(name.addresses) - set(found.addresses))
            extra = sorted(set(found.addresses) - set(name.addresses))
            reasons.append(
                f"{found.resolver} answers {found.text}, expected {', '.join(name.addresses)}"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (unexpected {', '.join(extra)})" if extra else "")
            )
        seconds = found.answer_seconds or 0.0
        via = f" over {found.transport.upper()}"
        truncated = any(a.truncated_udp for a in found.answers)
        if truncated:
            via += " (UDP answer truncated)"
        status = Status.FAIL if reasons else Status.PASS
        summary = (
            reasons[0] if reasons else f"{name.name} -> {found.text} ({seconds * 1000:.1f} ms{via})"
        )
        return result(
            self.name,
            target,
            suffix,
            status,
            summary,
            observed={**observed, "resolves": not reasons},
            expected=expected,
            reasons=reasons,
        )


class ReverseMatchesCheck(BaseCheck[DnsGroup, DnsObservation]):
    """PASS when the PTR of each of the name's addresses names the host back."""

    name = "dns.reverse_matches"
    probe = "dns"
    summary = "The PTR record of each address of a name names that host back, on every resolver."
    compares = (
        "the PTR answer of each resolver for every address its A/AAAA answer returned (and every "
        "expected address) against the name itself; names with reverse: false are not compared"
    )
    thresholds = (_TIMEOUT,)
    statuses = {
        "pass": "every address points back to the name",
        "fail": "a PTR names another host, or the address has no PTR (NXDOMAIN / no record)",
        "error": "a PTR query got SERVFAIL, REFUSED, no answer, or an answer we could not read",
        "skip": "the name has no address to look up (see dns.resolves)",
    }
    metrics = (
        MetricSpec(
            "dns.reverse_matches",
            "holdtime_dns_reverse_matches",
            GAUGE,
            "1 when every address of the name has a PTR naming it back on that resolver.",
            value="matches",
            convert="bool",
            labels=_RESOLVER_NAME,
        ),
    )

    def expected_targets(self, target: Target[DnsGroup]) -> Sequence[str]:
        """`group/resolver/name` for every resolver x name checked in reverse."""
        group = target.config
        return [
            f"{target.name}/{r}/{n.name}"
            for r in resolver_names(group)
            for n in reversed_names(group)
        ]

    def evaluate(
        self, target: Target[DnsGroup], observation: DnsObservation
    ) -> Sequence[CheckResult]:
        """One result per resolver x name with reverse: true."""
        results = []
        for resolver in resolver_names(target.config):
            for name in reversed_names(target.config):
                found = forward(observation, resolver, name.name)
                suffix = f"{resolver}/{name.name}"
                if not found.answers:
                    results.append(_not_asked(self.name, target, suffix, observation, resolver))
                    continue
                results.append(self._judge(target, suffix, observation, name, found))
        return results

    def _judge(
        self,
        target: Target[DnsGroup],
        suffix: str,
        observation: DnsObservation,
        name: ExpectedName,
        found: Forward,
    ) -> CheckResult:
        addresses = sorted(set(found.addresses) | set(name.addresses))
        observed: dict[str, object] = {"resolver": found.resolver, "name": name.name}
        expected = {"ptr": name.name}
        if not addresses:
            return result(
                self.name,
                target,
                suffix,
                Status.SKIP,
                f"{name.name} has no address on {found.resolver} to look up (see dns.resolves)",
                observed=observed,
                expected=expected,
            )
        pointers: dict[str, list[str]] = {}
        errors, fails = [], []
        for address in addresses:
            answer = ptr(observation, found.resolver, reverse_name(address))
            if answer is None:
                errors.append(f"PTR of {address} was not asked (the group's deadline passed)")
            elif answer.unexpected:
                errors.append(
                    f"{answer.label}: records not understood: {'; '.join(answer.unexpected)}"
                )
            elif answer.outcome == "answer":
                pointers[address] = list(answer.records)
                if name.name not in answer.records:
                    fails.append(
                        f"PTR of {address} on {found.resolver} names {', '.join(answer.records)}, "
                        f"not {name.name}"
                    )
            elif answer.outcome in {"nxdomain", "nodata"}:
                pointers[address] = []
                why = "NXDOMAIN" if answer.outcome == "nxdomain" else "no PTR record"
                fails.append(f"{address} has no PTR on {found.resolver} ({why})")
            else:
                errors.append(said(answer))
        observed["pointers"] = pointers
        if errors:
            return result(
                self.name,
                target,
                suffix,
                Status.ERROR,
                f"could not evaluate the PTRs of {name.name}: {errors[0]}",
                observed={**observed, "matches": None},
                expected=expected,
                reasons=[*errors, *fails],
            )
        status = Status.FAIL if fails else Status.PASS
        summary = fails[0] if fails else f"{', '.join(addresses)} -> {name.name}"
        return result(
            self.name,
            target,
            suffix,
            status,
            summary,
            observed={**observed, "matches": not fails},
            expected=expected,
            reasons=fails,
        )


class ConsistentCheck(BaseCheck[DnsGroup, DnsObservation]):
    """PASS when every resolver of the group gives the same answer for the name."""

    name = "dns.consistent"
    probe = "dns"
    summary = "Every controller gives the same answer for a name (replication drift is a FAIL)."
    compares = (
        "the A/AAAA addresses (or NXDOMAIN / no record) each resolver of the group returned for "
        "the name, with each other"
    )
    thresholds = (_TIMEOUT,)
    statuses = {
        "pass": "every resolver gave the same answer",
        "fail": "the answers differ: the result names each resolver and its answer",
        "error": "an answer is no verdict (SERVFAIL, REFUSED, no answer...): not compared",
    }
    metrics = (
        MetricSpec(
            "dns.consistent",
            "holdtime_dns_consistent",
            GAUGE,
            "1 when every resolver of the group gives the same answer for the name.",
            value="consistent",
            convert="bool",
            labels=(("name", "observed.name"),),
        ),
    )

    def applies_to(self, target: Target[DnsGroup]) -> bool:
        """Only a group of two resolvers or more has anything to compare."""
        return len(target.config.resolvers) >= 2

    def expected_targets(self, target: Target[DnsGroup]) -> Sequence[str]:
        """`group/name` for every name."""
        if not self.applies_to(target):
            return []
        return [f"{target.name}/{n.name}" for n in target.config.names]

    def evaluate(
        self, target: Target[DnsGroup], observation: DnsObservation
    ) -> Sequence[CheckResult]:
        """One result per name."""
        resolvers = resolver_names(target.config)
        results = []
        for name in target.config.names:
            answers = {r: forward(observation, r, name.name) for r in resolvers}
            errors = [
                unreachable_reason(observation, r) if not f.answers else f.problems[0]
                for r, f in answers.items()
                if not f.answers or f.problems
            ]
            observed: dict[str, object] = {
                "name": name.name,
                "answers": {r: f.text for r, f in answers.items() if f.answers and not f.problems},
            }
            if errors:
                results.append(
                    result(
                        self.name,
                        target,
                        name.name,
                        Status.ERROR,
                        f"could not compare {name.name}: {errors[0]}",
                        observed={**observed, "consistent": None},
                        reasons=errors,
                    )
                )
                continue
            groups: dict[str, list[str]] = {}
            for resolver, found in answers.items():
                groups.setdefault(found.text, []).append(resolver)
            if len(groups) == 1:
                (text,) = groups
                summary = f"{', '.join(resolvers)} all answer {text}"
                status, reasons = Status.PASS, []
            else:
                parts = [
                    f"{', '.join(rs)} answer{'s' if len(rs) == 1 else ''} {t}"
                    for t, rs in groups.items()
                ]
                summary = f"{name.name}: " + "; ".join(parts)
                status = Status.FAIL
                reasons = [
                    f"the controllers disagree on {name.name}: "
                    + "; ".join(parts)
                    + " (replication drift, or a record changed on one controller only)"
                ]
            results.append(
                result(
                    self.name,
                    target,
                    name.name,
                    status,
                    summary,
                    observed={**observed, "consistent": status is Status.PASS},
                    reasons=reasons,
                )
            )
        return results


class TransportCheck(BaseCheck[DnsGroup, DnsObservation]):
    """PASS when the resolver answers over both UDP and TCP."""

    name = "dns.transport"
    probe = "dns"
    summary = "Each resolver answers over UDP and over TCP (port 53 both ways across the VPN)."
    compares = "one query for the first name's A record over UDP and one over TCP, per resolver"
    thresholds = (_TIMEOUT,)
    statuses = {
        "pass": "both transports answered",
        "fail": "one transport answers and the other does not (UDP-only failure named as such)",
        "error": "neither answered (resolver down or unreachable), or an answer we could not read",
    }
    metrics = (
        MetricSpec(
            "dns.transport",
            "holdtime_dns_transport_answers",
            GAUGE,
            "1 when the resolver answered a query over this transport, 0 when it did not.",
            value="answers",
            convert="bool",
            labels=(("resolver", "observed.resolver"), ("transport", "item.transport")),
            each="transports",
        ),
    )

    def expected_targets(self, target: Target[DnsGroup]) -> Sequence[str]:
        """`group/resolver` for every resolver."""
        return [f"{target.name}/{r}" for r in resolver_names(target.config)]

    def evaluate(
        self, target: Target[DnsGroup], observation: DnsObservation
    ) -> Sequence[CheckResult]:
        """One result per resolver."""
        results = []
        for resolver in resolver_names(target.config):
            asked = {a.transport: a for a in observation.reach if a.resolver == resolver}
            udp, tcp = asked.get("udp"), asked.get("tcp")
            transports = [
                {
                    "transport": name,
                    "answers": answer.answered
                    if answer and answer.outcome != "malformed"
                    else None,
                    "outcome": answer.rcode or answer.outcome if answer else "not asked",
                    "answer_seconds": answer.seconds if answer and answer.answered else None,
                }
                for name, answer in (("udp", udp), ("tcp", tcp))
            ]
            observed: dict[str, object] = {"resolver": resolver, "transports": transports}
            status, summary, reasons = _transport_verdict(resolver, udp, tcp)
            if status is not Status.PASS and status is not Status.FAIL:
                for item in transports:
                    item["answers"] = None
            results.append(
                result(
                    self.name,
                    target,
                    resolver,
                    status,
                    summary,
                    observed=observed,
                    expected={"udp": "answers", "tcp": "answers"},
                    reasons=reasons,
                )
            )
        return results


_SILENT = frozenset({"timeout", "connection_refused", "unreachable"})


def _transport_verdict(
    resolver: str, udp: DnsAnswer | None, tcp: DnsAnswer | None
) -> tuple[Status, str, list[str]]:
    if udp is None or tcp is None:
        return Status.ERROR, f"could not evaluate {resolver}: not asked", ["not asked"]
    unreadable = [a for a in (udp, tcp) if not a.answered and a.outcome not in _SILENT]
    if unreadable:
        return (
            Status.ERROR,
            f"could not evaluate: {said(unreadable[0])}",
            [said(a) for a in unreadable],
        )
    if udp.answered and tcp.answered:
        times = f"UDP {(udp.seconds or 0) * 1000:.1f} ms, TCP {(tcp.seconds or 0) * 1000:.1f} ms"
        return Status.PASS, f"{resolver} answers over UDP and TCP ({times})", []
    if tcp.answered:
        why = outcome_text(udp)
        summary = f"TCP answers, UDP 53 gets {why}: a firewall or the tunnel's MTU drops UDP"
        return Status.FAIL, summary, [f"{resolver}: {summary}"]
    if udp.answered:
        why = outcome_text(tcp)
        summary = (
            f"UDP answers, TCP 53 gets {why}: truncated answers (large records) and zone "
            "transfers will fail; a firewall drops TCP 53"
        )
        return Status.FAIL, summary, [f"{resolver}: {summary}"]
    return (
        Status.ERROR,
        f"could not evaluate: {resolver} answered neither UDP nor TCP",
        [said(udp), said(tcp)],
    )

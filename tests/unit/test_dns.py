"""The dns family: the answer parser on real named responses, the section, the pure checks."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from holdtime.checks.dns import ConsistentCheck, ResolvesCheck, ReverseMatchesCheck, TransportCheck
from holdtime.cli import main
from holdtime.errors import ParseError
from holdtime.exporters.metrics import domain_families, render_text
from holdtime.inventory import Inventory, load_inventory
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target
from holdtime.probes.dns import DnsObservation, DnsProbe, reverse_name
from holdtime.probes.dns_answer import DnsAnswer, parse_dns_wire
from holdtime.probes.dns_config import DnsGroup, ExpectedName, Resolver

FIXTURES = Path(__file__).parent.parent / "fixtures" / "named" / "query"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "response.wire").exists())
VC = "vcenter.example.net"


# -- the parser, on bytes named sent --------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_parser_reads_recorded_named_answers(case: str) -> None:
    """parse_dns_wire reads each recorded named response to what expected.json says."""
    folder = FIXTURES / case
    query = json.loads((folder / "meta.json").read_text())["query"]
    read = parse_dns_wire((folder / "response.wire").read_bytes(), query["qname"], query["rdtype"])
    expected = json.loads((folder / "expected.json").read_text())
    assert expected == json.loads(json.dumps(dataclasses.asdict(read)))


def test_truncated_answer_with_records_is_not_an_answer() -> None:
    """named's TC answer carries 29 of 40 records: read as truncated, never as the answer."""
    folder = FIXTURES / "a_truncated"
    read = parse_dns_wire((folder / "response.wire").read_bytes(), "big.lab.holdtime.test", "A")
    assert ("truncated", True, 29) == (read.outcome, read.truncated, len(read.records))


def test_parser_refuses_an_answer_to_another_question() -> None:
    """A response whose question is not ours is a ParseError, not an answer."""
    wire = (FIXTURES / "a_answer" / "response.wire").read_bytes()
    with pytest.raises(ParseError, match=r"not app\.lab\.holdtime\.test A"):
        parse_dns_wire(wire, "app.lab.holdtime.test", "A")


def test_parser_refuses_a_query() -> None:
    """Our own query echoed back (QR clear) is a ParseError."""
    import dns.message

    wire = dns.message.make_query(VC, "A").to_wire()
    with pytest.raises(ParseError, match="QR flag clear"):
        parse_dns_wire(wire, VC, "A")


@pytest.mark.parametrize("wire", [b"", b"\x00", b"garbage that is no DNS message at all"])
def test_parser_empty_and_garbage_raise_parse_error(wire: bytes) -> None:
    """Empty and garbage bytes raise ParseError and nothing else."""
    with pytest.raises(ParseError):
        parse_dns_wire(wire, VC, "A")


@given(st.binary(max_size=600))
def test_parser_fuzz_raises_only_parse_error(wire: bytes) -> None:
    """Any bytes either parse or raise ParseError."""
    with contextlib.suppress(ParseError):
        parse_dns_wire(wire, VC, "A")


@given(st.integers(min_value=0, max_value=200))
def test_parser_fuzz_cut_responses(cut: int) -> None:
    """A recorded response cut anywhere parses or raises ParseError."""
    wire = (FIXTURES / "a_cname" / "response.wire").read_bytes()[:cut]
    with contextlib.suppress(ParseError):
        parse_dns_wire(wire, "vcenter.lab.holdtime.test", "A")


# -- the inventory section ------------------------------------------------------------------
GOOD = """\
dns:
  - name: directory
    resolvers:
      - {name: dc1, address: 10.1.1.10}
      - {name: dc2, address: 10.1.2.10, port: 5353}
    names:
      - {name: VCenter.Example.NET., addresses: [10.1.1.20]}
      - {name: nsx.example.net, reverse: false}
    timeout_seconds: 1.5
"""


def test_section_builds_the_group(tmp_path: Path) -> None:
    """Resolvers with their ports, names lower-cased without the final dot, the timeout."""
    path = tmp_path / "inventory.yaml"
    path.write_text(GOOD)
    (group,) = load_inventory(path).of(DnsGroup)
    assert (
        DnsGroup(
            name="directory",
            resolvers=(Resolver("dc1", "10.1.1.10"), Resolver("dc2", "10.1.2.10", 5353)),
            names=(
                ExpectedName(VC, ("10.1.1.20",)),
                ExpectedName("nsx.example.net", reverse=False),
            ),
            timeout_seconds=1.5,
        )
        == group
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            (
                "{name: dc2, address: 10.1.2.10, port: 5353}",
                "{name: dc2, address: 10.1.2.10, port: 70000}",
            ),
            "5:47: dns[0].resolvers[1].port: 70000 is out of range 1..65535",
        ),
        (("VCenter.Example.NET.", "10.1.1.20"), "is an IP address, not a DNS name to resolve"),
        (("VCenter.Example.NET.", "'bad name!'"), "'bad name!' is not a DNS name: write labels"),
        (("address: 10.1.1.10", "address: dc1.example.net"), "is not an IP address"),
        (("name: dc2,", "name: dc1,"), "resolver 'dc1' is listed twice"),
    ],
)
def test_bad_dns_entries_are_one_line_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], problem: str
) -> None:
    """Port out of range, an address as a name, a bad name, a name as address, a duplicate."""
    path = tmp_path / "inventory.yaml"
    path.write_text(GOOD.replace(*change))
    assert 2 == main(["inventory", "validate", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert (f"{path}: 1 problem", True, True) == (
        err[-1],
        err[0].startswith(f"{path}:"),
        problem in err[0],
    )


# -- the checks, on observations ----------------------------------------------------------
def _group(*names: ExpectedName, resolvers: int = 2) -> DnsGroup:
    return DnsGroup(
        name="dir",
        resolvers=tuple(Resolver(f"dc{i}", f"10.1.{i}.10") for i in range(1, resolvers + 1)),
        names=names or (ExpectedName(VC, ("10.1.1.20",)),),
    )


def _target(group: DnsGroup) -> Target[DnsGroup]:
    (target,) = DnsProbe().targets(Inventory(path=Path("dns.yaml"), sections={"dns": (group,)}))
    return target


def _a(resolver: str, outcome: str = "answer", *records: str, **kw: Any) -> list[DnsAnswer]:
    """A and AAAA answers of `resolver` for VC: the A as given, the AAAA nodata."""
    rcode = {"answer": "NOERROR", "nxdomain": "NXDOMAIN", "servfail": "SERVFAIL"}.get(outcome, "")
    a = DnsAnswer(resolver, VC, "A", "udp", outcome, rcode, records, seconds=0.01, **kw)
    aaaa_outcome = "nxdomain" if outcome == "nxdomain" else "nodata"
    aaaa = DnsAnswer(resolver, VC, "AAAA", "udp", aaaa_outcome, rcode or "NOERROR", seconds=0.02)
    return [a, aaaa]


def _reach(resolver: str, udp: str = "answer", tcp: str = "answer") -> list[DnsAnswer]:
    return [
        DnsAnswer(resolver, VC, "A", "udp", udp, seconds=0.01),
        DnsAnswer(resolver, VC, "A", "tcp", tcp, seconds=0.02),
    ]


def _ptr(resolver: str, address: str, outcome: str = "answer", *records: str) -> DnsAnswer:
    return DnsAnswer(resolver, reverse_name(address), "PTR", "udp", outcome, records=records)


def _observe(
    lookups: list[DnsAnswer], reverse: list[DnsAnswer] = (), reach: list[DnsAnswer] | None = None
) -> DnsObservation:
    return DnsObservation(
        "dir", tuple(reach or _reach("dc1") + _reach("dc2")), tuple(lookups), tuple(reverse)
    )


def _one(results: list[CheckResult] | Any, target: str) -> CheckResult:
    (found,) = [r for r in results if r.target == target]
    return found


def test_resolves_passes_with_the_expected_address() -> None:
    """The expected A on both resolvers: PASS, observed addresses and answer time."""
    group = _group()
    observation = _observe(_a("dc1", "answer", "10.1.1.20") + _a("dc2", "answer", "10.1.1.20"))
    result = _one(ResolvesCheck().evaluate(_target(group), observation), f"dir/dc1/{VC}")
    assert (Status.PASS, ["10.1.1.20"], 0.02) == (
        result.status,
        result.observed["addresses"],
        result.observed["answer_seconds"],
    )


@pytest.mark.parametrize(
    ("answers", "status", "summary"),
    [
        (_a("dc1", "nxdomain"), Status.FAIL, f"dc1 says {VC} does not exist (NXDOMAIN)"),
        (
            _a("dc1", "answer", "10.1.1.99"),
            Status.FAIL,
            "dc1 answers 10.1.1.99, expected 10.1.1.20 (missing 10.1.1.20) (unexpected 10.1.1.99)",
        ),
        (
            _a("dc1", "servfail"),
            Status.ERROR,
            f"could not evaluate {VC} on dc1: dc1 A {VC} over udp: SERVFAIL (the server failed "
            "to answer: a broken zone or an unreachable forwarder)",
        ),
        (
            _a("dc1", "truncated", "10.1.1.20"),
            Status.ERROR,
            f"could not evaluate {VC} on dc1: dc1 A {VC} over udp: a truncated answer (TC set) "
            "and no TCP retry",
        ),
        (
            _a("dc1", "timeout", detail="waited 2 s"),
            Status.ERROR,
            f"could not evaluate {VC} on dc1: dc1 A {VC} over udp: no answer (waited 2 s)",
        ),
        (
            _a("dc1", "answer", "10.1.1.20", unexpected=("x. 60 IN TXT hi",)),
            Status.ERROR,
            f"could not evaluate {VC} on dc1: dc1 A {VC} over udp: answer records not understood: "
            "x. 60 IN TXT hi",
        ),
    ],
)
def test_resolves_tells_fail_from_error(
    answers: list[DnsAnswer], status: Status, summary: str
) -> None:
    """NXDOMAIN and wrong addresses FAIL; SERVFAIL, truncated, timeout, unknown records ERROR."""
    results = ResolvesCheck().evaluate(_target(_group()), _observe(answers))
    result = _one(results, f"dir/dc1/{VC}")
    assert (status, summary) == (result.status, result.summary)


def test_resolver_that_answered_nothing_errors_with_why() -> None:
    """A resolver not asked for names: its results ERROR with what its reach queries got."""
    reach = _reach("dc1") + _reach("dc2", "timeout", "connection_refused")
    observation = _observe(_a("dc1", "answer", "10.1.1.20"), reach=reach)
    result = _one(ResolvesCheck().evaluate(_target(_group()), observation), f"dir/dc2/{VC}")
    assert (
        Status.ERROR,
        ("dc2 answered neither UDP nor TCP: UDP no answer, TCP connection refused",),
    ) == (
        result.status,
        result.reasons,
    )


def test_consistent_fails_naming_both_controllers_and_answers() -> None:
    """dc1 has the record, dc2 says NXDOMAIN: FAIL naming both and both answers."""
    observation = _observe(_a("dc1", "answer", "10.1.1.20") + _a("dc2", "nxdomain"))
    (result,) = ConsistentCheck().evaluate(_target(_group()), observation)
    assert (Status.FAIL, f"{VC}: dc1 answers 10.1.1.20; dc2 answers NXDOMAIN") == (
        result.status,
        result.summary,
    )


def test_consistent_passes_and_errors() -> None:
    """Same answers PASS; an answer that is no verdict makes the comparison ERROR."""
    same = _observe(_a("dc1", "answer", "10.1.1.20") + _a("dc2", "answer", "10.1.1.20"))
    broken = _observe(_a("dc1", "answer", "10.1.1.20") + _a("dc2", "servfail"))
    check, target = ConsistentCheck(), _target(_group())
    assert [Status.PASS, Status.ERROR] == [
        check.evaluate(target, same)[0].status,
        check.evaluate(target, broken)[0].status,
    ]


def test_consistent_needs_two_resolvers() -> None:
    """A group of one resolver has nothing to compare: the check does not apply."""
    target = _target(_group(resolvers=1))
    assert (False, []) == (
        ConsistentCheck().applies_to(target),
        ConsistentCheck().expected_targets(target),
    )


@pytest.mark.parametrize(
    ("ptr", "status", "summary"),
    [
        (_ptr("dc1", "10.1.1.20", "answer", VC), Status.PASS, f"10.1.1.20 -> {VC}"),
        (
            _ptr("dc1", "10.1.1.20", "answer", "old-vc.example.net"),
            Status.FAIL,
            f"PTR of 10.1.1.20 on dc1 names old-vc.example.net, not {VC}",
        ),
        (
            _ptr("dc1", "10.1.1.20", "nxdomain"),
            Status.FAIL,
            "10.1.1.20 has no PTR on dc1 (NXDOMAIN)",
        ),
        (
            _ptr("dc1", "10.1.1.20", "refused"),
            Status.ERROR,
            f"could not evaluate the PTRs of {VC}: dc1 PTR 20.1.1.10.in-addr.arpa over udp: "
            "REFUSED (the server will not answer this name for us)",
        ),
    ],
)
def test_reverse_matches(ptr: DnsAnswer, status: Status, summary: str) -> None:
    """The PTR naming the host PASSes; another name or none FAILs; REFUSED ERRORs."""
    observation = _observe(
        _a("dc1", "answer", "10.1.1.20") + _a("dc2", "answer", "10.1.1.20"), [ptr]
    )
    result = _one(ReverseMatchesCheck().evaluate(_target(_group()), observation), f"dir/dc1/{VC}")
    assert (status, summary) == (result.status, result.summary)


def test_reverse_without_address_skips() -> None:
    """No address and none expected: nothing to reverse, SKIP pointing at dns.resolves."""
    group = _group(ExpectedName(VC))
    observation = _observe(_a("dc1", "nxdomain") + _a("dc2", "nxdomain"))
    result = _one(ReverseMatchesCheck().evaluate(_target(group), observation), f"dir/dc1/{VC}")
    assert Status.SKIP == result.status


@pytest.mark.parametrize(
    ("udp", "tcp", "status", "summary"),
    [
        (
            "answer",
            "refused",
            Status.PASS,
            "dc1 answers over UDP and TCP (UDP 10.0 ms, TCP 20.0 ms)",
        ),
        (
            "timeout",
            "answer",
            Status.FAIL,
            "TCP answers, UDP 53 gets no answer: a firewall or the tunnel's MTU drops UDP",
        ),
        (
            "answer",
            "connection_refused",
            Status.FAIL,
            "UDP answers, TCP 53 gets connection refused (nothing listens on the port): truncated "
            "answers (large records) and zone transfers will fail; a firewall drops TCP 53",
        ),
        (
            "timeout",
            "timeout",
            Status.ERROR,
            "could not evaluate: dc1 answered neither UDP nor TCP",
        ),
        (
            "malformed",
            "answer",
            Status.ERROR,
            f"could not evaluate: dc1 A {VC} over udp: an answer we could not read",
        ),
    ],
)
def test_transport(udp: str, tcp: str, status: Status, summary: str) -> None:
    """Both answer: PASS; one silent: FAIL naming it; both silent or unreadable: ERROR."""
    observation = _observe([], reach=_reach("dc1", udp, tcp) + _reach("dc2"))
    result = _one(TransportCheck().evaluate(_target(_group()), observation), "dir/dc1")
    assert (status, summary) == (result.status, result.summary)


def test_expected_targets_are_the_evaluated_ones() -> None:
    """Every check reports exactly the targets it names for pytest items (resolver x name)."""
    group = _group(ExpectedName(VC, ("10.1.1.20",)), ExpectedName("nsx.example.net", reverse=False))
    lookups = [
        dataclasses.replace(a, qname=name)
        for name in (VC, "nsx.example.net")
        for a in _a("dc1", "answer", "10.1.1.20") + _a("dc2", "answer", "10.1.1.20")
    ]
    observation = _observe(lookups, [_ptr(r, "10.1.1.20", "answer", VC) for r in ("dc1", "dc2")])
    target = _target(group)
    for check in (ResolvesCheck(), ReverseMatchesCheck(), ConsistentCheck(), TransportCheck()):
        evaluated = [r.target for r in check.evaluate(target, observation)]
        assert list(check.expected_targets(target)) == evaluated


def test_metrics_carry_resolver_name_and_transport() -> None:
    """holdtime_dns_answer_seconds{resolver,name,transport} and the 0/1 gauges in base units."""
    target = _target(_group())
    observation = _observe(
        _a("dc1", "answer", "10.1.1.20") + _a("dc2", "nxdomain"),
        reach=_reach("dc1") + _reach("dc2", "timeout"),
    )
    results = [
        r
        for check in (ResolvesCheck(), ConsistentCheck(), TransportCheck())
        for r in check.evaluate(target, observation)
    ]
    text = render_text(domain_families((r, 1_700_000_000.0) for r in results)).decode()
    samples = {
        (
            s.name,
            tuple(
                sorted(
                    (k, v) for k, v in s.labels.items() if k in {"resolver", "name", "transport"}
                )
            ),
        ): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert (
        0.02
        == samples[
            (
                "holdtime_dns_answer_seconds",
                (("name", VC), ("resolver", "dc1"), ("transport", "udp")),
            )
        ]
    )
    assert (1.0, 0.0) == (
        samples[("holdtime_dns_resolves", (("name", VC), ("resolver", "dc1")))],
        samples[("holdtime_dns_resolves", (("name", VC), ("resolver", "dc2")))],
    )
    assert (0.0, 0.0, 1.0) == (
        samples[("holdtime_dns_consistent", (("name", VC),))],
        samples[("holdtime_dns_transport_answers", (("resolver", "dc2"), ("transport", "udp")))],
        samples[("holdtime_dns_transport_answers", (("resolver", "dc2"), ("transport", "tcp")))],
    )


def test_describe_prints_what_resolves_compares(capsys: pytest.CaptureFixture[str]) -> None:
    """`holdtime describe dns.transport` names both transports and the timeout threshold."""
    assert 0 == main(["describe", "dns.transport"])
    out = capsys.readouterr().out
    assert (True, True) == ("over UDP and one over TCP" in out, "timeout_seconds" in out)


def test_example_group_renders(tmp_path: Path) -> None:
    """The module docstring's example is a valid inventory."""
    from holdtime.probes import dns_config

    doc = dns_config.__doc__ or ""
    example = textwrap.dedent(doc[doc.index("    dns:") :])
    path = tmp_path / "inventory.yaml"
    path.write_text(example)
    (group,) = load_inventory(path).of(DnsGroup)
    assert ("directory", 2, "holdtime-app") == (group.name, len(group.names), group.netns)

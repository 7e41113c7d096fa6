"""Ping-log parsers on recorded output (tests/fixtures/ping) and on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdtime.errors import ParseError
from holdtime.gap import analyze
from holdtime.probes.pinglog import (
    detect_tool,
    parse_bsd_ping,
    parse_busybox_ping,
    parse_fping_loop,
    parse_iputils_ping,
    parse_ping_log,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
CASES = sorted(path.parent for path in FIXTURES.glob("*/*/output.txt"))
PARSERS = [parse_iputils_ping, parse_busybox_ping, parse_bsd_ping, parse_fping_loop]


def _summary(case: Path) -> dict[str, Any]:
    """Parse and analyse a fixture the way `holdtime gap` does without --interval."""
    meta = json.loads((case / "meta.json").read_text())
    log = parse_ping_log((case / "output.txt").read_text())
    result = analyze(log.events, log.inferred_interval_seconds or meta["interval_seconds"])

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {
        "tool": log.tool,
        "target": log.target,
        "transmitted": log.transmitted,
        "has_timestamps": log.has_timestamps,
        "inferred_interval_seconds": log.inferred_interval_seconds,
        "resolution_seconds": result.resolution_seconds,
        "sent": result.sent,
        "received": result.received,
        "lost": result.lost,
        "duplicates": result.duplicates,
        "late": result.late,
        "reordered": result.reordered,
        "episodes": [
            {
                "first_lost_seq": e.first_lost_seq,
                "last_lost_seq": e.last_lost_seq,
                "lost_count": e.lost_count,
                "loss_derived_outage_seconds": rounded(e.loss_derived_outage_seconds),
                "gap_derived_outage_seconds": rounded(e.gap_derived_outage_seconds),
                "recovered": e.recovered,
            }
            for e in result.episodes
        ],
        "total_loss_derived_outage_seconds": rounded(result.total_loss_derived_outage_seconds),
        "max_gap_derived_outage_seconds": rounded(result.max_gap_derived_outage_seconds),
    }


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_case(case: Path) -> None:
    """Each recorded log parses and analyses to its expected.json."""
    expected = json.loads((case / "expected.json").read_text())
    assert expected == _summary(case)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_tool_detected(case: Path) -> None:
    """Auto-detection names the tool the fixture directory says recorded it."""
    assert case.parent.name == detect_tool((case / "output.txt").read_text())


def test_fixture_set_is_complete() -> None:
    """Every tool and iputils variant the brief names has a recorded case."""
    names = {f"{c.parent.name}/{c.name}" for c in CASES}
    required = {
        "iputils/plain",
        "iputils/timestamps",
        "iputils/outstanding",
        "iputils/timestamps-outstanding",
        "iputils/reference-deployment",
        "busybox/plain",
        "bsd/macos-request-timeout",
        "fping/loop",
        "fping/count",
    }
    assert required == required & names


def test_recorded_gaps_match_the_drop_rule() -> None:
    """Outages measured from the -D logs are within one interval of the nft rule's lifetime."""
    for name in (
        "iputils/timestamps-outstanding",
        "fping/count-timestamps",
        "iputils/two-episodes",
    ):
        case = FIXTURES / name
        meta = json.loads((case / "meta.json").read_text())
        truths = [window["duration_seconds"] for window in meta["truth"].values()]
        result = analyze(parse_ping_log((case / "output.txt").read_text()).events, 1.0)
        log = parse_ping_log((case / "output.txt").read_text())
        interval = log.inferred_interval_seconds or meta["interval_seconds"]
        result = analyze(log.events, interval)
        gaps = [e.gap_derived_outage_seconds for e in result.episodes]
        assert len(truths) == len(gaps)
        for truth, gap in zip(truths, gaps, strict=True):
            assert gap is not None
            assert abs(gap - truth) <= interval, (name, truth, gap)


def test_iputils_plain_log_is_loss_derived_only() -> None:
    """Without -D there are no timestamps: received_at None, no inferred interval."""
    log = parse_iputils_ping((FIXTURES / "iputils/plain/output.txt").read_text())
    assert (False, None, 14, 1, "10.99.0.2") == (
        log.has_timestamps,
        log.inferred_interval_seconds,
        log.transmitted,
        log.first_seq,
        log.target,
    )


def test_iputils_timestamps_give_send_and_receive_times() -> None:
    """A -D reply line gives received_at = stamp and sent_at = stamp - rtt."""
    log = parse_iputils_ping(
        "[1700000000.500000] 64 bytes from 10.0.0.2: icmp_seq=3 ttl=64 time=100 ms\n"
    )
    reply = log.events[0]
    assert (3, 1700000000.5, True) == (reply.seq, reply.received_at, reply.replied)
    assert 1700000000.4 == pytest.approx(reply.sent_at)
    assert 0.1 == pytest.approx(reply.rtt_seconds)


def test_iputils_trailing_loss_synthesized_from_summary() -> None:
    """A plain log's unprinted trailing losses come from header + 'N packets transmitted'."""
    log = parse_iputils_ping((FIXTURES / "iputils/trailing-loss/output.txt").read_text())
    assert (8, 9, 10) == log.synthesized_seqs


def test_iputils_leading_loss_synthesized_from_header() -> None:
    """A full log whose first reply is seq 4 lost seqs 1-3 (iputils counts from 1)."""
    text = (
        "PING db (172.16.1.10) 56(84) bytes of data.\n"
        "64 bytes from db (172.16.1.10): icmp_seq=4 ttl=61 time=2.51 ms\n"
        "\n--- db ping statistics ---\n"
        "4 packets transmitted, 1 received, 75% packet loss, time 3004ms\n"
    )
    log = parse_iputils_ping(text)
    result = analyze(log.events, 1.0)
    assert ("db", (1, 2, 3), 3) == (log.target, log.synthesized_seqs, result.lost)
    assert result.episodes[0].after_first_reply is False


def test_iputils_total_loss_is_one_open_episode() -> None:
    """A log with 0 received is all lost: one episode, neither side has a reply."""
    text = (
        "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n\n--- 10.0.0.2 ping statistics ---\n"
        "3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n"
    )
    result = analyze(parse_iputils_ping(text).events, 1.0)
    assert (3, 0, 1) == (result.sent, result.received, len(result.episodes))
    assert result.episodes[0].recovered is False


def test_iputils_duplicates_and_wrap() -> None:
    """(DUP!) lines are duplicates; icmp_seq 65535 -> 0 is continuous."""
    text = (
        "64 bytes from 10.0.0.2: icmp_seq=65534 ttl=64 time=0.1 ms\n"
        "64 bytes from 10.0.0.2: icmp_seq=65535 ttl=64 time=0.1 ms\n"
        "64 bytes from 10.0.0.2: icmp_seq=65535 ttl=64 time=0.2 ms (DUP!)\n"
        "64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=0.1 ms\n"
    )
    result = analyze(parse_iputils_ping(text).events, 1.0)
    assert (5, 3, 2, 1) == (result.sent, result.received, result.lost, result.duplicates)


def test_iputils_error_lines_are_losses() -> None:
    """'From ... icmp_seq=N Destination Host Unreachable' is a lost probe event."""
    log = parse_iputils_ping((FIXTURES / "iputils/unreachable/output.txt").read_text())
    lost_lines = [e.seq for e in log.events if not e.replied]
    assert [5, 6, 7] == lost_lines


def test_unreachable_late_replies_with_threshold() -> None:
    """ARP-queued replies (time=2046 ms, 1025 ms) count as late with a 1 s threshold."""
    log = parse_iputils_ping((FIXTURES / "iputils/unreachable/output.txt").read_text())
    result = analyze(log.events, 1.0, late_after_seconds=1.0)
    assert ((8, 9), 5) == (result.late_seqs, result.lost)


def test_fping_several_hosts_needs_target() -> None:
    """fping output for two hosts is refused without a target and split with one."""
    text = (
        "10.0.0.2 : [0], 64 bytes, 0.05 ms (0.05 avg, 0% loss)\n"
        "10.0.0.3 : [0], 64 bytes, 0.07 ms (0.07 avg, 0% loss)\n"
        "10.0.0.3 : [2], 64 bytes, 0.07 ms (0.07 avg, 33% loss)\n"
    )
    with pytest.raises(ParseError, match="several targets"):
        parse_fping_loop(text)
    log = parse_fping_loop(text, target="10.0.0.3")
    assert ([0, 2], "10.0.0.3") == ([e.seq for e in log.events], log.target)


def test_fping_duplicate_line() -> None:
    """fping's 'duplicate for [N]' line is a duplicate reply."""
    text = (
        "10.0.0.2 : [0], 64 bytes, 0.05 ms (0.05 avg, 0% loss)\n"
        "10.0.0.2 : duplicate for [0], 64 bytes, 0.09 ms\n"
    )
    assert 1 == analyze(parse_fping_loop(text).events, 1.0).duplicates


def test_bsd_apple_time_crosses_midnight() -> None:
    """macOS --apple-time stamps keep increasing across midnight."""
    log = parse_bsd_ping((FIXTURES / "bsd/macos-apple-time/output.txt").read_text())
    stamps = [e.received_at for e in log.events if e.received_at is not None]
    assert sorted(stamps) == stamps
    assert 1.0 == log.inferred_interval_seconds


def test_forged_transmitted_count_refused() -> None:
    """A summary claiming billions of unprinted probes is refused, without building them."""
    text = (
        "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n"
        "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\n"
        "9999999999 packets transmitted, 1 received, 99% packet loss, time 1ms\n"
    )
    with pytest.raises(ParseError, match="claims 9999999999 probes transmitted"):
        parse_iputils_ping(text)


def test_unknown_line_is_kept_with_its_number() -> None:
    """A line no rule knows is kept as unparsed (line number, text); the probes are still read."""
    text = "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\nhello world\n"
    log = parse_iputils_ping(text, source="run.log")
    assert (((2, "hello world"),), 1) == (log.unparsed, len(log.events))


def test_mostly_unknown_text_refused_naming_first_line() -> None:
    """More lines not understood than understood: not this tool's log, refused at the first."""
    text = "hello world\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\nbye\n"
    with pytest.raises(
        ParseError,
        match=r"^run\.log:1: not iputils ping output: 'hello world' \(2 lines not understood, 1",
    ):
        parse_iputils_ping(text, source="run.log")


def test_two_runs_in_one_log_refused() -> None:
    """Two concatenated runs would merge their sequences: refused at the second header."""
    run = (
        "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n"
        "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\n"
    )
    with pytest.raises(ParseError, match=":3: a second ping run"):
        parse_iputils_ping(run + run)


def test_unknown_tool_refused() -> None:
    """An unknown tool name is a ParseError, not a KeyError."""
    with pytest.raises(ParseError, match="unknown ping tool"):
        parse_ping_log("x", tool="hping")


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("text", ["", "   \n\n", "garbage\n", "\x00\xff binary \ufffd\n"])
def test_empty_and_garbage_raise_parse_error(parser: Any, text: str) -> None:
    """Every parser raises ParseError on empty or garbage input."""
    with pytest.raises(ParseError):
        parser(text)


def test_summary_only_is_not_a_log() -> None:
    """Statistics lines without any probe line are refused (nothing to analyse)."""
    with pytest.raises(ParseError, match="no ping replies"):
        parse_iputils_ping("--- x ping statistics ---\nrtt min/avg/max/mdev = 1/1/1/0 ms\n")


_LINE_PIECES = st.sampled_from(
    [
        "64 bytes from 10.0.0.2: icmp_seq=",
        "64 bytes from 10.0.0.2: seq=",
        "10.0.0.2 : [",
        "], 64 bytes, ",
        " ttl=64 time=",
        " ms",
        "no answer yet for icmp_seq=",
        "Request timeout for icmp_seq ",
        "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.",
        " packets transmitted, ",
        " received",
        "[1700000000.5] ",
        "12:00:00.000001 ",
        "99999999999999999999",
        "1",
        "\n",
        "(DUP!)",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.text(), st.lists(_LINE_PIECES | st.text(max_size=5)).map("".join)),
    st.sampled_from(["auto", "iputils", "busybox", "bsd", "fping"]),
)
def test_fuzz_only_parse_error(text: str, tool: str) -> None:
    """Any text either parses or raises ParseError; analysis of what parses never fails."""
    try:
        log = parse_ping_log(text, tool=tool)
    except ParseError as exc:
        message = str(exc)
    else:
        message = ""
        result = analyze(log.events, log.inferred_interval_seconds or 1.0)
        assert result.sent == result.lost + result.received
    assert "\n" not in message

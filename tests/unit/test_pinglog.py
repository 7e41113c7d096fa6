"""Ping-log parsers on recorded output (tests/fixtures/ping) and on bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdtime.errors import ParseError
from holdtime.gap import analyze, analyze_log, unwrap_sequence
from holdtime.probes.pinglog import (
    PingLog,
    detect_tool,
    is_noise,
    parse_bsd_ping,
    parse_busybox_ping,
    parse_fping_loop,
    parse_iputils_ping,
    parse_ping_log,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
CASES = sorted(
    {path.parent for path in FIXTURES.glob("*/*/output.txt*") if path.parts[-3] != "refused"}
)
REFUSED = sorted(path.parent for path in FIXTURES.glob("refused/*/output.txt"))
PARSERS = [parse_iputils_ping, parse_busybox_ping, parse_bsd_ping, parse_fping_loop]


def _output(case: Path) -> str:
    """A fixture's output.txt (or output.txt.gz, for the 65545-probe run)."""
    packed = case / "output.txt.gz"
    if packed.exists():
        return gzip.decompress(packed.read_bytes()).decode()
    return (case / "output.txt").read_text()


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _figures(log: PingLog, interval: float | None) -> dict[str, Any]:
    """What `holdtime gap` reports for a parsed log (analyze_log), as a JSON-ready dict."""
    result, _source = analyze_log(log, interval, None)
    return {
        "resolution_seconds": result.resolution_seconds,
        "sent": result.sent,
        "received": result.received,
        "lost": result.lost,
        "duplicates": result.duplicates,
        "late": result.late,
        "reordered": result.reordered,
        "counts_from": result.counts_from,
        "per_probe": result.per_probe,
        "outage_known": result.outage_known,
        "seq_wraps": result.seq_wraps,
        "episodes": [
            {
                "first_lost_seq": e.first_lost_seq,
                "last_lost_seq": e.last_lost_seq,
                "lost_count": e.lost_count,
                "loss_derived_outage_seconds": _rounded(e.loss_derived_outage_seconds),
                "gap_derived_outage_seconds": _rounded(e.gap_derived_outage_seconds),
                "recovered": e.recovered,
            }
            for e in result.episodes
        ],
        "total_loss_derived_outage_seconds": _rounded(
            result.to_dict()["total_loss_derived_outage_seconds"]
        ),
        "max_gap_derived_outage_seconds": _rounded(result.max_gap_derived_outage_seconds),
    }


def _summary(case: Path) -> dict[str, Any]:
    """Parse and analyse a fixture the way `holdtime gap` does (meta's interval without -D)."""
    meta = json.loads((case / "meta.json").read_text())
    log = parse_ping_log(_output(case))
    interval = None if log.inferred_interval_seconds else meta["interval_seconds"]
    return {
        "tool": log.tool,
        "target": log.target,
        "transmitted": log.transmitted,
        "summary_received": log.received,
        "has_timestamps": log.has_timestamps,
        "inferred_interval_seconds": log.inferred_interval_seconds,
        **_figures(log, interval),
        "icmp_errors": [list(error) for error in log.icmp_errors],
        "warnings": list(log.warnings),
        "unparsed": [list(line) for line in log.unparsed],
    }


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_case(case: Path) -> None:
    """Each recorded log parses and analyses to its expected.json."""
    expected = json.loads((case / "expected.json").read_text())
    assert expected == _summary(case)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_tool_detected(case: Path) -> None:
    """Auto-detection names the tool the fixture directory says recorded it."""
    assert case.parent.name == detect_tool(_output(case))


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
        "bsd/freebsd12-ping6",
        "fping/loop",
        "fping/count",
        "iputils/quiet",
        "busybox/quiet",
        "fping/quiet",
        "iputils/debian8-quiet",
        "iputils/ttl-exceeded",
        "iputils/route-unreachable",
        "iputils/route-prohibit",
        "iputils/redirect",
        "iputils/pattern",
        "iputils/broadcast",
        "iputils/ipv6",
        "iputils/seq-wrap",
        "iputils/ubuntu2204-unreachable-pipe",
    }
    assert required == required & names


_TIMED_TRUTH = [
    case
    for case in CASES
    if "truth" in json.loads((case / "meta.json").read_text())
    and parse_ping_log(_output(case)).has_timestamps
]


@pytest.mark.parametrize(
    "case", _TIMED_TRUTH, ids=[f"{c.parent.name}/{c.name}" for c in _TIMED_TRUTH]
)
def test_recorded_gaps_match_the_drop_rule(case: Path) -> None:
    """Outages measured from the -D logs are within one interval of the rule's lifetime."""
    meta = json.loads((case / "meta.json").read_text())
    truths = [window["duration_seconds"] for window in meta["truth"].values()]
    log = parse_ping_log(_output(case))
    interval = log.inferred_interval_seconds or meta["interval_seconds"]
    result = analyze(log.events, interval)
    assert len(truths) == len(result.episodes)
    for truth, episode in zip(truths, result.episodes, strict=True):
        gap = episode.gap_derived_outage_seconds
        if not episode.recovered:  # the rule outlived the run: no reply after it to time
            assert gap is None
            continue
        assert gap is not None
        assert abs(gap - truth) <= interval, (truth, gap)


def test_recorded_gaps_cover_the_rule_kinds() -> None:
    """The truth-checked logs include nft drops, route errors and IPv6."""
    names = {f"{c.parent.name}/{c.name}" for c in _TIMED_TRUTH}
    required = {
        "iputils/two-episodes",
        "fping/count-timestamps",
        "iputils/route-prohibit",
        "iputils/route-blackhole",
        "iputils/route-unreachable",
        "iputils/ipv6",
    }
    assert required == required & names


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
    """macOS --apple-time stamps (time of day) keep increasing across midnight."""
    text = (
        "23:59:59.500000 64 bytes from 192.0.2.10: icmp_seq=0 ttl=63 time=1.2 ms\n"
        "00:00:00.500000 64 bytes from 192.0.2.10: icmp_seq=1 ttl=63 time=1.2 ms\n"
        "00:00:01.500000 64 bytes from 192.0.2.10: icmp_seq=2 ttl=63 time=1.2 ms\n"
    )
    log = parse_bsd_ping(text)
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


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_fixture(case: Path) -> None:
    """Each output holdtime does not read (Windows ping) is refused with its expected line."""
    expected = json.loads((case / "expected.json").read_text())["error"]
    with pytest.raises(ParseError) as caught:
        parse_ping_log((case / "output.txt").read_text(), source="log")
    assert expected == str(caught.value)


def test_summary_only_log_has_no_invented_losses() -> None:
    """`ping -q`: no probe events, the summary's 10/7 kept; a busybox -q log is read as busybox."""
    log = parse_ping_log(_output(FIXTURES / "iputils/quiet"))
    assert ((), (), 10, 7) == (log.events, log.synthesized_seqs, log.transmitted, log.received)
    assert "busybox" == detect_tool(_output(FIXTURES / "busybox/quiet"))


def test_filtered_reply_lines_do_not_become_losses() -> None:
    """Reply lines cut out of a full log: the summary's loss wins and the outage is unknown."""
    lines = _output(FIXTURES / "iputils/quiet-reference").splitlines()
    kept = [line for line in lines if "icmp_seq=2 " not in line and "icmp_seq=9 " not in line]
    result, _source = analyze_log(parse_iputils_ping("\n".join(kept)), None, None)
    assert (10, 7, 3, "summary", False, ()) == (
        result.sent,
        result.received,
        result.lost,
        result.counts_from,
        result.outage_known,
        result.episodes,
    )
    assert "reply lines are missing or extra" in result.notes[0]


def test_log_without_its_header_keeps_the_summary_loss() -> None:
    """A headerless log cannot place its trailing losses: summary loss, outage of the rest."""
    lines = _output(FIXTURES / "iputils/trailing-loss").splitlines()
    result, _source = analyze_log(parse_iputils_ping("\n".join(lines[1:])), None, None)
    assert (10, 7, 3, True, ()) == (
        result.sent,
        result.received,
        result.lost,
        result.outage_known,
        result.episodes,
    )
    assert "probes are missing from the log" in result.notes[0]


def test_icmp_errors_are_losses_with_their_reason() -> None:
    """`From X icmp_seq=N Packet filtered` is a lost probe whose reason is kept."""
    log = parse_ping_log(_output(FIXTURES / "iputils/route-prohibit"))
    assert [
        (5, "Packet filtered"),
        (6, "Packet filtered"),
        (7, "Packet filtered"),
        (8, "Packet filtered"),
    ] == list(log.icmp_errors)
    result, _source = analyze_log(log, None, None)
    assert "ICMP error 'Packet filtered' for 4 probe(s): seq 5-8 (counted as lost)" in result.notes


def test_redirect_is_not_a_loss() -> None:
    """An ICMP redirect is noted, but the probe it names was answered: nothing lost."""
    log = parse_ping_log(_output(FIXTURES / "iputils/redirect"))
    result, _source = analyze_log(log, None, None)
    assert (2, 0) == (len(log.icmp_errors), result.lost)
    assert all(event.replied for event in log.events)


def test_seq_wrap_is_unwrapped_and_said() -> None:
    """65545 probes: the loss across 65535 -> 0 is one episode of 4, and the wrap is noted."""
    result, _source = analyze_log(
        parse_ping_log(_output(FIXTURES / "iputils/seq-wrap")), 3.8e-05, None
    )
    assert [(1, 1), (65534, 4)] == [(e.first_lost_seq, e.lost_count) for e in result.episodes]
    assert (65545, 5, 1) == (result.sent, result.lost, result.seq_wraps)
    assert any("wrapped past 65535 1 time(s)" in note for note in result.notes)


def test_fping_counter_beyond_16_bits_is_not_folded() -> None:
    """fping counts without wrapping: [70000] after [5] is 69994 lost, not a folded 4458."""
    text = (
        "10.0.0.2 : [5], 64 bytes, 0.05 ms (0.05 avg, 0% loss)\n"
        "10.0.0.2 : [70000], 64 bytes, 0.05 ms (0.05 avg, 99% loss)\n"
    )
    log = parse_fping_loop(text)
    result, _source = analyze_log(log, 0.01, None)
    assert (None, 69996, 69994) == (log.seq_modulo, result.sent, result.lost)


def test_large_printed_seq_is_read_as_printed() -> None:
    """A printed icmp_seq above 65535 was never folded: the sequence is not unwrapped."""
    assert [5, 70000, 70001] == unwrap_sequence([5, 70000, 70001])


def test_windows_line_anywhere_is_refused_naming_it() -> None:
    """A Windows ping line inside another log: refused at that line with the Windows message."""
    windows = (FIXTURES / "refused/windows7sp1/output.txt").read_text().splitlines()[0]
    text = _output(FIXTURES / "iputils/plain").replace("\n\n", f"\n{windows}\n", 1)
    with pytest.raises(ParseError, match=r"^log:12: this is Windows ping output"):
        parse_ping_log(text, source="log")


# Lines a log may pick up that no ping prints: shell noise, other tools, truncation, binary.
_ODD_LINES = st.sampled_from(
    [
        "^C",
        "Connection to router closed.",
        "bash: warning: setlocale: LC_ALL: cannot change locale",
        "64 bytes from 127.0.0.1: error - weird error",
        "64 bytes from 10.99.0.2: icmp_seq=",
        "[1700000000.1] 64 bytes from",
        "\x00\x01 binary",
        "From 10.0.0.1 icmp_seq=",
        "Vr HL TOS but not quite",
    ]
) | st.text(min_size=1, max_size=40).filter(
    lambda line: bool(line.strip()) and line.splitlines() == [line]
)


def _report(text: str) -> tuple[tuple[Any, ...], PingLog]:
    """What `holdtime gap` would report (loss, outage figures, episodes) and the parsed log."""
    log = parse_ping_log(text)
    result, _source = analyze_log(log, None if log.inferred_interval_seconds else 1.0, None)
    document = result.to_dict()
    figures = (
        result.sent,
        result.received,
        result.lost,
        document["total_loss_derived_outage_seconds"],
        document["max_gap_derived_outage_seconds"],
        [(e.first_lost_seq, e.lost_count) for e in result.episodes],
    )
    return figures, log


_SMALL_CASES = [case for case in CASES if (case / "output.txt").exists()]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_SMALL_CASES), st.integers(min_value=0), _ODD_LINES)
def test_inserted_unknown_line_never_changes_figures_silently(
    case: Path, where: int, odd: str
) -> None:
    """An unknown line inserted anywhere is reported as skipped (figures unchanged) or parsed."""
    lines = _output(case).splitlines()
    position = where % (len(lines) + 1)
    before, before_log = _report("\n".join(lines))
    inserted = "\n".join([*lines[:position], odd, *lines[position:]])
    try:
        after, after_log = _report(inserted)
    except ParseError as exc:
        refusal = str(exc)
        after_log = None
    if after_log is None:
        # Refusing is loud, never silent; only a Windows line or a second header may do it.
        assert "Windows" in refusal or "second ping run" in refusal
        return
    if len(after_log.unparsed) == len(before_log.unparsed) + 1:
        assert before == after
        assert odd.strip() in [text for _lineno, text in after_log.unparsed]
    else:
        # Not skipped: then it was parsed into the log, or it is one of the parser's noise lines.
        assert len(before_log.unparsed) == len(after_log.unparsed)
        parsed = (after_log.events, after_log.transmitted, after_log.warnings) != (
            before_log.events,
            before_log.transmitted,
            before_log.warnings,
        )
        assert parsed or is_noise(after_log.tool, odd)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_reported_loss_never_contradicts_the_summary(case: Path) -> None:
    """Every fixture with a summary line: the reported sent/received are the summary's."""
    log = parse_ping_log(_output(case))
    if log.transmitted is None:
        pytest.skip("no summary line in this log")
    result, _source = analyze_log(log, 1.0, None)
    assert (log.transmitted, log.received) == (result.sent, result.received)

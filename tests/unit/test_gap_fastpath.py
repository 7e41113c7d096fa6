"""The block fast path (holdtime.probes.pinglog_block) reads a ping log as the full line rules do.

The edge-case logs are the recorded iputils `two-episodes` fixture (ping -D -O) transformed as
each test says (split at every byte, CR LF, a line cut at the end, lines inserted or altered):
derived from a recording, not recordings themselves.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from holdtime.cli.gap import read_blocks
from holdtime.errors import ParseError
from holdtime.gap import analyze_log
from holdtime.gap_logstream import LogStream
from holdtime.probes.pinglog import _IPUTILS_RULES, _on_reply, parse_ping_log
from holdtime.probes.pinglog_block import FAST_REPLY, block_segments, cut_block

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
CASES = sorted(path.parent for path in FIXTURES.glob("*/*/output.txt*"))
TWO_EPISODES = FIXTURES / "iputils" / "two-episodes" / "output.txt"


def _raw(case: Path) -> bytes:
    packed = case / "output.txt.gz"
    if packed.exists():
        return gzip.decompress(packed.read_bytes())
    return (case / "output.txt").read_bytes()


def _report(analysis: LogStream) -> dict[str, Any]:
    """Everything `holdtime gap` reports of a log, or the refusal."""
    try:
        report = analysis.finish()
    except ParseError as exc:
        return {"refused": str(exc)}
    log = report.log
    return {
        "tool": log.tool,
        "target": log.target,
        "interval_source": report.interval_source,
        "inferred": log.inferred_interval_seconds,
        "lines": log.lines,
        "unparsed": (log.unparsed_count, log.unparsed_first),
        "warnings": log.warnings,
        "icmp": [(reason, tally.count, tally.first_seq) for reason, tally in log.icmp_errors],
        "summary": (log.transmitted, log.received),
        **report.result.to_dict(),
    }


def _by_lines(data: bytes, tool: str = "auto") -> dict[str, Any]:
    """The line path: the text decoded and split, fed to the line rules."""
    analysis = LogStream(tool, "log")
    try:
        analysis.feed_lines(data.decode("utf-8", errors="replace").splitlines())
    except ParseError as exc:
        return {"refused": str(exc)}
    return _report(analysis)


def _by_blocks(data: bytes, chunk_bytes: int, tool: str = "auto") -> dict[str, Any]:
    """The block path, as `holdtime gap FILE` reads a file, `chunk_bytes` at a time."""
    analysis = LogStream(tool, "log")
    try:
        for block in read_blocks(io.BytesIO(data), chunk_bytes):
            analysis.feed_block(block)
    except ParseError as exc:
        return {"refused": str(exc)}
    return _report(analysis)


def _same_both_ways(data: bytes, chunks: tuple[int, ...] = (1, 7, 80, 4096, 1 << 20)) -> None:
    for tool in ("auto", "iputils"):
        expected = _by_lines(data, tool)
        for chunk_bytes in chunks:
            assert (chunk_bytes, expected) == (chunk_bytes, _by_blocks(data, chunk_bytes, tool))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_blocks_equal_lines(case: Path) -> None:
    """Every recorded log, read in blocks of 1 byte to 1 MiB: the line path's report or refusal."""
    _same_both_ways(_raw(case))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_every_fast_line_is_a_reply_the_rules_read_alike(case: Path) -> None:
    """Each recorded line the fast regex takes is one the iputils rules read as that reply."""
    for line in _raw(case).decode("utf-8", errors="replace").splitlines():
        fast = FAST_REPLY.fullmatch(line.encode() + b"\n")
        if fast is None:
            continue
        stripped = line.strip()
        pattern, handler = next((p, h) for p, h in _IPUTILS_RULES if p.fullmatch(stripped))
        full = pattern.fullmatch(stripped)
        assert full is not None
        assert (_on_reply, full.group("epoch"), full.group("seq"), full.group("rtt")) == (
            handler,
            *(group.decode() for group in fast.groups()),
        )


def test_fixture_batch_parser_agrees_on_the_timestamped_log() -> None:
    """The block path's figures are the in-memory parser's (parse_ping_log + analyze_log)."""
    data = TWO_EPISODES.read_bytes()
    result, source = analyze_log(parse_ping_log(data.decode(), source="log"), None, None)
    streamed = _by_blocks(data, 64)
    assert (source, result.to_dict()) == (
        streamed["interval_source"],
        {key: streamed[key] for key in result.to_dict()},
    )


def test_a_recorded_log_is_mostly_fast_lines() -> None:
    """The fast path is taken: all 45 reply lines of the recorded -D -O log, in 3 runs."""
    data = TWO_EPISODES.read_bytes()
    segments = list(block_segments(data))
    runs = [len(segment) for segment in segments if isinstance(segment, list)]
    assert ([10, 15, 20], data.count(b" bytes from ")) == (runs, sum(runs))


def _lines() -> list[bytes]:
    return TWO_EPISODES.read_bytes().splitlines(keepends=True)


def test_crlf_line_ends() -> None:
    """CR LF line ends: the same report."""
    _same_both_ways(TWO_EPISODES.read_bytes().replace(b"\n", b"\r\n"))


def test_lone_cr_line_ends() -> None:
    """Lone CR line ends (splitlines breaks there too): the same report."""
    _same_both_ways(TWO_EPISODES.read_bytes().replace(b"\n", b"\r"))


def test_last_line_cut_without_newline() -> None:
    """The log cut in the middle of a reply at EOF: the same report (the cut line unparsed)."""
    data = TWO_EPISODES.read_bytes()
    cut = data.index(b"icmp_seq=30 ") + 14
    report = _by_blocks(data[:cut], 1 << 20)
    assert 1 == report["unparsed"][0]
    _same_both_ways(data[:cut])


def test_last_reply_without_newline() -> None:
    """A whole reply as the last line, without its newline: read as a reply."""
    data = b"".join(line for line in _lines() if b"icmp_seq" in line).rstrip(b"\n")
    assert 0 == _by_blocks(data, 1 << 20)["unparsed"][0]
    _same_both_ways(data)


def test_unknown_lines_mid_block_are_kept_at_their_line() -> None:
    """Unknown lines among fast ones: recorded with their line numbers, noted, as ever."""
    lines = _lines()
    lines.insert(5, b"this line is not ping output\n")
    lines.insert(30, b"x[1795407348.985012] 64 bytes from 10.99.0.2: icmp_seq=1 ttl=64 time=1 ms\n")
    data = b"".join(lines)
    report = _by_blocks(data, 1 << 20)
    assert (2, ((6, "this line is not ping output"), (31, lines[30].decode().strip()))) == (
        report["unparsed"][0],
        report["unparsed"][1][:2],
    )
    assert any("not understood" in note for note in report["notes"])
    _same_both_ways(data)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b" ms\n", b" ms (DUP!)\n"),  # iputils' duplicate marker
        (b"[1795407349.", b"[01795407349."),  # 12 digits: the rule's bound
        (b"[1795407349.", b"[001795407349."),  # 13 digits: beyond it, not understood
        (b" ms\n", b" ms \n"),  # trailing blank: stripped by the line rules
        (b"64 bytes from 10.99.0.2:", b"64 bytes from ::1:"),  # IPv6 address: a ':'
        (b"10.99.0.2:", b"h\xc3\xa9te (10.99.0.2):"),  # a UTF-8 host name
        (b"10.99.0.2:", b"h\xe9te (10.99.0.2):"),  # an undecodable byte
        (b"10.99.0.2:", b"10.99.0.2\x0c:"),  # a character splitlines breaks at
        (b" ttl=64", b" ident=5 ttl=64"),  # busybox-like ident field
        (b" time=", b"  time="),
    ],
)
def test_altered_reply_lines_read_as_the_rules_read_them(old: bytes, new: bytes) -> None:
    """Every third reply altered: whatever the rules make of it, the block path makes too."""
    lines = _lines()
    for index in range(1, len(lines), 3):
        if b" bytes from " in lines[index]:
            lines[index] = lines[index].replace(old, new, 1)
    _same_both_ways(b"".join(lines), chunks=(1, 80, 1 << 20))


def test_no_answer_yet_lines_are_lost_probes() -> None:
    """-O 'no answer yet' lines go to the full rules: episodes of 10 and 5 lost (expected.json)."""
    data = TWO_EPISODES.read_bytes()
    report = _by_blocks(data, 1 << 20)
    assert [10, 5] == [episode["lost_count"] for episode in report["episodes"]]
    _same_both_ways(data)


def test_timestamps_missing() -> None:
    """The log without -D stamps: no fast line, the same report."""
    data = re.sub(rb"(?m)^\[\d+\.\d+\] ", b"", TWO_EPISODES.read_bytes())
    assert [data.decode()] == list(block_segments(data))
    _same_both_ways(data)


def test_seq_wrap_at_65535() -> None:
    """Sequence numbers renumbered to wrap past 65535 mid-log: unwrapped the same way."""

    def renumber(match: re.Match[bytes]) -> bytes:
        return b"icmp_seq=%d" % ((int(match.group(1)) + 65_510) % 65_536)

    data = re.sub(rb"icmp_seq=(\d+)", renumber, TWO_EPISODES.read_bytes())
    report = _by_blocks(data, 1 << 20)
    assert 1 == report["seq_wraps"]
    _same_both_ways(data)


def test_sequence_conflict_names_the_same_line() -> None:
    """A 17-bit number after a wrap, among fast lines: refused at the same line both ways."""
    lines = [line for line in _lines() if b"bytes from" in line][:6]
    lines[1] = re.sub(rb"icmp_seq=\d+", b"icmp_seq=65535", lines[0])
    lines[2] = re.sub(rb"icmp_seq=\d+", b"icmp_seq=0", lines[2])
    lines[4] = re.sub(rb"icmp_seq=\d+", b"icmp_seq=70000", lines[4])
    lines[0] = re.sub(rb"icmp_seq=\d+", b"icmp_seq=65534", lines[0])
    data = b"".join(lines)
    assert {
        "refused": "log:5: icmp_seq 70000 is above 65535 but earlier sequence numbers had"
        " wrapped: not the output of one ping run"
    } == _by_blocks(data, 1 << 20, "iputils")
    _same_both_ways(data)


@pytest.mark.parametrize(
    ("data", "cut"),
    [
        (b"", 0),
        (b"abc", 0),
        (b"a\nb", 2),
        (b"a\r", 0),
        (b"a\rb", 2),
        (b"a\r\n", 3),
        (b"a\nb\rc", 4),
    ],
)
def test_cut_block_ends_at_whole_lines(data: bytes, cut: int) -> None:
    """A block ends after the last LF or a lone CR that cannot be half of a CR LF."""
    assert cut == cut_block(data)


def test_cli_reads_a_pipe_as_a_file(tmp_path: Path) -> None:
    """`holdtime gap -` on a pipe (byte blocks from stdin) reports what `holdtime gap FILE` does."""
    holdtime = Path(sys.executable).with_name("holdtime")
    command = [str(holdtime), "gap", "--format", "json"]
    by_file = subprocess.run(
        [*command, str(TWO_EPISODES)], cwd=tmp_path, capture_output=True, check=True
    )
    by_pipe = subprocess.run(
        [*command, "-"],
        cwd=tmp_path,
        input=TWO_EPISODES.read_bytes(),
        capture_output=True,
        check=True,
    )
    document = json.loads(by_pipe.stdout)
    assert ("<stdin>", 15) == (document.pop("source"), document["lost"])
    assert {**json.loads(by_file.stdout), "source": None} == {**document, "source": None}

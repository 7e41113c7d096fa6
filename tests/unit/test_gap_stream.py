"""holdtime.gap_stream and gap_logstream: the streaming analysis says what the batch one says."""

from __future__ import annotations

import gzip
import itertools
import json
import random
import statistics
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdtime.errors import ParseError
from holdtime.gap import ProbeEvent, analyze, analyze_log
from holdtime.gap_logstream import LogStream
from holdtime.gap_stream import GapStream, IntervalEstimator, SeqRanges
from holdtime.probes.pinglog import parse_ping_log

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
CASES = sorted(
    {path.parent for path in FIXTURES.glob("*/*/output.txt*") if path.parts[-3] != "refused"}
)
REFUSED = sorted(path.parent for path in FIXTURES.glob("refused/*/output.txt"))


def _output(case: Path) -> str:
    packed = case / "output.txt.gz"
    if packed.exists():
        return gzip.decompress(packed.read_bytes()).decode()
    return (case / "output.txt").read_text()


def _streamed(text: str, interval: float | None, batch_lines: int = 7) -> dict[str, Any]:
    """The streaming report of `text`, fed in batches of `batch_lines` lines."""
    analysis = LogStream("auto", "log", None, interval, None)
    lines = text.splitlines()
    for start in range(0, len(lines), batch_lines):
        analysis.feed_lines(lines[start : start + batch_lines])
    report = analysis.finish()
    return {
        "tool": report.log.tool,
        "target": report.log.target,
        "interval_source": report.interval_source,
        "inferred": report.log.inferred_interval_seconds,
        **report.result.to_dict(),
    }


def _batch(text: str, interval: float | None) -> dict[str, Any]:
    """The in-memory report of `text` (parse_ping_log + analyze_log)."""
    log = parse_ping_log(text, source="log")
    result, source = analyze_log(log, interval, None)
    return {
        "tool": log.tool,
        "target": log.target,
        "interval_source": source,
        "inferred": log.inferred_interval_seconds,
        **result.to_dict(),
    }


def _rounded(document: dict[str, Any]) -> dict[str, Any]:
    """Floats to 9 digits: the two sum RTTs in different orders."""
    text = json.dumps(document)
    return json.loads(text, parse_float=lambda value: round(float(value), 9))  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
@pytest.mark.parametrize("interval", [None, 0.2])
def test_fixture_streamed_equals_batch(case: Path, interval: float | None) -> None:
    """Every recorded log: the streamed report is the in-memory report, note for note."""
    text = _output(case)
    assert _rounded(_batch(text, interval)) == _rounded(_streamed(text, interval))


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_fixture_streamed(case: Path) -> None:
    """A log the parser refuses is refused by the stream with the same line."""
    text = (case / "output.txt").read_text()
    with pytest.raises(ParseError) as batch:
        parse_ping_log(text, source="log")
    with pytest.raises(ParseError) as streamed:
        _streamed(text, None)
    assert str(batch.value) == str(streamed.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  \n\n",
        "garbage\n",
        "hello world\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\nbye\n",
        "--- x ping statistics ---\nrtt min/avg/max/mdev = 1/1/1/0 ms\n",
    ],
)
def test_bad_text_refused_like_batch(text: str) -> None:
    """Empty, garbage, mostly-unknown and summary-only texts: the batch parser's message."""
    with pytest.raises(ParseError) as batch:
        parse_ping_log(text, source="log")
    with pytest.raises(ParseError) as streamed:
        _streamed(text, None)
    assert str(batch.value) == str(streamed.value)


def test_many_unknown_lines_keep_a_bounded_sample() -> None:
    """Unknown lines are all counted but only the first three are kept."""
    reply = "64 bytes from 10.0.0.2: icmp_seq={} ttl=64 time=0.1 ms"
    lines = []
    for seq in range(1, 2001):
        lines.append(reply.format(seq))
        if seq % 2:
            lines.append(f"odd line {seq}")
    analysis = LogStream("iputils", "log")
    analysis.feed_lines(lines)
    report = analysis.finish()
    assert (1000, ((2, "odd line 1"), (5, "odd line 3"), (8, "odd line 5"))) == (
        report.log.unparsed_count,
        report.log.unparsed_first,
    )
    assert "skipped 1000 line(s) not understood" in report.result.notes[-1]
    assert "and 997 more" in report.result.notes[-1]


def test_seq_above_16_bits_after_a_wrap_is_refused_at_its_line() -> None:
    """A number above 65535 after the numbers wrapped cannot be one run: refused, line named."""
    lines = [
        "64 bytes from 10.0.0.2: icmp_seq=65535 ttl=64 time=0.1 ms",
        "64 bytes from 10.0.0.2: icmp_seq=0 ttl=64 time=0.1 ms",
        "64 bytes from 10.0.0.2: icmp_seq=70000 ttl=64 time=0.1 ms",
    ]
    analysis = LogStream("iputils", "log")
    with pytest.raises(ParseError, match=r"^log:3: icmp_seq 70000 is above 65535"):
        analysis.feed_lines(lines)


def test_episode_reported_when_it_ends() -> None:
    """on_episode is called once per episode, when the first reply after it arrives."""
    seen: list[tuple[int, int]] = []
    stream = GapStream(1.0, on_episode=lambda e: seen.append((e.first_lost_seq, e.lost_count)))
    for seq in [1, 2, 3, 7, 8]:
        stream.reply(seq, float(seq), seq + 0.01, None)
        if seq == 3:
            assert [] == seen
    assert [(4, 3)] == seen


def test_seq_ranges_merge_and_membership() -> None:
    """SeqRanges keeps runs merged whatever the order values arrive in."""
    ranges = SeqRanges()
    for value in [5, 1, 3, 2, 4, 4, 9]:
        ranges.add(value)
    assert ([(1, 5), (9, 9)], 6) == (ranges.runs(), len(ranges))


def test_interval_estimator_median() -> None:
    """The median spacing per step, rounded to 1 ms; steps across a gap divide by its length."""
    estimator = IntervalEstimator()
    for seq, at in [(1, 0.0), (2, 0.2), (3, 0.4), (6, 1.0), (7, 1.3)]:
        estimator.add(seq, at)
    assert 0.2 == estimator.median_seconds()


_EVENTS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=40), st.sampled_from(["reply", "lost", "late"])),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(_EVENTS, st.sampled_from([0.01, 0.2, 1.0]), st.booleans(), st.booleans())
def test_stream_equals_analyze_on_generated_events(
    spec: list[tuple[int, str]], interval: float, late_threshold: bool, stamped: bool
) -> None:
    """Random replies, losses, duplicates, reorders and late replies: GapStream == analyze.

    A log has send times on every reply line (-D) or on none, never on some copies only.
    """
    events = []
    for seq, kind in spec:
        sent = seq * interval if stamped else None
        if kind == "lost":
            events.append(ProbeEvent(seq, None, replied=False))
        else:
            rtt = 5.0 if kind == "late" else 0.002
            received = sent + rtt if sent is not None else None
            events.append(ProbeEvent(seq, sent, received, replied=True, rtt_seconds=rtt))
    late_after = 1.0 if late_threshold else None
    stream = GapStream(interval, late_after)
    for item in events:
        if item.replied:
            stream.reply(item.seq, item.sent_at, item.received_at, item.rtt_seconds)
        else:
            stream.lost(item.seq, item.sent_at)
    expected = analyze(events, interval, late_after_seconds=late_after)
    assert _rounded(expected.to_dict()) == _rounded(stream.result(interval).to_dict())


def test_seq_conflict_in_stamped_lines_names_its_line() -> None:
    """The same refusal among -D lines (read in batches) names the right line."""
    lines = [
        f"[17000000{seq:02d}.5] 64 bytes from 10.0.0.2: icmp_seq={printed} ttl=64 time=0.1 ms"
        for seq, printed in enumerate([65534, 65535, 0, 1, 70000, 2])
    ]
    analysis = LogStream("iputils", "log")
    analysis.feed_lines(["PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.", *lines[:3]])
    with pytest.raises(ParseError, match=r"^log:6: icmp_seq 70000 is above 65535"):
        analysis.feed_lines(lines[3:])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", " ", "\n", "\r", "\r\n", "\x0c", "\u2028"]), max_size=40),
    st.lists(st.integers(min_value=0, max_value=40), max_size=6),
)
def test_split_lines_in_pieces_numbers_lines_like_splitlines(
    pieces: list[str], cuts: list[int]
) -> None:
    """Text read in arbitrary chunks splits into the lines str.splitlines gives the whole."""
    from holdtime.cli.gap import split_lines

    text = "".join(pieces)
    bounds = sorted({min(cut, len(text)) for cut in cuts} | {0, len(text)})
    lines: list[str] = []
    pending = ""
    for start, end in itertools.pairwise(bounds):
        got, pending = split_lines(pending, text[start:end], final=False)
        lines.extend(got)
    got, _rest = split_lines(pending, "", final=True)
    assert text.splitlines() == [*lines, *got]


def test_spacing_histogram_is_bounded_and_keeps_the_median() -> None:
    """Widely spread spacings coarsen the histogram (bounded bins) and keep the median to 1 ms."""
    rng = random.Random(7)
    stream = GapStream(estimate_interval=True)
    sent = 0.0
    steps = []
    for seq in range(1, 150_001):
        step = rng.uniform(0.0, 0.2)
        steps.append(step)
        sent += step
        stream.reply(seq % 65536, sent, sent + 0.001, 0.001)
    expected = round(statistics.median(steps), 3)
    inferred = stream.inferred_interval()
    assert inferred is not None
    assert abs(expected - inferred) <= 0.001
    assert len(stream.estimator.bins) <= 65_536

"""holdtime.gap: loss episodes and outage figures from synthetic probe sequences."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdtime import cli
from holdtime.gap import ProbeEvent, analyze, event, unwrap_sequence


def _replies(seqs: list[int], interval: float = 1.0, rtt: float = 0.002) -> list[ProbeEvent]:
    """Replies on a perfect schedule: probe n sent at n * interval, answered rtt later."""
    return [event(seq, seq * interval, seq * interval + rtt) for seq in seqs]


def test_reference_deployment_seed() -> None:
    """The issue's log (seq 16-18 then 137-138 at 1 s) is 118 lost and 118 s loss-derived."""
    events = [
        ProbeEvent(seq, rtt_seconds=rtt)
        for seq, rtt in [
            (16, 2.51e-3),
            (17, 16.9e-3),
            (18, 2.63e-3),
            (137, 8.52e-3),
            (138, 6.06e-3),
        ]
    ]
    result = analyze(events, interval_seconds=1.0)
    assert (123, 5, 118) == (result.sent, result.received, result.lost)
    assert 1 == len(result.episodes)
    episode = result.episodes[0]
    assert (19, 136, 118) == (episode.first_lost_seq, episode.last_lost_seq, episode.lost_count)
    assert 118.0 == episode.loss_derived_outage_seconds
    assert episode.gap_derived_outage_seconds is None
    assert 1.0 == result.resolution_seconds
    assert 118.0 == result.total_loss_derived_outage_seconds


def test_no_loss_has_no_episodes() -> None:
    """An unbroken run reports everything received and no episode."""
    result = analyze(_replies(list(range(10))), 1.0)
    assert (10, 10, 0, ()) == (result.sent, result.received, result.lost, result.episodes)
    assert result.longest_episode is None
    assert result.max_gap_derived_outage_seconds is None


def test_gap_derived_outage_uses_reply_times() -> None:
    """Gap-derived outage = first reply after - last reply before - interval."""
    events = [event(0, 0.0, 0.001), event(1, 0.1, 0.101), event(5, 0.5, 0.531), event(6, 0.6, 0.6)]
    result = analyze(events, 0.1)
    episode = result.episodes[0]
    assert (2, 4, 3) == (episode.first_lost_seq, episode.last_lost_seq, episode.lost_count)
    assert 0.3 == pytest.approx(episode.loss_derived_outage_seconds)
    assert 0.33 == pytest.approx(episode.gap_derived_outage_seconds)
    assert 0.2 == pytest.approx(episode.start_at)  # derived from the neighbours' send times
    assert 0.4 == pytest.approx(episode.end_at)


def test_two_episodes_failover_and_failback() -> None:
    """Failover and failback losses are two episodes; the longest and the totals follow."""
    result = analyze(_replies([0, 1, 2, 6, 7, 8, 9, 11, 12], interval=0.5), 0.5)
    shape = [(e.first_lost_seq, e.last_lost_seq, e.lost_count) for e in result.episodes]
    assert [(3, 5, 3), (10, 10, 1)] == shape
    assert result.longest_episode is result.episodes[0]
    assert 2.0 == result.total_loss_derived_outage_seconds
    assert 1.5 == pytest.approx(result.max_gap_derived_outage_seconds)


def test_trailing_loss_is_an_open_episode() -> None:
    """Losses with no reply after them form an episode flagged recovered=False."""
    events = [*_replies([0, 1, 2]), ProbeEvent(3, replied=False), ProbeEvent(4, replied=False)]
    result = analyze(events, 1.0)
    episode = result.episodes[0]
    assert (3, 4, False, True) == (
        episode.first_lost_seq,
        episode.last_lost_seq,
        episode.recovered,
        episode.after_first_reply,
    )
    assert episode.gap_derived_outage_seconds is None
    assert 2.0 == episode.loss_derived_outage_seconds


def test_leading_loss_began_before_first_reply() -> None:
    """Losses before the first reply are flagged after_first_reply=False."""
    events = [ProbeEvent(1, replied=False), ProbeEvent(2, replied=False), *_replies([3, 4])]
    episode = analyze(events, 1.0).episodes[0]
    assert (1, 2, True, False) == (
        episode.first_lost_seq,
        episode.last_lost_seq,
        episode.recovered,
        episode.after_first_reply,
    )


def test_duplicates_counted_once() -> None:
    """A second copy of a reply is a duplicate, not an extra received probe."""
    events = [*_replies([0, 1]), event(1, 1.0, 1.004), *_replies([2])]
    result = analyze(events, 1.0)
    assert (3, 3, 0, 1) == (result.sent, result.received, result.lost, result.duplicates)


def test_late_reply_counts_as_lost_and_is_reported() -> None:
    """A reply slower than the late threshold is lost, listed in late_seqs, and in an episode."""
    events = [event(0, 0.0, 0.01), event(1, 0.1, 2.6), event(2, 0.2, 0.21)]
    result = analyze(events, 0.1, late_after_seconds=1.0)
    assert (3, 2, 1, 1, (1,)) == (
        result.sent,
        result.received,
        result.lost,
        result.late,
        result.late_seqs,
    )
    assert [(1, 1)] == [(e.first_lost_seq, e.lost_count) for e in result.episodes]


def test_late_reply_without_threshold_is_received() -> None:
    """Without a late threshold a slow reply still counts as received."""
    events = [event(0, 0.0, 0.01), event(1, 0.1, 2.6), event(2, 0.2, 0.21)]
    assert 0 == analyze(events, 0.1).lost


def test_no_answer_then_reply_counts_received() -> None:
    """`ping -O` "no answer yet" followed by the reply is a received probe, not a loss."""
    events = [*_replies([0]), ProbeEvent(1, replied=False), *_replies([1, 2])]
    result = analyze(events, 1.0)
    assert (3, 0, ()) == (result.received, result.lost, result.episodes)


def test_reordered_replies_counted() -> None:
    """A reply arriving after a higher sequence number's reply counts as reordered."""
    events = [event(0, 0.0, 0.01), event(2, 0.2, 0.21), event(1, 0.1, 0.25), event(3, 0.3, 0.31)]
    result = analyze(events, 0.1)
    assert (1, 0) == (result.reordered, result.lost)


def test_wraparound_at_65535() -> None:
    """A loss spanning the 16-bit wrap is one episode in the unwrapped sequence."""
    seqs = [65532, 65533, 1, 2]  # 65534, 65535, 0 lost
    result = analyze([ProbeEvent(seq) for seq in seqs], 1.0)
    assert (7, 4, 3) == (result.sent, result.received, result.lost)
    episode = result.episodes[0]
    assert (65534, 65536, 3) == (episode.first_lost_seq, episode.last_lost_seq, episode.lost_count)


def test_unwrap_sequence_steps_and_reorder() -> None:
    """Unwrapping keeps +1 steps across the wrap and reads 0 then 65535 as a step back."""
    assert [65535, 65536, 65537, 65536] == unwrap_sequence([65535, 0, 1, 0])
    assert [0, -1, 0] == unwrap_sequence([0, 65535, 0])


def test_rtt_statistics_from_printed_or_timestamps() -> None:
    """RTT min/avg/max come from printed RTTs or receive - send."""
    events = [ProbeEvent(0, rtt_seconds=0.002), event(1, 1.0, 1.004), ProbeEvent(2, 2.0, None)]
    result = analyze(events, 1.0)
    assert (0.002, 0.003, 0.004) == pytest.approx(
        (result.rtt_min_seconds, result.rtt_avg_seconds, result.rtt_max_seconds)
    )


def test_empty_events() -> None:
    """No events is an empty result at the given resolution, not an error."""
    result = analyze([], 0.01)
    assert (0, 0, 0, (), 0.01, 0.0) == (
        result.sent,
        result.received,
        result.lost,
        result.episodes,
        result.resolution_seconds,
        result.loss_ratio,
    )


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_interval_rejected(interval: float) -> None:
    """A non-positive or non-finite interval is a ValueError."""
    with pytest.raises(ValueError, match="interval"):
        analyze(_replies([0, 1]), interval)


def test_to_dict_has_vocabulary() -> None:
    """The JSON form names the RFC 6412-style quantities and the resolution."""
    document = analyze(_replies([0, 3]), 1.0).to_dict()
    assert 2.0 == document["total_loss_derived_outage_seconds"]
    assert 1.0 == document["resolution_seconds"]
    assert 2 == document["longest_episode"]["lost_count"]
    assert 2.0 == pytest.approx(document["episodes"][0]["gap_derived_outage_seconds"])


@st.composite
def _probe_runs(draw: st.DrawFn) -> tuple[list[ProbeEvent], float]:
    """A run of probes starting anywhere (wrap included) with random loss/dups/reordering."""
    start = draw(st.integers(0, 65535))
    count = draw(st.integers(1, 300))
    interval = draw(st.sampled_from([0.01, 0.1, 1.0]))
    answered = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    if not any(answered):
        answered[0] = True
    events: list[ProbeEvent] = []
    timed = draw(st.booleans())
    for offset, ok in enumerate(answered):
        sent_at = offset * interval if timed else None
        received_at = sent_at + 0.003 if sent_at is not None and ok else None
        events.append(ProbeEvent((start + offset) % 65536, sent_at, received_at, replied=ok))
        if ok and draw(st.integers(0, 20)) == 0:
            events.append(events[-1])  # a duplicate
    swaps = draw(st.integers(0, 5))
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(swaps):  # local reordering only, as on a real path
        index = rng.randrange(len(events))
        if index + 1 < len(events):
            events[index], events[index + 1] = events[index + 1], events[index]
    return events, interval


@settings(max_examples=300, deadline=None)
@given(_probe_runs(), st.none() | st.floats(0.001, 0.01))
def test_invariants_hold(run: tuple[list[ProbeEvent], float], late: float | None) -> None:
    """lost + received == sent; episodes are ordered, disjoint, sum to lost; outages >= 0."""
    events, interval = run
    result = analyze(events, interval, late_after_seconds=late)
    assert result.sent == result.lost + result.received
    assert result.lost == sum(e.lost_count for e in result.episodes)
    for earlier, later in zip(result.episodes, result.episodes[1:], strict=False):
        assert earlier.last_lost_seq + 1 < later.first_lost_seq
    for episode in result.episodes:
        assert episode.lost_count == episode.last_lost_seq - episode.first_lost_seq + 1
        assert episode.loss_derived_outage_seconds >= 0
        assert episode.gap_derived_outage_seconds is None or episode.gap_derived_outage_seconds >= 0
    assert all(e.recovered for e in result.episodes[:-1])


# --- `holdtime gap FILE` (holdtime/cli/gap.py), through the real cli.main -----------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
SEED = FIXTURES / "iputils" / "reference-deployment" / "output.txt"


def _holdtime(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """Run holdtime.cli.main with the gap subcommand registered (until the lead wires it)."""
    if "holdtime.cli.gap" not in cli.SUBCOMMAND_MODULES:
        monkeypatch.setattr(
            cli, "SUBCOMMAND_MODULES", (*cli.SUBCOMMAND_MODULES, "holdtime.cli.gap")
        )
    return cli.main(list(argv))


def test_cli_text_summary_of_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text summary names sent/lost, the episode's seqs and outage, and the resolution."""
    assert 0 == _holdtime(monkeypatch, "gap", str(SEED))
    out = capsys.readouterr().out
    assert "sent 123, received 5, lost 118 (95.9%)" in out
    assert "#1 seq 19-136: 118 lost, loss-derived outage 118.000 s, gap-derived outage n/a" in out
    assert "resolution 1 s (probe interval, default (pass --interval))" in out


def test_cli_json_with_interval(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format json carries the result; --interval sets the resolution."""
    assert 0 == _holdtime(monkeypatch, "gap", str(SEED), "--format", "json", "--interval", "0.2")
    document = json.loads(capsys.readouterr().out)
    assert (118, 0.2, "--interval") == (
        document["lost"],
        document["resolution_seconds"],
        document["interval_source"],
    )
    assert 23.6 == pytest.approx(document["total_loss_derived_outage_seconds"])


def test_cli_reads_stdin_and_infers_interval(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """FILE '-' reads standard input; a -D log's interval is inferred from its timestamps."""
    text = (FIXTURES / "iputils" / "two-episodes" / "output.txt").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert 0 == _holdtime(monkeypatch, "gap", "-", "--format", "json")
    document = json.loads(capsys.readouterr().out)
    assert ("<stdin>", 0.204, 2) == (
        document["source"],
        document["resolution_seconds"],
        len(document["episodes"]),
    )


def test_cli_garbage_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Input with no ping line: exit 2 and one error line naming file:line."""
    log = tmp_path / "bad.log"
    log.write_text("\nnonsense here\nmore nonsense\n")
    assert 2 == _holdtime(monkeypatch, "gap", str(log))
    err = capsys.readouterr().err
    assert f"holdtime: error: {log}:2: not iputils ping output: 'nonsense here'\n" == err


def test_cli_missing_file_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A file that does not exist is a one-line error, exit 2."""
    missing = tmp_path / "nope.log"
    assert 2 == _holdtime(monkeypatch, "gap", str(missing))
    assert f"holdtime: error: {missing}: cannot read: No such file or directory\n" == (
        capsys.readouterr().err
    )


def test_cli_late_after_reports_late(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--late-after turns slow replies into losses and lists them."""
    log = FIXTURES / "iputils" / "unreachable" / "output.txt"
    assert 0 == _holdtime(monkeypatch, "gap", str(log), "--late-after", "1")
    assert "late replies (counted as lost): seq 8-9" in capsys.readouterr().out


def test_cli_summary_only_log_reports_summary_loss(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ping -q` log: one line says there is no per-probe data; summary loss; outage unknown."""
    log = FIXTURES / "iputils" / "debian8-quiet" / "output.txt"
    assert 0 == _holdtime(monkeypatch, "gap", str(log))
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("no per-probe data: the log's own summary says 60 transmitted, 60")
    assert "sent 60, received 60, lost 0 (0.0%)" in out[2]
    assert "outage unknown" == out[3]


def test_cli_summary_only_json_has_null_outage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON of a summary-only log: summary counts, no episodes, outage null, per_probe false."""
    log = FIXTURES / "iputils" / "quiet" / "output.txt"
    assert 0 == _holdtime(monkeypatch, "gap", str(log), "--format", "json")
    document = json.loads(capsys.readouterr().out)
    assert (10, 7, 3, [], None, None, False, False) == (
        document["sent"],
        document["received"],
        document["lost"],
        document["episodes"],
        document["total_loss_derived_outage_seconds"],
        document["max_gap_derived_outage_seconds"],
        document["per_probe"],
        document["outage_known"],
    )


@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "0", "-1", "1e-9", "abc"])
@pytest.mark.parametrize("option", ["--interval", "--late-after"])
def test_cli_bad_seconds_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    """An interval out of 1e-6..86400 s (or not a number) is one error line, exit 2, no output."""
    assert 2 == _holdtime(monkeypatch, "gap", str(SEED), "--format", "json", option, value)
    captured = capsys.readouterr()
    assert ("", 1) == (captured.out, len(captured.err.splitlines()))
    assert captured.err.startswith(f"holdtime: error: {option} ")


def test_cli_largest_interval_gives_finite_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At the 86400 s bound the JSON is still plain numbers (never Infinity)."""
    assert 0 == _holdtime(monkeypatch, "gap", str(SEED), "--format", "json", "--interval", "86400")
    text = capsys.readouterr().out
    assert "Infinity" not in text
    assert 118 * 86400.0 == json.loads(text)["total_loss_derived_outage_seconds"]


_DISAGREES = (
    "note: --interval 0.01 s disagrees with the log's timestamps, which show a probe every"
    " 0.204 s (more than 20% apart): used the timestamps' 0.204 s"
)


@pytest.mark.parametrize(
    ("interval", "resolution", "note"),
    [
        ("0.01", "0.204 s (probe interval, inferred from timestamps (--interval disagreed))", True),
        ("0.2", "0.2 s (probe interval, --interval)", False),
    ],
)
def test_cli_interval_checked_against_timestamps(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    interval: str,
    resolution: str,
    note: bool,
) -> None:
    """--interval >20% off a -D log's spacing: said, timestamps used; within 20%: used as given."""
    log = FIXTURES / "iputils" / "two-episodes" / "output.txt"
    assert 0 == _holdtime(monkeypatch, "gap", str(log), "--interval", interval)
    out = capsys.readouterr().out
    assert f"resolution {resolution}" in out
    assert note == (_DISAGREES in out)


def test_cli_skipped_lines_counted_and_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Odd lines in a real log: analysed anyway; count and the first 3 lines shown, JSON too."""
    lines = (FIXTURES / "iputils" / "plain" / "output.txt").read_text().splitlines()
    odd = ["^C", "Connection to router closed.", "bash: warning", "weird 4"]
    log = tmp_path / "odd.log"
    log.write_text("\n".join([*lines[:3], *odd, *lines[3:]]) + "\n")
    assert 0 == _holdtime(monkeypatch, "gap", str(log))
    out = capsys.readouterr().out
    assert "sent 14, received 10, lost 4 (28.6%)" in out
    assert (
        "note: skipped 4 line(s) not understood: line 4 '^C', line 5 'Connection to router"
        " closed.', line 6 'bash: warning' and 1 more; the figures come from the probes that"
        " were read"
    ) in out
    assert 0 == _holdtime(monkeypatch, "gap", str(log), "--format", "json")
    document = json.loads(capsys.readouterr().out)
    assert (4, {"line": 4, "text": "^C"}) == (
        document["skipped_lines"],
        document["skipped_first"][0],
    )


def test_cli_windows_ping_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Windows ping output: exit 2, one line saying it is not supported and what to use."""
    log = FIXTURES / "refused" / "windows10-loss" / "output.txt"
    assert 2 == _holdtime(monkeypatch, "gap", str(log))
    err = capsys.readouterr().err
    assert (
        f"holdtime: error: {log}:1: this is Windows ping output, which holdtime does not read"
        " (yet): record the log with iputils `ping -D -O` (Linux, WSL) or `fping -D -l`\n"
    ) == err


def test_cli_icmp_errors_and_warning_noted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """TTL exceeded lines are named losses; a broadcast WARNING is shown, not skipped."""
    assert 0 == _holdtime(monkeypatch, "gap", str(FIXTURES / "iputils/ttl-exceeded/output.txt"))
    out = capsys.readouterr().out
    assert (
        "note: ICMP error 'Time to live exceeded' for 4 probe(s): seq 1-4 (counted as lost)" in out
    )
    assert 0 == _holdtime(monkeypatch, "gap", str(FIXTURES / "iputils/broadcast/output.txt"))
    out = capsys.readouterr().out
    assert "note: the tool warned: WARNING: pinging broadcast address" in out
    assert "skipped" not in out


def test_cli_episode_across_the_wrap_shows_printed_seqs() -> None:
    """An unwrapped episode line also names the sequence numbers as ping printed them."""
    from holdtime.cli.gap import render_text

    events = [ProbeEvent(seq) for seq in (65532, 65533, 2, 3)]
    text = render_text(analyze(events, 1.0), "iputils", None, "--interval")
    assert "#1 seq 65534-65537 (printed 65534-1): 4 lost" in text
    assert "wrapped past 65535 1 time(s)" in text


def test_unwrap_uses_send_times_across_a_long_gap() -> None:
    """40000 probes lost at 10 ms (over half the 16-bit space): the send times place the rest."""
    interval = 0.01
    seqs = [*range(100, 111), *range(40111, 40121)]
    events = [event(seq, seq * interval, seq * interval + 0.001) for seq in seqs]
    result = analyze(events, interval)
    assert [(111, 40110, 40000)] == [
        (e.first_lost_seq, e.last_lost_seq, e.lost_count) for e in result.episodes
    ]
    assert (40021, 21, 0) == (result.sent, result.received, result.reordered)


def test_unwrap_without_times_reads_a_long_gap_as_a_step_back() -> None:
    """Without send times a jump of half the 16-bit space or more reads as a step back."""
    assert [110, 40111 - 65536] == unwrap_sequence([110, 40111])

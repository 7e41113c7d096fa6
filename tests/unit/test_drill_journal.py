"""`holdtime report` on journals: killed drills, torn lines, damaged files, reused journals."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holdtime.cli import main
from holdtime.drill.journal import Journal, read_journal
from holdtime.errors import ConfigError

START = {
    "type": "start",
    "scenario": "esg1-silent-failure",
    "started_at": "2026-12-01T20:00:00+00:00",
    "restore": "run `nft delete table inet holdtime_drill` in netns hdr-esg1",
    "paths": {"app-to-db": 0.2},
    "budget_seconds": 11.0,
}


def _lines(*records: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _killed(path: Path, tail: str = "") -> Path:
    """A journal as SIGKILL leaves it 2 s after the trigger: no restore, no result."""
    path.write_text(
        _lines(
            START,
            {"type": "event", "at_seconds": 1.0, "kind": "settle", "detail": "1 s", "source": ""},
            {
                "type": "sample",
                "at_seconds": 2.5,
                "path": "app-to-db",
                "sent": 12,
                "lost": 0,
                "received": 12,
                "current_gap_seconds": 0.0,
            },
            {
                "type": "event",
                "at_seconds": 2.9,
                "kind": "trigger",
                "detail": "local",
                "source": "",
            },
            {
                "type": "sample",
                "at_seconds": 4.9,
                "path": "app-to-db",
                "sent": 22,
                "lost": 6,
                "received": 14,
                "current_gap_seconds": 1.9,
            },
        )
        + tail
    )
    return path


def test_killed_drill_says_restore_never_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A killed drill: first line names the trigger time and the restore to run, exit 2."""
    journal = _killed(tmp_path / "j.jsonl")
    code = main(["report", str(journal)])
    first = capsys.readouterr().out.splitlines()[0]
    assert (
        2,
        "DRILL esg1-silent-failure: trigger ran at 2.9 s, restore never ran: run "
        "`nft delete table inet holdtime_drill` in netns hdr-esg1",
    ) == (code, first)


def test_killed_drill_shows_the_outage_so_far(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The streamed samples after the trigger give the failover outage measured so far."""
    journal = _killed(tmp_path / "j.jsonl")
    main(["report", str(journal), "--format", "json"])
    [phase] = json.loads(capsys.readouterr().out)["extras"]["drills"][0]["phases"]
    assert ("failover", 22, 6, 1.2, 1.9) == (
        phase["phase"],
        phase["sent"],
        phase["lost"],
        phase["loss_derived_outage_seconds"],
        phase["gap_derived_outage_seconds"],
    )


def test_streamed_probes_give_the_exact_outage_so_far(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Per-probe records streamed before the kill: sent, lost and the episode, exactly."""
    events = [[seq, 100.0 + 0.2 * seq, 100.001 + 0.2 * seq, True] for seq in range(10)]
    events += [[seq, 100.0 + 0.2 * seq, None, False] for seq in range(10, 16)]
    probes = {"type": "probes", "path": "app-to-db", "late_after_seconds": 1.0, "events": events}
    journal = _killed(tmp_path / "j.jsonl", tail=json.dumps(probes) + "\n")
    main(["report", str(journal), "--format", "json"])
    [phase] = json.loads(capsys.readouterr().out)["extras"]["drills"][0]["phases"]
    assert (16, 6, 1.2, 1) == (
        phase["sent"],
        phase["lost"],
        phase["loss_derived_outage_seconds"],
        len(phase["episodes"]),
    )


def test_torn_last_line_keeps_the_records_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A last line cut mid-write is skipped; the killed drill is still reported in full."""
    journal = _killed(tmp_path / "j.jsonl", tail='{"type": "sample", "at_sec')
    assert (5, 2) == (len(list(read_journal(journal))), main(["report", str(journal)]))
    assert "trigger ran at 2.9 s" in capsys.readouterr().out.splitlines()[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "j.jsonl:1: not a journal record (binary data"),
        (gzip.compress(_lines(START).encode())[:20], "j.jsonl:1: not a journal record (binary"),
        (b'{"type": "start"}\n[1, 2]\n', "j.jsonl:2: not a journal record (no 'type')"),
        (b'{"type": "start", "scenario": 5}\n', "j.jsonl:1: start record with a non-text"),
        (b"", "j.jsonl: no drill start record: not a holdtime drill journal"),
        (
            _lines(START, {"type": "result", "result": {"name": "x"}}).encode(),
            "j.jsonl:2: not a drill result record",
        ),
    ],
    ids=["binary", "truncated-gzip", "json-not-a-record", "wrong-types", "empty", "bad-result"],
)
def test_damaged_journal_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    """Damaged journals: one stderr line naming file:line, exit 2, no traceback."""
    journal = tmp_path / "j.jsonl"
    journal.write_bytes(content)
    code = main(["report", str(journal)])
    [line] = capsys.readouterr().err.splitlines()
    assert (2, True) == (code, message in line), line


def test_infinite_offsets_are_damage_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event at 1e308 s (or NaN) is a one-line error naming file:line, exit 2."""
    journal = tmp_path / "j.jsonl"
    journal.write_text(
        _lines(START, {"type": "event", "at_seconds": 1e308, "kind": "x", "detail": ""}).replace(
            "1e+308", "Infinity"
        )
    )
    code = main(["report", str(journal)])
    [line] = capsys.readouterr().err.splitlines()
    assert (2, True) == (code, "j.jsonl:2: event record without a number 'at_seconds'" in line)


def test_directory_as_journal_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory given as the journal: one line, exit 2."""
    code = main(["report", str(tmp_path)])
    [line] = capsys.readouterr().err.splitlines()
    assert (2, f"holdtime: error: cannot read journal {tmp_path}: Is a directory") == (code, line)


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_RECORD = st.fixed_dictionaries(
    {"type": st.sampled_from(["start", "event", "sample", "action", "probes", "result"])},
    optional={
        "scenario": _JSON,
        "started_at": st.just("2026-12-01T20:00:00+00:00") | _JSON,
        "at_seconds": _JSON,
        "kind": st.sampled_from(["trigger", "restore"]) | _JSON,
        "detail": _JSON,
        "role": st.sampled_from(["trigger", "restore"]) | _JSON,
        "path": _JSON,
        "result": _JSON,
        "paths": _JSON,
        "events": _JSON,
        "late_after_seconds": _JSON,
    },
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_RECORD.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=30), max_size=6))
def test_report_never_raises_on_any_journal(tmp_path: Path, lines: list[bytes]) -> None:
    """Fuzz: any mix of records and bytes gives a report (0/1/2) or exit 2, never a traceback."""
    journal = tmp_path / "fuzz.jsonl"
    journal.write_bytes(b"\n".join(lines))
    assert main(["report", str(journal), "--format", "json"]) in (0, 1, 2)


def test_reused_journal_is_refused_unless_force(tmp_path: Path) -> None:
    """A journal that holds a drill is refused with one line; --force (overwrite) truncates."""
    path = tmp_path / "j.jsonl"
    path.write_text(_lines(START))
    with pytest.raises(ConfigError, match="already holds a drill: choose another --journal"):
        Journal(path)
    with Journal(path, overwrite=True) as journal:
        journal.write("start", scenario="new")
    assert [{"type": "start", "scenario": "new"}] == list(read_journal(path))


def test_signal_handler_write_never_blocks_on_a_held_lock(tmp_path: Path) -> None:
    """A record from a signal handler that interrupts a write waits, then lands in order."""
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.write("start", scenario="d")
        with journal._lock:  # the main thread was inside write() when the signal came
            journal.write_from_signal_handler("event", kind="signal")
        journal.write("event", kind="restore")
    assert ["start", "signal", "restore"] == [r.get("kind", r["type"]) for r in read_journal(path)]


def test_pending_signal_record_is_written_at_close(tmp_path: Path) -> None:
    """The last record of a drill, queued by a signal handler, is not lost at close."""
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    with journal._lock:
        journal.write_from_signal_handler("event", kind="signal")
    journal.close()
    assert [{"type": "event", "kind": "signal"}] == list(read_journal(path))

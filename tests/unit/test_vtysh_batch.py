"""One `vtysh -E -c A -c B ...` for the BGP reads: built, split and attributed per command.

Fixtures (tests/fixtures/vtysh-batch/) are unedited batches recorded from the lab's router:
`bfd` (every command succeeds) and `no-bfdd` (vtysh stops at `show bfd peers json`); and
`unknown-command`, vtysh's answer to a command it does not know (the text BFD fallback).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holdtime.errors import CommandRefused, ParseError
from holdtime.probes import commands, frr
from holdtime.probes.command_reader import CommandReader, attribute_vtysh_batch
from holdtime.probes.frr_reader import json_or_text, read_bfd
from holdtime.probes.ssh import CommandOutput

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vtysh-batch"
TEXTS = [
    "show bgp vrf all summary json",
    "show bgp vrf all neighbors json",
    "show bgp ipv4 unicast 172.16.1.0/24 json",
    "show bfd peers json",
]


def _recorded(name: str) -> CommandOutput:
    folder = FIXTURES / name
    meta = json.loads((folder / "meta.json").read_text())
    assert commands.build_vtysh_batch(TEXTS).line == meta["command"]  # recorded with this line
    return CommandOutput(
        command=meta["command"],
        stdout=(folder / "output.txt").read_text(),
        stderr=(folder / "stderr.txt").read_text(),
        exit_status=meta["exit_status"],
        duration_seconds=0.1,
    )


def test_batch_line_quotes_each_allowlisted_command() -> None:
    """-E echoes the commands; sudo wraps the whole vtysh."""
    line = commands.build_vtysh_batch(TEXTS[:2], sudo=True).line
    assert (
        "sudo -n vtysh -E -c 'show bgp vrf all summary json' -c 'show bgp vrf all neighbors json'"
        == line
    )


@pytest.mark.parametrize(
    "text", ["conf t", "show bgp vrf all summary json; reboot", "show running-config"]
)
def test_batch_refuses_anything_off_the_allowlist(text: str) -> None:
    """One command off the allowlist refuses the whole batch."""
    with pytest.raises(CommandRefused, match="not on the read-only allowlist"):
        commands.build_vtysh_batch([TEXTS[0], text], device="r1")


def test_all_commands_ran_each_parses_on_its_own() -> None:
    """The bfd recording splits into four outputs that the single-command parsers accept."""
    outputs = attribute_vtysh_batch(_recorded("bfd"), TEXTS)
    assert TEXTS == list(outputs)
    assert {0} == {o.exit_status for o in outputs.values()}
    peers = frr.parse_frr_bgp_summary_json(outputs[TEXTS[0]].stdout)
    neighbors = frr.parse_frr_bgp_neighbors_json(outputs[TEXTS[1]].stdout)
    route = frr.parse_frr_bgp_route_json(outputs[TEXTS[2]].stdout)
    bfd = frr.parse_frr_bfd_peers_json(outputs[TEXTS[3]].stdout)
    best = route.best_path
    assert (
        ["Established", "Established"],
        ["10.10.10.2", "10.10.10.6"],
        "10.10.10.2",
        ["up", "up"],
    ) == (
        [p.state for p in peers],
        sorted(n.address for n in neighbors),
        best.peer if best else None,
        [p.status for p in bfd],
    )
    assert "vtysh -c 'show bfd peers json'" == outputs[TEXTS[3]].command


def test_vtysh_stops_at_bfdd_not_running() -> None:
    """The failing command gets exit 1 and stderr; the ones before it succeeded."""
    outputs = attribute_vtysh_batch(_recorded("no-bfdd"), TEXTS)
    bfd = outputs[TEXTS[3]]
    assert ([0, 0, 0], 1, "", "bfdd is not running") == (
        [outputs[t].exit_status for t in TEXTS[:3]],
        bfd.exit_status,
        bfd.stdout.strip(),
        bfd.text.strip(),
    )
    assert 2 == len(frr.parse_frr_bgp_summary_json(outputs[TEXTS[0]].stdout))


def test_commands_vtysh_never_reached_are_left_out() -> None:
    """A failure in the middle: later commands are not attributed (they run on their own)."""
    recorded = _recorded("no-bfdd")
    texts = [TEXTS[0], TEXTS[3], TEXTS[1]]
    stdout = recorded.stdout.split("vm# show bgp vrf all neighbors json")[0]
    stdout += "vm# show bfd peers json\n"
    out = CommandOutput(recorded.command, stdout, "bfdd is not running\n", 1, 0.1)
    outputs = attribute_vtysh_batch(out, texts)
    assert ([TEXTS[0], TEXTS[3]], 1) == (list(outputs), outputs[TEXTS[3]].exit_status)


def test_output_without_echo_lines_is_not_guessed() -> None:
    """A vtysh without -E (or anything else) gives no attribution at all."""
    recorded = _recorded("bfd")
    stripped = "".join(
        line for line in recorded.stdout.splitlines(keepends=True) if not line.startswith("vm# ")
    )
    for exit_status in (0, 1):
        out = CommandOutput(recorded.command, stripped, "", exit_status, 0.1)
        assert {} == attribute_vtysh_batch(out, TEXTS)
    unknown = CommandOutput(recorded.command, "", "vtysh: invalid option -- 'E'\n", 1, 0.1)
    assert {} == attribute_vtysh_batch(unknown, TEXTS)


def test_a_description_that_looks_like_an_echo_does_not_shift_outputs() -> None:
    """Only the next expected command's echo line starts a new output."""
    recorded = _recorded("bfd")
    sneaky = recorded.stdout.replace(
        '"hostname":"esg1",', '"hostname":"esg1",\nx# show bfd peers json\n', 1
    )
    outputs = commands.split_vtysh_batch(sneaky, TEXTS)
    assert 4 == len(outputs)
    assert "x# show bfd peers json" not in outputs[3]


def test_all_commands_must_be_echoed_when_vtysh_exits_zero() -> None:
    """Exit 0 with fewer outputs than commands: something is off, attribute nothing."""
    recorded = _recorded("bfd")
    truncated = recorded.stdout.split("vm# show bfd peers json")[0]
    out = CommandOutput(recorded.command, truncated, "", 0, 0.1)
    assert {} == attribute_vtysh_batch(out, TEXTS)


@given(st.text(max_size=400))
def test_split_never_raises_and_never_invents_outputs(text: str) -> None:
    """Arbitrary output: at most one output per command, no exception."""
    assert len(commands.split_vtysh_batch(text, TEXTS)) <= len(TEXTS)


class _RecordedSession:
    """Answers each command line with a recorded output (an FRR whose vtysh lacks a command)."""

    def __init__(self, answers: dict[str, CommandOutput]) -> None:
        self.answers = answers
        self.lines: list[str] = []

    def run(self, line: str, timeout_seconds: float | None = None) -> CommandOutput:
        self.lines.append(line)
        return self.answers[line]


def _answer(folder: Path, line: str, exit_status: int) -> CommandOutput:
    stderr = folder / "stderr.txt"
    return CommandOutput(
        command=line,
        stdout=(folder / "output.txt").read_text(),
        stderr=stderr.read_text() if stderr.exists() else "",
        exit_status=exit_status,
        duration_seconds=0.1,
    )


def test_bfd_without_json_falls_back_to_the_text_form() -> None:
    """vtysh's recorded `% Unknown command` for the JSON form: the text `show bfd peers` is read."""
    json_line, text_line = "vtysh -c 'show bfd peers json'", "vtysh -c 'show bfd peers'"
    text_case = FIXTURES.parent / "frr" / "show-bfd-peers" / "esg1-bfd-dropped"
    session = _RecordedSession(
        {
            json_line: _answer(FIXTURES / "unknown-command", json_line, 1),
            text_line: _answer(text_case, text_line, 0),
        }
    )
    reader = CommandReader(session, SimpleNamespace(sudo=False), "r1")  # type: ignore[arg-type]
    peers = read_bfd(reader)
    assert ([json_line, text_line], [("10.10.10.2", "down"), ("10.10.10.6", "up")]) == (
        session.lines,
        [(p.peer, p.status) for p in peers],
    )


def test_bfdd_not_running_is_an_error_not_a_text_fallback() -> None:
    """`bfdd is not running` (recorded batch stderr) stays the BFD section's error."""
    line = "vtysh -c 'show bfd peers json'"
    recorded = _recorded("no-bfdd")
    session = _RecordedSession({line: replace(recorded, command=line, stdout="")})
    reader = CommandReader(session, SimpleNamespace(sudo=False), "r1")  # type: ignore[arg-type]
    with pytest.raises(ParseError) as caught:
        read_bfd(reader)
    assert ([line], "r1: `show bfd peers json`: bfdd is not running") == (
        session.lines,
        str(caught.value),
    )


def test_json_not_understood_is_an_error_never_a_text_rereading() -> None:
    """A recorded summary with an unknown state: ERROR naming device and command, no text read."""
    line = "vtysh -c 'show bgp vrf all summary json'"
    case = FIXTURES.parent / "frr" / "show-bgp-vrf-all-summary-json" / "both-established"
    recorded = _answer(case, line, 0)
    odd = replace(recorded, stdout=recorded.stdout.replace('"Established"', '"Up"', 1))
    session = _RecordedSession({line: odd})
    reader = CommandReader(session, SimpleNamespace(sudo=False), "r1")  # type: ignore[arg-type]
    with pytest.raises(ParseError) as caught:
        json_or_text(
            reader,
            "show bgp vrf all summary json",
            frr.parse_frr_bgp_summary_json,
            "show bgp vrf all summary",
            frr.parse_frr_bgp_summary_text,
        )
    assert (
        [line],
        "r1: `show bgp vrf all summary json`: "
        "default.ipv4Unicast.peers.10.10.10.2.state: unknown BGP state 'Up'",
    ) == (session.lines, str(caught.value))

"""`--format` offers every `holdtime.reports` entry point, read only when a value is checked."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import holdtime.plugins
from holdtime.cli import main

BUILT_IN = ["html", "json", "junit", "markdown", "table"]
START = {"type": "start", "scenario": "s1", "started_at": "2026-12-01T20:00:00+00:00"}
THIRD_PARTY = '''
def render(run):
    """A third-party report: one line per result."""
    return "".join(f"{r.check}\\t{r.status.value}\\n" for r in run.results)
'''


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Entry points are read again in the test and again after it (they are cached)."""
    holdtime.plugins._load_group.cache_clear()
    yield
    holdtime.plugins._load_group.cache_clear()


def _register(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """Add one `holdtime.reports` entry point, as an installed package would."""
    real = holdtime.plugins.entry_points
    extra = EntryPoint(name=name, value=value, group="holdtime.reports")

    def entry_points(*, group: str) -> list[EntryPoint]:
        found = list(real(group=group))
        return [*found, extra] if group == "holdtime.reports" else found

    monkeypatch.setattr(holdtime.plugins, "entry_points", entry_points)


@pytest.fixture
def tsv_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None
) -> Iterator[None]:
    """A third-party `tsv` format: its module on sys.path, its entry point registered."""
    (tmp_path / "holdtime_test_tsv.py").write_text(THIRD_PARTY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    _register(monkeypatch, "tsv", "holdtime_test_tsv:render")
    yield
    sys.modules.pop("holdtime_test_tsv", None)


def _journal(tmp_path: Path) -> Path:
    """A journal a drill killed before its trigger left: one start record."""
    path = tmp_path / "drill.jsonl"
    path.write_text(json.dumps(START) + "\n", encoding="utf-8")
    return path


@pytest.mark.usefixtures("tsv_format")
def test_third_party_format_is_accepted_and_renders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A format registered by another package is selectable with --format and renders the run."""
    code = main(["report", str(_journal(tmp_path)), "--format", "tsv"])
    assert (2, "drill.completed\terror\n") == (code, capsys.readouterr().out)


@pytest.mark.usefixtures("tsv_format")
def test_third_party_format_is_listed_in_the_command_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`holdtime check --help` names every registered format, the third-party one included."""
    with pytest.raises(SystemExit) as exited:
        main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    expected = f"report format: {', '.join(sorted([*BUILT_IN, 'tsv']))} (default table)"
    assert (0, True) == (exited.value.code, expected in text)


@pytest.mark.parametrize("command", [["check", "-i", "inv.yaml"], ["report", "j.jsonl"]])
def test_unknown_format_is_argparse_one_line_error_exit_2(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown --format gives exactly argparse's own invalid-choice line, and exit 2."""
    reference = argparse.ArgumentParser(prog="holdtime")
    reference.add_argument("--format", choices=BUILT_IN)
    with pytest.raises(SystemExit):
        reference.parse_args(["--format", "nope"])
    expected = capsys.readouterr().err.splitlines()[-1]
    with pytest.raises(SystemExit) as exited:
        main([*command, "--format", "nope"])
    lines = capsys.readouterr().err.splitlines()
    assert (2, expected) == (exited.value.code, lines[-1])
    assert lines[0].startswith(f"usage: holdtime {command[0]} ")


@pytest.mark.usefixtures("fresh_plugins")
def test_format_plugin_that_fails_to_load_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken report plugin met while --format is checked is one line naming it, exit 2."""
    _register(monkeypatch, "broken", "holdtime_test_no_such_module:render")
    code = main(["report", str(_journal(tmp_path)), "--format", "json"])
    err = capsys.readouterr().err
    expected = (
        "holdtime: error: plugin 'broken' in holdtime.reports "
        "(holdtime_test_no_such_module:render) failed to load: "
        "No module named 'holdtime_test_no_such_module'\n"
    )
    assert (2, expected) == (code, err)


def test_top_level_help_reads_no_entry_point() -> None:
    """`holdtime --help` builds every parser without importing importlib.metadata or plugins."""
    probe = (
        "import contextlib, io, sys\n"
        "from holdtime.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "print(sorted(m for m in ('importlib.metadata', 'holdtime.plugins') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd="/"
    ).stdout
    assert "[]\n" == out

"""The real `holdtime` console script with a closed stdout, and with a reader that went away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """One tcp check on a loopback port nothing listens on (a quick FAIL)."""
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "version: 1\ntcp:\n  - {name: a, host: 127.0.0.1, port: 1, timeout_seconds: 2}\n"
    )
    return path


def _run(inventory: Path, command: list[str], stdout: int) -> subprocess.CompletedProcess[str]:
    """The console script with INVENTORY in `command` replaced and stdout on descriptor `stdout`."""
    argv = [str(inventory) if a == "INVENTORY" else a for a in command]
    return subprocess.run(
        [HOLDTIME, *argv], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("command", [["describe"], ["check", "-i", "INVENTORY"], ["--help"]])
def test_closed_stdout_is_one_line_and_exit_2(inventory: Path, command: list[str]) -> None:
    """`holdtime ... >&-`: exit 2 and one stderr line saying stdout is closed, no traceback."""
    argv = " ".join(str(inventory) if a == "INVENTORY" else a for a in command)
    done = subprocess.run(
        ["sh", "-c", f"exec {HOLDTIME} {argv} >&-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (2, ["holdtime: error: stdout is closed; redirect it to a file or /dev/null"]) == (
        done.returncode,
        done.stderr.splitlines(),
    )


@pytest.mark.parametrize("command", [["describe"], ["check", "-i", "INVENTORY"]])
def test_a_reader_that_went_away_ends_holdtime_silently_with_141(
    inventory: Path, command: list[str]
) -> None:
    """stdout a pipe with no reader (EPIPE): nothing on stderr, exit 141 like a SIGPIPE death."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _run(inventory, command, write_end)
    finally:
        os.close(write_end)
    assert (141, "") == (done.returncode, done.stderr)


def test_head_reading_one_line_of_a_long_output_is_silent() -> None:
    """`holdtime describe | head -1` as a shell runs it: one line out, nothing on stderr."""
    done = subprocess.run(
        ["bash", "-c", f'{HOLDTIME} describe | head -1; echo "exit ${{PIPESTATUS[0]}}" >&2'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # describe fits the pipe buffer, so it usually finishes before head exits (exit 0); when
    # head exits first it is the silent 141
    assert (1, True) == (
        len(done.stdout.splitlines()),
        done.stderr in ("exit 0\n", "exit 141\n"),
    ), done.stderr


@pytest.mark.parametrize("command", [["describe"], ["check", "-i", "INVENTORY"]])
def test_a_stdout_that_cannot_be_written_is_one_line_and_exit_2(
    inventory: Path, command: list[str]
) -> None:
    """stdout on /dev/full (ENOSPC): one line saying stdout cannot be written, exit 2."""
    with open("/dev/full", "w") as full:
        done = _run(inventory, command, full.fileno())
    assert (2, ["holdtime: error: cannot write to stdout: No space left on device"]) == (
        done.returncode,
        done.stderr.splitlines(),
    )

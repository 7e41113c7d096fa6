"""`holdtime gap --follow`: a Ctrl-C that lands after the input ended is not an interruption.

In a terminal, Ctrl-C reaches ping and holdtime together; ping may print its summary and close
the pipe before holdtime's handler runs, so the signal can land while the report is written.
It asks for that report: the exit status stays the one of the report, not 130. The signal is
sent from inside the report writer, so it lands exactly there on every run.
"""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from holdtime.cli import gap as gap_cli
from holdtime.cli import main

FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "ping" / "iputils" / "two-episodes"
) / "output.txt"


def test_ctrl_c_while_the_report_is_written_keeps_the_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, FIXTURE.read_bytes())  # smaller than a pipe's buffer
    os.close(write_end)  # the end of input, before any signal
    real_write_report = gap_cli.write_report
    sent: list[int] = []

    def write_report_hit_by_ctrl_c(*args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        sent.append(signal.SIGINT)
        real_write_report(*args, **kwargs)

    monkeypatch.setattr(gap_cli, "write_report", write_report_hit_by_ctrl_c)
    with os.fdopen(read_end, "rb") as stdin:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stdin))
        code = main(["gap", "--follow", "-", "--format", "json"])
    assert [signal.SIGINT] == sent
    assert 0 == code
    captured = capsys.readouterr()
    assert '"episodes"' in captured.out
    assert "interrupted" not in captured.err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

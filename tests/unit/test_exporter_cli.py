"""`holdtime serve` argument handling: bad values are one-line errors, never tracebacks."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from holdtime import cli
from holdtime.cli.serve import register, run_serve
from holdtime.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = cli._Parser(prog="holdtime")
    register(parser.add_subparsers(dest="command", parser_class=cli._Parser))
    return parser


def test_defaults_bind_loopback_and_one_minute() -> None:
    """Without flags: 127.0.0.1:9469, 60 s interval, 10 % jitter, no TLS, /probe on."""
    args = _parser().parse_args(["serve", "-i", "inv.yaml"])
    assert ("127.0.0.1:9469", 60.0, 0.1, None, False, None) == (
        args.listen,
        args.interval,
        args.jitter,
        args.web_config,
        args.no_probe_endpoint,
        args.shard,
    )


def test_connection_limits_default_and_parse() -> None:
    """--max-connections defaults to 128 and --idle-timeout to 120 s; both take numbers."""
    defaults = _parser().parse_args(["serve", "-i", "x"])
    given = _parser().parse_args(
        ["serve", "-i", "x", "--max-connections", "16", "--idle-timeout", "2.5"]
    )
    assert (128, 120.0, 16, 2.5) == (
        defaults.max_connections,
        defaults.idle_timeout,
        given.max_connections,
        given.idle_timeout,
    )


def test_probing_nice_defaults_to_5_and_takes_0_to_19() -> None:
    """--probing-nice: the probing process' nice increment, 5 unless given (0 turns it off)."""
    given = [_parser().parse_args(["serve", "-i", "x", *f]).probing_nice for f in
             ([], ["--probing-nice", "0"], ["--probing-nice", "19"])]  # fmt: skip
    assert [5, 0, 19] == given


def test_check_interval_is_pattern_and_seconds() -> None:
    """--check-interval 'nfs.*=300' parses into (pattern, seconds); repeatable."""
    args = _parser().parse_args(
        ["serve", "-i", "x", "--check-interval", "nfs.*=300", "--check-interval", "bgp.*=15"]
    )
    assert [("nfs.*", 300.0), ("bgp.*", 15.0)] == args.check_interval


@pytest.mark.parametrize(
    "flag",
    [
        ["--check-interval", "nfs.*"],
        ["--interval", "0"],
        ["--max-connections", "0"],
        ["--idle-timeout", "nan"],
        ["--idle-timeout", "inf"],
        ["--interval", "1e308"],
        ["--check-interval", "nfs.*=inf"],
        ["--probing-nice", "-1"],
        ["--probing-nice", "20"],
        ["--probing-nice", "low"],
    ],
)
def test_bad_numbers_exit_2(flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A bad interval is an argparse error: exit 2, usage and one error line, no traceback."""
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(["serve", "-i", "x", *flag])
    lines = capsys.readouterr().err.strip().splitlines()
    assert (2, True, 0) == (
        caught.value.code,
        lines[-1].startswith("holdtime: error: argument"),
        sum("Traceback" in line for line in lines),
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--listen", "localhost"], "--listen 'localhost': expected HOST:PORT"),
        (["--shard", "3/3"], "--shard '3/3': expected I/N"),
        (["--web-config", "/nonexistent/web.yml"], "cannot read web config /nonexistent/web.yml"),
    ],
)
def test_bad_options_are_config_errors(tmp_path: Path, flags: list[str], message: str) -> None:
    """Bad --listen, --shard or --web-config fail before anything starts, naming the value."""
    args = _parser().parse_args(["serve", "-i", str(tmp_path / "inv.yaml"), *flags])
    with pytest.raises(ConfigError, match=message):
        run_serve(args)


def test_help_does_not_import_prometheus_client(tmp_path: Path) -> None:
    """Registering `serve` (what `holdtime --help` does) imports no prometheus_client."""
    code = (
        "import sys, argparse\n"
        "from holdtime.cli.serve import register\n"
        "register(argparse.ArgumentParser().add_subparsers())\n"
        "print(any(m.startswith(('prometheus_client', 'holdtime.exporters')) for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "False" == out.stdout.strip()

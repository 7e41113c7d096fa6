"""The `holdtime` command line.

Subcommands live in their own modules of this package (``holdtime.cli.check``, ``.drill``, ...),
each exposing ``register(subparsers)`` that adds its parser and sets
``handler=<function(args) -> int>``; ``arguments`` holds the argument types they share and
``output`` the "render, then write to -o FILE or stdout" code. Heavy libraries (scapy, paramiko,
pyVmomi), and the report format entry points, are loaded only inside handlers or when a value is
checked, so ``holdtime --help`` stays fast.
Exit codes: 0 all pass/warn, 1 any fail, 2 any error or bad usage. Two more, as Unix tools
have them: 130 after ^C, and 141 (128 + SIGPIPE, what the shell shows for `cat` in
`cat big | head -1`) when the reader of stdout went away: holdtime then stops silently.
A stdout that is closed from the start (`holdtime check ... >&-`) is an error (exit 2): the
results would be lost, and the next file opened would take over descriptor 1. So is a write to
stdout that fails (a full disk): one line, exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO, cast

from holdtime.errors import HoldtimeError

# Modules that contribute subcommands, in --help order.
SUBCOMMAND_MODULES = (
    "holdtime.cli.check",
    "holdtime.cli.inventory",
    "holdtime.cli.gap",
    "holdtime.cli.parse",
    "holdtime.cli.drill",
    "holdtime.cli.serve",
    "holdtime.cli.record",
    "holdtime.lab.cli",
    "holdtime.cli.completion",
)
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line error (its default, made explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"holdtime: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (no heavy imports)."""
    parser = _Parser(
        prog="holdtime",
        description="Health checks and measured failover drills for hybrid VMware/cloud networks.",
    )
    # own dests: a subcommand's `-v/--verbose` (check, serve) must not read as this one
    parser.add_argument(
        "--version",
        dest="show_version",
        action="store_true",
        help="print the version and exit (-v: and the libraries')",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        dest="version_verbose",
        action="store_true",
        help="with --version: also the versions of Python, paramiko, pyVmomi, scapy, "
        "prometheus-client",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `holdtime` console script."""
    if sys.stdout is None:  # Python's stand-in when descriptor 1 was closed at start
        print(
            "holdtime: error: stdout is closed; redirect it to a file or /dev/null", file=sys.stderr
        )
        return 2
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except HoldtimeError as exc:  # a plugin that fails to load while --format is checked
        print(f"holdtime: error: {exc}", file=sys.stderr)
        return 2
    if args.show_version:
        from holdtime.cli.version import version_text

        print(version_text(verbose=args.version_verbose))
        return 0
    if args.version_verbose:
        parser.error("-v/--verbose goes with --version (holdtime --version -v)")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return _run(handler, args)


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command's handler; every way it can end is one line and an exit code."""
    stdout = _WatchedStdout(sys.stdout)
    sys.stdout = cast(TextIO, stdout)
    try:
        code = int(handler(args))
        sys.stdout.flush()  # here, not at exit, so a broken pipe is caught below
        return code
    except HoldtimeError as exc:
        print(f"holdtime: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("holdtime: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if exc is not stdout.failure:
            raise
        # a full disk, a dead terminal: the output is incomplete, and says so on one line
        _discard_stdout()
        print(f"holdtime: error: cannot write to stdout: {exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = stdout.stream


class _WatchedStdout:
    """sys.stdout, remembering the OSError a write raised (so it is told from other ones)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.failure: OSError | None = None

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            self.failure = exc
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            self.failure = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _discard_stdout() -> None:
    """Point descriptor 1 at /dev/null, so flushing at exit cannot fail again on stderr."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

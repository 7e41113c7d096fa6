"""`holdtime check` and `holdtime describe`."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from holdtime.cli.arguments import add_report_options, positive_float, positive_int
from holdtime.cli.output import render, to_terminal, write_report
from holdtime.defaults import DEFAULT_WORKERS
from holdtime.errors import ConfigError

if TYPE_CHECKING:
    from holdtime.models import CheckResult

_STATUS_MARK = {"pass": "pass", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "skip"}


def register(subparsers: Any) -> None:
    """Add `check` and `describe`."""
    check = subparsers.add_parser(
        "check",
        help="run every check of an inventory and print a report",
        description="Run the inventory's checks once. Exit 0 all pass/warn, 1 any fail, 2 error.",
    )
    check.add_argument("-i", "--inventory", required=True, type=Path, help="inventory YAML file")
    check.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="glob on check, target or device name (e.g. 'bgp.*', 'vpc-router-1'); repeatable",
    )
    add_report_options(check)
    check.add_argument(
        "--workers",
        type=positive_int,
        default=DEFAULT_WORKERS,
        help=f"targets checked at once (default {DEFAULT_WORKERS})",
    )
    check.add_argument(
        "--deadline",
        type=positive_float,
        metavar="SECONDS",
        help="stop the whole run after SECONDS; unfinished targets are ERROR",
    )
    noise = check.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="no progress, report only")
    noise.add_argument(
        "-v", "--verbose", action="store_true", help="show every result as it completes"
    )
    check.set_defaults(handler=run_check)

    describe = subparsers.add_parser(
        "describe",
        help="explain what a check compares, with thresholds and units",
        description="Without CHECK: list every check. With CHECK: what it compares and when.",
    )
    describe.add_argument("check_name", nargs="?", metavar="CHECK", help="e.g. tcp.port_open")
    describe.set_defaults(handler=run_describe)


class Progress:
    """Streams one line per finished result to stderr (verbose) or a counter (terminal)."""

    def __init__(self, stream: TextIO, *, verbose: bool, quiet: bool) -> None:
        self.stream = stream
        self.verbose = verbose
        self.live = not quiet and not verbose and stream.isatty()
        self.done = 0

    def __call__(self, result: CheckResult) -> None:
        self.done += 1
        if self.verbose:
            mark = _STATUS_MARK[result.status.value]
            print(f"{mark:5} {result.test_id}: {result.summary}", file=self.stream, flush=True)
        elif self.live:
            print(f"\r{self.done} results ...", end="", file=self.stream, flush=True)

    def close(self) -> None:
        if self.live and self.done:
            print("\r\033[K", end="", file=self.stream, flush=True)


def run_check(args: argparse.Namespace) -> int:
    """Handler of `holdtime check`."""
    from holdtime.inventory import load_inventory
    from holdtime.runner import run_checks

    inventory = load_inventory(args.inventory)
    progress = Progress(sys.stderr, verbose=args.verbose, quiet=args.quiet)
    try:
        run = run_checks(
            inventory,
            only=tuple(args.only),
            max_workers=args.workers,
            run_deadline_seconds=args.deadline,
            on_result=progress,
        )
    finally:
        progress.close()
    if not run.results:
        patterns = ", ".join(args.only) or "(none)"
        raise ConfigError(
            f"{args.inventory}: no check matched (--only {patterns}); "
            "`holdtime describe` lists the checks"
        )
    text = render(run, args.format, color=to_terminal(args.output), verbose=args.verbose)
    write_report(text, args.output, quiet=args.quiet)
    return run.exit_code


def run_describe(args: argparse.Namespace) -> int:
    """Handler of `holdtime describe`."""
    from holdtime.plugins import checks

    registered = checks()
    if args.check_name is None:
        width = max(len(name) for name in registered)
        for name in sorted(registered):
            print(f"{name:<{width}}  {registered[name].describe().summary}")
        return 0
    check = registered.get(args.check_name)
    if check is None:
        from holdtime.suggestions import did_you_mean

        hint = did_you_mean(args.check_name, registered) or "; `holdtime describe` lists them"
        raise ConfigError(f"unknown check {args.check_name!r}{hint}")
    info = check.describe()
    print(f"{info.name} (probe: {info.probe})")
    print(textwrap.fill(info.summary, 100))
    print(f"compares: {info.compares}")
    if info.thresholds:
        print("thresholds:")
        for threshold in info.thresholds:
            print(f"  {threshold.name} = {threshold.default} {threshold.unit}: {threshold.meaning}")
    if info.statuses:
        print("verdicts:")
        for status, when in info.statuses.items():
            print(f"  {status}: {when}")
    return 0

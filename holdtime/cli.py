"""The `holdtime` command line.

Subcommands live in their own modules, each exposing ``register(subparsers)`` that adds its
parser and sets ``handler=<function(args) -> int>``. Heavy libraries (scapy, paramiko, pyVmomi)
are imported only inside handlers, so ``holdtime --help`` stays fast.
Exit codes: 0 all pass/warn, 1 any fail, 2 any error or bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from holdtime import __version__
from holdtime.errors import HoldtimeError

# Modules that contribute subcommands, in --help order.
SUBCOMMAND_MODULES = (
    "holdtime.cli_check",
    "holdtime.cli_inventory",
    "holdtime.cli_gap",
    "holdtime.cli_parse",
    "holdtime.cli_drill",
    "holdtime.cli_serve",
    "holdtime.lab.cli",
)


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
    parser.add_argument("--version", action="version", version=f"holdtime {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `holdtime` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args))
    except HoldtimeError as exc:
        print(f"holdtime: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("holdtime: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

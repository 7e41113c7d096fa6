"""`holdtime record`: store what every router answers to a check run's commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from holdtime.cli.arguments import positive_int
from holdtime.defaults import DEFAULT_WORKERS


def register(subparsers: Any) -> None:
    """Add `record`."""
    parser = subparsers.add_parser(
        "record",
        help="record every router's answers to the commands of a check run (for replay)",
        description="Run the router checks once and store, per router, every command line "
        "with its stdout, stderr, exit status and duration (no passwords, no host keys). "
        "`holdtime lab replay DIR` serves the recording as SSH servers. Exit 0 when every "
        "router answered, 2 when one could not be reached (its file then holds no commands).",
    )
    parser.add_argument("-i", "--inventory", required=True, type=Path, help="inventory YAML file")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="DIR", help="folder of the recording"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="glob on check, target or device name, as for `holdtime check`; repeatable",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=DEFAULT_WORKERS,
        help=f"routers recorded at once (default {DEFAULT_WORKERS})",
    )
    parser.set_defaults(handler=run_record)


def run_record(args: argparse.Namespace) -> int:
    """Handler of `holdtime record`."""
    from holdtime.errors import ConfigError
    from holdtime.inventory import load_inventory
    from holdtime.probes.router_config import Router
    from holdtime.record import record

    inventory = load_inventory(args.inventory)
    if not inventory.of(Router):
        raise ConfigError(f"{args.inventory}: no routers to record")
    recording, run = record(inventory, args.output, only=tuple(args.only), max_workers=args.workers)
    unreachable = {
        r.device: r.summary
        for r in run.results
        if r.status.value == "error"
        and not any(c.exit_status is not None for c in recording.router(r.device).commands)
    }
    commands = sum(len(r.commands) for r in recording.routers)
    print(
        f"recorded {len(recording.routers)} routers, {commands} commands into {args.output}",
        file=sys.stderr,
    )
    for device, summary in sorted(unreachable.items()):
        print(f"holdtime: error: {device}: nothing recorded: {summary}", file=sys.stderr)
    return 2 if unreachable else 0

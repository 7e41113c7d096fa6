"""`holdtime lab up|down|status|inventory`."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add `lab` with its actions."""
    lab = subparsers.add_parser(
        "lab",
        help="the built-in lab: the reference deployment in network namespaces",
        description="Build, inspect and remove the built-in lab (root, Debian 12 packages).",
    )
    actions = lab.add_subparsers(
        dest="lab_command", metavar="ACTION", required=True, parser_class=type(lab)
    )

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--prefix",
            default="holdtime-",
            help="namespace name prefix, so two labs never collide (default holdtime-)",
        )

    up = actions.add_parser(
        "up", help="build the lab (idempotent, rebuilds a half-built one) and wait for BGP"
    )
    common(up)
    up.add_argument(
        "--timers",
        nargs=2,
        type=int,
        default=[3, 9],
        metavar=("KEEPALIVE", "HOLD"),
        help="BGP timers in seconds (default 3 9; FRR's default is 60 180)",
    )
    up.add_argument("--bfd", action="store_true", help="BFD 300 ms x 3 on the tunnel sessions")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for BGP")
    up.set_defaults(handler=run_up)
    for name, handler, text in (
        ("down", run_down, "remove everything the lab created (after a running up/down)"),
        ("status", run_status, "BGP and IPsec state; exit 1 naming what is missing"),
    ):
        parser = actions.add_parser(name, help=text)
        common(parser)
        parser.set_defaults(handler=handler)
    inventory = actions.add_parser("inventory", help="print the lab's inventory (or its path)")
    common(inventory)
    inventory.add_argument("--path", action="store_true", help="print only the file's path")
    inventory.set_defaults(handler=run_inventory)


def _lab(args: argparse.Namespace, **extra: Any) -> Any:
    from holdtime.lab import Lab

    return Lab(prefix=args.prefix, say=lambda text: print(f"lab: {text}", file=sys.stderr), **extra)


def run_up(args: argparse.Namespace) -> int:
    """Handler of `holdtime lab up`."""
    lab = _lab(args, timers=tuple(args.timers), bfd=args.bfd)
    for line in lab.up(timeout_seconds=args.timeout):
        print(line)
    return 0


def run_down(args: argparse.Namespace) -> int:
    """Handler of `holdtime lab down`."""
    for line in _lab(args).down():
        print(line)
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Handler of `holdtime lab status`: exit 0 when BGP and IPsec are up, 1 naming what is not."""
    text, up = _lab(args).inspect()
    print(text)
    return 0 if up else 1


def run_inventory(args: argparse.Namespace) -> int:
    """Handler of `holdtime lab inventory`."""
    from holdtime.errors import ConfigError

    lab = _lab(args)
    if not lab.inventory_path.exists():
        raise ConfigError(
            f"no lab inventory at {lab.inventory_path}: run `holdtime lab up "
            f"--prefix {args.prefix}` first"
        )
    print(
        lab.inventory_path if args.path else lab.inventory_path.read_text(),
        end="\n" if args.path else "",
    )
    return 0

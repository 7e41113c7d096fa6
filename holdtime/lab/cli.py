"""`holdtime lab up|down|status|inventory|replay`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from holdtime.cli.arguments import positive_int


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
    replay = actions.add_parser(
        "replay",
        help="serve a recording (holdtime record) as SSH servers on 127.0.0.1",
        description="Serve every router of a recording, or N copies of one, as SSH servers on "
        "127.0.0.1 (one port and host key each); write a known_hosts and an inventory that "
        "point holdtime at them; serve until SIGINT/SIGTERM. Commands outside the recording "
        "get exit status 127 (command not found).",
    )
    replay.add_argument("recording", type=Path, metavar="DIR", help="a `holdtime record` folder")
    replay.add_argument(
        "--copies", type=positive_int, metavar="N", help="serve N copies of one router"
    )
    replay.add_argument(
        "--router", default="", metavar="NAME", help="the recorded router to serve (or copy)"
    )
    replay.add_argument(
        "--prefix",
        default="",
        help="prepended to every served name (copies: NAME is PREFIX + number, default r)",
    )
    replay.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="NAME=KIND[:SECONDS],... with KIND delay:S, hang, reset, garbage, auth, hostkey",
    )
    replay.add_argument(
        "--known-hosts",
        choices=("shared", "per-router"),
        default="shared",
        help="one known_hosts for all (default, like the lab) or one file per router",
    )
    replay.add_argument(
        "--state",
        type=Path,
        metavar="FOLDER",
        help="where the inventory, known_hosts and client key go "
        "(default: TMPDIR/holdtime-replay-UID[-PREFIX])",
    )
    replay.set_defaults(handler=run_replay)


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


def run_replay(args: argparse.Namespace) -> int:
    """Handler of `holdtime lab replay`: serve until SIGINT or SIGTERM, then exit 0."""
    import signal
    import threading

    from holdtime.lab.replay import Replay
    from holdtime.record import load_recording

    recording = load_recording(args.recording)
    suffix = f"-{args.prefix.rstrip('-')}" if args.prefix else ""
    import tempfile

    state = args.state or Path(tempfile.gettempdir()) / f"holdtime-replay-{os.getuid()}{suffix}"
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    with Replay(
        recording,
        state,
        copies=args.copies or 0,
        router=args.router,
        prefix=args.prefix,
        faults=args.faults,
        known_hosts_per_router=args.known_hosts == "per-router",
    ) as replay:
        faults = [f"{s.name}={s.fault.kind}" for s in replay.routers if s.fault]
        print(
            f"replay: serving {len(replay.routers)} routers on 127.0.0.1 "
            f"(ports {min(s.port for s in replay.routers)}..{max(s.port for s in replay.routers)})"
            + (f", faults: {', '.join(faults)}" if faults else ""),
            file=sys.stderr,
        )
        print(f"inventory: {replay.inventory_path}", flush=True)
        stop.wait()
        print(
            f"replay: {replay.stats.connections} connections, {replay.stats.commands} commands, "
            f"{len(replay.stats.refused)} refused",
            file=sys.stderr,
        )
    return 0

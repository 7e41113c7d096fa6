"""`holdtime serve`: run the inventory's checks on a schedule and serve them to Prometheus."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from holdtime.cli.arguments import bounded_seconds, fraction, positive_int
from holdtime.defaults import (
    DEFAULT_WORKERS,
    EXPORTER_HEAD_TIMEOUT_SECONDS,
    EXPORTER_IDLE_TIMEOUT_SECONDS,
    EXPORTER_MAX_CONNECTIONS,
    EXPORTER_PROBING_NICE,
)
from holdtime.errors import ConfigError

DEFAULT_LISTEN = "127.0.0.1:9469"


def register(subparsers: Any) -> None:
    """Add `serve`."""
    serve = subparsers.add_parser(
        "serve",
        help="Prometheus exporter: run checks on a schedule, serve /metrics and /probe",
        description=(
            "Run the inventory's checks on their own schedule and serve the last results on "
            "/metrics (scrapes never touch a device), /probe?target=NAME&module=CHECKS (on "
            "demand, within the scrape timeout) and /-/healthy. Stops cleanly on SIGTERM."
        ),
    )
    serve.add_argument("-i", "--inventory", required=True, type=Path, help="inventory YAML file")
    serve.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to serve on (default {DEFAULT_LISTEN}: loopback only)",
    )
    serve.add_argument(
        "--web-config",
        type=Path,
        metavar="FILE",
        help="Prometheus web-config file: tls_server_config and basic_auth_users",
    )
    serve.add_argument(
        "--shard",
        metavar="I/N",
        help="own only the devices whose hashmod(name, N) == I (Prometheus' hashmod split)",
    )
    serve.add_argument(
        "--interval",
        type=bounded_seconds,
        default=60.0,
        metavar="SECONDS",
        help="run every check this often (default 60)",
    )
    serve.add_argument(
        "--check-interval",
        action="append",
        default=[],
        type=_check_interval,
        metavar="PATTERN=SECONDS",
        help="interval for checks matching a glob, e.g. 'nfs.*=300'; repeatable",
    )
    serve.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="glob on check, target or device name; repeatable",
    )
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=DEFAULT_WORKERS,
        help=f"targets checked at once (default {DEFAULT_WORKERS})",
    )
    serve.add_argument(
        "--jitter",
        type=fraction,
        default=0.1,
        metavar="FRACTION",
        help="spread each run by +/- FRACTION/2 of its interval (default 0.1)",
    )
    serve.add_argument(
        "--max-connections",
        type=positive_int,
        default=EXPORTER_MAX_CONNECTIONS,
        metavar="N",
        help=(
            f"clients served at once, one thread each (default {EXPORTER_MAX_CONNECTIONS}); "
            "when all are taken, the longest-idle connection is closed for a new one"
        ),
    )
    serve.add_argument(
        "--idle-timeout",
        type=bounded_seconds,
        default=EXPORTER_IDLE_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=(
            f"close a kept-alive connection with no complete request for this long (default "
            f"{EXPORTER_IDLE_TIMEOUT_SECONDS:g}); a new connection's first request must arrive "
            f"within {EXPORTER_HEAD_TIMEOUT_SECONDS:g} s"
        ),
    )
    serve.add_argument(
        "--probing-nice",
        type=_niceness,
        default=EXPORTER_PROBING_NICE,
        metavar="N",
        help=(
            f"run the scheduler and probes N nice levels below the HTTP server (0-19, default "
            f"{EXPORTER_PROBING_NICE}): scrapes go first when both want the CPU"
        ),
    )
    serve.add_argument(
        "--no-probe-endpoint",
        action="store_true",
        help="disable /probe (on-demand checks triggered by a scrape)",
    )
    serve.set_defaults(handler=run_serve)


def _niceness(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 19:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a nice increment from 0 to 19")
    return value


def _check_interval(text: str) -> tuple[str, float]:
    pattern, equals, seconds = text.rpartition("=")
    if not equals or not pattern:
        raise argparse.ArgumentTypeError(f"{text!r}: expected PATTERN=SECONDS, e.g. 'nfs.*=300'")
    return pattern, bounded_seconds(seconds)


def run_serve(args: argparse.Namespace) -> int:
    """Handler of `holdtime serve`: serve until SIGTERM/SIGINT, then stop cleanly."""
    from holdtime.exporters.connections import ConnectionLimits
    from holdtime.exporters.server import parse_listen
    from holdtime.exporters.service import ServeOptions, build_service
    from holdtime.exporters.sharding import parse_shard
    from holdtime.exporters.webconfig import WebConfig, load_web_config
    from holdtime.inventory import load_inventory

    parse_listen(args.listen)  # bad address: fail before loading anything
    shard = parse_shard(args.shard) if args.shard else None
    web = load_web_config(args.web_config) if args.web_config else WebConfig()
    inventory = load_inventory(args.inventory)
    options = ServeOptions(
        interval_seconds=args.interval,
        check_intervals=tuple(args.check_interval),
        only=tuple(args.only),
        shard=shard,
        max_workers=args.workers,
        jitter_fraction=args.jitter,
        probe_endpoint=not args.no_probe_endpoint,
        probing_nice=args.probing_nice,
        web=web,
        limits=ConnectionLimits(
            max_connections=args.max_connections, idle_timeout_seconds=args.idle_timeout
        ),
    )
    service = build_service(inventory, options)
    if not service.app.probe_jobs and not service.job_count:
        raise ConfigError(f"{args.inventory}: no check to serve (--only {args.only or '(none)'})")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        server = service.start(args.listen)
        scheme = "https" if web.tls is not None else "http"
        host, _ = parse_listen(args.listen)
        shown = f"[{host}]" if ":" in host else host
        share = f", shard {shard.index}/{shard.count}" if shard is not None else ""
        print(
            f"holdtime serve: {scheme}://{shown}:{server.port}/metrics, "
            f"{service.job_count} jobs every {args.interval:g} s{share}",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            pass
        print("holdtime serve: stopping", file=sys.stderr, flush=True)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        clean = service.stop(grace_seconds=10.0)
    if not clean:
        print("holdtime serve: some checks were still running at exit", file=sys.stderr)
    return 0

"""`holdtime gap FILE`: loss episodes and outage figures from a saved ping log."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from holdtime.errors import ConfigError

if TYPE_CHECKING:
    from holdtime.gap import GapResult

DEFAULT_INTERVAL_SECONDS = 1.0  # ping's default; none of the tools prints its -i


def register(subparsers: Any) -> None:
    """Add `gap`."""
    gap = subparsers.add_parser(
        "gap",
        help="measure loss episodes and outage in a ping log",
        description=(
            "Read a ping log (iputils ping, -D, -O; busybox ping; BSD/macOS ping; fping -l/-c) "
            "and report sent/lost probes, loss episodes and the outage each implies, at the "
            "resolution of the probe interval. Exit 0 when the log was read, 2 when it was not."
        ),
    )
    gap.add_argument("file", metavar="FILE", help="the ping log, or - for standard input")
    gap.add_argument(
        "--interval",
        type=_positive_seconds,
        metavar="SECONDS",
        help=(
            "probe interval (ping -i); default: inferred from timestamps (-D), "
            f"else {DEFAULT_INTERVAL_SECONDS:g} s"
        ),
    )
    gap.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    gap.add_argument(
        "--tool",
        choices=("auto", "iputils", "busybox", "bsd", "fping"),
        default="auto",
        help="which ping printed the log (default: detect)",
    )
    gap.add_argument(
        "--late-after",
        type=_positive_seconds,
        metavar="SECONDS",
        help="count replies with a longer RTT as lost (reported as late)",
    )
    gap.add_argument("--target", help="fping logs with several hosts: the host to analyse")
    gap.set_defaults(handler=run_gap)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _read(file: str) -> tuple[str, str]:
    if file == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(file)
    try:
        # Undecodable bytes become U+FFFD: the parser then names the offending line.
        return path.read_text(encoding="utf-8", errors="replace"), file
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None


def run_gap(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Parse the log, analyse it, print the summary; ParseError propagates to cli.main (exit 2)."""
    from holdtime.probes.pinglog import parse_ping_log

    stream = out if out is not None else sys.stdout
    text, source = _read(args.file)
    log = parse_ping_log(text, tool=args.tool, source=source, target=args.target)
    if args.interval is not None:
        interval, interval_source = args.interval, "--interval"
    elif log.inferred_interval_seconds is not None:
        interval, interval_source = log.inferred_interval_seconds, "inferred from timestamps"
    else:
        interval, interval_source = DEFAULT_INTERVAL_SECONDS, "default (pass --interval)"
    from holdtime.gap import analyze

    result = analyze(log.events, interval, late_after_seconds=args.late_after)
    if args.format == "json":
        document = {
            "source": source,
            "tool": log.tool,
            "target": log.target,
            "interval_source": interval_source,
            **result.to_dict(),
        }
        json.dump(document, stream, indent=2)
        stream.write("\n")
    else:
        stream.write(render_text(result, log.tool, log.target, interval_source))
    return 0


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def render_text(result: GapResult, tool: str, target: str | None, interval_source: str) -> str:
    """A human summary: counts, one line per loss episode, totals, resolution."""
    lines = [
        f"{tool} ping log" + (f" to {target}" if target else ""),
        f"resolution {result.resolution_seconds:g} s (probe interval, {interval_source})",
        f"sent {result.sent}, received {result.received}, lost {result.lost} "
        f"({result.loss_ratio:.1%}), duplicates {result.duplicates}, late {result.late}, "
        f"reordered {result.reordered}",
    ]
    if not result.episodes:
        lines.append("no loss episodes")
    else:
        lines.append(f"loss episodes: {len(result.episodes)}")
    for number, episode in enumerate(result.episodes, start=1):
        seqs = (
            f"seq {episode.first_lost_seq}"
            if episode.lost_count == 1
            else f"seq {episode.first_lost_seq}-{episode.last_lost_seq}"
        )
        flags = []
        if not episode.recovered:
            flags.append("not recovered: the log ends inside it")
        if not episode.after_first_reply:
            flags.append("began before the first reply")
        suffix = f" [{'; '.join(flags)}]" if flags else ""
        lines.append(
            f"  #{number} {seqs}: {episode.lost_count} lost, "
            f"loss-derived outage {_seconds(episode.loss_derived_outage_seconds)}, "
            f"gap-derived outage {_seconds(episode.gap_derived_outage_seconds)}{suffix}"
        )
    longest = result.longest_episode
    if longest is not None:
        lines.append(
            f"total loss-derived outage {_seconds(result.total_loss_derived_outage_seconds)}, "
            f"max gap-derived outage {_seconds(result.max_gap_derived_outage_seconds)}, "
            f"longest episode {longest.lost_count} probes"
        )
    if result.late:
        lines.append(f"late replies (counted as lost): seq {_ranges(result.late_seqs)}")
    if result.rtt_avg_seconds is not None:
        assert result.rtt_min_seconds is not None
        assert result.rtt_max_seconds is not None
        lines.append(
            f"rtt min/avg/max {result.rtt_min_seconds * 1e3:.3f}/"
            f"{result.rtt_avg_seconds * 1e3:.3f}/{result.rtt_max_seconds * 1e3:.3f} ms"
        )
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines) + "\n"


def _ranges(seqs: tuple[int, ...]) -> str:
    """1,2,3,7 -> '1-3, 7'."""
    parts: list[str] = []
    start = previous = None
    for seq in seqs:
        if previous is not None and seq == previous + 1:
            previous = seq
            continue
        if start is not None:
            parts.append(f"{start}-{previous}" if start != previous else f"{start}")
        start = previous = seq
    if start is not None:
        parts.append(f"{start}-{previous}" if start != previous else f"{start}")
    return ", ".join(parts)

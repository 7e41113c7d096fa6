"""`holdtime gap FILE`: loss episodes and outage figures from a ping log, saved or live.

The log is read as a stream (holdtime.gap_logstream): memory follows the loss episodes, not the
length of the log. `--follow` reads a log still being written (holdtime.cli.gap_follow).
"""

from __future__ import annotations

import argparse
import codecs
import gc
import io
import json
import math
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from holdtime.defaults import (
    DEFAULT_INTERVAL_SECONDS,
    INTERVAL_TOLERANCE,
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    SEQ_MODULO,
)
from holdtime.errors import ConfigError

if TYPE_CHECKING:
    from holdtime.gap import GapResult, LossEpisode
    from holdtime.gap_logstream import LogReport

CHUNK_BYTES = 1 << 20


def register(subparsers: Any) -> None:
    """Add `gap`."""
    gap = subparsers.add_parser(
        "gap",
        help="measure loss episodes and outage in a ping log",
        description=(
            "Read a ping log (iputils ping, -D, -O; busybox ping; BSD/macOS ping; fping -l/-c) "
            "and report sent/lost probes, loss episodes and the outage each implies, at the "
            "resolution of the probe interval. Exit 0 when the log was read, 2 when it was not. "
            "With --follow, read a log as it is written (a file, or - for a running "
            "`ping -D -O`), print each loss episode as it ends and a running status, and the "
            "report at Ctrl-C or end of input."
        ),
    )
    gap.add_argument("file", metavar="FILE", help="the ping log, or - for standard input")
    gap.add_argument(
        "--interval",
        metavar="SECONDS",
        help=(
            "probe interval (ping -i); default: inferred from timestamps (-D), "
            f"else {DEFAULT_INTERVAL_SECONDS:g} s; timestamps win when they disagree by more "
            f"than {INTERVAL_TOLERANCE:.0%}"
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
        metavar="SECONDS",
        help="count replies with a longer RTT as lost (reported as late)",
    )
    gap.add_argument("--target", help="fping logs with several hosts: the host to analyse")
    gap.add_argument(
        "--follow",
        action="store_true",
        help=(
            "read FILE as it grows (tail -f) or - until end of input; the report at Ctrl-C "
            "or end of input"
        ),
    )
    gap.add_argument(
        "--status-every",
        metavar="SECONDS",
        default=None,
        help="--follow off a terminal: seconds between status lines (default 10)",
    )
    gap.set_defaults(handler=run_gap)


def _seconds_option(option: str, text: str | None) -> float | None:
    """A bounded number of seconds, or a one-line ConfigError naming the option (exit 2)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r}: not a number of seconds") from None
    if not (math.isfinite(value) and MIN_INTERVAL_SECONDS <= value <= MAX_INTERVAL_SECONDS):
        raise ConfigError(
            f"{option} {text}: must be a number of seconds from {MIN_INTERVAL_SECONDS:g}"
            f" to {MAX_INTERVAL_SECONDS:g}"
        )
    return value


def split_lines(pending: str, text: str, final: bool) -> tuple[list[str], str]:
    """Complete lines of pending + text (as str.splitlines reads them) and the unfinished rest.

    The cut is at the last newline (or a lone carriage return), so a CR LF pair is never split
    and the lines are numbered as splitlines numbers them in the whole text.
    """
    text = pending + text
    if final:
        return text.splitlines(), ""
    cut = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1))
    if cut < 0:
        return [], text
    return text[: cut + 1].splitlines(), text[cut + 1 :]


def read_lines(stream: BinaryIO | TextIO) -> Iterator[list[str]]:
    """A stream's lines in batches; undecodable bytes become U+FFFD."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while True:
        chunk = stream.read(CHUNK_BYTES)
        text = chunk if isinstance(chunk, str) else decoder.decode(chunk, final=not chunk)
        lines, pending = split_lines(pending, text, not chunk)
        if lines:
            yield lines
        if not chunk:
            return


def read_blocks(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A binary stream in blocks of whole lines (the last one as it ends), for feed_block."""
    from holdtime.probes.pinglog_block import cut_block

    pending = b""
    while True:
        chunk = stream.read(chunk_bytes)
        if not chunk:
            if pending:
                yield pending
            return
        data = pending + chunk
        cut = cut_block(data)
        if cut:
            yield data[:cut]
        pending = data[cut:]


def open_log(file: str) -> tuple[BinaryIO | TextIO, str]:
    """The log as a stream, and its name for messages (ConfigError when unreadable)."""
    if file == "-":
        # Bytes when there are (a terminal or pipe); a replaced sys.stdin gives text.
        return getattr(sys.stdin, "buffer", sys.stdin), "<stdin>"
    try:
        return open(file, "rb"), file
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None


def run_gap(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Parse the log, analyse it, print the summary; ParseError propagates to cli.main (exit 2)."""
    from holdtime.gap_logstream import LogStream

    given_interval = _seconds_option("--interval", args.interval)
    late_after = _seconds_option("--late-after", args.late_after)
    stream = out if out is not None else sys.stdout
    if args.follow:
        from holdtime.cli.gap_follow import follow

        status_every = _seconds_option("--status-every", args.status_every)
        return follow(args, given_interval, late_after, status_every, stream)
    if args.status_every is not None:
        raise ConfigError("--status-every: only with --follow")
    binary, source = open_log(args.file)
    analysis = LogStream(args.tool, source, args.target, given_interval, late_after)
    try:
        if not isinstance(binary, io.BufferedIOBase | io.RawIOBase):  # a replaced sys.stdin
            for lines in read_lines(binary):
                analysis.feed_lines(lines)
        else:
            # The blocks' millions of short-lived tuples hold no cycles: without the cyclic
            # collector running every few hundred of them, the read takes ~10 % less CPU.
            collecting = gc.isenabled()
            gc.disable()
            try:
                for block in read_blocks(binary):
                    analysis.feed_block(block)
            finally:
                if collecting:
                    gc.enable()
    except OSError as exc:
        raise ConfigError(f"{args.file}: cannot read: {exc.strerror or exc}") from None
    finally:
        if args.file != "-":
            binary.close()
    write_report(analysis.finish(), source, args.format, stream)
    return 0


def write_report(report: LogReport, source: str, output_format: str, stream: TextIO) -> None:
    """The report in text or JSON."""
    log, result = report.log, report.result
    if output_format == "json":
        document = {
            "source": source,
            "tool": log.tool,
            "target": log.target,
            "interval_source": report.interval_source,
            **result.to_dict(),
            "skipped_lines": log.unparsed_count,
            "skipped_first": [
                {"line": lineno, "text": line} for lineno, line in log.unparsed_first
            ],
            "icmp_errors": [
                {"reason": reason, "count": tally.count, "first_seq": tally.first_seq}
                for reason, tally in log.icmp_errors
            ],
            "warnings": list(log.warnings),
        }
        json.dump(document, stream, indent=2, allow_nan=False)
        stream.write("\n")
    else:
        stream.write(render_text(result, log.tool, log.target, report.interval_source))


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    # Sub-millisecond figures (ping -i 0) keep their digits instead of printing 0.000 s.
    return f"{value:.3f} s" if value == 0 or value >= 1e-3 else f"{value:.3g} s"


def render_text(result: GapResult, tool: str, target: str | None, interval_source: str) -> str:
    from holdtime.gap import seq_ranges

    """A human summary: counts, one line per loss episode, totals, resolution."""
    lines = [f"{tool} ping log" + (f" to {target}" if target else "")]
    notes = list(result.notes)
    if not result.per_probe:
        # The one line that says why there are no episodes comes first.
        lines.append(notes.pop(0))
    else:
        lines.append(
            f"resolution {result.resolution_seconds:g} s (probe interval, {interval_source})"
        )
    counted = " (the tool's summary counts)" if result.counts_from == "summary" else ""
    lines.append(
        f"sent {result.sent}, received {result.received}, lost {result.lost} "
        f"({result.loss_ratio:.1%}), duplicates {result.duplicates}, late {result.late}, "
        f"reordered {result.reordered}{counted}"
    )
    if not result.outage_known:
        lines.append("outage unknown")
    elif not result.episodes:
        lines.append("no loss episodes")
    else:
        lines.append(f"loss episodes: {len(result.episodes)}")
    for number, episode in enumerate(result.episodes, start=1):
        lines.append(f"  #{number} {_episode_line(episode)}")
    longest = result.longest_episode
    if longest is not None and result.outage_known:
        lines.append(
            f"total loss-derived outage {_seconds(result.total_loss_derived_outage_seconds)}, "
            f"max gap-derived outage {_seconds(result.max_gap_derived_outage_seconds)}, "
            f"longest episode {longest.lost_count} probes"
        )
    if result.late:
        lines.append(f"late replies (counted as lost): seq {seq_ranges(result.late_seqs)}")
    if result.rtt_avg_seconds is not None:
        assert result.rtt_min_seconds is not None
        assert result.rtt_max_seconds is not None
        lines.append(
            f"rtt min/avg/max {result.rtt_min_seconds * 1e3:.3f}/"
            f"{result.rtt_avg_seconds * 1e3:.3f}/{result.rtt_max_seconds * 1e3:.3f} ms"
        )
    lines.extend(f"note: {note}" for note in notes)
    return "\n".join(lines) + "\n"


def _episode_line(episode: LossEpisode) -> str:
    """'seq 19-136: 118 lost, ...'; unwrapped numbers also as printed (mod 65536)."""
    first, last = episode.first_lost_seq, episode.last_lost_seq
    seqs = f"seq {first}" if episode.lost_count == 1 else f"seq {first}-{last}"
    if not (0 <= first < SEQ_MODULO and 0 <= last < SEQ_MODULO):
        printed = first % SEQ_MODULO, last % SEQ_MODULO
        seqs += (
            f" (printed {printed[0]})" if first == last else f" (printed {printed[0]}-{printed[1]})"
        )
    flags = []
    if not episode.recovered:
        flags.append("not recovered: the log ends inside it")
    if not episode.after_first_reply:
        flags.append("began before the first reply")
    suffix = f" [{'; '.join(flags)}]" if flags else ""
    return (
        f"{seqs}: {episode.lost_count} lost, "
        f"loss-derived outage {_seconds(episode.loss_derived_outage_seconds)}, "
        f"gap-derived outage {_seconds(episode.gap_derived_outage_seconds)}{suffix}"
    )

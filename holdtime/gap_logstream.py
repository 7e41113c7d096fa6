"""`holdtime gap` over a ping log read piece by piece: parse, analyse and report as it streams.

:class:`LogStream` joins the streaming parser (holdtime.probes.pinglog.PingLineParser) to the
streaming analysis (holdtime.gap_stream.GapStream) and, at the end, gives what
:func:`holdtime.gap.analyze_log` gives for the whole text: the same figures, notes and refusals
(a test holds the two together on every recorded fixture). Memory stays proportional to the loss
episodes, whatever the length of the log.

``--tool auto`` is decided on the first DETECT_LINES lines (the whole log, for the recorded
fixtures), or, when following a live log, at its first probe line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from holdtime.gap import (
    GapResult,
    choose_interval,
    icmp_note,
    log_notes,
    reconcile_with_summary,
)
from holdtime.gap_stream import EpisodeCallback, GapStream, StreamStatus
from holdtime.probes.pinglog import PingLineParser, StreamedPingLog, detect_tool

DETECT_LINES = 1000
# A line that shows which ping printed the log: a probe, an fping line or a summary.
_PROBE_HINT = re.compile(r"icmp_seq|seq=|: \[\d|packets transmitted|xmt/rcv|Request timeout")


@dataclass(frozen=True, slots=True)
class LogReport:
    """What `holdtime gap` reports of a streamed log."""

    result: GapResult
    interval_source: str
    log: StreamedPingLog


class LogStream:
    """Feed a ping log's lines as they come; :meth:`finish` gives the report."""

    def __init__(
        self,
        tool: str = "auto",
        source: str = "<input>",
        target: str | None = None,
        given_interval: float | None = None,
        late_after: float | None = None,
        on_episode: EpisodeCallback | None = None,
        live: bool = False,
    ) -> None:
        self._source = source
        self._target = target
        self._given = given_interval
        self._late_after = late_after
        self._on_episode = on_episode
        self._live = live
        self._pending: list[str] | None = [] if tool == "auto" else None
        self._parser: PingLineParser | None = None
        self._stream: GapStream | None = None
        if tool != "auto":
            self._start(tool)

    @property
    def tool(self) -> str | None:
        """The tool being read, None while auto-detection still waits for lines."""
        return self._parser.tool if self._parser is not None else None

    def _start(self, tool: str) -> PingLineParser:
        self._stream = GapStream(
            self._given,
            self._late_after,
            unwrap=tool != "fping",
            estimate_interval=True,
            on_episode=self._on_episode,
        )
        self._parser = PingLineParser(tool, self._stream, self._source, self._target)
        return self._parser

    def feed_lines(self, lines: list[str]) -> None:
        """The next lines of the log, without their line ends."""
        if self._pending is not None:
            pending = self._pending
            for index, line in enumerate(lines):
                pending.append(line)
                if len(pending) >= DETECT_LINES or (self._live and _PROBE_HINT.search(line)):
                    self._decide()
                    lines = lines[index + 1 :]
                    break
            else:
                return
        assert self._parser is not None
        self._parser.feed_lines(lines)

    def feed_block(self, block: bytes) -> None:
        """The next whole lines of the log as raw bytes (see PingLineParser.feed_block)."""
        if self._pending is not None:  # auto-detection reads lines
            self.feed_lines(block.decode("utf-8", errors="replace").splitlines())
            return
        assert self._parser is not None
        self._parser.feed_block(block)

    def _decide(self) -> None:
        pending = self._pending or []
        self._pending = None
        parser = self._start(detect_tool("\n".join(pending)))
        parser.feed_lines(pending)

    def status(self) -> tuple[StreamStatus | None, int, int]:
        """The analysis so far, lines read and lines not understood."""
        if self._parser is None or self._stream is None:
            return None, len(self._pending or []), 0
        return self._stream.status(), self._parser.lines, self._parser.unparsed_count

    def current_interval(self) -> float | None:
        """The interval the report would use now (None before the tool is known)."""
        return self._stream.current_interval() if self._stream is not None else None

    def finish(self) -> LogReport:
        """The end of the log: the report, or ParseError as the batch parser would raise it."""
        if self._pending is not None:
            self._decide()
        assert self._parser is not None
        assert self._stream is not None
        log = self._parser.finish()
        interval, interval_source, interval_note = choose_interval(
            self._given, log.inferred_interval_seconds
        )
        result = self._stream.result(interval)
        if log.transmitted is not None and log.received is not None:
            result = reconcile_with_summary(result, log.transmitted, log.received)
        icmp_notes = [
            icmp_note(reason, tally.count, _ranges_text(tally.seqs.runs()))
            for reason, tally in log.icmp_errors
        ]
        warnings = list(log.warnings)
        if log.warnings_dropped:
            warnings.append(f"... and {log.warnings_dropped} more warning line(s)")
        notes = log_notes(
            result.notes,
            interval_note,
            warnings,
            icmp_notes,
            log.unparsed_count,
            log.unparsed_first,
        )
        return LogReport(replace(result, notes=notes), interval_source, log)


def _ranges_text(runs: list[tuple[int, int]]) -> str:
    """[(1, 3), (7, 7)] -> '1-3, 7' (as holdtime.gap.seq_ranges writes them)."""
    return ", ".join(f"{first}-{last}" if first != last else f"{first}" for first, last in runs)

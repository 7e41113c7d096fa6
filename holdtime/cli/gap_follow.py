"""`holdtime gap --follow FILE|-`: a ping log read as it is written.

Each loss episode is printed when the first reply after it arrives, with a running status line
(refreshed in place on a terminal, a plain line every --status-every seconds otherwise), and the
full report of `holdtime gap` when the input ends or at Ctrl-C / SIGTERM. The exit status is the
one `holdtime gap` gives for the same lines.

- FILE is followed like `tail -f`: by its open descriptor, so appends in bursts and partial lines
  are fine, and a log renamed by a rotation keeps being read (ping still writes to it); a new
  file created under the same name is not picked up. A FILE that shrinks (truncated, or
  `copytruncate`) stops the following: the report covers the lines read before, and a line says
  so. FILE is followed until Ctrl-C; a FIFO, like standard input, until its writer closes it.
- `-` reads standard input, typically `ping -D -O HOST | holdtime gap --follow -`. Ctrl-C in a
  terminal reaches ping too, which then prints its summary: holdtime keeps reading for up to
  STOP_GRACE_SECONDS for it (a second Ctrl-C stops at once). A Ctrl-C that lands after ping
  closed the pipe, while the report is written, is that request too: exit 0, not 130.
- With --format json the live lines go to standard error and the JSON report alone to
  standard output.
"""

from __future__ import annotations

import argparse
import codecs
import os
import select
import shutil
import signal
import stat
import sys
import time
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from holdtime.errors import ConfigError

if TYPE_CHECKING:
    from holdtime.gap import LossEpisode
    from holdtime.gap_logstream import LogStream

POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 2.0
DEFAULT_STATUS_EVERY_SECONDS = 10.0
TERMINAL_REFRESH_SECONDS = 0.5
_READ_BYTES = 1 << 16


class _Stop:
    """Set by SIGINT/SIGTERM: the first asks for the report, a second stops reading at once."""

    def __init__(self) -> None:
        self.requested_at: float | None = None
        self.immediate = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        if self.requested_at is None:
            self.requested_at = time.monotonic()
        else:
            self.immediate = True


class _Follower:
    """Reads a descriptor in batches of lines; says why it stopped."""

    def __init__(self, fd: int, name: str, stop: _Stop) -> None:
        self._fd = fd
        self._name = name
        self._stop = stop
        self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._position = 0
        self.stopped_because: str | None = None

    def batches(self) -> Iterator[list[str]]:
        """Lines as they come; an empty batch at each idle poll (for the status line)."""
        from holdtime.cli.gap import split_lines

        while not self._stop.immediate:
            chunk = self._read()
            if chunk is None:  # nothing yet
                if self._stop.requested_at is not None and (
                    self._regular or time.monotonic() - self._stop.requested_at > STOP_GRACE_SECONDS
                ):
                    break
                yield []
                continue
            if not chunk:  # end of input
                break
            self._position += len(chunk)
            lines, self._pending = split_lines(
                self._pending, self._decoder.decode(chunk), final=False
            )
            yield lines
        lines, self._pending = split_lines(self._pending, self._decoder.decode(b"", True), True)
        if lines:
            yield lines

    def _read(self) -> bytes | None:
        """Bytes, b'' at the end of input, None when there is nothing to read yet."""
        if self._regular:
            chunk = os.read(self._fd, _READ_BYTES)
            if chunk:
                return chunk
            size = os.fstat(self._fd).st_size
            if size < self._position:
                self.stopped_because = (
                    f"{self._name} shrank to {size} bytes after {self._position} were read"
                    " (truncated or rotated with copytruncate): stopped following; the report"
                    " covers what was read before"
                )
                return b""
            time.sleep(POLL_SECONDS)
            return None
        try:
            ready, _, _ = select.select([self._fd], [], [], POLL_SECONDS)
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            return None
        if not ready:
            return None
        return os.read(self._fd, _READ_BYTES)


class _LivePrinter:
    """Episode lines as they end and a running status line."""

    def __init__(self, stream: TextIO, source: str, status_every: float) -> None:
        self._stream = stream
        self._source = source
        self._terminal = stream.isatty()
        self._every = TERMINAL_REFRESH_SECONDS if self._terminal else status_every
        self._next_status = time.monotonic() + self._every
        self._shown = False  # a status line is on the terminal
        self.episodes = 0

    def episode(self, episode: LossEpisode) -> None:
        from holdtime.cli.gap import _episode_line

        self.episodes += 1
        self._clear()
        self._stream.write(f"loss episode #{self.episodes} ended: {_episode_line(episode)}\n")
        self._stream.flush()

    def tick(self, analysis: LogStream, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_status:
            return
        self._next_status = now + self._every
        line = status_line(analysis, self._source)
        if self._terminal:
            width = max(20, shutil.get_terminal_size().columns - 1)
            self._stream.write("\r\x1b[K" + line[:width])
            self._shown = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def say(self, line: str) -> None:
        self._clear()
        self._stream.write(line + "\n")
        self._stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._shown = False

    def close(self) -> None:
        self._clear()
        self._stream.flush()


def status_line(analysis: LogStream, source: str) -> str:
    """'[following ping.log] 1234 lines, sent 1200, lost 15 (1.2%), 2 episodes, last seq 1200'."""
    status, lines, unparsed = analysis.status()
    head = f"[following {source}] {lines} lines"
    if status is None or status.last_seq is None:
        return f"{head}, waiting for the first probe line"
    lost = status.sent - status.received
    ratio = lost / status.sent if status.sent else 0.0
    parts = [
        head,
        f"sent {status.sent}",
        f"lost {lost} ({ratio:.1%})",
        f"{status.episodes} episode(s) ended",
        f"last seq {status.last_seq}",
    ]
    if status.in_loss_since_seq is not None:
        parts.append(f"LOSING since seq {status.in_loss_since_seq}")
    if unparsed:
        parts.append(f"{unparsed} line(s) not understood")
    return ", ".join(parts)


def _open(file: str) -> tuple[int, str, bool]:
    """The descriptor to follow, its name, and whether holdtime opened it."""
    if file == "-":
        try:
            return sys.stdin.fileno(), "<stdin>", False
        except (AttributeError, OSError, ValueError):
            raise ConfigError("--follow -: standard input has no file descriptor") from None
    try:
        return os.open(file, os.O_RDONLY), file, True
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None


def follow(
    args: argparse.Namespace,
    given_interval: float | None,
    late_after: float | None,
    status_every: float | None,
    out: TextIO,
) -> int:
    """Follow the log, print episodes and status as they come, then the report."""
    from holdtime.cli.gap import write_report
    from holdtime.gap_logstream import LogStream

    fd, source, opened = _open(args.file)
    live = sys.stderr if args.format == "json" else out
    printer = _LivePrinter(live, source, status_every or DEFAULT_STATUS_EVERY_SECONDS)
    analysis = LogStream(
        args.tool,
        source,
        args.target,
        given_interval,
        late_after,
        on_episode=printer.episode,
        live=True,
    )
    stop = _Stop()
    # Kept until the report is written: a Ctrl-C that lands after the input ended (ping, hit by
    # the same Ctrl-C, may close the pipe first) asks for the report that is being written.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        follower = _Follower(fd, source, stop)
        try:
            for lines in follower.batches():
                if lines:
                    analysis.feed_lines(lines)
                printer.tick(analysis)
        except OSError as exc:
            raise ConfigError(f"{args.file}: cannot read: {exc.strerror or exc}") from None
        finally:
            if opened:
                os.close(fd)
            printer.close()
        if follower.stopped_because:
            printer.say(f"holdtime gap: {follower.stopped_because}")
        write_report(analysis.finish(), source, args.format, out)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

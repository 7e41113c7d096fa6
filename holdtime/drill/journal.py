"""The drill journal: every sample and event appended as one JSON line as it happens.

Each line is written and flushed at once (so a killed holdtime loses nothing: the kernel has it),
and fsynced at most once a second (a host losing power loses at most the last second).
`holdtime report JOURNAL` renders it afterwards, also one a crash left behind
(:func:`journal_result`).
Record types: ``start`` (scenario, plan, restore instruction, paths), ``event`` (trigger,
restore, BGP/IPsec changes, loss and recovery), ``sample`` (ping progress, control-plane state),
``action`` (what ran, how it ended), ``probes`` (per-probe events of a ping path, local or on
a router, whose fate is known, streamed once a second), ``prediction`` (a path's predicted
outage, just before the trigger: holdtime.drill.prediction), ``change`` (a polled control-plane
change with the window it happened in: holdtime.drill.events), ``flow`` (a path's totals at the
end, with the probe events not streamed as ``probes``: all of them for a DNS or router path),
``result`` (the drill result, at the end).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from holdtime.errors import ConfigError, ParseError
from holdtime.redaction import redact

if TYPE_CHECKING:
    from holdtime.drill.result import DrillResult

FSYNC_EVERY_SECONDS = 1.0


def _record_line(record_type: str, fields: Mapping[str, Any]) -> str:
    """One journal line; holdtime.redaction: a journal line never holds a secret."""
    return redact(json.dumps({"type": record_type, **fields}, sort_keys=True, default=str))


class Journal:
    """Append-only JSONL writer, safe to call from several threads.

    ``overwrite=False`` (the default) refuses a file that already holds records: two drills in
    one journal would make `holdtime report` show only the last. ``overwrite=True`` truncates it.
    """

    def __init__(
        self,
        path: Path,
        *,
        overwrite: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._clock = clock
        self._synced_at = clock()
        self._dirty = False
        self._pending: list[str] = []  # records from a signal handler that found the lock held
        try:
            if not overwrite and path.is_file() and path.stat().st_size > 0:
                raise ConfigError(
                    f"journal {path} already holds a drill: choose another --journal "
                    "(the default is a new file per run) or pass --force to overwrite it"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream: TextIO = path.open("w" if overwrite else "a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the drill journal {path}: {exc.strerror}") from None

    def write(self, record_type: str, **fields: Any) -> None:
        """Append one record; the kernel has it at once, the disk within a second."""
        line = _record_line(record_type, fields)
        with self._lock:
            self._append(line)

    def write_from_signal_handler(self, record_type: str, **fields: Any) -> None:
        """write() for a signal handler, which may interrupt a write() of its own thread.

        Blocking on the lock there would deadlock; when it is held the record waits and is
        written by the next write() or close().
        """
        line = _record_line(record_type, fields)
        if self._lock.acquire(blocking=False):
            try:
                self._append(line)
            finally:
                self._lock.release()
        else:
            self._pending.append(line)

    def _append(self, line: str) -> None:
        if self._stream.closed:
            return
        while self._pending:
            self._stream.write(self._pending.pop(0) + "\n")
        self._stream.write(line + "\n")
        self._stream.flush()
        self._dirty = True
        if self._clock() - self._synced_at >= FSYNC_EVERY_SECONDS:
            self._sync()

    def _sync(self) -> None:
        os.fsync(self._stream.fileno())
        self._synced_at, self._dirty = self._clock(), False

    def close(self) -> None:
        """Push the rest to the disk and close the file (further writes are ignored)."""
        with self._lock:
            if not self._stream.closed and self._pending:
                self._append(self._pending.pop())
            if not self._stream.closed and self._dirty:
                self._sync()
            self._stream.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def numbered_records(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(line number, record) of a journal; a torn last line (crash mid-write) is skipped.

    Anything else that is not a journal record (binary data, a compressed file, JSON that is not
    an object with a ``type``) is a one-line ParseError naming file:line.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read journal {path}: {exc.strerror}") from None
    lines = data.split(b"\n")
    complete = data.endswith(b"\n")
    if complete:
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            if _torn(number, lines, complete):
                return
            raise ParseError(
                f"{path}:{number}: not a journal record (binary data, not UTF-8 JSON lines; "
                "a compressed journal must be uncompressed first)"
            ) from None
        except json.JSONDecodeError as exc:
            if _torn(number, lines, complete):
                return  # the process died while writing its last line
            raise ParseError(f"{path}:{number}: not a journal record ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            raise ParseError(f"{path}:{number}: not a journal record (no 'type')")
        yield number, record


def _torn(number: int, lines: list[bytes], complete: bool) -> bool:
    """The last line, without its newline, after intact records: a write the crash cut short."""
    return number == len(lines) and not complete and len(lines) > 1


def read_journal(path: Path) -> Iterator[Mapping[str, Any]]:
    """Every record of a journal; see :func:`numbered_records`."""
    for _number, record in numbered_records(path):
        yield record


def journal_result(numbered: Sequence[tuple[int, Mapping[str, Any]]], path: Path) -> DrillResult:
    """The DrillResult of a journal: its result record, or what a killed drill left.

    `numbered` is what :func:`numbered_records` read from `path`; a damaged result record is a
    one-line ParseError naming file:line.
    """
    from holdtime.drill.result import DrillResult

    finals = [(n, r) for n, r in numbered if r["type"] == "result"]
    if finals:
        number, final = finals[-1]
        try:
            result = DrillResult.from_dict(final["result"])
            result.check_results()  # every field a report reads has the right type
            return result
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ParseError(f"{path}:{number}: not a drill result record ({exc!r})") from None
    from holdtime.drill.partial import partial_result

    return partial_result(numbered, path)

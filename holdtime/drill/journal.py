"""The drill journal: every sample and event appended as one JSON line, flushed as it goes.

A crash loses nothing already written; `holdtime report JOURNAL` renders it afterwards.
Record types: ``start`` (scenario, plan), ``event`` (trigger, restore, BGP/IPsec changes, loss
and recovery), ``sample`` (ping progress, control-plane state), ``flow`` (all probe events of a
ping path, at the end), ``result`` (the drill result, at the end).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from holdtime.errors import ConfigError, ParseError
from holdtime.redaction import redact


class Journal:
    """Append-only JSONL writer, safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream: TextIO = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the drill journal {path}: {exc.strerror}") from None

    def write(self, record_type: str, **fields: Any) -> None:
        """Append one record and push it to the disk."""
        line = json.dumps({"type": record_type, **fields}, sort_keys=True, default=str)
        line = redact(line)  # holdtime.redaction: a journal line never holds a secret
        with self._lock:
            if self._stream.closed:
                return
            self._stream.write(line + "\n")
            self._stream.flush()
            os.fsync(self._stream.fileno())

    def close(self) -> None:
        """Close the file (further writes are ignored)."""
        with self._lock:
            self._stream.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: Path) -> Iterator[Mapping[str, Any]]:
    """Every record of a journal; a torn last line (crash mid-write) is skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read journal {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):
                return  # the process died while writing its last line
            raise ParseError(f"{path}:{number}: not a journal record ({exc.msg})") from None
        if not isinstance(record, dict) or "type" not in record:
            raise ParseError(f"{path}:{number}: not a journal record (no 'type')")
        yield record

"""One `holdtime lab up` or `lab down` per prefix at a time: an flock on a file beside the state.

The kernel drops an flock when its holder dies, SIGKILL included, so a killed `up` never leaves a
stale lock behind. The holder writes its pid and command line into the file for the waiters'
message and clears it on release. `down` removes the file while it still holds the lock; a waiter
that then gets the lock on the removed file notices (the path no longer names its inode) and locks
the new one, so two processes never both believe they hold it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from holdtime.errors import PrerequisiteError
from holdtime.lab.processes import alive

POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lab's lock: its pid and the command it runs."""

    pid: int
    command: str


def read_holder(path: Path) -> Holder | None:
    """The live process named in a lock file, or None (free, being written, or its holder died)."""
    try:
        record = json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    pid, command = record.get("pid"), record.get("command")
    if not isinstance(pid, int) or not isinstance(command, str) or not alive(pid):
        return None
    return Holder(pid, command)


def busy(path: Path) -> Holder | None:
    """The holder while the lock is held by a live process, else None (never waits)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        # a shared probe: it fails while anyone holds the lock exclusively
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path) or Holder(0, "holdtime lab")
    finally:
        os.close(fd)  # releases the probe's shared lock too
    return None


class Lock:
    """The exclusive lock of one lab, held by this process between `acquire` and `release`."""

    def __init__(self, path: Path, command: str) -> None:
        self.path = path
        self.command = command
        self._fd: int | None = None

    def acquire(self, waiting: Callable[[Holder], None]) -> None:
        """Block until this process holds the lock; call `waiting` once, naming the holder."""
        told = False
        while True:
            fd = self._open()
            if fd is None:  # the folder went away with a `down` in between: make it again
                continue
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = read_holder(self.path)
                    if holder is not None and not told:
                        waiting(holder)
                        told = True
                    time.sleep(POLL_SECONDS)
            if self._still_named(fd):
                break
            os.close(fd)  # locked a file that `down` removed meanwhile
        record = json.dumps({"pid": os.getpid(), "command": self.command}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        self._fd = fd

    def release(self, remove: bool = False) -> None:
        """Give the lock up; with `remove`, delete the file first (the lab is gone)."""
        if self._fd is None:
            return
        if remove:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        else:
            os.ftruncate(self._fd, 0)
        os.close(self._fd)
        self._fd = None

    def _open(self) -> int | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            return None
        except OSError as exc:
            hint = " (the lab needs root)" if isinstance(exc, PermissionError) else ""
            raise PrerequisiteError(
                f"cannot open the lab lock {self.path}: {exc.strerror}{hint}"
            ) from None

    def _still_named(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False


@contextlib.contextmanager
def held(path: Path, command: str, waiting: Callable[[Holder], None]) -> Iterator[Lock]:
    """Hold the lab's lock for the block (released, not removed, on the way out)."""
    lock = Lock(path, command)
    lock.acquire(waiting)
    try:
        yield lock
    finally:
        lock.release()

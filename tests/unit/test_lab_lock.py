"""The lab lock for real: a second process waits, is told who holds it, and never shares it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdtime.errors import PrerequisiteError
from holdtime.lab.lock import Holder, Lock, busy

_HOLDER = """
import sys
from pathlib import Path
from holdtime.lab.lock import Lock
lock = Lock(Path(sys.argv[1]), "holdtime lab up --prefix hlbu-")
lock.acquire(lambda holder: None)
print("locked", flush=True)
lock.release(remove=sys.stdin.readline().strip() == "remove")
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock at tmp_path/.hlbu-.lock until told on stdin."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path / ".hlbu-.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert "locked\n" == process.stdout.readline()
    yield process
    process.kill()
    process.wait()


def _wait_in_thread(lock: Lock, told: list[Holder]) -> threading.Thread:
    thread = threading.Thread(target=lock.acquire, args=(told.append,), daemon=True)
    thread.start()
    return thread


def test_waiter_is_told_the_holder_and_gets_the_lock_after_sigkill(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    """The waiter hears pid and command once; SIGKILL of the holder frees the lock (none stale)."""
    path = tmp_path / ".hlbu-.lock"
    told: list[Holder] = []
    lock = Lock(path, "holdtime lab down --prefix hlbu-")
    waiting = _wait_in_thread(lock, told)
    waiting.join(timeout=1.0)
    still_waiting = waiting.is_alive()
    holder.kill()
    holder.wait()
    waiting.join(timeout=10)
    try:
        assert (True, False) == (still_waiting, waiting.is_alive())
        assert [Holder(holder.pid, "holdtime lab up --prefix hlbu-")] == told
        assert Holder(os.getpid(), "holdtime lab down --prefix hlbu-") == busy(path)
    finally:
        lock.release()
    assert (None, "") == (busy(path), path.read_text())


def test_lock_removed_while_waiting_is_taken_afresh(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    """A holder removing the file (`down`) leaves the waiter holding the file now at the path."""
    path = tmp_path / ".hlbu-.lock"
    lock = Lock(path, "holdtime lab up --prefix hlbu-")
    waiting = _wait_in_thread(lock, [])
    assert holder.stdin is not None
    holder.stdin.write("remove\n")
    holder.stdin.close()
    holder.wait(timeout=10)
    waiting.join(timeout=10)
    try:
        # busy() opens the path anew: it is held only if the waiter locked the file now there
        assert (False, True) == (waiting.is_alive(), busy(path) is not None)
    finally:
        lock.release(remove=True)
    assert False is path.exists()


def test_free_lock_is_not_busy(tmp_path: Path) -> None:
    """No file, or a file nobody holds (even naming a pid), is not busy."""
    path = tmp_path / ".hlbu-.lock"
    assert None is busy(path)
    path.write_text('{"pid": 1, "command": "holdtime lab up --prefix hlbu-"}')
    assert None is busy(path)


def test_unwritable_lock_folder_is_one_line(tmp_path: Path) -> None:
    """A lock that cannot be created is one PrerequisiteError line naming it, no traceback."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(PrerequisiteError) as caught:
        Lock(blocker / ".hlbu-.lock", "holdtime lab down --prefix hlbu-").acquire(print)
    assert (f"cannot open the lab lock {blocker / '.hlbu-.lock'}: File exists") == str(caught.value)

"""Processes and namespaces of a lab: list, check, terminate, measure (by pid, never by name)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence


def namespaces() -> list[str]:
    """Names of the named network namespaces (`ip netns list`)."""
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def namespace_pids(namespace: str) -> set[int]:
    """Every process whose network namespace is `namespace` (`ip netns pids`)."""
    done = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
    )
    return {int(p) for p in done.stdout.split()}


def alive(pid: int) -> bool:
    """True while `pid` exists (zombies included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def zombie(pid: int) -> bool:
    """True when `pid` is gone or a zombie (nothing left to signal)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def in_namespaces(pid: int, names: Sequence[str]) -> bool:
    """A recorded pid is only ours while it still sits in one of our namespaces (pid reuse)."""
    try:
        own = os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return False
    for name in names:
        try:
            if os.stat(f"/run/netns/{name}").st_ino == own:
                return True
        except OSError:
            continue
    return False


def terminate(pids: set[int], grace_seconds: float = 3.0) -> None:
    """SIGTERM every pid, then SIGKILL what is still running after the grace period."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(alive(p) and not zombie(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid) and not zombie(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def rss_kib(pids: Iterable[int]) -> int:
    """Sum of the resident set sizes of `pids` in KiB (VmRSS; vanished pids count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total

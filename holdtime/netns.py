"""Run socket creation inside a Linux network namespace, for the local lab.

``setns(2)`` switches only the calling thread, and a socket keeps the namespace it was created
in, so a probe can open its socket inside ``holdtime-mgmt`` and then use it from anywhere in the
process (paramiko, scapy and plain sockets all accept a ready socket). Python 3.11 has no
``os.setns``; we call libc directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from holdtime.errors import ConfigError, PrerequisiteError

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")

_T = TypeVar("_T")


@functools.cache
def _libc() -> ctypes.CDLL:
    # find_library runs `ldconfig -p` in a subprocess: look it up once per process, not on
    # every namespace switch (it cost more than the DNS queries it wrapped).
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _libc_setns(fd: int) -> None:
    libc = _libc()
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        reason = os.strerror(errno)
        raise PrerequisiteError(f"setns failed: {reason} (holdtime needs root for netns)")


def netns_path(name: str) -> Path:
    """The bind-mount path of a named namespace (as `ip netns add` creates it)."""
    if not name or "/" in name or name in {".", ".."}:
        raise ConfigError(f"invalid network namespace name {name!r}")
    return NETNS_DIR / name


@contextlib.contextmanager
def entered(name: str | None) -> Iterator[None]:
    """Switch the calling thread into namespace `name` for the block (no-op for None)."""
    if not name:
        yield
        return
    path = netns_path(name)
    try:
        target = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigError(
            f"network namespace {name!r} does not exist (is the lab up? `holdtime lab up`)"
        ) from None
    except PermissionError:
        raise PrerequisiteError(f"cannot open {path}: holdtime needs root to use netns") from None
    original = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        _libc_setns(target)
        try:
            yield
        finally:
            _libc_setns(original)
    finally:
        os.close(target)
        os.close(original)


def create_connection(
    address: tuple[str, int], timeout: float, netns: str | None = None
) -> socket.socket:
    """`socket.create_connection` with the socket created (and connected) inside `netns`."""
    with entered(netns):
        return socket.create_connection(address, timeout=timeout)

"""Bound the exporter's client connections: a slot per connection, deadlines, eviction.

One thread serves one connection (keep-alive included), so the number of open connections is
the number of threads. `ConnectionSlots` caps it. Every connection is in one of three states:

- ``waiting`` for a request head: it must arrive whole within `head_timeout_seconds` on a new
  connection or `idle_timeout_seconds` on a kept-alive one, however slowly it trickles in
  (a per-recv socket timeout alone is reset by every byte: slowloris);
- ``working`` on a request (a /probe run is bounded by its own budget);
- ``sending`` the response, which must be written within `send_timeout_seconds`.

An overdue connection is shut down by `reap` (called from the accept loop). When every slot is
taken, a new connection takes the slot of the connections that have been waiting longest (1/16 of
them, up to 8, are closed at once, so a burst of new connections is taken in quickly), so a
flood of idle or trickling clients never locks out a scrape that sends its request at once.
Only when every slot is working or sending is the new connection refused.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from holdtime.defaults import (
    EXPORTER_HEAD_TIMEOUT_SECONDS,
    EXPORTER_IDLE_TIMEOUT_SECONDS,
    EXPORTER_MAX_CONNECTIONS,
)

SEND_TIMEOUT_SECONDS = 30.0  # a response (1 MB of text for 1000 jobs) to a slow reader
EVICTION_WAIT_SECONDS = 1.0  # how long a new connection waits for an evicted one's slot
EVICTION_BATCH = 8

WAITING, WORKING, SENDING = "waiting", "working", "sending"


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How many clients at once, and how long each may take."""

    max_connections: int = EXPORTER_MAX_CONNECTIONS
    idle_timeout_seconds: float = EXPORTER_IDLE_TIMEOUT_SECONDS
    head_timeout_seconds: float = EXPORTER_HEAD_TIMEOUT_SECONDS
    send_timeout_seconds: float = SEND_TIMEOUT_SECONDS


@dataclass(eq=False, slots=True)
class Connection:
    """One client connection's state; its socket is swapped for the TLS one after wrapping."""

    sock: socket.socket
    peer: str
    state: str = WAITING
    since: float = 0.0
    deadline: float | None = None
    requests: int = 0
    closing: bool = False


@dataclass
class ConnectionSlots:
    """The open connections, at most `limits.max_connections` of them."""

    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    clock: Callable[[], float] = time.monotonic
    evicted: int = 0
    timed_out: int = 0
    refused: int = 0
    _open: list[Connection] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __len__(self) -> int:
        with self._changed:
            return len(self._open)

    def admit(self, sock: socket.socket, peer: str) -> Connection | None:
        """A slot for a new connection, evicting the longest-waiting one if all are taken.

        None when every slot is busy with a request (the caller refuses the connection).
        """
        with self._changed:
            if len(self._open) >= self.limits.max_connections:
                idle = [c for c in self._open if c.state == WAITING and not c.closing]
                if not idle:
                    self.refused += 1
                    return None
                # a few at once: their threads end in parallel, so a burst of new connections
                # (a backlog full of them) does not wait for one thread exit each
                idle.sort(key=lambda c: c.since)
                batch = min(EVICTION_BATCH, max(1, self.limits.max_connections // 16))
                for victim in idle[:batch]:
                    self.evicted += 1
                    _shut(victim)
                self._changed.wait_for(
                    lambda: len(self._open) < self.limits.max_connections,
                    timeout=EVICTION_WAIT_SECONDS,
                )
                if len(self._open) >= self.limits.max_connections:
                    self.refused += 1
                    return None
            now = self.clock()
            connection = Connection(
                sock, peer, since=now, deadline=now + self.limits.head_timeout_seconds
            )
            self._open.append(connection)
            return connection

    def release(self, connection: Connection) -> None:
        """The connection's thread is done with it."""
        with self._changed:
            if connection in self._open:
                self._open.remove(connection)
            self._changed.notify_all()

    def waiting(self, connection: Connection) -> None:
        """Before reading a request head: the head timeout (first) or idle timeout applies."""
        timeout = (
            self.limits.idle_timeout_seconds
            if connection.requests
            else self.limits.head_timeout_seconds
        )
        self._enter(connection, WAITING, timeout)

    def working(self, connection: Connection) -> None:
        """A whole request head arrived; the request is being handled."""
        connection.requests += 1
        self._enter(connection, WORKING, None)

    def sending(self, connection: Connection) -> None:
        """The response is being written."""
        self._enter(connection, SENDING, self.limits.send_timeout_seconds)

    def _enter(self, connection: Connection, state: str, timeout: float | None) -> None:
        now = self.clock()
        with self._changed:
            connection.state = state
            connection.since = now
            connection.deadline = None if timeout is None else now + timeout

    def reap(self) -> int:
        """Shut down every connection past its deadline; how many were."""
        now = self.clock()
        with self._changed:
            overdue = [
                c
                for c in self._open
                if not c.closing and c.deadline is not None and c.deadline <= now
            ]
            for connection in overdue:
                _shut(connection)
            self.timed_out += len(overdue)
        return len(overdue)

    def close_all(self) -> None:
        """Shut down every open connection (the server is stopping)."""
        with self._changed:
            for connection in self._open:
                _shut(connection)


def _shut(connection: Connection) -> None:
    """Wake the connection's thread: its blocked recv/send returns, the handler ends."""
    try:
        # the plain socket's shutdown even on a TLS socket: SSLSocket.shutdown would drop its
        # SSL object under the thread still reading from it
        socket.socket.shutdown(connection.sock, socket.SHUT_RDWR)
    except OSError:
        return  # closed already, or being swapped for its TLS wrapper: the next reap retries
    connection.closing = True

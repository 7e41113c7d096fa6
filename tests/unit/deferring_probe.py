"""A test probe whose collections wait without a worker (holdtime.plugins.Deferred)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from holdtime import plugins
from holdtime.plugins import Target


@dataclass
class WaitingProbe:
    """begin() answers with a Deferred `wait` seconds later; resume can be held (silent device).

    ``events`` is what happened, in order: ("begin", name), ("resume", name), ("close", name).
    """

    waits: dict[str, float]
    name: str = "scripted"
    section: None = None
    timeout_seconds: float = 5.0
    hold: threading.Event | None = None  # resume waits for it (a device silent in the 2nd read)
    events: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def targets(self, inventory: Any) -> Sequence[Target]:
        return [
            Target(name=n, device=n, config=None, timeout_seconds=self.timeout_seconds)
            for n in self.waits
        ]

    def note(self, what: str, name: str) -> None:
        with self.lock:
            self.events.append((what, name))

    def collect(self, target: Target, timeout_seconds: float) -> object:
        return plugins.complete(self.begin(target, timeout_seconds))

    def begin(self, target: Target, timeout_seconds: float) -> object:
        import time

        name = target.name
        self.note("begin", name)
        closed = threading.Event()

        def resume() -> object:
            try:
                self.note("resume", name)
                if self.hold is not None:
                    self.hold.wait(30)
                return "ok"
            finally:
                close()

        def close() -> None:
            if not closed.is_set():
                closed.set()
                self.note("close", name)

        return plugins.Deferred(time.monotonic() + self.waits[name], resume, close)

    def of(self, what: str) -> list[str]:
        with self.lock:
            return [name for kind, name in self.events if kind == what]

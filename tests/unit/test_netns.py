"""holdtime.netns: libc is looked up once per process, not on every namespace switch."""

from __future__ import annotations

import ctypes.util

import pytest

from holdtime import netns


def test_libc_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = ctypes.util.find_library

    def counting(name: str) -> str | None:
        calls.append(name)
        return real(name)

    monkeypatch.setattr(ctypes.util, "find_library", counting)
    netns._libc.cache_clear()
    try:
        first = netns._libc()
        assert netns._libc() is first
        assert calls == ["c"]
    finally:
        netns._libc.cache_clear()

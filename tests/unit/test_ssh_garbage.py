"""What a connection leaves behind for the garbage collector, and how a read waits.

At 1000 routers the collector's passes were ~0.9 ms of CPU per router, driven by garbage only
it can free (reference cycles): a class paramiko's ``HostKeys.lookup`` builds on every call
(three a connection) and, per command, each output buffer holding its wake-up half and the
half its buffer. These prove both are gone while the answers stay paramiko's; and that a
socket read with a timeout waits in the kernel (one system call) yet times out as before.
"""

from __future__ import annotations

import gc
import socket
import struct
import threading
import weakref
from types import SimpleNamespace

import paramiko
import pytest
from paramiko.buffered_pipe import BufferedPipe

from holdtime.probes.ssh import ReadAheadSocket, _Readable, host_keys_class


@pytest.fixture(scope="module")
def key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def _both(key: paramiko.PKey) -> tuple[paramiko.HostKeys, paramiko.HostKeys]:
    """paramiko's HostKeys and ours with the same entries: plain, [host]:port and hashed."""
    stores = (paramiko.HostKeys(), host_keys_class()())
    for store in stores:
        store.add("r1.example", key.get_name(), key)
        store.add("[10.0.0.1]:2222", key.get_name(), key)
        store.add(paramiko.HostKeys.hash_host("hidden.example"), key.get_name(), key)
    return stores


def test_a_lookup_answers_as_paramikos_without_a_class_per_call(key: paramiko.PKey) -> None:
    theirs, ours = _both(key)
    names = ("r1.example", "[10.0.0.1]:2222", "hidden.example", "10.0.0.1", "r2.example")
    assert [None if (k := theirs.lookup(n)) is None else dict(k) for n in names] == [
        None if (k := ours.lookup(n)) is None else dict(k) for n in names
    ]
    assert (True, True) == (ours.check("hidden.example", key), ours.check("[10.0.0.1]:2222", key))
    assert type(ours.lookup("r1.example")) is type(ours.lookup("r1.example"))
    # paramiko's own builds a new class each time: the reason for ours
    assert type(theirs.lookup("r1.example")) is not type(theirs.lookup("r1.example"))


def test_changes_through_a_lookup_reach_the_store_as_in_paramiko(key: paramiko.PKey) -> None:
    other = paramiko.ECDSAKey.generate()
    for store in _both(key):
        found = store.lookup("r1.example")
        assert found is not None
        found[key.get_name()] = other
        assert store.check("r1.example", other)


def _channel() -> SimpleNamespace:
    return SimpleNamespace(in_buffer=BufferedPipe(), in_stderr_buffer=BufferedPipe())


def test_a_read_output_leaves_no_cycle_behind() -> None:
    """With the collector off, a released channel's buffers are freed as soon as they are
    dropped; without the release they stay (held only by their cycle)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        kept, freed = _channel(), _channel()
        kept_pipe, freed_pipe = weakref.ref(kept.in_buffer), weakref.ref(freed.in_buffer)
        _Readable(kept)
        _Readable(freed).release()
        freed.in_buffer.feed(b"after the release: the server's CLOSE")  # marks, no error
        del kept, freed
        assert (True, False) == (kept_pipe() is not None, freed_pipe() is not None)
    finally:
        gc.collect()
        if enabled:
            gc.enable()


def test_a_late_packet_after_the_release_still_wakes_the_reader() -> None:
    channel = _channel()
    readable = _Readable(channel)
    readable.release()
    channel.in_buffer.close()
    assert readable.event.is_set()


def _kernel_timeout(sock: socket.socket) -> float:
    seconds, micro = struct.unpack(
        "ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.calcsize("ll"))
    )
    return float(seconds + micro / 1_000_000)


def test_a_read_waits_in_the_kernel_and_times_out_as_pythons_would(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    left.settimeout(0.1)
    reader = ReadAheadSocket(left)
    assert (0.1, True, 0.1) == (reader.gettimeout(), left.getblocking(), _kernel_timeout(left))
    with pytest.raises(socket.timeout):
        reader.recv(16)
    right.sendall(b"banner\r\n")
    assert b"banner\r\n" == reader.recv(16)
    reader.settimeout(1.5)  # a fraction as well as whole seconds
    assert (1.5, True, 1.5) == (reader.gettimeout(), left.getblocking(), _kernel_timeout(left))


def test_no_timeout_and_non_blocking_are_the_sockets_own(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, _ = pair
    reader = ReadAheadSocket(left)
    reader.settimeout(0.0)
    with pytest.raises(BlockingIOError):
        reader.recv(16)
    assert (0.0, 0.0, False) == (reader.gettimeout(), _kernel_timeout(left), left.getblocking())
    reader.settimeout(None)
    assert (None, 0.0, True) == (reader.gettimeout(), _kernel_timeout(left), left.getblocking())


def test_a_close_ends_a_read_waiting_in_another_thread(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """The transport thread waits in ``recv`` with a 10 s timeout once connected: a close
    from the session's thread ends that wait at once (end of file), not at the timeout."""
    left, right = pair
    left.settimeout(30.0)
    reader = ReadAheadSocket(left)
    got: list[bytes | Exception] = []

    def read() -> None:
        try:
            got.append(reader.recv(16))
        except OSError as exc:
            got.append(exc)

    waiter = threading.Thread(target=read, daemon=True)
    waiter.start()
    waiter.join(0.2)  # in its recv by now
    reader.close()
    waiter.join(10)  # well under the 30 s timeout
    assert (False, [b""], b"") == (waiter.is_alive(), got, right.recv(16))

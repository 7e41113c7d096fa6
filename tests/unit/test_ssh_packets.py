"""Our Packetizer's packets and socket writes: paramiko's framing, fewer system calls.

holdtime's Packetizer (probes/ssh.py) pads packets with bytes from a pool of os.urandom output
instead of one os.urandom call per packet, and ReadAheadSocket writes with one system call
where the kernel takes the data at once. These prove that the packets are the ones paramiko
frames (same lengths and padding lengths, decrypted and verified by paramiko's own reader),
that no padding byte is used twice, and that a full socket still waits with its own timeout.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from paramiko.message import Message
from paramiko.packet import Packetizer

from holdtime.probes.ssh import ReadAheadSocket, _RandomPool, packetizer_class


def _gcm(packetizer: Packetizer, key: bytes, iv: bytes, *, out: bool) -> None:
    if out:
        packetizer.set_outbound_cipher(AESGCM(key), 16, None, 16, b"", aead=True, iv_out=iv)
    else:
        packetizer.set_inbound_cipher(AESGCM(key), 16, None, 16, b"", aead=True, iv_in=iv)


def test_aes_gcm_packets_are_framed_as_paramiko_frames_them(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """Every payload length 1..300: paramiko's length fields, its reader decodes each packet."""
    left, right = pair
    key, iv = os.urandom(16), os.urandom(12)
    ours, theirs = packetizer_class()(ReadAheadSocket(left)), Packetizer(right)
    reference = Packetizer(socket.socket())
    _gcm(ours, key, iv, out=True)
    _gcm(reference, key, iv, out=True)
    _gcm(theirs, key, iv, out=False)
    paddings = []
    for size in range(1, 301):
        payload = bytes([94]) + os.urandom(size - 1)  # 94: CHANNEL_DATA
        built, expected = ours._build_packet(payload), reference._build_packet(payload)
        assert (len(expected), expected[:5]) == (len(built), built[:5])
        assert payload == built[5 : 5 + size]
        paddings.append(built[5 + size :])
        message = Message()
        message.add_bytes(payload)
        ours.send_message(message)
        kind, received = theirs.read_message()
        assert (payload[0], payload[1:]) == (kind, received.get_remainder())
    padding = b"".join(paddings)
    assert len(set(padding)) > 200  # random bytes, not zeros
    reference.close()


def test_no_padding_byte_is_handed_out_twice() -> None:
    """Takes across many 4 KiB refills: each chunk is fresh (2000 chunks of 16, all distinct)."""
    pool = _RandomPool()
    chunks = [pool.take(16) for _ in range(2000)] + [pool.take(5000)]
    assert [16] * 2000 + [5000] == [len(c) for c in chunks]
    assert 2001 == len(set(chunks))


def test_a_full_socket_still_waits_with_its_own_timeout(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """Writes while the kernel takes them; then the socket's send times out as before."""
    left, right = pair
    left.settimeout(0.2)
    writer = ReadAheadSocket(left)
    sent = _until(TimeoutError, lambda: writer.send(b"x" * 65536))
    right.setblocking(False)
    received = _until(BlockingIOError, lambda: len(right.recv(1 << 20)))
    assert sent == received > 0
    left.close()
    with pytest.raises(OSError, match="Bad file descriptor"):
        writer.send(b"y")


def test_a_close_waits_for_a_write_in_progress(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transport thread writing while another thread closes the socket: the descriptor is
    not closed (and so not reused by the next connection) until the write has returned.
    Without the lock a session's CLOSE reply went down another connection's socket and its
    handshake was reset (found against the replay once it closed sessions as sshd does)."""
    left, right = pair
    left.settimeout(1.0)
    writer = ReadAheadSocket(left)
    in_write, release = threading.Event(), threading.Event()
    real_write = os.write

    def slow_write(fd: int, data: bytes) -> int:
        in_write.set()
        release.wait(5)
        return real_write(fd, data)

    monkeypatch.setattr("holdtime.probes.ssh.os.write", slow_write)
    sent: list[int] = []
    sender = threading.Thread(target=lambda: sent.append(writer.send(b"close")))
    sender.start()
    assert in_write.wait(5)
    closer = threading.Thread(target=writer.close)
    closer.start()
    closer.join(0.2)
    still_open = closer.is_alive() and left.fileno() >= 0
    release.set()
    sender.join(5)
    closer.join(5)
    assert (True, [5], b"close", -1) == (still_open, sent, right.recv(16), left.fileno())


def _until(error: type[Exception], step: Callable[[], int]) -> int:
    """Sum of step() until it raises `error` (which it must within 10000 steps)."""
    total = 0
    for _ in range(10_000):  # a few MiB fill any socket buffer
        try:
            total += step()
        except error:
            return total
    raise AssertionError(f"no {error.__name__} after {total} bytes")

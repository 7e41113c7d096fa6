"""ICMP echo prober for failover drills: our own ids and sequence numbers, no schedule drift.

Each flow owns a raw ICMP socket (IPv4, root or CAP_NET_RAW) created inside its network namespace
with :func:`holdtime.netns.entered`. Probes leave at absolute deadlines ``start + n * interval``
(a late send never shifts the ones after it), replies are matched by (identifier, sequence) and
stamped by the kernel (SO_TIMESTAMPNS) on arrival. The output is the event list
:func:`holdtime.gap.analyze` consumes.

scapy builds each flow's echo request once (header, identifier, payload, checksum); per probe we
only patch the sequence number and checksum, and replies are read with ``struct``. Measured on the
2-core lab machine, scapy needs ~0.7 ms to build and ~0.35 ms to dissect one packet: at 1000
probes/s that alone would be a full core, and sr()/sniff() add more. scapy is imported lazily so
``holdtime --help`` never pays its 0.6 s import.
"""

from __future__ import annotations

import bisect
import errno
import random
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from holdtime import netns
from holdtime.defaults import SEQ_MODULO
from holdtime.errors import ConfigError, PrerequisiteError
from holdtime.gap import ProbeEvent

# Linux <asm-generic/socket.h>: SO_TIMESTAMPNS (== SCM_TIMESTAMPNS); Python 3.11 lacks the name.
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")  # struct timespec on 64-bit Linux
_ICMP_ECHO_REPLY = 0
_ICMP_ECHO_REQUEST = 8
MIN_INTERVAL_SECONDS = 0.001
_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PingFlow:
    """One probe stream: destination, optional source address, namespace and ICMP identifier."""

    destination: str
    source: str | None = None
    netns: str | None = None
    identifier: int | None = None  # random when None; distinct per flow sharing a namespace
    payload_bytes: int = 56
    name: str = ""

    @property
    def label(self) -> str:
        """Name shown in progress and results."""
        return self.name or (
            f"{self.netns + ':' if self.netns else ''}{self.source or '*'}->{self.destination}"
        )


@dataclass(frozen=True, slots=True)
class FlowResult:
    """Everything one flow saw: events for holdtime.gap plus the prober's own health."""

    flow: PingFlow
    identifier: int
    interval_seconds: float
    late_after_seconds: float
    # replies in arrival order, then unanswered probes; without the ones settled_events released
    events: tuple[ProbeEvent, ...]
    sent: int
    send_errors: int  # sendto failed (e.g. ENETUNREACH while routes are withdrawn)
    max_send_lag_seconds: float  # worst lateness of a send against its deadline
    mean_send_lag_seconds: float
    kernel_timestamps: bool  # receive times from SO_TIMESTAMPNS, else monotonic at recvmsg


@dataclass(frozen=True, slots=True)
class Progress:
    """Live state of one flow, for a terminal."""

    flow: str
    sent: int
    received: int
    lost: int  # sent more than late_after ago and still unanswered
    current_gap_seconds: float  # time since the last reply while replies are overdue, else 0
    elapsed_seconds: float


ProgressCallback = Callable[[Sequence[Progress]], None]


def icmp_checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo_template(identifier: int, payload_bytes: int) -> bytes:
    """An ICMP echo request (seq 0) built by scapy: the per-probe packet patches only seq."""
    from scapy.layers.inet import ICMP
    from scapy.packet import Raw

    payload = bytes((0x10 + i) & 0xFF for i in range(payload_bytes))
    return bytes(ICMP(type=_ICMP_ECHO_REQUEST, code=0, id=identifier, seq=0) / Raw(load=payload))


def echo_request(template: bytes, seq: int) -> bytes:
    """The template with sequence number `seq` (mod 2^16) and its checksum recomputed."""
    body = bytearray(template)
    # ICMP echo: type(0) code(1) checksum(2-3) identifier(4-5) sequence(6-7) payload(8-)
    struct.pack_into("!H", body, 2, 0)
    struct.pack_into("!H", body, 6, seq % SEQ_MODULO)
    struct.pack_into("!H", body, 2, icmp_checksum(bytes(body)))
    return bytes(body)


def parse_echo_reply(packet: bytes) -> tuple[int, int] | None:
    """(identifier, seq) of an IPv4 ICMP echo reply as a raw socket returns it, else None."""
    if len(packet) < 20:
        return None
    header_bytes = (packet[0] & 0x0F) * 4
    if len(packet) < header_bytes + 8 or packet[header_bytes] != _ICMP_ECHO_REPLY:
        return None
    identifier, seq = struct.unpack_from("!HH", packet, header_bytes + 4)
    return identifier, seq


@dataclass(slots=True)
class _FlowState:
    """One flow's probes not yet handed on (all of them unless settled_events releases them).

    Probe ``seq`` sits at ``sent_at[seq - first_kept]``; ``replies`` holds the kept probes'
    replies in arrival order and ``answered`` their seqs. settled_events(release=True) drops
    what it returns, so a drill keeps only the in-flight window here (the late threshold's worth
    of probes), whatever its length; the counters cover every probe ever sent.
    """

    flow: PingFlow
    identifier: int
    sock: socket.socket
    template: bytes
    kernel_timestamps: bool
    # raw seq -> (seq, sent_at) of the kept probes (all of them: overwritten after 65536 probes,
    # long past any late threshold)
    outstanding: dict[int, tuple[int, float]] = field(default_factory=dict)
    first_kept: int = 0
    sent_at: list[float] = field(default_factory=list)
    replies: list[ProbeEvent] = field(default_factory=list)
    answered: set[int] = field(default_factory=set)
    sent: int = 0
    answered_count: int = 0  # distinct probes answered, released ones included
    send_errors: int = 0
    last_sent_at: float | None = None
    lag_total_seconds: float = 0.0
    lag_max_seconds: float = 0.0
    last_reply_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def release_through(self, last: int) -> None:
        """Forget the probes up to `last` (the caller has handed them on)."""
        drop = last + 1 - self.first_kept
        if drop <= 0:
            return
        del self.sent_at[:drop]
        for seq in range(self.first_kept, last + 1):
            self.outstanding.pop(seq % SEQ_MODULO, None)
        self.first_kept = last + 1
        self.replies = [r for r in self.replies if r.seq > last]
        self.answered = {seq for seq in self.answered if seq > last}


class PingProber:
    """Send ICMP echo requests on several flows at a fixed interval and record every reply."""

    def __init__(
        self,
        flows: Sequence[PingFlow],
        interval_seconds: float,
        *,
        late_after_seconds: float | None = None,
        progress: ProgressCallback | None = None,
        progress_every_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not flows:
            raise ConfigError("ping prober needs at least one flow")
        if not interval_seconds >= MIN_INTERVAL_SECONDS:
            raise ConfigError(f"interval must be >= {MIN_INTERVAL_SECONDS} s: {interval_seconds}")
        self.flows = list(flows)
        self.interval_seconds = interval_seconds
        # A reply later than this is late (gap analysis counts it lost); the prober also listens
        # this long after the last probe.
        self.late_after_seconds = (
            late_after_seconds if late_after_seconds is not None else max(1.0, 3 * interval_seconds)
        )
        self.progress = progress
        self.progress_every_seconds = progress_every_seconds
        self.clock = clock
        self._states: list[_FlowState] = []
        self._stop_receiving = threading.Event()

    def run(
        self,
        duration_seconds: float | None = None,
        count: int | None = None,
        stop: threading.Event | None = None,
    ) -> list[FlowResult]:
        """Probe until `count` probes per flow, `duration_seconds`, or `stop` is set."""
        if duration_seconds is None and count is None and stop is None:
            raise ConfigError("ping prober needs a duration, a count or a stop event")
        total = count
        if duration_seconds is not None:
            by_duration = max(1, round(duration_seconds / self.interval_seconds))
            total = by_duration if total is None else min(total, by_duration)
        self._states = []
        for flow in self.flows:
            self._states.append(self._open(flow))
        receiver = threading.Thread(target=self._receive_loop, name="holdtime-ping-rx", daemon=True)
        receiver.start()
        try:
            self._send_loop(total, stop)
            self._drain()
        finally:
            self._stop_receiving.set()
            receiver.join()
            for state in self._states:
                state.sock.close()
        return [self._result(state) for state in self._states]

    def _open(self, flow: PingFlow) -> _FlowState:
        identifier = flow.identifier
        used = {s.identifier for s in self._states}
        while identifier is None or (flow.identifier is None and identifier in used):
            identifier = random.randint(1, SEQ_MODULO - 1)
        if not 0 <= identifier < SEQ_MODULO:
            raise ConfigError(f"ICMP identifier must be 0..65535: {identifier}")
        try:
            with netns.entered(flow.netns):
                sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        except PermissionError:
            raise PrerequisiteError(
                "the ping prober needs a raw ICMP socket: run as root or with CAP_NET_RAW"
            ) from None
        try:
            if flow.source:
                sock.bind((flow.source, 0))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER_BYTES)
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                kernel_timestamps = True
            except OSError:
                kernel_timestamps = False
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"flow {flow.label}: {exc.strerror or exc}") from None
        template = build_echo_template(identifier, flow.payload_bytes)
        return _FlowState(flow, identifier, sock, template, kernel_timestamps)

    def _send_loop(self, total: int | None, stop: threading.Event | None) -> None:
        interval = self.interval_seconds
        stagger = interval / len(self._states)  # spread flows over the interval
        start = self.clock() + 0.01
        next_progress = start + self.progress_every_seconds
        packets = [echo_request(state.template, 0) for state in self._states]
        seq = 0
        while total is None or seq < total:
            if stop is not None and stop.is_set():
                break
            for index, state in enumerate(self._states):
                deadline = start + seq * interval + index * stagger
                delay = deadline - self.clock()
                if delay > 0:
                    time.sleep(delay)
                self._send(state, seq, packets[index], deadline)
                # Build the next packet now, off the critical path of the next deadline.
                packets[index] = echo_request(state.template, seq + 1)
            seq += 1
            if self.progress is not None and self.clock() >= next_progress:
                next_progress += self.progress_every_seconds
                self.progress(self.snapshot(start))

    def _send(self, state: _FlowState, seq: int, packet: bytes, deadline: float) -> None:
        with state.lock:
            sent_at = self.clock()
            state.outstanding[seq % SEQ_MODULO] = (seq, sent_at)
            state.sent_at.append(sent_at)
            state.sent += 1
            state.last_sent_at = sent_at
        lag = sent_at - deadline
        state.lag_total_seconds += lag
        state.lag_max_seconds = max(state.lag_max_seconds, lag)
        try:
            state.sock.sendto(packet, (state.flow.destination, 0))
        except OSError as exc:
            # During a failover the route may vanish (ENETUNREACH) or the neighbour be unknown:
            # the probe is lost, not the run.
            if exc.errno in {errno.EBADF, errno.EINVAL, errno.EAFNOSUPPORT}:
                raise ConfigError(f"flow {state.flow.label}: {exc.strerror}") from None
            with state.lock:
                state.send_errors += 1

    def _drain(self) -> None:
        """Listen for stragglers until the last probe is older than the late threshold."""
        last_sent = max(
            (s.last_sent_at for s in self._states if s.last_sent_at is not None),
            default=self.clock(),
        )
        remaining = last_sent + self.late_after_seconds - self.clock()
        while remaining > 0:
            if all(s.answered_count + s.send_errors >= s.sent for s in self._states):
                return
            time.sleep(min(remaining, 0.02))
            remaining = last_sent + self.late_after_seconds - self.clock()

    def _receive_loop(self) -> None:
        poller = select.poll()
        by_fd = {state.sock.fileno(): state for state in self._states}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        control_bytes = socket.CMSG_SPACE(_TIMESPEC.size)
        while not self._stop_receiving.is_set():
            for fd, _mask in poller.poll(50):
                state = by_fd[fd]
                while True:
                    try:
                        data, ancillary, _flags, address = state.sock.recvmsg(2048, control_bytes)
                    except BlockingIOError:
                        break
                    except OSError:
                        break
                    self._on_packet(state, data, ancillary, address)

    def _on_packet(
        self,
        state: _FlowState,
        data: bytes,
        ancillary: list[tuple[int, int, bytes]],
        address: tuple[str, int],
    ) -> None:
        now = self.clock()
        received_at = now
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                seconds, nanoseconds = _TIMESPEC.unpack_from(value)
                # Kernel stamps are CLOCK_REALTIME: map onto our clock with the offset right now.
                received_at = seconds + nanoseconds * 1e-9 - (time.time() - now)
        parsed = parse_echo_reply(data)
        if parsed is None or address[0] != state.flow.destination:
            return
        identifier, raw_seq = parsed
        if identifier != state.identifier:
            return
        with state.lock:
            entry = state.outstanding.get(raw_seq)
            if entry is None:
                return
            seq, sent_at = entry
            if seq < state.first_kept:
                return  # handed on as lost already: later than the late threshold anyway
            received_at = max(received_at, sent_at)
            state.replies.append(
                ProbeEvent(
                    seq, sent_at, received_at, replied=True, rtt_seconds=received_at - sent_at
                )
            )
            if seq not in state.answered:
                state.answered.add(seq)
                state.answered_count += 1
            if state.last_reply_at is None or received_at > state.last_reply_at:
                state.last_reply_at = received_at

    # -- issue 13: what the drill journal streams while the prober runs ----------------------
    def settled_events(
        self, after_seq: int, flow_index: int = 0, *, release: bool = False
    ) -> tuple[list[ProbeEvent], int]:
        """Events of the probes after `after_seq` whose fate is known (sent late_after ago).

        Returns the events (replies in arrival order, then unanswered probes) and the new
        cursor: the highest seq covered. With `release` the prober forgets those probes (the
        caller keeps them), so its memory holds only the in-flight window; a reply arriving
        after its probe was handed on as lost is late anyway and is dropped. It touches only
        the probes it returns and the window, not the whole drill.
        """
        if flow_index >= len(self._states):
            return [], after_seq
        state = self._states[flow_index]
        cutoff = self.clock() - self.late_after_seconds
        with state.lock:
            base = state.first_kept
            last = base + bisect.bisect_left(state.sent_at, cutoff) - 1
            first = max(after_seq + 1, base)
            events = [r for r in state.replies if first <= r.seq <= last]
            events.extend(
                ProbeEvent(seq, state.sent_at[seq - base], None, replied=False)
                for seq in range(first, last + 1)
                if seq not in state.answered
            )
            if release:
                state.release_through(last)
        return events, max(after_seq, last)

    # -- end issue 13 ---------------------------------------------------------------------------
    def snapshot(self, start: float) -> list[Progress]:
        """Progress of every flow now (also used by the progress callback)."""
        now = self.clock()
        reports = []
        for state in self._states:
            with state.lock:
                sent = state.sent
                received = state.answered_count
                # Probes sent before the cutoff, minus those answered: only the few answered
                # probes newer than the cutoff are counted one by one (send times are sorted).
                older = state.first_kept + bisect.bisect_left(
                    state.sent_at, now - self.late_after_seconds
                )
                answered_newer = sum(1 for seq in range(older, sent) if seq in state.answered)
                overdue = older - (received - answered_newer)
                last = state.last_reply_at
            silent = now - (last if last is not None else start)
            gap = silent if silent > 2 * self.interval_seconds else 0.0
            reports.append(Progress(state.flow.label, sent, received, overdue, gap, now - start))
        return reports

    def _result(self, state: _FlowState) -> FlowResult:
        with state.lock:
            events = list(state.replies)
            events.extend(
                ProbeEvent(seq, sent_at, None, replied=False)
                for seq, sent_at in enumerate(state.sent_at, start=state.first_kept)
                if seq not in state.answered
            )
            sent = state.sent
        return FlowResult(
            flow=state.flow,
            identifier=state.identifier,
            interval_seconds=self.interval_seconds,
            late_after_seconds=self.late_after_seconds,
            events=tuple(events),
            sent=sent,
            send_errors=state.send_errors,
            max_send_lag_seconds=state.lag_max_seconds,
            mean_send_lag_seconds=state.lag_total_seconds / sent if sent else 0.0,
            kernel_timestamps=state.kernel_timestamps,
        )


def terminal_progress(stream: TextIO | None = None) -> ProgressCallback:
    """A progress callback that rewrites one status line per update on a terminal."""
    out = stream if stream is not None else sys.stderr

    def show(reports: Sequence[Progress]) -> None:
        parts = [
            f"{r.flow}: sent {r.sent} lost {r.lost}"
            + (f" gap {r.current_gap_seconds:.2f} s" if r.current_gap_seconds else "")
            for r in reports
        ]
        out.write("\r" + " | ".join(parts) + "\x1b[K")
        out.flush()

    return show


def ping(
    flows: Sequence[PingFlow],
    interval_seconds: float,
    *,
    duration_seconds: float | None = None,
    count: int | None = None,
    late_after_seconds: float | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> list[FlowResult]:
    """Probe `flows` at `interval_seconds` and return their events (see PingProber)."""
    prober = PingProber(
        flows, interval_seconds, late_after_seconds=late_after_seconds, progress=progress
    )
    return prober.run(duration_seconds=duration_seconds, count=count, stop=stop)

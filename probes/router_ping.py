"""Failover probes from a router: its own `ping -D -O -i` over SSH, parsed into a FlowResult.

Some paths only exist from the router (its LAN address to a remote database). holdtime then
drives the router's iputils ping over the router's verified SSH transport and turns the output
into the same :class:`holdtime.probes.ping.FlowResult` the local prober gives, so gap analysis
and the drill engine treat both alike.

- The command is built in one form only and checked against the read-only allowlist
  (:mod:`holdtime.probes.commands`, platform ``linux``): ``ping -D -O -i I -W W -w DEADLINE
  [-I SOURCE] DEST``. ``-D`` stamps every line, ``-O`` prints a line for every unanswered probe,
  so a line arrives every interval; ``-w`` caps its life even if holdtime hangs.
- It runs on a terminal (pty): output is line-buffered, stopping is Ctrl-C as an operator would
  (ping prints its summary and exits 0/1), and if holdtime dies the SSH connection closes and the
  router's sshd hangs the terminal up, so ping never outlives us.
- Times: ``-D`` stamps are the router's wall clock. They are mapped onto our clock with the
  smallest (local arrival - router stamp) seen, i.e. up to the fastest one-way delivery of a
  line late. Outage lengths only use differences of router stamps and are unaffected; the
  mapping places events on the drill timeline and splits failover from failback.
- iputils times each probe from the previous one (no absolute schedule), so it runs a little
  slower than asked (``-i 0.05`` sends every ~56 ms on the lab machine): the spacing measured
  from its stamps, not the ``-i`` value, is the reported interval (the resolution).
- Stopping mirrors the local prober: after `stop`, every probe already sent gets
  ``late_after_seconds`` to be answered, then ping is interrupted and probes sent after `stop`
  are dropped from the result (they were never given their chance).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from holdtime.errors import HoldtimeError, ParseError
from holdtime.gap import ProbeEvent, unwrap_sequence
from holdtime.probes import commands
from holdtime.probes.ping import FlowResult, PingFlow, Progress, ProgressCallback
from holdtime.probes.pinglog import PingLog, parse_iputils_ping

if TYPE_CHECKING:
    from holdtime.probes.router_config import Router
    from holdtime.probes.ssh import RemoteProcess, SshSession

# [1795422077.417996] 64 bytes from ...     [1795422077.417996] no answer yet for icmp_seq=6
_STAMP = re.compile(r"\[(\d{1,12}\.\d{1,9})\] ", re.ASCII)
# ping: sendmsg: Network is unreachable    (a probe that never left the router)
_SEND_ERROR = re.compile(r"ping: sendmsg: .*", re.ASCII)
_INTERRUPT_ECHO = "^C"  # the terminal echoes the Ctrl-C we send
_READ_SLICE_SECONDS = 0.05
_EXIT_WAIT_SECONDS = 5.0


def format_interval(interval_seconds: float) -> str:
    """The -i argument: milliseconds resolution, no trailing zeros (0.2, 0.01, 1)."""
    return f"{interval_seconds:.3f}".rstrip("0").rstrip(".")


def router_ping_text(
    destination: str,
    interval_seconds: float,
    *,
    source: str | None = None,
    wait_seconds: float = 1.0,
    deadline_seconds: float = 3600.0,
) -> str:
    """The logical ping command run on the router (exactly the form the allowlist accepts)."""
    parts = [
        "ping -D -O",
        f"-i {format_interval(interval_seconds)}",
        f"-W {max(1, math.ceil(wait_seconds))}",
        f"-w {max(1, math.ceil(deadline_seconds))}",
    ]
    if source:
        parts.append(f"-I {source}")
    parts.append(destination)
    return " ".join(parts)


def clean_terminal_output(text: str) -> str:
    """Output read from a pty as plain lines: CRLF -> LF, the echoed ^C removed."""
    lines = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw
        while line.startswith(_INTERRUPT_ECHO):
            line = line[len(_INTERRUPT_ECHO) :]
        lines.append(line)
    return "\n".join(lines)


def clock_offset(arrivals: Sequence[tuple[float, float]]) -> float | None:
    """Our clock minus the router's, from (local arrival, router stamp) pairs: the minimum."""
    return min((local - stamp for local, stamp in arrivals), default=None)


def _send_times(events: Sequence[ProbeEvent], interval_seconds: float) -> dict[int, float]:
    """Send time of every sequence number (unwrapped): known from replies, else interpolated.

    A reply's send time is its stamp minus its RTT. A lost probe's lies between the answered
    neighbours (linear in the sequence number), or one interval per step beyond the first or
    last answered probe.
    """
    seqs = unwrap_sequence(e.seq for e in events)
    known: dict[int, float] = {}
    for seq, event in zip(seqs, events, strict=True):
        if event.sent_at is not None and seq not in known:
            known[seq] = event.sent_at
    anchors = sorted(known.items())
    times: dict[int, float] = {}
    for seq in sorted(set(seqs)):
        if seq in known:
            times[seq] = known[seq]
            continue
        if not anchors:
            continue
        before = [a for a in anchors if a[0] < seq]
        after = [a for a in anchors if a[0] > seq]
        if before and after:
            (s0, t0), (s1, t1) = before[-1], after[0]
            times[seq] = t0 + (seq - s0) * (t1 - t0) / (s1 - s0)
        elif before:
            s0, t0 = before[-1]
            times[seq] = t0 + (seq - s0) * interval_seconds
        else:
            s1, t1 = after[0]
            times[seq] = t1 - (s1 - seq) * interval_seconds
    return times


def events_on_local_clock(
    log: PingLog,
    interval_seconds: float,
    offset_seconds: float,
    sent_before: float | None = None,
) -> tuple[ProbeEvent, ...]:
    """The log's events with router stamps moved onto our clock and every send time filled in.

    ``sent_before`` (our clock) drops probes sent at or after it: the ones sent after the
    prober was told to stop. Events keep their order; unanswered probes get no receive time.
    """
    sends = _send_times(log.events, interval_seconds)
    seqs = unwrap_sequence(e.seq for e in log.events)
    moved = []
    for seq, event in zip(seqs, log.events, strict=True):
        sent = sends.get(seq)
        sent_local = sent + offset_seconds if sent is not None else None
        if sent_before is not None and (sent_local is None or sent_local >= sent_before):
            continue
        received = event.received_at + offset_seconds if event.received_at is not None else None
        if received is not None and sent_local is not None:
            received = max(received, sent_local)
        moved.append(replace(event, sent_at=sent_local, received_at=received))
    return tuple(moved)


@dataclass(slots=True)
class _Live:
    """What the streamed lines said so far (for progress and the abort threshold)."""

    started_at: float
    highest_seq: int = 0
    replied: set[int] = field(default_factory=set)
    unanswered: set[int] = field(default_factory=set)
    last_reply_at: float | None = None


class RouterPinger:
    """Run a router's own ping to `destination` over SSH until told to stop."""

    def __init__(
        self,
        router: Router,
        destination: str,
        interval_seconds: float,
        *,
        source: str | None = None,
        name: str = "",
        late_after_seconds: float | None = None,
        deadline_seconds: float = 3600.0,
        progress: ProgressCallback | None = None,
        progress_every_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        session_factory: Callable[[Router], SshSession] | None = None,
    ) -> None:
        self.router = router
        self.device = router.name
        self.flow = PingFlow(destination, source=source, name=name)
        self.interval_seconds = interval_seconds
        self.late_after_seconds = (
            late_after_seconds if late_after_seconds is not None else max(1.0, 3 * interval_seconds)
        )
        self.text = router_ping_text(
            destination,
            interval_seconds,
            source=source,
            wait_seconds=self.late_after_seconds,
            deadline_seconds=deadline_seconds,
        )
        # Refused here, before anything connects, if the inventory's values do not fit the form.
        self.command = commands.build("linux", self.text, sudo=router.sudo, device=self.device)
        self.progress = progress
        self.progress_every_seconds = progress_every_seconds
        self.clock = clock
        self._session_factory = session_factory or _ssh_session
        # What _stream has read so far, for settled_events() from the drill's journal thread.
        self._lines_so_far: list[str] = []
        self._arrivals_so_far: list[tuple[float, float]] = []

    @property
    def label(self) -> str:
        """Name shown in progress and results."""
        return self.flow.name or f"{self.device}->{self.flow.destination}"

    def run(self, stop: threading.Event) -> list[FlowResult]:
        """Probe until `stop` is set; one FlowResult (as PingProber.run returns a list)."""
        session = self._session_factory(self.router)
        try:
            process = session.start(self.command.line, pty=True)
            try:
                text, arrivals, stopped_at, status = self._stream(process, stop)
            finally:
                process.close()
        finally:
            session.close()
        return [self._result(text, arrivals, stopped_at, status)]

    def _stream(
        self, process: RemoteProcess, stop: threading.Event
    ) -> tuple[str, list[tuple[float, float]], float | None, int | None]:
        """Read lines until stop (+ late threshold) or until ping exits by itself."""
        live = _Live(started_at=self.clock())
        chunks: list[str] = []
        arrivals: list[tuple[float, float]] = []
        self._lines_so_far, self._arrivals_so_far = chunks, arrivals
        pending = ""
        stopped_at: float | None = None
        interrupted_at: float | None = None
        next_progress = live.started_at
        while True:
            if stop.is_set() and stopped_at is None:
                stopped_at = self.clock()
            if (
                stopped_at is not None
                and interrupted_at is None
                and self.clock() >= stopped_at + self.late_after_seconds
            ):
                process.interrupt()
                interrupted_at = self.clock()
            if interrupted_at is not None and self.clock() > interrupted_at + _EXIT_WAIT_SECONDS:
                break  # Ctrl-C ignored: closing the channel hangs the terminal up instead
            data = process.read(_READ_SLICE_SECONDS)
            now = self.clock()
            if data is None:
                break
            if data:
                text = pending + data.decode("utf-8", errors="replace")
                *complete, pending = clean_terminal_output(text).split("\n")
                chunks.extend(line + "\n" for line in complete)
                self._follow(complete, now, live, arrivals)
            # Reported from ping's first line on: the drill waits for that before settling.
            if self.progress is not None and chunks and now >= next_progress:
                next_progress = now + self.progress_every_seconds
                self.progress([self._snapshot(live, now)])
        if pending:
            chunks.append(pending + "\n")
        status = process.exit_status(_EXIT_WAIT_SECONDS)
        if stopped_at is None:
            # ping ended by itself: an error (bad source, no permission) or the -w cap.
            last = [line.strip() for line in chunks if line.strip()]
            raise HoldtimeError(
                f"{self.device}: `{self.command.text}` ended before the drill did "
                f"(exit status {status})" + (f": {last[-1]}" if last else "")
            )
        return "".join(chunks), arrivals, stopped_at, status

    def settled_events(self, after_seq: int) -> tuple[list[ProbeEvent], int]:
        """Probes after `after_seq` whose fate is known, from the lines read so far.

        The same contract as PingProber.settled_events (the drill journals them once a second,
        so a killed drill keeps its router path's probes too): probes sent at least
        late_after_seconds ago, on our clock; the new cursor is the highest seq returned.
        Nothing is returned before the first -D stamp or while the lines so far do not parse
        (the final parse reports such a line).
        """
        lines, arrivals = list(self._lines_so_far), list(self._arrivals_so_far)
        offset = clock_offset(arrivals)
        if not lines or offset is None:
            return [], after_seq
        try:
            log = parse_iputils_ping("".join(lines), source=self.device)
        except ParseError:
            return [], after_seq
        interval = log.inferred_interval_seconds or self.interval_seconds
        cutoff = self.clock() - self.late_after_seconds
        events = [
            event
            for event in events_on_local_clock(log, interval, offset, sent_before=cutoff)
            if event.seq > after_seq
        ]
        return events, max([after_seq, *(event.seq for event in events)])

    def _follow(
        self, lines: Sequence[str], now: float, live: _Live, arrivals: list[tuple[float, float]]
    ) -> None:
        for line in lines:
            stamp = _STAMP.match(line.strip())
            if stamp:
                arrivals.append((now, float(stamp.group(1))))
        try:
            log = parse_iputils_ping("\n".join(lines), source=self.device)
        except ParseError:
            return  # header or summary only; a malformed line is reported by the final parse
        for event in log.events:
            live.highest_seq = max(live.highest_seq, event.seq)
            if event.replied:
                live.replied.add(event.seq)
                live.unanswered.discard(event.seq)
                live.last_reply_at = now
            elif event.seq not in live.replied:
                live.unanswered.add(event.seq)
                # "no answer yet for N" is printed as N + 1 is sent
                live.highest_seq = max(live.highest_seq, event.seq + 1)

    def _snapshot(self, live: _Live, now: float) -> Progress:
        silent = now - (live.last_reply_at if live.last_reply_at is not None else live.started_at)
        gap = silent if silent > 2 * self.interval_seconds else 0.0
        return Progress(
            self.label,
            sent=live.highest_seq,
            received=len(live.replied),
            lost=len(live.unanswered),
            current_gap_seconds=gap,
            elapsed_seconds=now - live.started_at,
        )

    def _result(
        self,
        text: str,
        arrivals: Sequence[tuple[float, float]],
        stopped_at: float | None,
        status: int | None,
    ) -> FlowResult:
        send_errors = sum(1 for line in text.splitlines() if _SEND_ERROR.fullmatch(line.strip()))
        interval = self.interval_seconds
        try:
            log = parse_iputils_ping(text, source=f"{self.device}: {self.command.text}")
        except ParseError as exc:
            if "no ping replies or probes" not in str(exc):
                raise
            events: tuple[ProbeEvent, ...] = ()
        else:
            if log.unparsed:
                # A drill's verdict never rests on a partial reading of the router's ping.
                lineno, line = log.unparsed[0]
                raise ParseError(
                    f"{self.device}: `{self.command.text}` line {lineno} not understood: {line!r}"
                    f" ({len(log.unparsed)} such line(s))"
                )
            offset = clock_offset(arrivals)
            if offset is None:
                raise ParseError(f"{self.device}: ping printed no -D timestamps")
            # iputils times each probe from the previous one, so it runs slower than asked
            # (-i 0.05 sends every ~56 ms here): the spacing it achieved is the resolution.
            interval = log.inferred_interval_seconds or interval
            events = events_on_local_clock(log, interval, offset, stopped_at)
        sent = len({e.seq for e in events})
        return FlowResult(
            flow=self.flow,
            identifier=0,  # chosen by the router's ping; not visible in its output
            interval_seconds=interval,
            late_after_seconds=self.late_after_seconds,
            events=events,
            sent=sent,
            send_errors=send_errors,
            max_send_lag_seconds=0.0,  # the router's ping keeps its own schedule
            mean_send_lag_seconds=0.0,
            kernel_timestamps=False,  # -D stamps are taken when the line is printed
        )


def _ssh_session(router: Router) -> SshSession:
    from holdtime.probes.ssh import SshParams, SshSession

    session = SshSession(SshParams.from_router(router))
    session.connect()
    return session

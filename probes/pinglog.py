"""Parse ping logs (iputils, BusyBox, BSD/macOS, fping) into probe events for holdtime.gap.

Pure functions over text. Each parser reads one tool's output line by line and returns a
:class:`PingLog`. Lines it knows carry probes (replies, "no answer"/"timed out"/"Request timeout"
lines, ICMP errors with their reason), the run's header and the tool's own summary, or nothing
(noise, listed with a sample each). A line it does not know is never dropped in silence: it is
kept in ``PingLog.unparsed`` (line number and text) for the caller to report, and the probes that
were read are still analysed. A text with no ping line at all, or with more lines not understood
than understood, is refused with :class:`ParseError` naming the first such line; Windows ping
output is refused with a line saying so.

Lost probes are visible three ways: a hole in the sequence numbers (always), a "no answer"/
"timed out"/"Request timeout" line (iputils -O, fping, macOS) or an ICMP error line (iputils
`From X icmp_seq=N Destination Host Unreachable`); the sequence hole is the one gap analysis
relies on. The summary line (`N packets transmitted, M received`) is the tool's own count and
wins over what the probe lines imply (holdtime.gap.reconcile_with_summary).

None of these tools prints its probe interval: with timestamps (`ping -D`, `fping -D`, macOS
`--apple-time`) it is inferred from the send times; without them the caller supplies it.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import AnyStr, Protocol

from holdtime.defaults import SEQ_MODULO, SHOWN_SKIPPED
from holdtime.errors import ParseError
from holdtime.gap import ProbeEvent, unwrap_sequence
from holdtime.gap_stream import SeqRanges
from holdtime.probes.pinglog_block import block_segments

TOOLS = ("iputils", "busybox", "bsd", "fping")
_MS = 1e-3
# A summary claiming more unprinted probes than this is not believed (10^6 = 2.8 h at 10 ms).
MAX_SYNTHESIZED_PROBES = 1_000_000
_SECONDS_PER_DAY = 86400.0
# A streamed log keeps this many WARNING lines (ping prints one or two) and counts the rest.
MAX_KEPT_WARNINGS = 20


class NoProbesInLog(ParseError):
    """A ping log without a single probe line or summary (a ping that printed nothing yet)."""


@dataclass(frozen=True, slots=True)
class PingLog:
    """What a ping log says: probe events plus whatever the log states about the run."""

    tool: str  # iputils | busybox | bsd | fping
    events: tuple[ProbeEvent, ...]
    target: str | None = None
    transmitted: int | None = None  # from the summary line
    received: int | None = None  # from the summary line (duplicates and errors not included)
    first_seq: int | None = None  # the tool's first sequence number, when the log starts at it
    has_timestamps: bool = False
    inferred_interval_seconds: float | None = None  # median send spacing, from timestamps
    synthesized_seqs: tuple[int, ...] = field(default=())  # lost probes known only from counts
    seq_modulo: int | None = SEQ_MODULO  # None: the tool's counter never wraps (fping)
    icmp_errors: tuple[tuple[int, str], ...] = field(default=())  # (printed seq, reason)
    warnings: tuple[str, ...] = field(default=())  # lines the tool printed as WARNING: ...
    unparsed: tuple[tuple[int, str], ...] = field(default=())  # (line number, text) not understood


class ProbeSink(Protocol):
    """Where a streaming parse sends its probes (holdtime.gap_stream.GapStream is one)."""

    def reply(
        self, raw: int, sent_at: float | None, received_at: float | None, rtt_seconds: float | None
    ) -> None: ...

    def lost(self, raw: int, sent_at: float | None = None) -> None: ...

    def stamped_replies(
        self, seqs: Iterable[int], stamps: Iterable[float], rtts: Iterable[float]
    ) -> None: ...

    def span(self) -> tuple[int, int] | None: ...

    def replied_count(self) -> int: ...

    def extend_unprinted(self, first: int, last: int) -> None: ...

    def inferred_interval(self) -> float | None: ...

    @property
    def stamped(self) -> bool: ...


@dataclass(slots=True)
class IcmpErrorTally:
    """ICMP errors of one reason, counted (a streaming parse keeps no list of them)."""

    count: int
    first_seq: int  # printed, of the first such line
    seqs: SeqRanges  # distinct printed sequence numbers


@dataclass(frozen=True, slots=True)
class StreamedPingLog:
    """What a streamed ping log states besides its probes, which went to the sink."""

    tool: str
    target: str | None
    transmitted: int | None
    received: int | None
    first_seq: int | None
    has_timestamps: bool
    inferred_interval_seconds: float | None
    synthesized_count: int  # lost probes known only from the header and summary
    seq_modulo: int | None
    icmp_errors: tuple[tuple[str, IcmpErrorTally], ...]  # in the order each reason appeared
    warnings: tuple[str, ...]  # the first MAX_KEPT_WARNINGS
    warnings_dropped: int  # warning lines beyond those
    unparsed_count: int
    unparsed_first: tuple[tuple[int, str], ...]  # the first SHOWN_SKIPPED (line number, text)
    lines: int


@dataclass(slots=True)
class _Builder:
    """Collects events while a parser walks the lines (into a list, or to a sink)."""

    tool: str
    source: str
    modulo: int | None = SEQ_MODULO  # fping counts probes without wrapping
    sink: ProbeSink | None = None  # streaming: events go there, and little is kept
    events: list[ProbeEvent] = field(default_factory=list)
    events_seen: int = 0
    target: str | None = None
    transmitted: int | None = None
    received: int | None = None
    first_seq: int | None = None
    icmp_errors: list[tuple[int, str]] = field(default_factory=list)
    icmp_tally: dict[str, IcmpErrorTally] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    warnings_dropped: int = 0
    unparsed: list[tuple[int, str]] = field(default_factory=list)
    unparsed_count: int = 0
    day_offset_seconds: float = 0.0  # macOS --apple-time prints time of day; unwrap midnight
    last_time_of_day: float | None = None

    def error(self, lineno: int, message: str) -> ParseError:
        return ParseError(f"{self.source}:{lineno}: {message}")

    def reply(self, seq: int, stamp: float | None, rtt_ms: float | None) -> None:
        rtt = rtt_ms * _MS if rtt_ms is not None else None
        sent_at = stamp - rtt if stamp is not None and rtt is not None else None
        self.events_seen += 1
        if self.sink is not None:
            self.sink.reply(seq, sent_at, stamp, rtt)
        else:
            self.events.append(ProbeEvent(seq, sent_at, stamp, replied=True, rtt_seconds=rtt))

    def lost(self, seq: int) -> None:
        # The stamp on a "no answer"/"timed out" line is when the tool gave up, not the send time:
        # gap analysis derives the send time from the neighbouring replies instead.
        self.events_seen += 1
        if self.sink is not None:
            self.sink.lost(seq)
        else:
            self.events.append(ProbeEvent(seq, replied=False))

    def icmp_error(self, seq: int, reason: str) -> None:
        if self.sink is None:
            self.icmp_errors.append((seq, reason))
            return
        tally = self.icmp_tally.get(reason)
        if tally is None:
            tally = self.icmp_tally[reason] = IcmpErrorTally(0, seq, SeqRanges())
        tally.count += 1
        tally.seqs.add(seq)

    def warning(self, line: str) -> None:
        if self.sink is None or len(self.warnings) < MAX_KEPT_WARNINGS:
            self.warnings.append(line)
        else:
            self.warnings_dropped += 1

    def skip(self, lineno: int, line: str) -> None:
        """A line no rule knows: counted, and kept (a streaming parse keeps the first few)."""
        self.unparsed_count += 1
        if self.sink is None or len(self.unparsed) < SHOWN_SKIPPED:
            self.unparsed.append((lineno, line))

    def time_of_day(self, text: str) -> float:
        hours, minutes, seconds = text.split(":")
        value = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        if self.last_time_of_day is not None and value + 3600 < self.last_time_of_day:
            self.day_offset_seconds += _SECONDS_PER_DAY
        self.last_time_of_day = value
        return value + self.day_offset_seconds

    def finish_stream(self, lines: int) -> StreamedPingLog:
        """The streaming build: unprinted losses go to the sink, the facts are returned."""
        sink = self.sink
        assert sink is not None
        synthesized = self._synthesize_streamed(sink)
        if not self.events_seen and self.transmitted is None:
            raise NoProbesInLog(
                f"{self.source}: no ping replies or probes found ({self.tool} format)"
            )
        return StreamedPingLog(
            tool=self.tool,
            target=self.target,
            transmitted=self.transmitted,
            received=self.received,
            first_seq=self.first_seq,
            has_timestamps=sink.stamped,
            inferred_interval_seconds=sink.inferred_interval() if sink.stamped else None,
            synthesized_count=synthesized,
            seq_modulo=self.modulo,
            icmp_errors=tuple(self.icmp_tally.items()),
            warnings=tuple(self.warnings),
            warnings_dropped=self.warnings_dropped,
            unparsed_count=self.unparsed_count,
            unparsed_first=tuple(self.unparsed),
            lines=lines,
        )

    def _synthesize_streamed(self, sink: ProbeSink) -> int:
        """_synthesize_unprinted for a stream: the same rule, told to the sink as a range."""
        if self.first_seq is None:
            return 0
        span = sink.span()
        if self.received is not None and sink.replied_count() != self.received:
            return 0
        lowest, highest = span if span is not None else (None, None)
        leading = range(0)
        if lowest is not None and lowest > self.first_seq:
            leading = range(self.first_seq, lowest)
        trailing = range(0)
        if self.transmitted is not None:
            last_sent = self.first_seq + self.transmitted - 1
            start = self.first_seq if highest is None else highest + 1
            trailing = range(start, last_sent + 1)
        if len(leading) + len(trailing) > MAX_SYNTHESIZED_PROBES:
            raise ParseError(
                f"{self.source}: the summary claims {self.transmitted} probes transmitted but the"
                f" log shows sequence numbers up to {highest}; not a consistent ping log"
            )
        for unprinted in (leading, trailing):
            if unprinted:
                sink.extend_unprinted(unprinted[0], unprinted[-1])
        return len(leading) + len(trailing)

    def build(self) -> PingLog:
        synthesized = self._synthesize_unprinted()
        if not self.events and self.transmitted is None:
            raise NoProbesInLog(
                f"{self.source}: no ping replies or probes found ({self.tool} format)"
            )
        stamped = any(e.received_at is not None for e in self.events)
        return PingLog(
            tool=self.tool,
            events=tuple(self.events),
            target=self.target,
            transmitted=self.transmitted,
            received=self.received,
            first_seq=self.first_seq,
            has_timestamps=stamped,
            inferred_interval_seconds=_infer_interval(self.events, self.modulo)
            if stamped
            else None,
            synthesized_seqs=tuple(synthesized),
            seq_modulo=self.modulo,
            icmp_errors=tuple(self.icmp_errors),
            warnings=tuple(self.warnings),
            unparsed=tuple(self.unparsed),
        )

    def _synthesize_unprinted(self) -> list[int]:
        """Add the lost probes a plain log never prints: before its first and after its last line.

        Only when the log holds its own start (header) and its summary's transmitted count: then
        probes first_seq .. first_seq + transmitted - 1 were sent, printed or not. And only when
        the reply lines hold every reply the summary counts: a `ping -q` log, or one whose reply
        lines were filtered out, says nothing about which probes were lost.
        """
        if self.first_seq is None:
            return []
        raw = [e.seq for e in self.events]
        unwrapped = unwrap_sequence(raw, self.modulo) if self.modulo else raw
        answered = {seq for seq, e in zip(unwrapped, self.events, strict=True) if e.replied}
        if self.received is not None and len(answered) != self.received:
            return []
        lowest = min(unwrapped) if unwrapped else None
        highest = max(unwrapped) if unwrapped else None
        leading = range(0)
        if lowest is not None and lowest > self.first_seq:
            leading = range(self.first_seq, lowest)
        trailing = range(0)
        if self.transmitted is not None:
            last_sent = self.first_seq + self.transmitted - 1
            start = self.first_seq if highest is None else highest + 1
            trailing = range(start, last_sent + 1)
        # Sized before anything is built: a forged count must not exhaust memory.
        if len(leading) + len(trailing) > MAX_SYNTHESIZED_PROBES:
            raise ParseError(
                f"{self.source}: the summary claims {self.transmitted} probes transmitted but the"
                f" log shows sequence numbers up to {highest}; not a consistent ping log"
            )
        wrap = self.modulo or 0

        def raw_seq(seq: int) -> int:
            return seq % wrap if wrap else seq

        self.events[:0] = [ProbeEvent(raw_seq(seq), replied=False) for seq in leading]
        self.events.extend(ProbeEvent(raw_seq(seq), replied=False) for seq in trailing)
        return [*leading, *trailing]


def _infer_interval(events: list[ProbeEvent], modulo: int | None) -> float | None:
    """Median send spacing per sequence step, rounded to 1 ms (None with fewer than 2 sends)."""
    raw = [e.seq for e in events]
    seqs = unwrap_sequence(raw, modulo) if modulo else raw
    sends = sorted(
        (seq, e.sent_at) for seq, e in zip(seqs, events, strict=True) if e.sent_at is not None
    )
    steps = [
        (b_at - a_at) / (b_seq - a_seq)
        for (a_seq, a_at), (b_seq, b_at) in itertools.pairwise(sends)
        if b_seq > a_seq
    ]
    if not steps:
        return None
    spacing = round(statistics.median(steps), 3)
    return spacing if spacing > 0 else None


_Handler = Callable[["_Builder", "re.Match[str]", int], None]


def _compile(pattern: str) -> re.Pattern[str]:
    # ASCII: `\d` must not accept other scripts' digits, which int() would read.
    return re.compile(pattern, re.ASCII)


Rules = list[tuple[re.Pattern[str], _Handler | None]]


class _LineRules:
    """Applies a tool's rules to one line at a time; counts what it understood."""

    __slots__ = ("builder", "noise", "rules", "understood")

    def __init__(self, builder: _Builder, rules: Rules) -> None:
        self.builder = builder
        self.rules = rules
        self.understood = 0
        self.noise = 0

    def feed(self, lineno: int, line: str) -> None:
        """Apply the first matching rule to the line (stripped); keep it when no rule knows it."""
        stripped = line.strip()
        if not stripped:
            return
        builder = self.builder
        for pattern, handler in self.rules:
            match = pattern.fullmatch(stripped)
            if match:
                if handler is not None:
                    handler(builder, match, lineno)
                    self.understood += 1
                else:
                    self.noise += 1
                return
        if _WINDOWS_MARK.fullmatch(stripped):
            raise builder.error(lineno, WINDOWS_REFUSAL)
        builder.skip(lineno, stripped)

    def check(self) -> None:
        """Refuse a text in which no line, or fewer lines than not, were understood."""
        builder = self.builder
        understood = self.understood
        if builder.unparsed_count and (understood == 0 or builder.unparsed_count > understood):
            lineno, line = builder.unparsed[0]
            detail = f"not {builder.tool} ping output: {_shorten(line)!r}"
            if understood:
                detail += (
                    f" ({builder.unparsed_count} lines not understood, {understood} understood)"
                )
            raise builder.error(lineno, detail)


def _run(text: str, builder: _Builder, rules: Rules) -> PingLog:
    """Apply the first matching rule to each non-blank line; keep the lines no rule knows.

    Refused: empty text, Windows ping output, and text in which no line is a ping line or more
    lines are not understood than understood (not this tool's log at all).
    """
    if not text.strip():
        raise ParseError(f"{builder.source}: empty ping log")
    reader = _LineRules(builder, rules)
    for lineno, line in enumerate(text.splitlines(), start=1):
        reader.feed(lineno, line)
    reader.check()
    return builder.build()


def _shorten(line: str) -> str:
    return line if len(line) <= 60 else line[:57] + "..."


def _stamp(builder: _Builder, match: re.Match[str]) -> float | None:
    epoch = match.groupdict().get("epoch")
    if epoch is not None:
        return float(epoch)
    clock = match.groupdict().get("clock")
    if clock is not None:
        return builder.time_of_day(clock)
    return None


def _on_reply(builder: _Builder, match: re.Match[str], _lineno: int) -> None:
    rtt = match.group("rtt")
    builder.reply(int(match.group("seq")), _stamp(builder, match), float(rtt) if rtt else None)


def _on_lost(builder: _Builder, match: re.Match[str], _lineno: int) -> None:
    builder.lost(int(match.group("seq")))


def _on_summary(builder: _Builder, match: re.Match[str], _lineno: int) -> None:
    builder.transmitted = int(match.group("transmitted"))
    builder.received = int(match.group("received"))


def _on_icmp_error(builder: _Builder, match: re.Match[str], _lineno: int) -> None:
    """An ICMP error about probe N: a lost probe with its reason (a redirect loses nothing)."""
    seq, reason = int(match.group("seq")), match.group("reason")
    builder.icmp_error(seq, reason)
    if not reason.startswith("Redirect"):
        builder.lost(seq)


def _on_warning(builder: _Builder, match: re.Match[str], _lineno: int) -> None:
    builder.warning(match.group(0))


def _header(first_seq: int) -> _Handler:
    def handle(builder: _Builder, match: re.Match[str], lineno: int) -> None:
        if builder.events_seen or builder.first_seq is not None:
            raise builder.error(lineno, "a second ping run starts here; give one run per log")
        builder.target = match.group("target")
        builder.first_seq = first_seq

    return handle


# Windows ping, which no parser here reads; recognised only to say so.
#   Pinging 10.0.0.2 with 32 bytes of data:    Pinging db [10.0.0.2] with 32 bytes of data:
#   Reply from 10.0.0.2: bytes=32 time<1ms TTL=128    Request timed out.
#   Ping statistics for 10.0.0.2:    Packets: Sent = 4, Received = 4, Lost = 0 (0% loss),
_WINDOWS_MARK = _compile(
    r"Pinging \S+ (?:\[\S+\] )?with \d+ bytes of data:|Reply from \S+: bytes=\d+ .*"
    r"|Ping statistics for \S+:|Packets: Sent = \d+, Received = \d+, Lost = \d+.*"
)
WINDOWS_REFUSAL = (
    "this is Windows ping output, which holdtime does not read (yet): record the log with"
    " iputils `ping -D -O` (Linux, WSL) or `fping -D -l`"
)

# Lines every ping prints around the probes, carrying nothing gap analysis needs.
_NOISE: list[tuple[re.Pattern[str], _Handler | None]] = [
    # --- 10.99.0.2 ping statistics ---    --- ::1 ping6 statistics ---
    (_compile(r"--- .* ping6? statistics ---"), None),
    # rtt min/avg/max/mdev = 0.019/0.046/0.059/0.012 ms    round-trip min/avg/max = 0.03/0.09/0.1 ms
    # rtt min/avg/max/mdev = 0.048/236.359/2045.558/588.881 ms, pipe 4
    (_compile(r"(?:rtt|round-trip) min/avg/max\S* = .*"), None),
    # pipe 3    (iputils, on its own line when nothing was received: probes outstanding at once)
    (_compile(r"pipe \d{1,10}"), None),
    # PATTERN: 0xabcd    (ping -p: the payload pattern)
    (_compile(r"PATTERN: 0x[0-9a-fA-F]{1,32}"), None),
    # ping: sendmsg: Network is unreachable    (diagnostics on stderr; the seq hole shows the loss)
    (_compile(r"ping6?: .*"), None),
    # WARNING: pinging broadcast address    (kept and shown: replies then come from many hosts)
    (_compile(r"WARNING: .*"), _on_warning),
]

# [1700000000.123456]    (iputils -D prefix: epoch seconds when the line was printed)
_IPUTILS_STAMP = r"(?:\[(?P<epoch>\d{1,12}\.\d{1,9})\] )?"

_IPUTILS_RULES: list[tuple[re.Pattern[str], _Handler | None]] = [
    # PING 10.99.0.2 (10.99.0.2) 56(84) bytes of data.    PING ::1(::1) 56 data bytes
    # PING 172.16.1.10 (172.16.1.10) from 192.168.1.1 : 56(84) bytes of data.    (-I ADDRESS)
    # PING 172.16.1.10 (172.16.1.10) from 10.0.0.1 eth0: 56(84) bytes of data.   (-I DEVICE)
    # PING  (100.68.105.124) 56(84) bytes of data.    (iputils s20161105: an empty host name)
    (
        _compile(
            r"PING (?:(?P<target>\S+?) ?| )\(\S+\)(?: from \S+ ?\S*:)? \d+(?:\(\d+\))?"
            r" (?:bytes of data|data bytes)\.?"
        ),
        _header(first_seq=1),
    ),
    # [1700000000.123456] 64 bytes from 10.99.0.2: icmp_seq=5 ttl=64 time=0.042 ms (DUP!)
    (
        _compile(
            _IPUTILS_STAMP + r"\d{1,6} bytes from .+?: icmp_seq=(?P<seq>\d{1,10})"
            r"(?: ident=\d+)? ttl=\d{1,3}(?: time=(?P<rtt>\d{1,9}(?:\.\d{1,6})?) ms)?.*"
        ),
        _on_reply,
    ),
    # [1700000000.123456] no answer yet for icmp_seq=6
    (_compile(_IPUTILS_STAMP + r"no answer yet for icmp_seq=(?P<seq>\d{1,10})"), _on_lost),
    # [1700000000.737445] From 10.99.0.1 icmp_seq=5 Destination Host Unreachable
    # From 10.98.1.254 icmp_seq=1 Time to live exceeded
    # From 10.98.1.254: icmp_seq=2 Redirect Host(New nexthop: 10.98.1.3)
    (
        _compile(
            _IPUTILS_STAMP + r"From \S+(?: \(\S+\))?:? icmp_seq=(?P<seq>\d{1,10}) (?P<reason>.+)"
        ),
        _on_icmp_error,
    ),
    # 14 packets transmitted, 10 received, +3 errors, 28.5714% packet loss, time 13263ms
    (
        _compile(
            r"(?P<transmitted>\d{1,10}) packets transmitted, (?P<received>\d{1,10}) received.*"
        ),
        _on_summary,
    ),
    *_NOISE,
]

_BUSYBOX_RULES: list[tuple[re.Pattern[str], _Handler | None]] = [
    # PING 10.99.0.2 (10.99.0.2): 56 data bytes
    (_compile(r"PING (?P<target>\S+) \(\S+\): \d+ data bytes"), _header(first_seq=0)),
    # 64 bytes from 10.99.0.2: seq=41 ttl=64 time=32.494 ms (DUP!)
    (
        _compile(
            r"\d{1,6} bytes from .+?: seq=(?P<seq>\d{1,10}) ttl=\d{1,3}"
            r"(?: time=(?P<rtt>\d{1,9}(?:\.\d{1,6})?) ms)?(?: \(DUP!\))?"
        ),
        _on_reply,
    ),
    # 14 packets transmitted, 10 packets received, 28% packet loss
    (
        _compile(
            r"(?P<transmitted>\d{1,10}) packets transmitted, (?P<received>\d{1,10})"
            r" packets received.*"
        ),
        _on_summary,
    ),
    *_NOISE,
]

# 12:34:56.789012    (macOS --apple-time prefix: local time of day when the line was printed)
_BSD_STAMP = r"(?:(?P<clock>\d{2}:\d{2}:\d{2}\.\d{1,6}) )?"

_BSD_RULES: list[tuple[re.Pattern[str], _Handler | None]] = [
    # PING 192.0.2.10 (192.0.2.10): 56 data bytes
    (_compile(r"PING (?P<target>\S+) \(\S+\): \d+ data bytes"), _header(first_seq=0)),
    # PING6(56=40+8+8 bytes) ::1 --> ::1    (ping6, and macOS ping6 with a scope: fe80::1%en0)
    (
        _compile(r"PING6\(\d{1,6}=\d{1,3}\+\d{1,3}\+\d{1,6} bytes\) \S+ --> (?P<target>\S+)"),
        _header(first_seq=0),
    ),
    # 16 bytes from ::1, icmp_seq=0 hlim=64 time=0.034 ms
    (
        _compile(
            _BSD_STAMP + r"\d{1,6} bytes from \S+?, icmp_seq=(?P<seq>\d{1,10}) hlim=\d{1,3}"
            r"(?: time=(?P<rtt>\d{1,9}(?:\.\d{1,6})?) ms)?.*"
        ),
        _on_reply,
    ),
    # 64 bytes from 192.0.2.10: icmp_seq=4 ttl=63 time=1.233 ms (DUP!)
    (
        _compile(
            _BSD_STAMP + r"\d{1,6} bytes from .+?: icmp_seq=(?P<seq>\d{1,10}) ttl=\d{1,3}"
            r"(?: time=(?P<rtt>\d{1,9}(?:\.\d{1,6})?) ms)?.*"
        ),
        _on_reply,
    ),
    # Request timeout for icmp_seq 5
    (_compile(r"Request timeout for icmp_seq (?P<seq>\d{1,10})"), _on_lost),
    # 15 packets transmitted, 11 packets received, 26.7% packet loss
    (
        _compile(
            r"(?P<transmitted>\d{1,10}) packets transmitted, (?P<received>\d{1,10})"
            r" packets received.*"
        ),
        _on_summary,
    ),
    # 92 bytes from 192.0.2.1: Destination Host Unreachable   (then a header dump: no seq)
    (_compile(_BSD_STAMP + r"\d{1,6} bytes from .+?: (?:Destination|Time to live|Frag).*"), None),
    # Vr HL TOS  Len   ID Flg  off TTL Pro  cks      Src      Dst
    (_compile(r"Vr HL TOS .*"), None),
    #  4  5  00 5400 d3b1   0 0000  3f  01 2a8c 192.0.2.5  192.0.2.10
    (_compile(r"[0-9a-f]{1,2}\s+[0-9a-f]{1,2}\s+[0-9a-f]{2} [0-9a-f]{4} .*"), None),
    *_NOISE,
]

# [1795407333.97247]    (fping -D prefix)
_FPING_STAMP = r"(?:\[(?P<epoch>\d{1,12}\.\d{1,9})\] )?"

_FPING_RULES: list[tuple[re.Pattern[str], _Handler | None]] = [
    # [1795407333.97247] 10.99.0.2 : [0], 64 bytes, 0.017 ms (0.017 avg, 0% loss)
    (
        _compile(
            _FPING_STAMP + r"(?P<host>\S+) +: \[(?P<seq>\d{1,10})\], \d{1,6} bytes, "
            r"(?P<rtt>\d{1,9}(?:\.\d{1,6})?) ms \(.*\)"
        ),
        _on_reply,
    ),
    # 10.99.0.2 : duplicate for [3], 64 bytes, 0.10 ms
    (
        _compile(
            _FPING_STAMP + r"(?P<host>\S+) +: duplicate for \[(?P<seq>\d{1,10})\], "
            r"\d{1,6} bytes, (?P<rtt>\d{1,9}(?:\.\d{1,6})?) ms.*"
        ),
        _on_reply,
    ),
    # [1795407339.97355] 10.99.0.2 : [5], timed out (0.014 avg, 16% loss)
    (_compile(_FPING_STAMP + r"(?P<host>\S+) +: \[(?P<seq>\d{1,10})\], timed out.*"), _on_lost),
    # 10.99.0.2 : xmt/rcv/%loss = 14/10/28%, min/avg/max = 0.004/0.019/0.030
    (
        _compile(
            r"(?P<host>\S+) +: xmt/rcv/%loss = (?P<transmitted>\d{1,10})/(?P<received>\d{1,10})/.*"
        ),
        _on_summary,
    ),
    # fping: ... / ICMP Host Unreachable from 10.99.0.1 for ICMP Echo sent to 10.99.0.2
    (_compile(r"(?:fping: |ICMP .+ from \S+ for ICMP Echo sent to ).*"), None),
]


def parse_iputils_ping(text: str, source: str = "<input>") -> PingLog:
    """Parse Linux iputils `ping` output, plain or with -D timestamps and -O "no answer" lines."""
    return _run(text, _Builder("iputils", source), _IPUTILS_RULES)


def parse_busybox_ping(text: str, source: str = "<input>") -> PingLog:
    """Parse BusyBox `ping` output (`seq=N`, no timestamps, nothing printed for a lost probe)."""
    return _run(text, _Builder("busybox", source), _BUSYBOX_RULES)


def parse_bsd_ping(text: str, source: str = "<input>") -> PingLog:
    """Parse BSD/macOS `ping` output, with "Request timeout" lines and macOS --apple-time."""
    return _run(text, _Builder("bsd", source), _BSD_RULES)


def _fping_rules(target: str | None, hosts: set[str]) -> Rules:
    """fping's rules, scoped to `target`; every host seen is added to `hosts`."""

    def scoped(handler: _Handler) -> _Handler:
        def handle(b: _Builder, match: re.Match[str], lineno: int) -> None:
            host = match.group("host")
            hosts.add(host)
            if target is None or host == target:
                b.target = host
                handler(b, match, lineno)

        return handle

    def summary(b: _Builder, match: re.Match[str], lineno: int) -> None:
        host = match.group("host")
        hosts.add(host)
        if target is None or host == target:
            _on_summary(b, match, lineno)
            b.first_seq = 0  # a summary means the whole run is here, and fping counts from 0

    return [
        (pattern, summary if handler is _on_summary else scoped(handler) if handler else None)
        for pattern, handler in _FPING_RULES
    ]


def _check_fping_hosts(source: str, target: str | None, hosts: set[str]) -> None:
    if target is None and len(hosts) > 1:
        names = ", ".join(sorted(hosts))
        raise ParseError(f"{source}: fping output holds several targets ({names}); pick one")
    if target is not None and target not in hosts:
        raise ParseError(f"{source}: fping output has no lines for target {target!r}")


def parse_fping_loop(text: str, source: str = "<input>", target: str | None = None) -> PingLog:
    """Parse `fping -l` / `fping -c` per-probe output (optionally -D) for one target.

    fping names the host on every line; a log with several hosts needs ``target``.
    """
    builder = _Builder("fping", source, modulo=None)
    hosts: set[str] = set()
    log = _run(text, builder, _fping_rules(target, hosts))
    _check_fping_hosts(source, target, hosts)
    return log


# Markers that tell the formats apart, checked in this order.
_FPING_MARK = _compile(
    r"^(?:\[\d+\.\d+\] )?\S+ +: (?:\[\d+\]|xmt/rcv|duplicate for)",
)
# busybox prints its loss as a whole percent, BSD with one decimal (`26.7% packet loss`): that
# tells a busybox log with no reply line (ping -q, or every probe lost) from a BSD one.
_BUSYBOX_MARK = _compile(
    r"bytes from .+?: seq=\d|^\d+ packets transmitted, \d+ packets received, (?:\+\d+ \w+, )?\d+% "
)
_BSD_MARK = _compile(
    r"^(?:Request timeout for icmp_seq \d|PING \S+ \(\S+\): \d+ data bytes|PING6\(\d)"
)


def detect_tool(text: str) -> str:
    """Guess which ping printed `text` (iputils when nothing says otherwise)."""
    lines = text.splitlines()
    if any(_FPING_MARK.search(line.strip()) for line in lines):
        return "fping"
    if any(_BUSYBOX_MARK.search(line) for line in lines):
        return "busybox"
    if any(_BSD_MARK.search(line.strip()) for line in lines):
        return "bsd"
    return "iputils"


def parse_ping_log(
    text: str, tool: str = "auto", source: str = "<input>", target: str | None = None
) -> PingLog:
    """Parse a ping log of `tool` (or detect it); `source` names the input in error messages."""
    if tool == "auto":
        tool = detect_tool(text)
    if tool == "iputils":
        return parse_iputils_ping(text, source)
    if tool == "busybox":
        return parse_busybox_ping(text, source)
    if tool == "bsd":
        return parse_bsd_ping(text, source)
    if tool == "fping":
        return parse_fping_loop(text, source, target)
    raise ParseError(f"unknown ping tool {tool!r} (known: auto, {', '.join(TOOLS)})")


_RULES_BY_TOOL = {
    "iputils": _IPUTILS_RULES,
    "busybox": _BUSYBOX_RULES,
    "bsd": _BSD_RULES,
    "fping": _FPING_RULES,
}


def is_noise(tool: str, line: str) -> bool:
    """True when `tool`'s parser reads `line` as a known line that carries nothing (its noise)."""
    stripped = line.strip()
    if not stripped:
        return True
    for pattern, handler in _RULES_BY_TOOL[tool]:
        if pattern.fullmatch(stripped):
            return handler is None
    return False


# [1795407348.985012] 64 bytes from 10.99.0.2: icmp_seq=2 ttl=64 time=0.042 ms
# The commonest line of a `ping -D` log, read without trying every rule: a line this matches is
# one the reply rule above reads the same way (a host without ':', nothing after "ms").
_IPUTILS_STAMPED_REPLY = _compile(
    r"\[(\d{1,12}\.\d{1,9})\] \d{1,6} bytes from [^:]+: icmp_seq=(\d{1,10}) ttl=\d{1,3}"
    r" time=(\d{1,9}(?:\.\d{1,6})?) ms"
)


class PingLineParser:
    """Read one tool's ping log line by line; its probes go to `sink` as they are read.

    The streaming form of the parse_* functions, for logs of any length and logs still being
    written: the same rules, line numbers, refusals and messages, but nothing is kept per probe
    (ICMP errors are counted per reason, the first SHOWN_SKIPPED lines not understood are kept
    and the rest counted, MAX_KEPT_WARNINGS warning lines are kept). Feed lines without their
    line ends, in order; :meth:`finish` applies the end-of-log rules (refusals, unprinted losses
    from the summary) and returns what the log said besides its probes.
    """

    def __init__(
        self, tool: str, sink: ProbeSink, source: str = "<input>", target: str | None = None
    ) -> None:
        if tool not in TOOLS:
            raise ParseError(f"unknown ping tool {tool!r} (known: auto, {', '.join(TOOLS)})")
        self.tool = tool
        self._source = source
        self._target = target
        self._hosts: set[str] = set()
        modulo = None if tool == "fping" else SEQ_MODULO
        self._builder = _Builder(tool, source, modulo=modulo, sink=sink)
        rules = _fping_rules(target, self._hosts) if tool == "fping" else _RULES_BY_TOOL[tool]
        self._reader = _LineRules(self._builder, rules)
        self._sink = sink
        self.lines = 0

    def feed_lines(self, lines: Iterable[str]) -> None:
        """The next lines of the log, numbered on from the last one fed."""
        if self.tool != "iputils":
            self._feed_rules(lines)
            return
        fast = _IPUTILS_STAMPED_REPLY.fullmatch
        replies: list[tuple[str, str, str]] = []
        rest: list[str] = []
        for line in lines:
            match = fast(line)
            if match is None:
                rest.append(line)
                continue
            if rest:
                self._feed_replies(replies)
                replies = []
                self._feed_rules(rest)
                rest = []
            replies.append(match.groups())  # type: ignore[arg-type]
        self._feed_replies(replies)
        self._feed_rules(rest)

    def feed_block(self, block: bytes) -> None:
        """The next whole lines of the log as raw bytes (the last block may end without a newline).

        The same as feed_lines(block decoded as UTF-8 with replacement, split by splitlines), but
        an iputils log's timestamped replies are found all at once (holdtime.probes.pinglog_block).
        """
        if self.tool != "iputils":
            self._feed_rules(block.decode("utf-8", errors="replace").splitlines())
            return
        for segment in block_segments(block):
            if isinstance(segment, str):
                self._feed_rules(segment.splitlines())
            else:
                self._feed_replies(segment)

    def _feed_replies(self, replies: Sequence[tuple[AnyStr, AnyStr, AnyStr]]) -> None:
        """Timestamped replies as printed (epoch, seq, RTT in ms), one line each, in order."""
        if not replies:
            return
        first = self.lines + 1
        stamps, seqs, rtts = zip(*replies, strict=True)
        try:
            # float(rtt) * 1e-3, as _Builder.reply converts it (1e-3 * x is the same float)
            self._sink.stamped_replies(
                map(int, seqs), map(float, stamps), map(_MS.__mul__, map(float, rtts))
            )
        except ValueError as exc:  # holdtime.gap_stream.SequenceConflict
            offset = getattr(exc, "offset", 0)
            self.lines = first + offset
            self._reader.understood += offset
            self._builder.events_seen += offset
            raise self._builder.error(first + offset, str(exc)) from None
        self.lines += len(replies)
        self._reader.understood += len(replies)
        self._builder.events_seen += len(replies)

    def _feed_rules(self, lines: Iterable[str]) -> None:
        """Lines through the tool's full rules, numbered on from the last one fed."""
        lineno = self.lines
        reader = self._reader
        try:
            for line in lines:
                lineno += 1
                reader.feed(lineno, line)
        except ValueError as exc:  # holdtime.gap_stream.SequenceConflict
            raise self._builder.error(lineno, str(exc)) from None
        finally:
            self.lines = lineno

    @property
    def understood(self) -> int:
        """Lines read as probes, header or summary so far."""
        return self._reader.understood

    @property
    def unparsed_count(self) -> int:
        """Lines not understood so far."""
        return self._builder.unparsed_count

    def finish(self) -> StreamedPingLog:
        """The end of the log: refuse what the parse_* functions refuse, else what it said."""
        reader = self._reader
        if not (reader.understood or reader.noise or self._builder.unparsed_count):
            raise ParseError(f"{self._source}: empty ping log")
        reader.check()
        facts = self._builder.finish_stream(self.lines)
        if self.tool == "fping":
            _check_fping_hosts(self._source, self._target, self._hosts)
        return facts

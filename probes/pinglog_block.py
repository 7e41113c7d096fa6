"""Find the commonest `ping -D` line in a block of raw bytes, so most lines skip the line rules.

A 24-hour `ping -D -O` log at 10 ms is 8.64 million lines, almost all of one shape: a timestamped
reply. :func:`block_segments` cuts a block of the log (bytes, whole lines) into runs of such
replies, already split into their three fields by one compiled regex over the block, and the text
in between, which the caller hands to the full line rules (holdtime.probes.pinglog) unchanged.

Why the result is the full parser's:

- a reply here is a whole line of printable ASCII (no byte a decoder would replace, no character
  str.splitlines breaks at), ended by LF or CR LF, that the iputils reply rule reads with the same
  epoch, sequence number and RTT (the same digit bounds; a host without ':' so the rule's lazy
  host ends at the same place; nothing after "ms");
- a match starts only at the start of a line (after LF), so the text in between is always whole
  lines, and decoding and splitting it apart gives the lines the whole text gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# [1795407348.985012] 64 bytes from 10.99.0.2: icmp_seq=2 ttl=64 time=0.042 ms
# (possessive repeats: each ends at a byte it cannot take, so they match what greedy ones do.)
FAST_REPLY = re.compile(
    rb"(?m)^\[(\d{1,12}+\.\d{1,9}+)\] \d{1,6}+ bytes from [ -9;-~]++: icmp_seq=(\d{1,10}+)"
    rb" ttl=\d{1,3}+ time=(\d{1,9}+(?:\.\d{1,6}+)?+) ms\r?+\n"
)

Replies = list[tuple[bytes, bytes, bytes]]  # (epoch, seq, rtt in ms) as printed


def block_segments(block: bytes) -> Iterator[Replies | str]:
    """The block's replies (runs of consecutive ones) and other text (str), in order."""
    replies = FAST_REPLY.findall(block)
    if len(replies) == block.count(b"\n") and block.endswith(b"\n"):
        # Every line is a reply: each match holds one LF, and starts at a line start.
        if replies:
            yield replies
        return
    run: Replies = []
    position = 0
    for match in FAST_REPLY.finditer(block):
        start = match.start()
        if start > position:
            if run:
                yield run
                run = []
            yield block[position:start].decode("utf-8", errors="replace")
        run.append(match.groups())  # type: ignore[arg-type]
        position = match.end()
    if run:
        yield run
    if position < len(block):
        yield block[position:].decode("utf-8", errors="replace")


def cut_block(data: bytes) -> int:
    """Where whole lines end in `data` (as holdtime.cli.gap.split_lines cuts text); 0: none.

    After the last LF, or a lone CR that is not the last byte (it may be half of a CR LF).
    """
    return max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1

"""A drill's probes handed on from the prober: bounded state, and the same figures as before."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import pytest

from holdtime.drill.engine import _rtt_samples, _split
from holdtime.drill.probe_ledger import ProbeLedger, RttSamples
from holdtime.gap import ProbeEvent, analyze
from holdtime.probes.ping import PingFlow, PingProber

INTERVAL = 0.001
LATE_AFTER = 0.05
WINDOW = round(LATE_AFTER / INTERVAL)  # probes in flight at the late threshold
BATCH = 100  # probes between two settled_events calls (the drill: once a second)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _reply_packet(identifier: int, seq: int) -> bytes:
    """An IPv4 packet holding an ICMP echo reply, as a raw socket returns it."""
    header = bytes([0x45]) + bytes(19)
    return header + struct.pack("!BBHHH", 0, 0, 0, identifier, seq % 65536)


def _drive(
    prober: PingProber, clock: FakeClock, count: int, lost: set[int]
) -> Iterator[tuple[int, float]]:
    """Send `count` probes through the real send and receive paths; the reply to probe n
    arrives after probe n+3 left, except for `lost`. Yields (seq, now) after every send."""
    (state,) = prober._states
    packet = b"\x08" + bytes(63)
    for seq in range(count + 4):
        if seq < count:
            clock.now += INTERVAL
            prober._send(state, seq, packet, clock.now)
        answered = seq - 3
        if 0 <= answered < count and answered not in lost:
            clock.now += 0.0002
            reply = _reply_packet(state.identifier, answered)
            prober._on_packet(state, reply, [], ("127.0.0.1", 0))
            if answered in {10, 2500}:  # a duplicate copy now and then
                prober._on_packet(state, reply, [], ("127.0.0.1", 0))
        yield seq, clock.now
    clock.now += 2 * LATE_AFTER


def _prober(clock: FakeClock) -> PingProber:
    prober = PingProber(
        [PingFlow("127.0.0.1")], INTERVAL, late_after_seconds=LATE_AFTER, clock=clock
    )
    prober._states = [prober._open(prober.flows[0])]
    return prober


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a raw ICMP socket needs root")
LOST = set(range(1000, 1040)) | {1500} | set(range(3001, 3030)) | set(range(4000, 4010))
COUNT = 5000
RESTORE_SEQ = 3000


@needs_root
def test_released_prober_holds_only_the_in_flight_window() -> None:
    """After each settled_events(release=True) the flow keeps at most the late threshold's
    probes plus one batch, whatever the number of probes sent."""
    clock = FakeClock()
    prober = _prober(clock)
    (state,) = prober._states
    cursor, most_kept = -1, 0
    try:
        for seq, _ in _drive(prober, clock, COUNT, LOST):
            if seq % BATCH == 0:
                _, cursor = prober.settled_events(cursor, release=True)
                most_kept = max(most_kept, len(state.sent_at), len(state.replies))
    finally:
        state.sock.close()
    assert (True, COUNT) == (most_kept <= WINDOW + BATCH + 5, state.sent)


@needs_root
def test_ledger_gives_the_figures_of_the_whole_event_list() -> None:
    """Phases and RTT samples from the released probes equal analyze/_split/_rtt_samples over
    every event kept to the end (the old path), a loss on each side of the restore."""
    results = []
    for release in (False, True):
        clock = FakeClock()
        prober = _prober(clock)
        ledger = ProbeLedger(INTERVAL, LATE_AFTER, origin=900.0, max_rtt_samples=4000)
        restore_at = None
        cursor = -1
        try:
            for seq, now in _drive(prober, clock, COUNT, LOST):
                if seq == RESTORE_SEQ:
                    restore_at = now
                    ledger.restore_started(now)
                if release and seq % BATCH == 0:
                    events, cursor = prober.settled_events(cursor, release=True)
                    ledger.feed(events)
            (result,) = [prober._result(s) for s in prober._states]
        finally:
            prober._states[0].sock.close()
        if release:
            ledger.feed(result.events)
            results.append((ledger.phases(), ledger.rtt.samples()))
            continue
        phases = [
            (phase, analyze(events, INTERVAL, LATE_AFTER))
            for phase, events in _split(result.events, restore_at)
            if events
        ]
        results.append((phases, _rtt_samples(result.events, 900.0)))
    old, new = results
    # Failover: two losses, then the one the restore continues; failback: one.
    assert (old, [3, 1]) == (new, [len(gap.episodes) for _, gap in old[0]])


def test_rtt_samples_equal_the_one_pass_thinning_up_to_twice_the_limit() -> None:
    """Up to 2 x limit probes the incremental samples are the old ones, lost probes kept."""
    events = [
        ProbeEvent(
            seq,
            10.0 + seq * 0.01,
            None if seq % 97 == 0 else 10.0 + seq * 0.01 + 0.002,
            replied=seq % 97 != 0,
        )
        for seq in range(199)
    ]
    samples = RttSamples(origin=10.0, limit=100)
    for e in events:
        assert e.sent_at is not None
        samples.add(e.sent_at, None if e.received_at is None else e.received_at - e.sent_at)
    assert _rtt_samples(events, 10.0) == samples.samples()


def test_rtt_samples_stay_bounded_and_keep_every_loss() -> None:
    """A million probes keep at most 2 x limit replies plus every lost probe."""
    samples = RttSamples(origin=0.0, limit=100)
    lost = 0
    for seq in range(1_000_000):
        if seq % 10_000 == 0:
            samples.add(seq * 0.001, None)
            lost += 1
        else:
            samples.add(seq * 0.001, 0.0005)
    kept = samples.samples()
    assert (True, lost) == (len(kept) <= 200 + lost, sum(1 for _, rtt in kept if rtt is None))

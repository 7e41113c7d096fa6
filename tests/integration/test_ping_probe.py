"""The ping prober against a real blackhole: an nftables drop rule of known length."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from holdtime import netns
from holdtime.gap import analyze
from holdtime.probes.ping import FlowResult, PingFlow, PingProber, Progress, ping

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
]

PEER = "10.99.1.2"
PEER_SECOND = "10.99.1.3"


@dataclass(frozen=True)
class Pair:
    """Two namespaces joined by a veth: `near` probes `far` (10.99.1.2 and .3)."""

    near: str
    far: str

    def nft(self, *command: str) -> None:
        """Run nft inside `far`; a child forked from a setns'd thread starts in that namespace."""
        with netns.entered(self.far):
            subprocess.run(["nft", *command], check=True, capture_output=True)

    def timed_nft(self, ruleset: str) -> tuple[float, float]:
        """Apply `ruleset` with an nft started beforehand: (monotonic at EOF, after commit).

        nft commits only after reading its whole input, so the rule changes between closing
        its stdin and its exit: a bracket of a few ms instead of a process start (~15 ms).
        """
        with netns.entered(self.far):
            process = subprocess.Popen(
                ["nft", "-f", "-"], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        assert process.stdin is not None
        process.stdin.write(ruleset)
        process.stdin.flush()
        time.sleep(0.05)  # nft is up and waiting for EOF
        sent_eof = time.monotonic()
        process.stdin.close()
        returncode = process.wait()
        committed = time.monotonic()
        assert process.stderr is not None
        assert 0 == returncode, process.stderr.read()
        return sent_eof, committed


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def pair() -> Iterator[Pair]:
    """htgap-<id>-a / htgap-<id>-b with a veth, addresses and an empty nft input chain in b."""
    tag = uuid.uuid4().hex[:6]
    near, far = f"htgap-{tag}-a", f"htgap-{tag}-b"
    _ip("netns", "add", near)
    try:
        _ip("netns", "add", far)
        try:
            _ip("link", "add", f"htg{tag}a", "netns", near, "type", "veth", "peer", "name",
                f"htg{tag}b", "netns", far)  # fmt: skip
            _ip("-n", near, "addr", "add", "10.99.1.1/24", "dev", f"htg{tag}a")
            _ip("-n", far, "addr", "add", f"{PEER}/24", "dev", f"htg{tag}b")
            _ip("-n", far, "addr", "add", f"{PEER_SECOND}/24", "dev", f"htg{tag}b")
            for ns, dev in ((near, f"htg{tag}a"), (far, f"htg{tag}b")):
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "link", "set", dev, "up")
            result = Pair(near, far)
            result.nft("add", "table", "inet", "htgap")
            result.nft(
                "add", "chain", "inet", "htgap", "input",
                "{ type filter hook input priority 0; policy accept; }",
            )  # fmt: skip
            yield result
        finally:
            _ip("netns", "del", far)
    finally:
        _ip("netns", "del", near)


@dataclass(frozen=True)
class Blackhole:
    """When the drop rule was in force, bracketed by monotonic reads around the nft calls."""

    before_insert: float
    after_insert: float
    before_remove: float
    after_remove: float

    @property
    def shortest_seconds(self) -> float:
        return self.before_remove - self.after_insert

    @property
    def longest_seconds(self) -> float:
        return self.after_remove - self.before_insert


def _blackhole(pair: Pair, after_seconds: float, for_seconds: float) -> Blackhole:
    time.sleep(after_seconds)
    before_insert, after_insert = pair.timed_nft(
        "add rule inet htgap input icmp type echo-request drop\n"
    )
    time.sleep(max(0.0, after_insert + for_seconds - time.monotonic() - 0.05))
    before_remove, after_remove = pair.timed_nft("flush chain inet htgap input\n")
    return Blackhole(before_insert, after_insert, before_remove, after_remove)


def _measure(
    pair: Pair, interval: float, total_seconds: float
) -> tuple[FlowResult, Blackhole, list[Progress]]:
    updates: list[Progress] = []
    prober = PingProber(
        [PingFlow(PEER, netns=pair.near)],
        interval,
        progress=updates.extend,
        progress_every_seconds=0.25,
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(prober.run, duration_seconds=total_seconds)
        window = _blackhole(pair, after_seconds=1.0, for_seconds=2.0)
        (result,) = running.result()
    return result, window, updates


@pytest.mark.parametrize("interval", [0.01, 0.1])
def test_blackhole_outage_within_one_interval(pair: Pair, interval: float) -> None:
    """A 2.0 s drop measures as 2.0 s within one probe interval (loss- and gap-derived)."""
    result, window, updates = _measure(pair, interval, total_seconds=4.0)
    gap = analyze(result.events, interval, late_after_seconds=result.late_after_seconds)
    assert 1 == len(gap.episodes), gap.episodes
    episode = gap.episodes[0]
    assert episode.recovered
    assert episode.gap_derived_outage_seconds is not None
    low, high = window.shortest_seconds - interval, window.longest_seconds + interval
    print(
        f"\ninterval {interval}: truth {window.shortest_seconds:.4f}-{window.longest_seconds:.4f}"
        f" s (nft brackets {(window.after_insert - window.before_insert) * 1e3:.1f} /"
        f" {(window.after_remove - window.before_remove) * 1e3:.1f} ms)"
        f", loss-derived {episode.loss_derived_outage_seconds:.4f} s, gap-derived"
        f" {episode.gap_derived_outage_seconds:.4f} s, max send lag"
        f" {result.max_send_lag_seconds * 1e3:.2f} ms, kernel stamps {result.kernel_timestamps}"
    )
    assert low <= episode.loss_derived_outage_seconds <= high
    assert low <= episode.gap_derived_outage_seconds <= high
    assert 0 == gap.duplicates
    assert result.sent == gap.sent
    assert any(update.current_gap_seconds > 1.0 for update in updates)


def test_several_flows_and_identifiers(pair: Pair) -> None:
    """Two flows to two addresses, plus a third with a fixed id, are accounted separately."""
    flows = [
        PingFlow(PEER, netns=pair.near, name="a"),
        PingFlow(PEER_SECOND, netns=pair.near, name="b"),
        PingFlow(PEER, netns=pair.near, identifier=4242, name="c"),
    ]
    results = ping(flows, 0.02, count=50)
    assert ["a", "b", "c"] == [r.flow.label for r in results]
    assert 3 == len({r.identifier for r in results})
    assert 4242 == results[2].identifier
    for result in results:
        gap = analyze(result.events, 0.02)
        assert (50, 50, 0, 0) == (gap.sent, gap.received, gap.lost, gap.duplicates)


def test_stop_event_ends_the_run(pair: Pair) -> None:
    """A stop event ends an open-ended run; every sent probe is accounted for."""
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    (result,) = ping([PingFlow(PEER, netns=pair.near)], 0.05, stop=stop)
    gap = analyze(result.events, 0.05)
    assert 5 <= result.sent <= 15
    assert (result.sent, 0) == (gap.received, gap.lost)


def test_unreachable_route_counts_send_errors(pair: Pair) -> None:
    """With no route the sends fail (ENETUNREACH): probes are lost, the run completes."""
    (result,) = ping([PingFlow("10.250.0.1", netns=pair.near)], 0.01, count=10)
    gap = analyze(result.events, 0.01)
    assert (10, 10, 10) == (result.send_errors, gap.sent, gap.lost)

"""Benchmark the ping prober: schedule error, outage error and CPU at 10 ms, then the highest rate.

Needs root: builds its own namespace pair (htgap-bench-<id>-a/-b, veth, 10.99.2.0/24), removed
at the end. Part 1 probes at --interval for --duration seconds with --blackholes 1.0 s nftables
blackholes spread over the run and reports the send-spacing error, each outage's error (gap- and
loss-derived against the drop rule's lifetime, and the worst in intervals) and process CPU
time. Part 2 tries each --rates value for --rate-seconds and says whether sequence accounting
stayed exact (every probe sent on schedule, answered once, nothing lost).

    python bench/ping_prober.py --duration 60
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

from holdtime import netns
from holdtime.gap import GapResult, analyze
from holdtime.probes.ping import FlowResult, PingFlow, PingProber

PEER = "10.99.2.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _nft(namespace: str, ruleset: str) -> tuple[float, float]:
    """Apply `ruleset` in `namespace`; returns (monotonic at EOF, after commit)."""
    with netns.entered(namespace):
        process = subprocess.Popen(["nft", "-f", "-"], stdin=subprocess.PIPE, text=True)
    assert process.stdin is not None
    process.stdin.write(ruleset)
    process.stdin.flush()
    time.sleep(0.05)
    sent_eof = time.monotonic()
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit(f"nft failed: {ruleset!r}")
    return sent_eof, time.monotonic()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    result: FlowResult
    gap: GapResult
    wall_seconds: float
    cpu_seconds: float

    @property
    def cpu_percent(self) -> float:
        return 100.0 * self.cpu_seconds / self.wall_seconds

    def spacing_errors_ms(self) -> list[float]:
        """|actual send spacing - nominal| for consecutive probes, in ms."""
        sends = sorted({e.seq: e.sent_at for e in self.result.events if e.sent_at}.items())
        nominal = self.result.interval_seconds
        return [
            abs((b_at - a_at) - nominal) * 1e3 for (_, a_at), (_, b_at) in itertools.pairwise(sends)
        ]


def _probe(
    near: str, interval: float, seconds: float, far: str | None = None, blackholes: int = 1
) -> tuple[Run, list[tuple[float, float]]]:
    """Probe for `seconds`; with `far`, `blackholes` 1.0 s drops spread evenly.

    Returns the run and per drop (truth, +- uncertainty): nft applies a rule somewhere between
    the end of its input and its exit, so the truth is the middle of those two brackets.
    """
    prober = PingProber([PingFlow(PEER, netns=near)], interval, late_after_seconds=1.0)
    cpu_before, wall_before = _cpu_seconds(), time.monotonic()
    truths: list[tuple[float, float]] = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(prober.run, duration_seconds=seconds)
        for number in range(1, (blackholes if far is not None else 0) + 1):
            assert far is not None  # the range is empty without a far end
            start_at = wall_before + seconds * number / (blackholes + 1) - 0.5
            time.sleep(max(0.0, start_at - time.monotonic()))
            rule = "add rule inet htgap input icmp type echo-request drop\n"
            inserted = _nft(far, rule)
            time.sleep(max(0.0, inserted[1] + 1.0 - time.monotonic() - 0.05))
            removed = _nft(far, "flush chain inet htgap input\n")
            # Best estimate: the middle of each bracket.
            uncertainty = ((removed[1] - removed[0]) + (inserted[1] - inserted[0])) / 2
            truths.append(
                ((removed[0] + removed[1]) / 2 - (inserted[0] + inserted[1]) / 2, uncertainty)
            )
        (result,) = running.result()
    wall, cpu = time.monotonic() - wall_before, _cpu_seconds() - cpu_before
    gap = analyze(result.events, interval, late_after_seconds=result.late_after_seconds)
    return Run(result, gap, wall, cpu), truths


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="part 1 seconds (60)")
    parser.add_argument("--interval", type=float, default=0.01, help="part 1 interval (0.01)")
    parser.add_argument("--blackholes", type=int, default=5, help="part 1 1.0 s drops (5)")
    parser.add_argument("--rates", default="100,200,500,1000", help="part 2 probes/s to try")
    parser.add_argument("--rate-seconds", type=float, default=3.0, help="part 2 seconds per rate")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/ping_prober.py needs root (namespaces, raw sockets)", file=sys.stderr)
        return 2
    tag = uuid.uuid4().hex[:6]
    near, far = f"htgap-bench-{tag}-a", f"htgap-bench-{tag}-b"
    _ip("netns", "add", near)
    _ip("netns", "add", far)
    try:
        _ip("link", "add", f"htb{tag}a", "netns", near, "type", "veth", "peer", "name",
            f"htb{tag}b", "netns", far)  # fmt: skip
        _ip("-n", near, "addr", "add", "10.99.2.1/24", "dev", f"htb{tag}a")
        _ip("-n", far, "addr", "add", f"{PEER}/24", "dev", f"htb{tag}b")
        for ns, dev in ((near, f"htb{tag}a"), (far, f"htb{tag}b")):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        _nft(far, "add table inet htgap\nadd chain inet htgap input "
                  "{ type filter hook input priority 0; policy accept; }\n")  # fmt: skip

        run, truths = _probe(near, args.interval, args.duration, far, args.blackholes)
        errors = run.spacing_errors_ms()
        print(f"Part 1: {args.interval * 1e3:g} ms interval for {args.duration:g} s, "
              f"{len(truths)} blackholes of 1.0 s")  # fmt: skip
        print(f"  probes sent {run.result.sent}, received {run.gap.received}, lost {run.gap.lost}"
              f", duplicates {run.gap.duplicates}, episodes {len(run.gap.episodes)}")  # fmt: skip
        print(f"  send spacing error ms: median {statistics.median(errors):.3f}, "
              f"p99 {_percentile(errors, 0.99):.3f}, max {max(errors):.3f}; "
              f"max lag {run.result.max_send_lag_seconds * 1e3:.3f} ms")  # fmt: skip
        worst = 0.0
        for (truth, uncertainty), episode in zip(truths, run.gap.episodes, strict=False):
            gap_derived = episode.gap_derived_outage_seconds or 0.0
            loss_error = episode.loss_derived_outage_seconds - truth
            worst = max(worst, abs(loss_error), abs(gap_derived - truth))
            print(f"  blackhole truth {truth:.4f} +- {uncertainty * 1e3:.1f} ms: loss-derived "
                  f"{episode.loss_derived_outage_seconds:.4f} s (error {loss_error * 1e3:+.1f} ms),"
                  f" gap-derived {gap_derived:.4f} s (error "
                  f"{(gap_derived - truth) * 1e3:+.1f} ms)")  # fmt: skip
        if len(run.gap.episodes) != len(truths):
            print(f"  WARNING: {len(run.gap.episodes)} loss episodes for {len(truths)} blackholes")
        print(f"  worst outage error {worst * 1e3:.1f} ms = {worst / args.interval:.2f} "
              f"intervals")  # fmt: skip
        print(f"  CPU {run.cpu_seconds:.2f} s over {run.wall_seconds:.1f} s wall = "
              f"{run.cpu_percent:.1f} % of one core; kernel rx stamps "
              f"{run.result.kernel_timestamps}")  # fmt: skip
        print()
        print(f"Part 2: {args.rate_seconds:g} s per rate, no blackhole")
        header = (
            f"{'rate pps':>8} {'sent':>6} {'recv':>6} {'lost':>5} {'dup':>4} "
            f"{'p99 spacing err ms':>18} {'max lag ms':>10} {'CPU %':>6}  accounting"
        )
        print(header)
        for rate in (int(r) for r in args.rates.split(",")):
            run, _ = _probe(near, 1.0 / rate, args.rate_seconds)
            errors = run.spacing_errors_ms()
            expected = round(args.rate_seconds * rate)
            exact = (
                run.result.sent == expected
                and run.gap.lost == 0
                and run.gap.duplicates == 0
                and run.gap.received == expected
            )
            print(
                f"{rate:>8} {run.result.sent:>6} {run.gap.received:>6} {run.gap.lost:>5} "
                f"{run.gap.duplicates:>4} {_percentile(errors, 0.99):>18.3f} "
                f"{run.result.max_send_lag_seconds * 1e3:>10.3f} {run.cpu_percent:>6.1f}  "
                f"{'exact' if exact else 'WRONG'}"
            )
    finally:
        _ip("netns", "del", far)
        _ip("netns", "del", near)
    return 0


if __name__ == "__main__":
    sys.exit(main())

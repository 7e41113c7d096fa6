"""Benchmark the ping prober: schedule error, outage error and CPU at 10 ms, then the highest rate.

Needs root: builds its own namespace pair (htgap-bench-<pid>-a/-b, veth, 10.99.2.0/24), removed
at the end; a pair left by a bench that was killed (its pid gone) is removed at the next start.
Part 1 probes at --interval for --duration seconds with --blackholes 1.0 s nftables blackholes
spread over the run and reports the send-spacing error, each outage's error (gap- and
loss-derived against the drop rule's lifetime, and the worst in intervals) and process CPU
time. Part 2 tries each --rates value for --rate-seconds and says whether sequence accounting
stayed exact (every probe sent on schedule, answered once, nothing lost).

    python bench/ping_prober.py --duration 60

``--soak MINUTES`` instead probes at --soak-rate (1000/s) for that long the way a drill does
(settled_events once a second, released into a holdtime.drill.probe_ledger.ProbeLedger) and
prints the process RSS, probes sent and the load average every minute; ``--soak-keep`` keeps
every probe in the prober as drills did before the ledger (the old memory curve).
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
import threading
import time
from dataclasses import dataclass

from holdtime import netns
from holdtime.drill.probe_ledger import ProbeLedger
from holdtime.gap import GapResult, analyze
from holdtime.probes.ping import FlowResult, PingFlow, PingProber

PEER = "10.99.2.2"


def _remove_stale_namespaces() -> None:
    """Remove the namespace pairs of benches that were killed before their `finally` ran."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    for line in listed.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")  # htgap-bench-<pid>-a
        if len(parts) != 4 or parts[:2] != ["htgap", "bench"] or not parts[2].isdigit():
            continue
        if not os.path.exists(f"/proc/{parts[2]}"):
            print(f"removing {name}: left by bench pid {parts[2]}, which is gone", file=sys.stderr)
            _ip("netns", "del", name)


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


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _soak(near: str, minutes: float, rate: float, keep: bool) -> None:
    """Probe at `rate` for `minutes` as a drill does; print RSS every minute."""
    prober = PingProber([PingFlow(PEER, netns=near)], 1.0 / rate)
    ledger = ProbeLedger(
        1.0 / rate, prober.late_after_seconds, origin=time.monotonic(), max_rtt_samples=4000
    )
    stop = threading.Event()
    began = time.monotonic()
    print(f"soak: {rate:g} probes/s for {minutes:g} min, "
          f"{'prober keeps every probe (old)' if keep else 'released into a ProbeLedger'}",
          flush=True)  # fmt: skip
    print(f"{'min':>4} {'rss MiB':>8} {'sent':>9} {'B/probe':>8}  load average", flush=True)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(prober.run, duration_seconds=minutes * 60, stop=stop)
        time.sleep(0.5)
        start_rss = _rss_mib()
        cursor, minute = -1, 0
        while not running.done():
            time.sleep(1.0)
            events, cursor = prober.settled_events(cursor, release=not keep)
            if not keep:
                ledger.feed(events)
            if time.monotonic() - began >= (minute + 1) * 60:
                minute += 1
                rss = _rss_mib()
                sent = prober.snapshot(began)[0].sent
                per_probe = (rss - start_rss) * 1024 * 1024 / sent if sent else 0.0
                load = " ".join(f"{v:.2f}" for v in os.getloadavg())
                print(f"{minute:>4} {rss:>8.1f} {sent:>9} {per_probe:>8.1f}  {load}", flush=True)
        (result,) = running.result()
    if not keep:
        ledger.feed(result.events)
        ((_, gap), *_) = ledger.phases()
        print(f"sent {result.sent}, lost {gap.lost}, episodes {len(gap.episodes)}; "
              f"start RSS {start_rss:.1f} MiB, end {_rss_mib():.1f} MiB", flush=True)  # fmt: skip
    else:
        print(f"sent {result.sent}; start RSS {start_rss:.1f} MiB, end {_rss_mib():.1f} MiB")


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
    parser.add_argument("--soak", type=float, help="instead: probe MINUTES, print RSS a minute")
    parser.add_argument("--soak-rate", type=float, default=1000.0, help="soak probes/s (1000)")
    parser.add_argument("--soak-keep", action="store_true", help="soak the old way (keep all)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/ping_prober.py needs root (namespaces, raw sockets)", file=sys.stderr)
        return 2
    _remove_stale_namespaces()
    tag = str(os.getpid())
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

        if args.soak is not None:
            _soak(near, args.soak, args.soak_rate, args.soak_keep)
            return 0
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

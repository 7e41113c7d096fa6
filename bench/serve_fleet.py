"""`holdtime serve` over 1000 replayed routers: scrape latency, RSS and round durations.

`holdtime lab replay` serves N copies of the recorded lab router (tests/fixtures/recordings/
lab-healthy, vpc-router-1) from one process; `holdtime serve` runs every router check on them
on its schedule, and once serve has rendered a first time, 20 scraper threads in a separate
process hit /metrics over keep-alive connections (gzip, as Prometheus does) for the whole run.
Per schedule round the bench prints the scrape latency (p50/p95/p99/max), serve's RSS at the
round's end (VmRSS from /proc: the HTTP process plus its probing process), the load average, how
many routers finished a run and the round's span (first start to last finish of every router's
k-th run, read from holdtime_check_last_run_timestamp_seconds and
holdtime_collector_duration_seconds). Targets: scrape p99 under 50 ms, RSS stable over the
rounds. No root, no lab.

Run: .venv/bin/python bench/serve_fleet.py [--copies 1000] [--interval 60] [--rounds 10]
                                           [--scrapers 20] [--workers N] [--probing-nice N]
     quick: .venv/bin/python bench/serve_fleet.py --copies 200 --interval 20 --rounds 3

--shards N runs N `holdtime serve --shard I/N` over the same replayed routers and a real
Prometheus (Debian's prometheus) scraping them with the sharded scrape config of
docs/exporter.md (its hashmod guard verbatim; only the addresses and the scrape interval are
this bench's), waits until every router has reported once, then prints, per shard, the routers
and the samples Prometheus scraped and kept, and the routers seen once, twice or never:
.venv/bin/python bench/serve_fleet.py --shards 2 [--copies 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
RECORDING = REPO / "tests" / "fixtures" / "recordings" / "lab-healthy"
EXPORTER_DOC = REPO / "docs" / "exporter.md"
HOLDTIME = Path(sys.executable).with_name("holdtime")
ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
# one series per router, whatever its BGP and IPsec state
PER_ROUTER = 'holdtime_check_last_run_timestamp_seconds{check="system.ip_forwarding"'
# ...{check="system.ip_forwarding",device="r001",target="r001"} 1.7e9
_LAST_RUN = re.compile(r'device="(?P<device>[^"]+)"[^}]*\} (?P<value>\S+)')
# holdtime_collector_duration_seconds{collector="router",target="r001"} 4.22
_DURATION = re.compile(
    r'holdtime_collector_duration_seconds\{collector="router",target="(?P<target>[^"]+)"\} '
    r"(?P<value>\S+)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def replay(copies: int, folder: Path) -> Iterator[tuple[Path, int]]:
    """`holdtime lab replay` of `copies` lab routers: (inventory path, replay pid)."""
    argv = [str(HOLDTIME), "lab", "replay", str(RECORDING), "--copies", str(copies)]
    argv += ["--router", "vpc-router-1", "--state", str(folder / "replay")]
    # one known_hosts per router: paramiko parses the whole file on every connection (~0.3 ms
    # a line), so a shared 1000-line file costs 0.33 s CPU per run (docs/replay.md)
    argv += ["--known-hosts", "per-router"]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "inventory: PATH", once every port listens
        if not line.startswith("inventory: "):
            raise SystemExit(f"holdtime lab replay did not start (said {line!r})")
        yield Path(line.split(": ", 1)[1].strip()), server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextlib.contextmanager
def serve(
    inventory: Path,
    port: int,
    interval: float,
    workers: int,
    shard: str,
    log: Path,
    probing_nice: int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """`holdtime serve` on the inventory, listening on `port`, until the block ends."""
    argv = [str(HOLDTIME), "serve", "-i", str(inventory), "--listen", f"127.0.0.1:{port}"]
    argv += ["--interval", f"{interval:g}", "--no-probe-endpoint"]
    argv += ["--workers", str(workers)] if workers else []
    argv += ["--shard", shard] if shard else []
    argv += ["--probing-nice", str(probing_nice)] if probing_nice is not None else []
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"holdtime serve exited {process.returncode}: {log.read_text()}")
            # /metrics, not /-/healthy: serve listens before its probing process' first render,
            # and a scrape meanwhile is a 503 (no data yet), which the run would count
            metrics = f"http://127.0.0.1:{port}/metrics"
            with contextlib.suppress(OSError), urllib.request.urlopen(metrics, timeout=30):
                break
            time.sleep(0.2)
        else:
            raise SystemExit(f"holdtime serve answered no /metrics within 60 s: {log}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (serve's probing process)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _own_rss_bytes(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _rss_bytes(pid: int) -> tuple[int, int]:
    """(serve's own RSS, its children's): the HTTP process and the probing process."""
    return _own_rss_bytes(pid), sum(_own_rss_bytes(child) for child in _children(pid))


def _cpu_seconds(pid: int, waited: bool = False) -> float:
    """utime + stime of `pid` (plus its waited-for children's when `waited`)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        if waited:
            ticks += int(fields[13]) + int(fields[14])
        return ticks / os.sysconf("SC_CLK_TCK")
    return 0.0


def _tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """(serve's own CPU, its children's: live ones and the ones it waited for)."""
    children = sum(_cpu_seconds(child) for child in _children(pid))
    return _cpu_seconds(pid), children + _cpu_seconds(pid, waited=True) - _cpu_seconds(pid)


def _scraper(
    port: int,
    every: float,
    stop: Any,
    out: list[tuple[float, float]],
    errors: list[tuple[float, str]],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip"}
    while not stop.is_set():
        if every:  # all scrapers at the same instant: the worst case of concurrency
            stop.wait(every - time.time() % every)
        began = time.monotonic()
        try:
            conn.request("GET", "/metrics", headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:  # what the server said (its first line, when not gzip)
                said = body[:80].decode(errors="replace").strip()
                errors.append((began, f"{response.status} {said}"))
        except OSError as exc:
            errors.append((began, type(exc).__name__))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        out.append((began, time.monotonic() - began))
    conn.close()


def _load(port: int, scrapers: int, every: float, stop: Any, queue: Any) -> None:
    """Child process: `scrapers` keep-alive threads until `stop`; (start, latency) pairs."""
    latencies: list[tuple[float, float]] = []
    errors: list[tuple[float, str]] = []
    threads = [
        threading.Thread(target=_scraper, args=(port, every, stop, latencies, errors))
        for _ in range(scrapers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((latencies, errors))


def _runs(port: int) -> tuple[dict[str, tuple[float, float]], dict[str, int]]:
    """Per router the last run's (finish Unix time, duration); check results per status."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as response:
            text = response.read().decode()
    except urllib.error.HTTPError:  # a 503 (no valid render): the scrapers count it, poll again
        return {}, {}
    finished: dict[str, float] = {}
    took: dict[str, float] = {}
    statuses: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("holdtime_check_status{") and line.endswith(" 1.0"):
            status = line.rsplit('status="', 1)[1].split('"', 1)[0]
            statuses[status] = statuses.get(status, 0) + 1
        elif line.startswith(PER_ROUTER):
            match = _LAST_RUN.search(line)
            if match:
                finished[match["device"]] = float(match["value"])
        elif line.startswith("holdtime_collector_duration_seconds"):
            match = _DURATION.match(line)
            if match:
                took[match["target"]] = float(match["value"])
    runs = {device: (at, took.get(device, 0.0)) for device, at in finished.items()}
    return runs, statuses


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else float("nan")


def fleet(args: argparse.Namespace) -> int:
    """The scrape-latency / RSS / round bench."""
    cores = os.cpu_count() or 1
    print(
        f"{cores} cores, load average {os.getloadavg()[0]:.2f} at start; {args.copies} replayed "
        f"routers, interval {args.interval:g} s x {args.rounds} rounds, {args.scrapers} "
        f"scrapers {f'every {args.scrape_every:g} s' if args.scrape_every else 'back to back'}, "
        f"workers {args.workers or 'serve default'}, probing nice "
        f"{'serve default' if args.probing_nice is None else args.probing_nice}"
    )
    port = _free_port()
    with (
        tempfile.TemporaryDirectory() as scratch,
        replay(args.copies, Path(scratch)) as (
            inventory,
            replay_pid,
        ),
    ):
        log = Path(scratch) / "serve.log"
        with serve(
            inventory, port, args.interval, args.workers, "", log, args.probing_nice
        ) as process:
            started = time.monotonic()
            context = multiprocessing.get_context("fork")
            stop, queue = context.Event(), context.Queue()
            child = context.Process(
                target=_load, args=(port, args.scrapers, args.scrape_every, stop, queue)
            )
            child.start()
            seen: dict[str, list[tuple[float, float]]] = {}  # router -> its runs
            loads: list[float] = [os.getloadavg()[0]]  # 1-min load average, at each round's end
            rss: list[tuple[int, int]] = []
            statuses: dict[str, int] = {}
            cpu_before = (*_tree_cpu_seconds(process.pid), _cpu_seconds(replay_pid))
            poll = min(10.0, args.interval / 4)
            try:
                for round_index in range(args.rounds):
                    round_end = started + (round_index + 1) * args.interval
                    while (left := round_end - time.monotonic()) > 0:
                        time.sleep(min(poll, left))
                        runs_now, polled = _runs(port)
                        statuses = polled or statuses
                        for device, run in runs_now.items():
                            runs = seen.setdefault(device, [])
                            if not runs or runs[-1][0] != run[0]:
                                runs.append(run)
                    rss.append(_rss_bytes(process.pid))
                    loads.append(os.getloadavg()[0])
                http_cpu, probing_cpu = _tree_cpu_seconds(process.pid)
                cpu = (
                    http_cpu - cpu_before[0],
                    probing_cpu - cpu_before[1],
                    _cpu_seconds(replay_pid) - cpu_before[2],
                )
                loads.append(os.getloadavg()[0])
            finally:  # the scrapers stop with the bench, whatever ended it
                stop.set()
                latencies, errors = queue.get()
                child.join()
    _print_fleet(args, started, latencies, errors, seen, rss, cpu, loads)
    print(f"check results in the last poll, by status: {statuses}")
    return 0


def _print_fleet(
    args: argparse.Namespace,
    started: float,
    latencies: list[tuple[float, float]],
    errors: list[tuple[float, str]],
    seen: dict[str, list[tuple[float, float]]],
    rss_split: list[tuple[int, int]],
    cpu: tuple[float, float, float],
    loads: list[float],
) -> None:
    rss = [own + children for own, children in rss_split]
    print(
        "| round | scrapes | p50 ms | p95 ms | p99 ms | max ms | serve RSS MiB (end; HTTP + "
        "probing) | routers with a k-th run | k-th runs' span s | load (end) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for index in range(args.rounds):
        begin, end = started + index * args.interval, started + (index + 1) * args.interval
        window = sorted(lat for at, lat in latencies if begin <= at < end)
        kth = [runs[index] for runs in seen.values() if len(runs) > index]
        span = (
            max(at for at, _ in kth) - min(at - took for at, took in kth) if kth else float("nan")
        )
        print(
            f"| {index + 1} | {len(window)} | {_pct(window, 0.50):.1f} | {_pct(window, 0.95):.1f} "
            f"| {_pct(window, 0.99):.1f} | {window[-1] * 1000 if window else float('nan'):.1f} "
            f"| {rss[index] / 2**20:.0f} ({rss_split[index][0] / 2**20:.0f} + "
            f"{rss_split[index][1] / 2**20:.0f}) | {len(kth)} | {span:.1f} "
            f"| {loads[index + 1]:.1f} |"
        )
    overall = sorted(lat for _, lat in latencies)
    print(
        f"| all | {len(overall)} | {_pct(overall, 0.50):.1f} | {_pct(overall, 0.95):.1f} "
        f"| {_pct(overall, 0.99):.1f} | {overall[-1] * 1000 if overall else float('nan'):.1f} "
        f"| {min(rss) / 2**20:.0f}-{max(rss) / 2**20:.0f} | | | {min(loads):.1f}-{max(loads):.1f} |"
    )
    wall = args.rounds * args.interval
    at = sorted(began - started for began, _ in errors)
    when = f" at {at[0]:.0f}-{at[-1]:.0f} s into the run" if at else ""
    print(
        f"scrape errors: {len(errors)} {sorted({said for _, said in errors})[:5]}{when}; serve CPU "
        f"{(cpu[0] + cpu[1]) / wall:.2f} cores (HTTP process {cpu[0] / wall:.2f}, probing "
        f"process {cpu[1] / wall:.2f}), replay CPU {cpu[2] / wall:.2f} cores over the run; load "
        f"average {os.getloadavg()[0]:.2f} at end"
    )
    later = rss[1:] or rss
    growth = (later[-1] - later[0]) / 2**20
    p99 = _pct(overall, 0.99)
    print(
        f"{'PASS' if p99 < 50 and not errors else 'FAIL'}: scrape p99 {p99:.1f} ms "
        f"(target < 50 ms); RSS from round 2 to {args.rounds}: {growth:+.0f} MiB"
    )


def sharded_scrape_config(addresses: list[str], scrape_interval: str) -> dict[str, Any]:
    """docs/exporter.md's sharded scrape config, with these exporters' addresses."""
    blocks = re.findall(r"```yaml\n(.*?)```", EXPORTER_DOC.read_text(), re.S)
    documented = next(b for b in blocks if "action: hashmod" in b)
    config: dict[str, Any] = yaml.safe_load(documented)
    job = config["scrape_configs"][0]
    job["scrape_interval"] = scrape_interval
    by_shard = {int(c["labels"]["shard"]): c for c in job["static_configs"]}
    if sorted(by_shard) != list(range(len(addresses))):
        raise SystemExit(f"{EXPORTER_DOC}: the sharded config has shards {sorted(by_shard)}")
    for index, address in enumerate(addresses):
        by_shard[index]["targets"] = [address]
    return config


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(
        f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=30
    ) as response:
        result: list[dict[str, Any]] = json.load(response)["data"]["result"]
        return result


def shards(args: argparse.Namespace) -> int:
    """N serve shards over the same replayed routers, scraped by Prometheus: each router once."""
    if not shutil.which("prometheus"):
        raise SystemExit("--shards needs Debian's prometheus package")
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
        f"{args.copies} replayed routers, {args.shards} shards"
    )
    ports = [_free_port() for _ in range(args.shards)]
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        inventory, _ = stack.enter_context(replay(args.copies, scratch))
        expected = {r["name"] for r in yaml.safe_load(inventory.read_text())["routers"]}
        for index, port in enumerate(ports):
            log = scratch / f"serve-{index}.log"
            shard = f"{index}/{args.shards}"
            stack.enter_context(serve(inventory, port, args.interval, args.workers, shard, log))
        config = sharded_scrape_config([f"127.0.0.1:{p}" for p in ports], "5s")
        (scratch / "prometheus.yml").write_text(yaml.safe_dump(config))
        prom_port = _free_port()
        prom = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={scratch / 'prometheus.yml'}",
                f"--storage.tsdb.path={scratch / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(scratch / "prometheus.log").open("wb"),
        )
        stack.callback(prom.wait, 30)
        stack.callback(prom.terminate)
        url = f"http://127.0.0.1:{prom_port}"
        began = time.monotonic()
        expr = f"count by (device) ({PER_ROUTER}}})"
        counts: dict[str, int] = {}
        while time.monotonic() - began < args.timeout:
            time.sleep(5)
            with contextlib.suppress(OSError):
                counts = {r["metric"]["device"]: int(r["value"][1]) for r in _query(url, expr)}
            if len(counts) >= args.copies:
                break
        waited = time.monotonic() - began
        per_shard = _query(url, f"count by (instance) ({PER_ROUTER}}})")
        scraped = _query(url, 'scrape_samples_scraped{job="holdtime"}')
        kept = _query(url, 'scrape_samples_post_metric_relabeling{job="holdtime"}')
    by_instance = {r["metric"]["instance"]: r["value"][1] for r in per_shard}
    scraped_by = {r["metric"]["instance"]: r["value"][1] for r in scraped}
    kept_by = {r["metric"]["instance"]: r["value"][1] for r in kept}
    print("| shard | routers | samples scraped | samples kept by the hashmod guard |")
    print("|---|---|---|---|")
    for index, port in enumerate(ports):
        instance = f"127.0.0.1:{port}"
        print(
            f"| {index}/{args.shards} | {by_instance.get(instance, 0)} "
            f"| {scraped_by.get(instance, '-')} | {kept_by.get(instance, '-')} |"
        )
    once = sum(1 for c in counts.values() if c == 1)
    twice = sum(1 for c in counts.values() if c > 1)
    missing = len(expected - set(counts))
    print(
        f"after {waited:.0f} s: {once} routers once, {twice} more than once, {missing} missing "
        f"(of {args.copies}); load average {os.getloadavg()[0]:.2f}"
    )
    ok = once == args.copies and not twice and not missing and scraped_by == kept_by
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000, help="replayed routers (1000)")
    parser.add_argument("--interval", type=float, default=60.0, help="serve --interval (60)")
    parser.add_argument("--rounds", type=int, default=10, help="schedule rounds to measure (10)")
    parser.add_argument("--scrapers", type=int, default=20, help="concurrent scrapers (20)")
    parser.add_argument(
        "--scrape-every",
        type=float,
        default=1.0,
        help="each scraper scrapes every this many seconds, all at once (1; 0: back to back)",
    )
    parser.add_argument("--workers", type=int, default=0, help="serve --workers (its default)")
    parser.add_argument(
        "--probing-nice", type=int, default=None, help="serve --probing-nice (its default)"
    )
    parser.add_argument("--shards", type=int, default=0, help="the sharded Prometheus mode")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="--shards: wait this long for every router"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))  # clean up on kill too
    return shards(args) if args.shards else fleet(args)


if __name__ == "__main__":
    sys.exit(main())

"""Router fan-out: one router vs N routers at once vs N one after another, over real SSH.

The lab's vpc-router-1 (FRR + two strongSwan tunnels, real sshd) is listed N times in an
inventory (r001..rN, same address, same host key), and every router check runs on all of them:
8 SSH commands (6 swanctl for the router's two charons, one batched vtysh, one sysctl) and a
4 s IPsec traffic sample per router. The "device" (sshd, its sessions, bgpd, the charons: every
process in the router's namespace) shares the machine's cores with holdtime, so the bench prints
the CPU both sides spend per router and the floor that CPU puts under N routers at once.
Sequential time is measured on `--sequential` routers, each in a run of its own (one run of K
routers would overlap their traffic samples), and scaled to N (it is linear: one at a time).
A warm-up run comes first, so imports are not timed.
Run (root): .venv/bin/python bench/router_fanout.py [N] [--sequential K] [--checks all|transport]
            [--prefix P]   (defaults 100, 5, all, htbf-)

--replay measures holdtime itself, without the device: `holdtime lab replay` serves N copies of
the recorded lab router (tests/fixtures/recordings/lab-healthy, vpc-router-1) from one process,
each on its own port with its own host key, and every router check runs on 1, 100 and 1000 of
them (one worker per router). It prints the wall time, holdtime's CPU per router, holdtime's
peak RSS (the process's high-water mark, so runs go smallest first) and the replay's own CPU.
No root, no lab: .venv/bin/python bench/router_fanout.py --replay [--counts 1,100,1000]
                  [--workers 64] [--repeat 3] [--known-hosts shared|per-router] [--processes K]
--replay --breakdown K splits one router's CPU, K routers one after another: the SSH connect
(and close), the router's recorded command lines on that connection, and holdtime's own code
(probe, parsers, checks, runner) with an in-memory session answering from the recording;
and, when asyncssh is installed (it is not a dependency), the same connect and commands with it.
With --workers 64 (holdtime check's default) the routers' 4 s traffic samples wait without
holding a worker (the runner's continuations), so 1000 routers need not take 16 rounds of 4 s.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.probes.router import RouterProbe
from holdtime.probes.router_config import Router
from holdtime.probes.ssh import CommandOutput, SshParams, SshSession
from holdtime.record import Recorded, load_recording
from holdtime.runner import run_checks

ROUTER_CHECKS = ("bgp.*", "ipsec.*", "system.*")
CHECK_SETS = {"all": ROUTER_CHECKS, "transport": ("system.ip_forwarding",)}


def _inventory(lab: Lab, count: int, folder: Path) -> Path:
    data = yaml.safe_load(lab.inventory_path.read_text())
    router = next(r for r in data["routers"] if r["name"] == "vpc-router-1")
    routers = []
    for index in range(1, count + 1):
        entry = copy.deepcopy(router)
        entry["name"] = f"r{index:03d}"
        routers.append(entry)
    path = folder / f"inventory-{count}.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "routers": routers}))
    return path


def _device_cpu_seconds(lab: Lab) -> float:
    """CPU used so far by every process in the lab router's namespace and its reaped children."""
    pids = subprocess.run(
        ["ip", "netns", "pids", lab.netns("router")], capture_output=True, text=True, check=False
    ).stdout.split()
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile (a session child)
        total += sum(int(v) for v in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _timed(lab: Lab, path: Path, workers: int, only: tuple[str, ...]) -> tuple[float, int, int]:
    """Seconds for one run, results, and results that are not pass/skip."""
    inventory = load_inventory(path)
    device_before, cpu_before = _device_cpu_seconds(lab), time.process_time()
    began = time.perf_counter()
    run = run_checks(inventory, only=only, max_workers=workers)
    elapsed = time.perf_counter() - began
    routers = len(inventory.of(Router))
    mine = (time.process_time() - cpu_before) / routers
    device = (_device_cpu_seconds(lab) - device_before) / routers
    cores = os.cpu_count() or 1
    print(
        f"  holdtime CPU {mine * 1000:.0f} ms/router, device CPU {device * 1000:.0f} ms/router: "
        f"{routers} at once cannot take less than {routers * (mine + device) / cores:.1f} s "
        f"on {cores} cores"
    )
    bad = [r for r in run.results if r.status.value not in {"pass", "skip"}]
    for summary in sorted({r.summary for r in bad})[:3]:
        print(f"  e.g. {summary}")
    return elapsed, len(run.results), len(bad)


RECORDING = Path(__file__).parents[1] / "tests" / "fixtures" / "recordings" / "lab-healthy"
HOLDTIME = Path(sys.executable).with_name("holdtime")


def _process_cpu_seconds(pid: int) -> float:
    """utime + stime of a running process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _split_runs(
    inventory_path: Path, processes: int, only: tuple[str, ...], workers: int, folder: Path
) -> tuple[int, int, float]:
    """The routers split over `processes` `holdtime check` processes at once: results, bad, CPU.

    What fanning routers out over worker processes would give (each process its own GIL and
    thread pool, `workers` split between them), measured without building it into the runner.
    The CPU is the children's (user + system), start-up and imports included.
    """
    data = yaml.safe_load(inventory_path.read_text())
    routers = data["routers"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = []
    for index in range(processes):
        part = folder / f"{inventory_path.stem}-part{index}.yaml"
        part.write_text(yaml.safe_dump({**data, "routers": routers[index::processes]}))
        report = part.with_suffix(".json")
        argv = [str(HOLDTIME), "check", "-i", str(part), "-q", "--format", "json", "-o"]
        argv += [str(report), "--workers", str(max(1, (workers or len(routers)) // processes))]
        for pattern in only:
            argv += ["--only", pattern]
        children.append((subprocess.Popen(argv, stdout=subprocess.DEVNULL), report))
    results = bad = 0
    for child, report in children:
        child.wait()
        for result in json.loads(report.read_text())["results"]:
            results += 1
            bad += result["status"] not in {"pass", "skip"}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return results, bad, cpu


def _replayed(
    count: int,
    folder: Path,
    only: tuple[str, ...],
    known_hosts: str,
    workers: int = 0,
    processes: int = 1,
) -> dict[str, float]:
    """One check run over `count` replayed copies of the lab router: the figures."""
    state = folder / f"replay-{count}-{known_hosts}"
    argv = [str(HOLDTIME), "lab", "replay", str(RECORDING), "--copies", str(count)]
    argv += ["--router", "vpc-router-1", "--state", str(state), "--known-hosts", known_hosts]
    server = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "inventory: PATH", once every port listens
        if not line.startswith("inventory: "):
            raise SystemExit(f"holdtime lab replay did not start (said {line!r})")
        inventory_path = Path(line.split(": ", 1)[1].strip())
        inventory = load_inventory(inventory_path)
        replay_before, cpu_before = _process_cpu_seconds(server.pid), time.process_time()
        began = time.perf_counter()
        if processes > 1:
            results, bad, cpu = _split_runs(inventory_path, processes, only, workers, folder)
            wall = time.perf_counter() - began
            mine = cpu / count
        else:
            run = run_checks(inventory, only=only, max_workers=workers or count)
            wall = time.perf_counter() - began
            mine = (time.process_time() - cpu_before) / count
            failed = [r for r in run.results if r.status.value not in {"pass", "skip"}]
            for summary in sorted({r.summary for r in failed})[:3]:
                print(f"  e.g. {summary}")
            results, bad = len(run.results), len(failed)
        replay = (_process_cpu_seconds(server.pid) - replay_before) / count
    finally:
        server.terminate()
        server.wait(timeout=30)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    if processes > 1:  # the largest child's high-water mark
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "wall": wall,
        "cpu": mine,
        "replay_cpu": replay,
        "rss": peak,
        "results": results,
        "bad": bad,
    }


class _Answered:
    """An in-memory session: the k-th send of a line gets its k-th recorded answer (as replay)."""

    def __init__(self, commands: tuple[Recorded, ...]) -> None:
        self._answers: dict[str, list[Recorded]] = {}
        for command in commands:
            self._answers.setdefault(command.command, []).append(command)
        self._sent: dict[str, int] = {}

    def __enter__(self) -> _Answered:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def close(self) -> None:
        return None

    def run(self, line: str, timeout_seconds: float | None = None) -> CommandOutput:
        answers = self._answers[line]
        sent = self._sent[line] = self._sent.get(line, 0) + 1
        answer = answers[min(sent, len(answers)) - 1]
        return CommandOutput(line, answer.stdout, answer.stderr, answer.exit_status or 0, 0.0)


def breakdown_main(count: int, only: tuple[str, ...]) -> int:
    """One router's CPU split into connect, commands and holdtime's own code (K in a row)."""
    recorded = load_recording(RECORDING).router("vpc-router-1").commands
    lines = [command.command for command in recorded]
    print(f"load average {os.getloadavg()[0]:.2f} at start; {count} routers one after another")
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch) / "replay"
        argv = [str(HOLDTIME), "lab", "replay", str(RECORDING), "--copies", str(count + 1)]
        argv += ["--router", "vpc-router-1", "--state", str(state)]
        server = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line.startswith("inventory: "):
                raise SystemExit(f"holdtime lab replay did not start (said {line!r})")
            inventory = load_inventory(Path(line.split(": ", 1)[1].strip()))
            params = [SshParams.from_router(router) for router in inventory.of(Router)]
            with SshSession(params[0]) as session:  # warm-up: imports, first key exchange
                session.run(lines[-1])

            def connect(target: SshParams) -> None:
                with SshSession(target):
                    pass

            def commands(target: SshParams) -> None:
                with SshSession(target) as session:
                    for command in lines:
                        session.run(command)

            figures = {}
            for name, step in (("connect", connect), ("commands", commands)):
                began = time.process_time()
                for target in params[1:]:
                    step(target)
                figures[name] = (time.process_time() - began) / count
            other = _asyncssh_breakdown(inventory.of(Router)[1:], lines)
        finally:
            server.terminate()
            server.wait(timeout=30)
        probe = RouterProbe(session_factory=lambda params: _Answered(recorded))  # type: ignore[arg-type,return-value]
        run_checks(inventory, only=only, probes={"router": probe}, max_workers=64)  # warm-up
        began = time.process_time()
        run = run_checks(inventory, only=only, probes={"router": probe}, max_workers=64)
        own = (time.process_time() - began) / len(inventory.of(Router))
    bad = sum(r.status.value not in {"pass", "skip"} for r in run.results)
    each = (figures["commands"] - figures["connect"]) / len(lines)
    print(
        f"SSH connect + close {figures['connect'] * 1000:.2f} ms; {len(lines)} commands "
        f"{each * 1000:.2f} ms each ({(figures['commands'] - figures['connect']) * 1000:.2f} ms); "
        f"holdtime's own code (in-memory session, 64 workers) {own * 1000:.2f} ms "
        f"({len(run.results)} results, {bad} not pass/skip); "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(other)
    return 0


def _asyncssh_breakdown(routers: list[Router], lines: list[str]) -> str:
    """The same connect and commands with asyncssh (one event loop, no thread per
    connection), when it is installed: would leaving paramiko get under 10 ms a router?"""
    import asyncio
    import importlib.util

    if importlib.util.find_spec("asyncssh") is None:
        return (
            "asyncssh: not installed (not a dependency): `.venv/bin/pip install asyncssh` compares"
        )
    import asyncssh

    async def session(router: Router, run: bool) -> None:
        assert router.auth.key_file is not None
        assert router.known_hosts is not None
        async with asyncssh.connect(
            router.host,
            router.port,
            username=router.username,
            client_keys=[str(router.auth.key_file)],
            known_hosts=str(router.known_hosts),
        ) as connection:
            for line in lines if run else ():
                await connection.run(line, check=False)

    async def steps() -> dict[str, float]:
        await session(routers[0], True)  # warm-up
        figures = {}
        for name, run in (("connect", False), ("commands", True)):
            began = time.process_time()
            for router in routers:
                await session(router, run)
            figures[name] = (time.process_time() - began) / len(routers)
        return figures

    figures = asyncio.run(steps())
    each = (figures["commands"] - figures["connect"]) / len(lines)
    return (
        f"asyncssh {asyncssh.__version__} (for comparison, same replay): connect + close "
        f"{figures['connect'] * 1000:.2f} ms; {len(lines)} commands {each * 1000:.2f} ms each "
        f"({(figures['commands'] - figures['connect']) * 1000:.2f} ms)"
    )


def replay_main(
    counts: list[int],
    only: tuple[str, ...],
    known_hosts: str,
    workers: int,
    repeat: int = 1,
    processes: int = 1,
) -> int:
    """The --replay bench: 1, 100, 1000 replayed routers (no lab, no root), medians of `repeat`."""
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(
        f"{cores} cores, load average {load:.2f} at start, known_hosts {known_hosts}, "
        f"{workers or 'one per router'} workers, {repeat} run(s) per count"
        + (f", routers split over {processes} holdtime check processes" if processes > 1 else "")
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        _replayed(1, folder, only, known_hosts)  # warm-up: imports, first key exchange
        first: float | None = None
        for count in counts:
            runs = []
            for _ in range(repeat):
                figures = _replayed(count, folder, only, known_hosts, workers, processes)
                figures["load"] = os.getloadavg()[0]
                runs.append(figures)
                print(f"  {count}: {_line(figures)}")
            median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            first = first if first is not None else median["wall"]
            print(
                f"{count} replayed routers (median of {repeat}): {median['wall']:.2f} s "
                f"({median['wall'] / first:.2f}x the time of {counts[0]}), {_line(median)}"
            )
    return 0


def _line(figures: dict[str, float]) -> str:
    return (
        f"wall {figures['wall']:.2f} s, holdtime CPU {figures['cpu'] * 1000:.1f} ms/router, "
        f"replay CPU {figures['replay_cpu'] * 1000:.1f} ms/router, "
        f"holdtime peak RSS {figures['rss'] / 2**20:.0f} MiB, "
        f"{figures['results']:.0f} results, {figures['bad']:.0f} not pass/skip, "
        f"load {figures['load']:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=100)
    parser.add_argument(
        "--replay", action="store_true", help="replayed routers instead of the lab (no root)"
    )
    parser.add_argument(
        "--counts",
        default="1,100,1000",
        help="with --replay: router counts, comma-separated (default 1,100,1000)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="with --replay: runner workers (default one per router; holdtime check's is 64)",
    )
    parser.add_argument(
        "--known-hosts",
        choices=("shared", "per-router"),
        default="per-router",
        help="with --replay: one known_hosts file for all routers, or one each (default; "
        "holdtime parses the whole file per connection, ~0.3 ms a line)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="with --replay: runs per count (medians printed)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="with --replay: split the routers over this many `holdtime check` processes run "
        "at once (the workers split between them; CPU and RSS are the children's)",
    )
    parser.add_argument(
        "--breakdown",
        type=int,
        default=0,
        metavar="K",
        help="with --replay: one router's CPU split into connect, commands and holdtime's own "
        "code, over K routers one after another",
    )
    parser.add_argument("--sequential", type=int, default=5)
    parser.add_argument("--prefix", default="htbf-")
    parser.add_argument(
        "--checks",
        choices=sorted(CHECK_SETS),
        default="all",
        help="all: every router check (8 commands + 4 s sample per router); "
        "transport: system.ip_forwarding only (SSH connect + one command)",
    )
    args = parser.parse_args()
    only = CHECK_SETS[args.checks]
    if args.replay and args.breakdown:
        return breakdown_main(args.breakdown, only)
    if args.replay:
        counts = [int(c) for c in args.counts.split(",")]
        return replay_main(
            counts, only, args.known_hosts, args.workers, args.repeat, args.processes
        )
    lab = Lab(prefix=args.prefix)
    lab.down()
    lab.up(timeout_seconds=90)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            _timed(lab, _inventory(lab, 1, folder), 1, only)  # warm-up: imports, first KEX
            one, results_one, bad_one = _timed(lab, _inventory(lab, 1, folder), 1, only)
            print(f"1 router: {one:.2f} s ({results_one} results, {bad_one} not pass/skip)")
            many, results_many, bad_many = _timed(
                lab, _inventory(lab, args.count, folder), args.count, only
            )
            print(
                f"{args.count} routers at once: {many:.2f} s ({results_many} results, "
                f"{bad_many} not pass/skip)"
            )
            # one run per router: one run of K routers with one worker would not be one after
            # another (the traffic samples wait without holding the worker, so they overlap)
            seq = sum(
                _timed(lab, _inventory(lab, 1, folder), 1, only)[0] for _ in range(args.sequential)
            )
            sequential = seq / args.sequential * args.count
            print(
                f"{args.sequential} routers one after another: {seq:.2f} s "
                f"-> {args.count} would take {sequential:.0f} s"
            )
            print(
                f"| {args.checks} | {args.count} routers vs 1 | {many / one:.2f}x the time of one "
                f"(target <= 2x) | {sequential / many:.0f}x faster than sequential "
                f"(target >= 20x) |"
            )
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())

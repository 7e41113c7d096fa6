"""`holdtime serve`'s probing process: the scheduler and every probe, apart from the HTTP server.

One interpreter for 1000 routers' SSH checks (about 200 probe and paramiko threads) and for the
threads answering scrapes made scrapes wait for the interpreter lock and for the garbage
collector. So `holdtime serve` runs the scheduler, the probes, the result store and the render in
one child process (``python -m holdtime.exporters.probing``) and keeps only HTTP in its own:

- the child hands every finished render (its gzip, and the Unix time until which it is valid)
  to the parent over a pipe; the parent answers /metrics from the last one it has (inflated
  once per render for a client that does not take gzip), /-/ready from the flag that came with
  it, and forwards each /probe to the child (the child's scheduler and the on-demand probes
  share one device tracker, as in one process);
- the child dies with the parent: the parent death signal (Linux ``PR_SET_PDEATHSIG``, SIGKILL)
  and, as a fallback, the end of its command pipe; it ignores SIGINT and SIGTERM, which reach
  it with its parent (a terminal's Ctrl-C, systemd's stop): the parent stops it;
- when the child dies, the parent logs one line and starts a new one (at once the first time,
  then after 2, 4, ... 60 s while it keeps dying within 30 s of its start), and the new child
  serves ``holdtime_exporter_probing_restarts_total``. Meanwhile the last render is served
  while it is valid (until a record in it would turn stale, plus the time the child's next
  render takes: 5 of its last render times, at least `STALE_GRACE_SECONDS`), then
  /metrics is 503: never a stale PASS. A new child starts with an empty store: each job's
  series come back with its first run (within `initial_spread_seconds` plus the run).

Messages, child to parent: a 4-byte length, a JSON header (``kind``, ``blobs``: the byte sizes
of what follows) and the blobs. Parent to child: the child's stdin, one JSON line per command,
after a first line ``{"init": N, "sys_path": [...]}`` followed by N bytes of pickled jobs (so a
third-party probe or a test's probe object reaches the child as it is).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from holdtime.exporters.metrics import TEXT_CONTENT_TYPE
from holdtime.exporters.scheduler import Scheduled
from holdtime.runner import Job

STALE_GRACE_SECONDS = 15.0  # how long past its validity a render is still served, at least
# The child renders again at most 4 render-times after the last one ended (run_background), and
# a render at load 20 on 2 cores took seconds: 15 s alone turned every scrape of one second 503.
RENDER_TIMES_GRACE = 5.0
START_TIMEOUT_SECONDS = 120.0  # the child's imports and first render, on a loaded machine
STOP_MARGIN_SECONDS = 5.0  # beyond the grace: then the child is killed
QUICK_DEATH_SECONDS = 30.0  # a child dying sooner than this after its start restarts later
MAX_RESTART_DELAY_SECONDS = 60.0
PROBE_MARGIN_SECONDS = 5.0  # a forwarded /probe waits its budget plus this for the child
TRIM_EVERY_SECONDS = 10.0  # the probing process gives freed malloc pages back this often
_PR_SET_PDEATHSIG = 1
_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_HEAD = struct.Struct("!I")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbingPlan:
    """What the probing process runs: pickled once, sent to every child the parent starts."""

    scheduled: tuple[Scheduled, ...]
    probe_jobs: tuple[Job, ...]
    max_workers: int
    jitter_fraction: float
    initial_spread_seconds: float
    secrets: tuple[str, ...] = ()
    restarts: int = 0
    nice: int = 0  # niceness the child adds to its own (serve --probing-nice)


def pickled_plan(plan: ProbingPlan) -> bytes | str:
    """The plan's pickle, or why it cannot be pickled (one line naming the probe)."""
    try:
        return pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        for job in (*(s.job for s in plan.scheduled), *plan.probe_jobs):
            try:
                pickle.dumps(job)
            except (pickle.PicklingError, TypeError, AttributeError) as job_exc:
                return f"probe {job.probe.name!r} on {job.target.name}: {job_exc}"
        return str(exc)


def registered_secrets() -> tuple[str, ...]:
    """The secrets this process resolved (the child registers them too, for its redaction)."""
    from holdtime import redaction

    return redaction.registered()


class _Writer:
    """Frames to a pipe, from any thread (one frame at a time)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, kind: str, blobs: Sequence[Sequence[bytes]] = (), **fields: Any) -> None:
        sizes = [sum(len(part) for part in blob) for blob in blobs]
        head = json.dumps({"kind": kind, "blobs": sizes, **fields}).encode()
        with self._lock:
            self._stream.write(_HEAD.pack(len(head)) + head)
            for blob in blobs:
                for part in blob:
                    self._stream.write(part)
            self._stream.flush()

    def send_line(self, line: dict[str, Any]) -> None:
        with self._lock:
            self._stream.write(json.dumps(line).encode() + b"\n")
            self._stream.flush()


def _read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], list[bytes]] | None:
    """The next frame, or None at the end of the pipe (the child is gone)."""
    size = stream.read(_HEAD.size)
    if len(size) < _HEAD.size:
        return None
    head = stream.read(_HEAD.unpack(size)[0])
    message: dict[str, Any] = json.loads(head)
    blobs = []
    for length in message["blobs"]:
        blob = stream.read(length)
        if len(blob) < length:
            return None
        blobs.append(blob)
    return message, blobs


class _Render:
    """One render as the parent keeps it: its gzip, and the text only once a client wants it."""

    __slots__ = ("_body", "_lock", "gzipped", "ready", "served_until", "valid_until")

    def __init__(
        self, gzipped: bytes, valid_until: float, ready: bool, render_seconds: float = 0.0
    ) -> None:
        self.gzipped = gzipped
        self.valid_until = valid_until  # Unix time a record in it turns stale (re-rendered then)
        self.ready = ready
        grace = max(STALE_GRACE_SECONDS, RENDER_TIMES_GRACE * render_seconds)
        self.served_until = valid_until + grace  # then no newer render came: the child is stuck
        self._body: bytes | None = None
        self._lock = threading.Lock()

    def body(self) -> bytes:
        """The text, inflated once per render for the first client that does not take gzip
        (zlib lets go of the interpreter while it inflates)."""
        with self._lock:
            if self._body is None:
                self._body = zlib.decompress(self.gzipped, 31)
            return self._body

    def not_ready(self) -> _Render:
        stale = _Render(self.gzipped, self.valid_until, ready=False)
        stale.served_until = self.served_until
        return stale


@dataclass
class _Pending:
    """A forwarded /probe waiting for the child's answer."""

    done: threading.Event = field(default_factory=threading.Event)
    answer: tuple[int, bytes] = (503, b"")


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with status {code}"


class ProbingProcess:
    """The parent's side: starts, watches, restarts and stops the probing child."""

    def __init__(self, plan: ProbingPlan, payload: bytes, grace_seconds: float = 10.0) -> None:
        self.plan = plan
        self._payload = payload  # the plan pickled with restarts=0 (re-pickled per restart)
        self.restarts = 0
        self._render: _Render | None = None
        self._alive = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._start_problem = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._commands: _Writer | None = None
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._clean: bool | None = None
        self._thread: threading.Thread | None = None
        self._grace_seconds = grace_seconds

    @property
    def pid(self) -> int | None:
        """The running child's pid (None between a death and its restart)."""
        process = self._process
        return process.pid if process is not None and self._alive else None

    # -- start and supervise ------------------------------------------------------------------

    def start(self) -> None:
        """Start the child and wait for its first render; a child that cannot start is an error."""
        from holdtime.errors import ConfigError

        self._thread = threading.Thread(
            target=self._supervise, name="holdtime-probing-supervisor", daemon=True
        )
        # The child's parent death signal follows the thread that started it: this one lives
        # until stop(), and so does every child it starts.
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_SECONDS) and not self._start_problem:
            self._start_problem = f"no first render within {START_TIMEOUT_SECONDS:g} s"
        if self._start_problem:
            self.stop(0.0)
            raise ConfigError(f"the probing process (scheduler and probes) {self._start_problem}")
        settle_http_process()

    def _spawn(self) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        read_fd, write_fd = os.pipe()
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-P",  # not the working directory first: a source tree's holdtime/ is not it
                    "-m",
                    "holdtime.exporters.probing",
                    str(write_fd),
                    str(os.getpid()),
                ],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        assert process.stdin is not None
        payload = self._payload
        if self.restarts:
            payload = pickle.dumps(
                _with_restarts(self.plan, self.restarts), protocol=pickle.HIGHEST_PROTOCOL
            )
        header = json.dumps({"init": len(payload), "sys_path": sys.path}).encode()
        with contextlib.suppress(OSError):  # a child dead at once: its exit says why
            process.stdin.write(header + b"\n" + payload)
            process.stdin.flush()
        return process, os.fdopen(read_fd, "rb")

    def _supervise(self) -> None:
        quick_deaths = 0
        while not self._stopping.is_set():
            began = time.monotonic()
            process, messages = self._spawn()
            with self._lock:
                self._process = process
                assert process.stdin is not None
                self._commands = _Writer(process.stdin)
                self._alive = True
                if self._stopping.is_set():  # stop() came while this one started: end it
                    process.kill()
            try:
                self._read(messages)
            finally:
                messages.close()
                code = process.wait()
                with self._lock:
                    self._alive = False
                    pending, self._pending = self._pending, {}
                    if self._render is not None:
                        self._render = self._render.not_ready()
                for waiting in pending.values():
                    waiting.answer = (503, b"the probing process ended during the probe\n")
                    waiting.done.set()
                with contextlib.suppress(OSError):
                    assert process.stdin is not None
                    process.stdin.close()
            if not self._started.is_set():
                if not self._start_problem:
                    self._start_problem = f"{_describe_exit(code)} before its first render"
                self._started.set()
                return
            if self._stopping.is_set():
                return
            lived = time.monotonic() - began
            quick_deaths = quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
            delay = (
                min(MAX_RESTART_DELAY_SECONDS, 2.0 ** (quick_deaths - 1)) if quick_deaths > 1 else 0
            )
            self.restarts += 1
            _log.warning(
                "holdtime serve: the probing process (pid %d) %s after %.0f s; restarting it%s "
                "(restart %d, holdtime_exporter_probing_restarts_total)",
                process.pid,
                _describe_exit(code),
                lived,
                f" in {delay:g} s" if delay else "",
                self.restarts,
            )
            if self._stopping.wait(delay):
                return

    def _read(self, messages: IO[bytes]) -> None:
        while (frame := _read_frame(messages)) is not None:
            message, blobs = frame
            kind = message["kind"]
            if kind == "render":
                self._render = _Render(
                    blobs[0], message["valid_until"], message["ready"], message["render_seconds"]
                )
                self._started.set()
            elif kind == "probe":
                with self._lock:
                    waiting = self._pending.pop(message["id"], None)
                if waiting is not None:
                    waiting.answer = (message["code"], blobs[0])
                    waiting.done.set()
            elif kind == "fatal":
                if not self._started.is_set():
                    self._start_problem = message["message"]
                _log.error("holdtime serve: the probing process: %s", message["message"])
            elif kind == "stopped":
                self._clean = bool(message["clean"])

    # -- what the HTTP side asks --------------------------------------------------------------

    def body(self, gzipped: bool) -> tuple[bytes, str] | None:
        """The last render's payload, None once it is past its validity (plus the grace)."""
        render = self._render
        if render is None or time.time() > render.served_until:
            return None
        return (render.gzipped if gzipped else render.body()), TEXT_CONTENT_TYPE

    def unavailable_reason(self) -> str:
        """Why body() gave nothing."""
        if not self._alive:
            return "No metrics: the probing process is restarting (see the log)\n"
        return "No metrics: the probing process has not rendered recent results\n"

    def ready(self) -> bool:
        """The child runs, every job it schedules has run once and its last render is valid."""
        render = self._render
        return self._alive and render is not None and render.ready and self.body(True) is not None

    def not_ready_reason(self) -> str:
        """The body of /-/ready's 503."""
        if not self._alive:
            return "Not ready: the probing process is restarting\n"
        if self._render is not None and self._render.ready:
            return "Not ready: the probing process has not rendered recent results\n"
        return "Not ready: first runs pending\n"

    def probe(self, target: str, module: str, budget_seconds: float) -> tuple[int, bytes]:
        """Forward an on-demand /probe to the child; its answer, or 503 if it has none."""
        waiting = _Pending()
        with self._lock:
            commands = self._commands if self._alive else None
            request = next(self._ids)
            if commands is not None:
                self._pending[request] = waiting
        if commands is None:
            return 503, b"the probing process is restarting\n"
        line = {"probe": request, "target": target, "module": module, "budget": budget_seconds}
        try:
            commands.send_line(line)
        except (OSError, ValueError):  # the child died meanwhile
            with self._lock:
                self._pending.pop(request, None)
            return 503, b"the probing process is restarting\n"
        if not waiting.done.wait(budget_seconds + PROBE_MARGIN_SECONDS):
            with self._lock:
                self._pending.pop(request, None)
            return 503, b"the probing process did not answer the probe in time\n"
        return waiting.answer

    # -- stop ---------------------------------------------------------------------------------

    def stop(self, grace_seconds: float) -> bool:
        """Ask the child to stop (its running checks get `grace_seconds`), kill it if it does
        not end in time; True if every check it ran ended."""
        with self._lock:
            self._stopping.set()
            process, commands = self._process, self._commands
        if process is not None and commands is not None:
            with contextlib.suppress(OSError, ValueError):  # ValueError: it is closed (dead)
                commands.send_line({"stop": grace_seconds})
            try:
                process.wait(grace_seconds + STOP_MARGIN_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_MARGIN_SECONDS)
        return bool(self._clean)


def settle_http_process() -> None:
    """Make this (HTTP-only) process' memory and pauses small once it has started.

    ``gc.freeze()``: what start-up imported and built (inventory, jobs, plugins) moves out of
    the collector's generations, so a full collection no longer walks it while scrapes wait.
    A fixed 1 MiB mmap threshold (glibc): an inflated 17 MB body or a response buffer is given
    back to the system when freed; glibc's sliding threshold would grow to 17 MB after the
    first one and keep the next ones in a fragmenting heap (RSS grew by 250 MiB in 10 rounds).
    """
    import gc

    gc.collect()
    gc.freeze()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def _with_restarts(plan: ProbingPlan, restarts: int) -> ProbingPlan:
    import dataclasses

    return dataclasses.replace(plan, restarts=restarts)


# -- the child ----------------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """SIGKILL when the parent (the thread that started us) ends; exit if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl: no signal will come
        os._exit(3)


def _restarts_family(restarts: int) -> Any:
    from prometheus_client.core import CounterMetricFamily

    family = CounterMetricFamily(
        "holdtime_exporter_probing_restarts",
        "Times holdtime serve restarted its probing process (scheduler and probes) after it died.",
    )
    family.add_metric([], float(restarts))
    return family


def child_main(argv: Sequence[str]) -> int:
    """The probing process: read the plan, schedule, render, publish; obey the parent."""
    for signum in (signal.SIGINT, signal.SIGTERM):  # they reach us with the parent: it stops us
        signal.signal(signum, signal.SIG_IGN)
    out_fd, parent = int(argv[0]), int(argv[1])
    _die_with_parent(parent)
    out = _Writer(os.fdopen(out_fd, "wb"))
    commands = sys.stdin.buffer
    try:
        header = json.loads(commands.readline())
        sys.path[:] = header["sys_path"]
        # our own parent's pickle, on a pipe only it holds
        plan: ProbingPlan = pickle.loads(commands.read(header["init"]))  # noqa: S301
    except Exception as exc:  # a plugin the child cannot import: one line, the parent reports it
        out.send("fatal", message=f"cannot read its jobs: {type(exc).__name__}: {exc}")
        return 2
    lower_priority(plan.nice)
    settle_probing_process()
    return _probe_and_render(plan, out, commands)


def lower_priority(nice: int) -> None:
    """Add `nice` to this process' niceness, before it starts a thread (Linux sets the nice
    value per thread, and a new thread takes its creator's).

    The scheduler and probes then give way to the HTTP process (nice 0) when both want a core:
    a scrape is not delayed by holdtime's own probing. Another process at nice 0 still competes
    with the HTTP process as before: that is the system's, not ours (docs/exporter.md).
    """
    if nice > 0:
        with contextlib.suppress(OSError):
            os.nice(nice)


def settle_probing_process() -> None:
    """Keep the probing process' RSS at what it uses: give freed malloc pages back.

    Its ~500 probe and paramiko threads allocate from glibc's per-thread arenas (up to 8 per
    core); what they free stays resident in them as free chunks, so RSS climbed for five
    rounds at 1000 routers while the live Python objects did not (docs/exporter.md, "Fleet
    scale"). A daemon thread calls ``malloc_trim(0)`` every `TRIM_EVERY_SECONDS` (8-83 ms at
    1000 routers; the interpreter lock is not held and the HTTP process is not concerned),
    which returns the free pages of every arena.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim.argtypes = [ctypes.c_size_t]

    def trim_forever() -> None:
        while True:
            time.sleep(TRIM_EVERY_SECONDS)
            trim(0)

    threading.Thread(target=trim_forever, name="holdtime-malloc-trim", daemon=True).start()


def _probe_and_render(plan: ProbingPlan, out: _Writer, commands: IO[bytes]) -> int:
    """Schedule, render and publish until the parent says stop (or goes), then exit (never
    returns: a check hung past its deadline keeps its thread)."""
    from holdtime import redaction
    from holdtime.exporters.metrics import CachedExposition
    from holdtime.exporters.scheduler import DeviceIO, Scheduler
    from holdtime.exporters.server import ExporterApp
    from holdtime.exporters.state import ResultStore

    for secret in plan.secrets:
        redaction.register(secret)
    store = ResultStore()
    io = DeviceIO()
    scheduler = Scheduler(
        plan.scheduled,
        store,
        max_workers=plan.max_workers,
        jitter_fraction=plan.jitter_fraction,
        initial_spread_seconds=plan.initial_spread_seconds,
        io=io,
    )
    exposition = CachedExposition(store, always=[_restarts_family(plan.restarts)])
    app = ExporterApp(store=store, probe_jobs=plan.probe_jobs, io=io, exposition=exposition)

    def publish(parts: Sequence[bytes], gzipped: bytes, valid_until: float) -> None:
        # the gzip only: 1.2 MB instead of 17 MB down the pipe per render at 1000 routers
        out.send(
            "render",
            [[gzipped]],
            valid_until=valid_until,
            ready=store.ready(),
            render_seconds=exposition.last_render_seconds,
        )

    scheduler.start()
    exposition.publish_now(publish)
    render_stop = threading.Event()
    renderer = threading.Thread(
        target=exposition.run_background,
        args=(render_stop,),
        kwargs={"publish": publish},
        name="holdtime-render",
        daemon=True,
    )
    renderer.start()
    grace = 0.0  # the pipe ended: the parent is gone, nobody waits for the checks
    for line in commands:
        command = json.loads(line)
        if "stop" in command:
            grace = float(command["stop"])
            break
        threading.Thread(
            target=_probe, args=(app, out, command), name="holdtime-probe", daemon=True
        ).start()
    render_stop.set()
    clean = scheduler.stop(grace)
    with contextlib.suppress(OSError):
        out.send("stopped", clean=clean)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # a check hung past its deadline keeps its thread: do not wait for it


def _probe(app: Any, out: _Writer, command: dict[str, Any]) -> None:
    code, body = app.probe(command["target"], command["module"], float(command["budget"]))
    with contextlib.suppress(OSError):
        out.send("probe", [[body]], id=command["probe"], code=code)


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))

"""`holdtime serve`'s probing process, against real processes: what the operator sees when it dies,
freezes or cannot start, that /probe reaches it, and that no child outlives serve."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_exporter_hostile_clients import Serve, _start

from holdtime.checks.tcp import PortOpenCheck
from holdtime.errors import ConfigError
from holdtime.exporters.service import ExporterService, ServeOptions
from holdtime.inventory import Inventory
from holdtime.probes.tcp import TcpProbe
from holdtime.probes.tcp_config import TcpTarget
from holdtime.runner import Job


@pytest.fixture
def serve() -> Iterator[list[Serve]]:
    """Started servers; killed (with their children) if a test left one running."""
    started: list[Serve] = []
    yield started
    for server in started:
        children = _children(server.process.pid) if server.process.poll() is None else []
        server.process.kill()
        server.process.wait()
        for child in children:
            if _running(child):
                os.kill(child, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _probing_children() -> list[int]:
    """This (pytest) process' children that are probing processes."""
    found = []
    for child in _children(os.getpid()):
        try:
            if b"holdtime.exporters.probing" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:  # it ended meanwhile
            continue
    return found


def _running(pid: int) -> bool:
    """True while the process exists and is not a zombie (the container's init may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _until(predicate: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        time.sleep(0.1)


def test_a_killed_probing_process_is_restarted_logged_and_counted(
    inventory: Path, serve: list[Serve]
) -> None:
    """SIGKILL to the child: one log line, a new child, restarts_total 1, results come back."""
    server = _start(inventory, "--interval", "1")
    serve.append(server)
    (child,) = _children(server.process.pid)
    status, body = _get(server.port, "/metrics")
    assert (200, True) == (status, "holdtime_exporter_probing_restarts_total 0.0" in body)
    os.kill(child, signal.SIGKILL)
    _until(lambda: _get(server.port, "/-/ready")[0] == 503, 10, "/-/ready turns 503")
    _until(
        lambda: (
            _get(server.port, "/-/ready")[0] == 200
            and "holdtime_exporter_probing_restarts_total 1.0" in _get(server.port, "/metrics")[1]
        ),
        60,
        "a new child that has run every check",
    )
    (new_child,) = _children(server.process.pid)
    passing = 'holdtime_check_status{check="tcp.port_open",device="svc",status="pass"'
    after = _get(server.port, "/metrics")[1]
    code, err = server.stop()
    said = [line for line in err.splitlines() if "probing process" in line]
    assert (True, True, 0, False) == (
        new_child != child,
        any(line.startswith(passing) and line.endswith(" 1.0") for line in after.splitlines()),
        code,
        "Traceback" in err,
    )
    assert [
        f"holdtime serve: the probing process (pid {child}) was killed by SIGKILL",
        "restarting it (restart 1, holdtime_exporter_probing_restarts_total)",
    ] == [said[0].split(" after ")[0], said[0].split("; ", 1)[1]]
    assert 1 == len(said)


def _niceness(pid: int) -> set[int]:
    """The nice values of every thread of `pid` (Linux keeps one per thread)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.add(int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]))
        except OSError:  # the thread ended meanwhile
            continue
    return found


@pytest.mark.parametrize(("flags", "nicer"), [((), 5), (("--probing-nice", "3"), 3)])
def test_the_probing_process_runs_nicer_than_the_http_process(
    inventory: Path, serve: list[Serve], flags: tuple[str, ...], nicer: int
) -> None:
    """Every thread of the child (scheduler, probes, render) is `nicer` above serve's own."""
    server = _start(inventory, *flags)
    serve.append(server)
    (child,) = _children(server.process.pid)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert ({own}, {min(19, own + nicer)}) == (_niceness(server.process.pid), _niceness(child))


def test_sigterm_stops_serve_and_its_probing_process(inventory: Path, serve: list[Serve]) -> None:
    """A clean stop ends the child too: nothing is left running, exit 0, no traceback."""
    server = _start(inventory)
    serve.append(server)
    (child,) = _children(server.process.pid)
    code, err = server.stop()
    assert (0, False, False) == (code, _running(child), "Traceback" in err)


def test_a_killed_serve_takes_its_probing_process_along(
    inventory: Path, serve: list[Serve]
) -> None:
    """SIGKILL to serve (no cleanup runs): the child gets its parent death signal and ends."""
    server = _start(inventory)
    serve.append(server)
    (child,) = _children(server.process.pid)
    server.process.kill()
    server.process.wait()
    _until(lambda: not _running(child), 10, f"the probing process {child} ends")


def test_sigint_to_the_whole_group_is_one_clean_stop(inventory: Path, serve: list[Serve]) -> None:
    """Ctrl-C reaches serve and its child at once: the child waits to be stopped, no restart."""
    server = _start(inventory, prefix=("setsid",))
    serve.append(server)
    (child,) = _children(server.process.pid)
    os.killpg(server.process.pid, signal.SIGINT)
    _, err = server.process.communicate(timeout=30)
    assert (0, False, False) == (
        server.process.returncode,
        _running(child),
        "probing process" in err.decode(),
    )


def test_probe_runs_in_the_probing_process(inventory: Path, serve: list[Serve]) -> None:
    """/probe is answered by the child (its checks, its device tracker); unknown is 400."""
    server = _start(inventory)
    serve.append(server)
    status, body = _get(server.port, "/probe?target=svc&module=tcp.*")
    unknown = _get(server.port, "/probe?target=nope")
    assert (200, True) == (status, "holdtime_probe_success 1.0" in body)
    assert (400, "unknown target 'nope' or no check matches '*'\n") == unknown


def test_a_frozen_probing_process_stops_serving_outdated_results(
    inventory: Path, serve: list[Serve]
) -> None:
    """SIGSTOP the child: once its last render would show a stale result, /metrics is 503
    (never a stale PASS); SIGCONT: it renders and /metrics is 200 again."""
    server = _start(inventory, "--interval", "1")
    serve.append(server)
    (child,) = _children(server.process.pid)
    os.kill(child, signal.SIGSTOP)
    try:
        frozen = time.monotonic()
        _until(lambda: _get(server.port, "/metrics")[0] == 503, 60, "/metrics turns 503")
        waited = time.monotonic() - frozen
        status, body = _get(server.port, "/metrics")
        ready = _get(server.port, "/-/ready")
    finally:
        os.kill(child, signal.SIGCONT)
    _until(lambda: _get(server.port, "/metrics")[0] == 200, 30, "/metrics is 200 again")
    assert (503, "No metrics: the probing process has not rendered recent results\n") == (
        status,
        body,
    )
    assert (503, "Not ready: the probing process has not rendered recent results\n") == ready
    assert waited > 10  # served while still valid: 2 intervals + STALE_GRACE_SECONDS


def test_a_probing_process_that_cannot_load_its_jobs_is_one_error() -> None:
    """A probe class the child cannot import: start() is one ConfigError, no child is left."""
    module = types.ModuleType("holdtime_only_in_this_process")
    probe_class = type("Probe", (TcpProbe,), {"__module__": module.__name__})
    module.Probe = probe_class  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    inventory = Inventory(path=Path("x.yaml"), sections={"tcp": (TcpTarget("x", "127.0.0.1", 9),)})
    probe = probe_class()
    job = Job(probe, probe.targets(inventory)[0], (PortOpenCheck(),))
    try:
        service = ExporterService([job], ServeOptions(), probe_jobs=[job])
        with pytest.raises(ConfigError) as caught:
            service.start("127.0.0.1:0")
    finally:
        del sys.modules[module.__name__]
    assert (
        "the probing process (scheduler and probes) cannot read its jobs: ModuleNotFoundError: "
        "No module named 'holdtime_only_in_this_process'"
    ) == str(caught.value)
    assert service.probing is not None
    assert (None, []) == (service.probing.pid, _probing_children())
    service.stop(0.0)


class _LockedProbe(TcpProbe):
    """A plugin probe holding a lock: it cannot be pickled, so not handed to a child."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


def test_a_probe_that_cannot_be_pickled_runs_in_the_http_process(
    caplog: pytest.LogCaptureFixture, listener: socket.socket
) -> None:
    """One warning line naming the probe; the checks run here, as before the split."""
    port = listener.getsockname()[1]
    inventory = Inventory(
        path=Path("x.yaml"), sections={"tcp": (TcpTarget("svc", "127.0.0.1", port),)}
    )
    probe = _LockedProbe()
    job = Job(probe, probe.targets(inventory)[0], (PortOpenCheck(),))
    with caplog.at_level(logging.WARNING):
        service = ExporterService([job], ServeOptions(initial_spread_seconds=0.0))
    server = service.start("127.0.0.1:0")
    try:
        _until(lambda: _get(server.port, "/-/ready")[0] == 200, 30, "the check ran here")
    finally:
        service.stop(5.0)
    assert (None, []) == (service.probing, _probing_children())
    warned = [r.getMessage() for r in caplog.records if "cannot hand it" in r.getMessage()]
    assert [
        f"holdtime serve: probe 'tcp' on svc/127.0.0.1:{port}: cannot pickle '_thread.lock' "
        "object: cannot hand it to a probing process, so the checks run in the HTTP process "
        "(scrapes share its interpreter)"
    ] == warned

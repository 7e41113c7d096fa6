"""Router-source pings (the router's own iputils ping over SSH) and the drill's signal action."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from drill_inventory import scenarios

from holdtime.drill.actions import processes_in_netns, signal_processes
from holdtime.drill.engine import PingPlan, ping_plans, router_ping_deadline_seconds
from holdtime.drill.scenario import Action
from holdtime.errors import CommandRefused, ConfigError, HoldtimeError
from holdtime.gap import ProbeEvent, analyze
from holdtime.inventory import load_inventory
from holdtime.probes import commands
from holdtime.probes.pinglog import parse_iputils_ping
from holdtime.probes.router_ping import (
    RouterPinger,
    clean_terminal_output,
    clock_offset,
    events_on_local_clock,
    format_interval,
    router_ping_text,
)

FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "ping" / "iputils" / "source-address-fast"
)
ROUTER = SimpleNamespace(name="vpc-router-1", sudo=False)


def test_command_has_the_one_allowlisted_form() -> None:
    """The probe builds `ping -D -O -i I -W W -w D [-I SRC] DEST` and the allowlist accepts it."""
    text = router_ping_text(
        "172.16.1.10", 0.05, source="192.168.1.1", wait_seconds=1.0, deadline_seconds=700.2
    )
    assert "ping -D -O -i 0.05 -W 1 -w 701 -I 192.168.1.1 172.16.1.10" == text
    assert text == commands.build("linux", text).line


@pytest.mark.parametrize(
    "text",
    [
        "ping 172.16.1.10",
        "ping -D -O -i 0.2 -W 1 -w 60 172.16.1.10; reboot",
        "ping -D -O -i 0.2 -W 1 -w 60 -f 172.16.1.10",
        "ping -D -O -i 0.2 -W 1 -w 60 -I eth0 172.16.1.10",
        "ping -D -O -i 0.2 -W 1 -w 60 --help",
        "ping -D -O -i 0.2 -W 1 -w 60 $(id)",
    ],
)
def test_other_ping_forms_are_refused(text: str) -> None:
    """Any other ping form (flood, shell syntax, options as destination) is not allowlisted."""
    with pytest.raises(CommandRefused):
        commands.build("linux", text, device="vpc-router-1")


def test_sudo_router_gets_sudo_n() -> None:
    """A router with sudo: true runs the same ping under `sudo -n`."""
    pinger = RouterPinger(SimpleNamespace(name="r", sudo=True), "10.0.0.1", 1.0)
    assert "sudo -n ping -D -O -i 1 -W 3 -w 3600 10.0.0.1" == pinger.command.line


def test_bad_destination_is_refused_before_connecting() -> None:
    """An inventory destination that does not fit the form is refused at construction."""

    def never(_router: Any) -> Any:
        raise AssertionError("must not connect")

    with pytest.raises(CommandRefused, match=r"vpc-router-1: .* not on the read-only allowlist"):
        RouterPinger(ROUTER, "-f", 0.2, session_factory=never)


def test_interval_formatting() -> None:
    """-i keeps millisecond resolution and drops trailing zeros."""
    assert ["0.2", "0.01", "1", "2.5"] == [format_interval(v) for v in (0.2, 0.01, 1.0, 2.5)]


def test_terminal_output_cleaned() -> None:
    """CRLF from the pty and the echoed ^C disappear; the summary lines stay."""
    raw = "PING x (x) 56(84) bytes of data.\r\n^C\r\n--- x ping statistics ---\r\n"
    assert "PING x (x) 56(84) bytes of data.\n\n--- x ping statistics ---\n" == (
        clean_terminal_output(raw)
    )


def test_clock_offset_is_the_fastest_delivery() -> None:
    """Our clock minus the router's: the smallest arrival-minus-stamp difference."""
    assert 100.25 == clock_offset([(1100.5, 1000.0), (1100.3, 1000.05), (1101.0, 1000.7)])
    assert None is clock_offset([])


def test_recorded_router_log_on_local_clock() -> None:
    """The recorded -I log: every probe gets a send time, lost ones interpolated, on our clock."""
    log = parse_iputils_ping((FIXTURE / "output.txt").read_text())
    interval = log.inferred_interval_seconds or 0.05
    events = events_on_local_clock(log, interval, offset_seconds=-1795422000.0)
    assert [] == [e.seq for e in events if e.sent_at is None]
    lost = sorted((e.seq, e.sent_at) for e in events if not e.replied)
    first_reply_after = min(
        e.sent_at for e in events if e.replied and e.seq > lost[-1][0] and e.sent_at is not None
    )
    assert (29, 81) == (lost[0][0], lost[-1][0])
    assert lost[-1][1] is not None
    assert lost[-1][1] < first_reply_after
    result = analyze(events, interval, 1.0)
    original = analyze(log.events, interval, 1.0)
    assert (original.lost, original.max_gap_derived_outage_seconds) == (
        result.lost,
        result.max_gap_derived_outage_seconds,
    )


def test_probes_sent_after_stop_are_dropped() -> None:
    """Probes sent at or after the stop instant are left out (they had no time to answer)."""
    log = parse_iputils_ping(
        "[100.010] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=10 ms\n"
        "[100.210] 64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=10 ms\n"
        "[100.400] no answer yet for icmp_seq=3\n"
        "[100.600] no answer yet for icmp_seq=4\n"
    )
    events = events_on_local_clock(log, 0.2, offset_seconds=0.0, sent_before=100.5)
    assert [(1, True), (2, True), (3, False)] == [(e.seq, e.replied) for e in events]
    assert pytest.approx([100.0, 100.2, 100.4]) == [e.sent_at for e in events]


class _FakeProcess:
    """Replays recorded terminal output; the fault a real router cannot be made to produce on
    demand (a scripted line-by-line timeline) is the only thing faked here."""

    def __init__(
        self, chunks: list[bytes], status: int, stop_after: threading.Event | None = None
    ) -> None:
        self.chunks = chunks
        self.status = status
        self.stop_after = stop_after  # set once every chunk has been read
        self.interrupted = False

    def read(self, timeout_seconds: float) -> bytes | None:
        if self.chunks:
            return self.chunks.pop(0)
        if self.stop_after is not None:
            self.stop_after.set()
        if self.interrupted or self.status != 0:
            return None
        time.sleep(timeout_seconds)
        return b""

    def interrupt(self) -> None:
        self.interrupted = True

    def exit_status(self, timeout_seconds: float) -> int:
        return self.status

    def close(self) -> None:
        pass


class _FakeSession:
    def __init__(self, process: _FakeProcess) -> None:
        self.process = process
        self.started: list[tuple[str, bool]] = []

    def start(self, command: str, *, pty: bool = False) -> _FakeProcess:
        self.started.append((command, pty))
        return self.process

    def close(self) -> None:
        pass


def test_ping_ending_early_is_an_error_naming_its_last_line() -> None:
    """A ping that exits by itself (bad -I address) fails the path with ping's own message."""
    process = _FakeProcess(
        [b"ping: bind: Cannot assign requested address\r\n"],
        status=2,
    )
    session = _FakeSession(process)
    pinger = RouterPinger(
        ROUTER, "10.0.0.2", 0.2, source="10.9.9.9", session_factory=lambda r: session
    )
    with pytest.raises(HoldtimeError) as caught:
        pinger.run(threading.Event())
    assert (
        "vpc-router-1: `ping -D -O -i 0.2 -W 1 -w 3600 -I 10.9.9.9 10.0.0.2` ended before the "
        "drill did (exit status 2): ping: bind: Cannot assign requested address"
    ) == str(caught.value)
    assert [(pinger.command.line, True)] == session.started


def test_stop_interrupts_and_returns_the_flow() -> None:
    """After stop (+ the late threshold) ping gets Ctrl-C; the terminal output becomes a flow."""
    text = (FIXTURE / "output.txt").read_text().replace("\n", "\r\n").encode()
    stop = threading.Event()
    process = _FakeProcess([text], status=0, stop_after=stop)
    pinger = RouterPinger(
        ROUTER,
        "172.16.1.10",
        0.05,
        source="192.168.1.1",
        late_after_seconds=0.1,
        session_factory=lambda r: _FakeSession(process),
    )
    # Stopped after the whole recording arrived: every probe was sent before the stop.
    [flow] = pinger.run(stop)
    assert (True, 107, 0.056, 53) == (
        process.interrupted,
        flow.sent,
        flow.interval_seconds,
        sum(1 for e in flow.events if not e.replied),
    )


def _write_inventory(tmp_path: Path, source: str) -> Path:
    key = tmp_path / "key"
    key.write_text("not a key\n")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\n"
        "routers:\n"
        f"  - {{name: vpc-router-1, host: 10.250.0.2, username: root, auth: {{key_file: {key}}},"
        f" known_hosts: {known_hosts}}}\n"
        "ping_paths:\n"
        f"  - {{name: r2db, source: {source}, destination: 172.16.1.10, interval_seconds: 0.2}}\n"
    )
    return path


def test_router_source_path_becomes_a_router_plan(tmp_path: Path) -> None:
    """`source: {router: NAME}` gives a plan that runs the router's own ping."""
    inventory = load_inventory(_write_inventory(tmp_path, "{router: vpc-router-1}"))
    [plan] = ping_plans(inventory, ["r2db"])
    assert ("vpc-router-1", None, "router vpc-router-1 (its own ping, over SSH)") == (
        plan.router.name,
        plan.netns,
        plan.describe(),
    )


def test_router_ping_deadline_covers_the_whole_drill(tmp_path: Path) -> None:
    """-w is the drill's longest run (both observe windows, action timeouts) plus 10 minutes."""
    raw = {
        "probes": ["p"],
        "trigger": {"exec": ["true"], "timeout_seconds": 10},
        "restore": {"manual": "plug it back"},
        "timing": {"settle_seconds": 3, "observe_seconds": 20, "failback_observe_seconds": 5},
    }
    scenario = scenarios(tmp_path, {"d": raw}, paths=[{"name": "p"}], routers=())["d"]
    assert 15 + 3 + 20 + 2 * 5 + 10 + 3600 + 600 == router_ping_deadline_seconds(scenario)
    assert 5.0 == scenario.timing.failback_observe


def test_signal_action_parses_and_describes(tmp_path: Path) -> None:
    """{signal: stop, process: bgpd, netns: NS} is a declared action; SIG prefix optional."""
    raw = {
        "probes": ["p"],
        "trigger": {"signal": "sigstop", "process": "bgpd", "netns": "htlab-esg1"},
        "restore": {"signal": "CONT", "process": "bgpd", "netns": "htlab-esg1"},
    }
    scenario = scenarios(tmp_path, {"d": raw}, paths=[{"name": "p"}], routers=())["d"]
    assert (
        "local: SIGSTOP to every process named bgpd in netns htlab-esg1",
        "CONT",
    ) == (scenario.trigger.describe(), scenario.restore.signal)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"signal": "NUKE", "process": "bgpd"}, "drills.d.trigger.signal: must be one of STOP"),
        ({"signal": "STOP", "process": "bgpd; reboot"}, "drills.d.trigger.process: must be"),
        ({"signal": "STOP"}, "drills.d.trigger.process: must be a process name"),
    ],
)
def test_bad_signal_actions_are_refused(
    tmp_path: Path, action: dict[str, Any], message: str
) -> None:
    """Unknown signals and names that are not a process name are configuration errors."""
    raw = {"probes": ["p"], "trigger": action, "restore": {"manual": "x"}}
    with pytest.raises(ConfigError) as caught:
        scenarios(tmp_path, {"d": raw}, paths=[{"name": "p"}], routers=())
    assert message in str(caught.value)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A `sleep` under a unique name, so signalling by name touches no one else's process."""
    name = f"htdr{uuid.uuid4().hex[:8]}"
    binary = tmp_path / name
    shutil.copy("/bin/sleep", binary)
    process = subprocess.Popen([str(binary), "30"])
    try:
        yield name, process
    finally:
        process.kill()
        process.wait()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_signal_action_stops_and_continues_a_real_process(
    sleeper: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """SIGSTOP then SIGCONT reach exactly the named process in this network namespace."""
    name, process = sleeper
    time.sleep(0.05)  # let exec() set the command name
    stop = Action(kind="signal", signal="STOP", process=name)
    cont = Action(kind="signal", signal="CONT", process=name)
    outcome = signal_processes(stop)
    time.sleep(0.05)
    stopped = _state(process.pid)
    signal_processes(cont)
    time.sleep(0.05)
    assert (f"SIGSTOP sent to pid {process.pid}", "T", "S") == (
        outcome["output"],
        stopped,
        _state(process.pid),
    )


def test_signal_action_without_a_match_is_an_error() -> None:
    """No process of that name: the action fails instead of passing silently."""
    with pytest.raises(HoldtimeError, match="no such process"):
        signal_processes(Action(kind="signal", signal="STOP", process="htdr-none-x"))


def test_processes_in_unknown_netns_is_a_config_error() -> None:
    """A namespace that does not exist is named in the error."""
    with pytest.raises(ConfigError, match="no network namespace named 'htdr-nope'"):
        processes_in_netns("bgpd", "htdr-nope")


def test_own_process_found_in_own_namespace() -> None:
    """This test process is found by its command name in its own network namespace."""
    name = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert os.getpid() in processes_in_netns(name, None)


def test_ping_plan_describe_local_and_netns() -> None:
    """Dry-run wording for the local prober's plans."""
    assert ["this host", "netns a from 10.0.0.1"] == [
        PingPlan("x", "10.0.0.2", 1.0).describe(),
        PingPlan("x", "10.0.0.2", 1.0, netns="a", source="10.0.0.1").describe(),
    ]


def test_probe_event_type_is_the_gap_type() -> None:
    """The router flow's events are the gap module's ProbeEvent (one analysis for both)."""
    log = parse_iputils_ping((FIXTURE / "output.txt").read_text())
    assert all(isinstance(e, ProbeEvent) for e in events_on_local_clock(log, 0.056, 0.0))


def test_settled_events_stream_the_lines_read_so_far() -> None:
    """A router path's probes are journalled as they settle, as a local path's are."""
    text = (FIXTURE / "output.txt").read_text().replace("\n", "\r\n").encode()
    stop = threading.Event()
    process = _FakeProcess([text], status=0, stop_after=stop)
    pinger = RouterPinger(
        ROUTER,
        "172.16.1.10",
        0.05,
        source="192.168.1.1",
        late_after_seconds=0.1,
        session_factory=lambda r: _FakeSession(process),
    )
    assert ([], -1) == pinger.settled_events(-1)  # nothing read yet
    [flow] = pinger.run(stop)  # returns late_after after the stop: every probe has settled
    first, cursor = pinger.settled_events(-1)
    again, same = pinger.settled_events(cursor)
    final = {(e.seq, e.replied) for e in flow.events}
    assert (True, [], cursor) == (len(first) > 0, again, same)
    assert {(e.seq, e.replied) for e in first} <= final
    assert sum(1 for e in flow.events if not e.replied) == sum(1 for e in first if not e.replied)

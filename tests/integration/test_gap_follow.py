"""`holdtime gap --follow` as a real process: a growing file, a live `ping -D -O`, and EOF.

The file test appends lines of a recorded `ping -D -O` log (tests/fixtures/ping/iputils/
two-episodes, iputils 20221126) in bursts, one line split across two writes, and checks that
each loss episode is printed once the burst that ends it is written, not before; then SIGINT
gives the full report. The live test pipes a real iputils `ping -D -O -i 0.2 127.0.0.1` run in a
scratch namespace (prefix HOLDTIME_TEST_LAB_PREFIX + "gapf") in which an nftables rule drops
echo requests for about a second. No timed asserts: every wait has a generous deadline and
checks what was printed, never how fast.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

pytestmark = pytest.mark.integration

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))  # the installed console script
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
TWO_EPISODES = FIXTURES / "iputils" / "two-episodes" / "output.txt"
DEADLINE_SECONDS = 60.0
PREFIX = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-") + "gapf"


class Lines:
    """A process stream read by a thread, line by line, waited on with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()
        self.closed = False

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: Callable[[str], bool], what: str) -> str:
        """The first line (from now on) for which `wanted` is true; fails at the deadline."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                self.closed = True
                break
            self.seen.append(line)
            if wanted(line):
                return line
        pytest.fail(f"no line {what} within {DEADLINE_SECONDS:.0f} s; saw: {self.seen[-10:]}")

    def rest(self) -> list[str]:
        """Every line until the stream closes."""
        self._thread.join(DEADLINE_SECONDS)
        lines = []
        while True:
            item = self._queue.get_nowait() if not self._queue.empty() else None
            if item is None:
                break
            lines.append(item)
        self.seen.extend(lines)
        return lines


def _start(*args: str, stdin: int | IO[bytes] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [HOLDTIME, "gap", "--follow", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _append(path: Path, text: str) -> None:
    with path.open("a") as log:
        log.write(text)


def test_follow_file_prints_episodes_as_they_end(tmp_path: Path) -> None:
    """Appended in bursts: episode lines after the bursts that end them, the report at SIGINT."""
    lines = [line + "\n" for line in TWO_EPISODES.read_text().splitlines()]
    # Bursts: up to seq 19 lost (episode 1 open), up to seq 39 (1 ended, 2 open), the rest.
    cut_one = next(i for i, line in enumerate(lines) if "icmp_seq=19" in line) + 1
    cut_two = next(i for i, line in enumerate(lines) if "icmp_seq=39" in line) + 1
    log = tmp_path / "ping.log"
    log.write_text("".join(lines[:cut_one]))
    process = _start(str(log), "--status-every", "0.5")
    out = Lines(process.stdout)  # type: ignore[arg-type]
    try:
        out.wait_for(lambda line: "LOSING since seq 11" in line and "last seq 19" in line, "LOSING")
        assert not any(line.startswith("loss episode") for line in out.seen)
        middle = "".join(lines[cut_one:cut_two])
        _append(log, middle[:-30])  # a line split across two writes
        time.sleep(0.3)
        _append(log, middle[-30:])
        first = out.wait_for(lambda line: line.startswith("loss episode"), "for episode 1")
        assert first.startswith("loss episode #1 ended: seq 11-20: 10 lost")
        out.wait_for(lambda line: "LOSING since seq 36" in line, "LOSING since 36")
        assert 1 == sum(line.startswith("loss episode") for line in out.seen)
        _append(log, "".join(lines[cut_two:]))
        second = out.wait_for(lambda line: line.startswith("loss episode"), "for episode 2")
        assert second.startswith("loss episode #2 ended: seq 36-40: 5 lost")
        out.wait_for(lambda line: "last seq 60" in line, "showing seq 60")
        process.send_signal(signal.SIGINT)
        report = out.rest()
        assert 0 == process.wait(DEADLINE_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
    assert "sent 60, received 45, lost 15 (25.0%), duplicates 0, late 0, reordered 0" in report
    assert "  #1 seq 11-20: 10 lost, loss-derived outage 2.040 s, gap-derived outage 2.040 s" in (
        report
    )
    assert "  #2 seq 36-40: 5 lost, loss-derived outage 1.020 s, gap-derived outage 1.024 s" in (
        report
    )


def test_follow_file_stops_when_truncated(tmp_path: Path) -> None:
    """A followed file that shrinks: a line says so and the report covers what was read."""
    text = TWO_EPISODES.read_text()
    log = tmp_path / "ping.log"
    log.write_text(text)
    process = _start(str(log), "--status-every", "0.5")
    out = Lines(process.stdout)  # type: ignore[arg-type]
    try:
        out.wait_for(lambda line: "last seq 60" in line, "showing seq 60")
        log.write_text("")
        out.wait_for(lambda line: "shrank to 0 bytes" in line, "about the truncation")
        report = out.rest()
        assert 0 == process.wait(DEADLINE_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
    assert "sent 60, received 45, lost 15 (25.0%), duplicates 0, late 0, reordered 0" in report


def test_follow_stdin_until_eof() -> None:
    """`-` to EOF: the episodes as they come, then the same report `holdtime gap` gives."""
    text = TWO_EPISODES.read_text()
    batch = subprocess.run(
        [HOLDTIME, "gap", "--format", "json", str(TWO_EPISODES)],
        capture_output=True,
        text=True,
        check=True,
    )
    followed = subprocess.run(
        [HOLDTIME, "gap", "--follow", "--format", "json", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        timeout=DEADLINE_SECONDS,
    )
    assert 0 == followed.returncode, followed.stderr
    expected = json.loads(batch.stdout)
    expected["source"] = "<stdin>"
    assert expected == json.loads(followed.stdout)
    episodes = [line for line in followed.stderr.splitlines() if line.startswith("loss episode")]
    assert [
        "loss episode #1 ended: seq 11-20: 10 lost, loss-derived outage 2.040 s,"
        " gap-derived outage 2.040 s",
        "loss episode #2 ended: seq 36-40: 5 lost, loss-derived outage 1.020 s,"
        " gap-derived outage 1.024 s",
    ] == episodes


def test_follow_stdin_not_a_ping_log_is_exit_2() -> None:
    """Mostly unknown lines on stdin: exit 2 and one line, as without --follow."""
    followed = subprocess.run(
        [HOLDTIME, "gap", "--follow", "-"],
        input="hello\nworld\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=DEADLINE_SECONDS,
    )
    assert 2 == followed.returncode
    assert [
        "holdtime: error: <stdin>:1: not iputils ping output: 'hello' (2 lines not understood,"
        " 1 understood)"
    ] == followed.stderr.splitlines()


@pytest.fixture
def loopback_netns() -> Iterator[str]:
    """A scratch namespace with only its loopback up; deleted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace and nft")
    name = f"{PREFIX}-lo"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _last_seq(status: str) -> int:
    """The 'last seq N' of a status line (-1 in any other line)."""
    match = re.search(r"last seq (\d+)", status)
    return int(match.group(1)) if match else -1


def _nft(netns: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", netns, "nft", *args], check=True)


def test_follow_live_ping_through_a_real_drop(loopback_netns: str) -> None:
    """Real `ping -D -O -i 0.2 127.0.0.1 | holdtime gap --follow -`: the drop's episode is
    printed live, and after SIGINT (to both, as Ctrl-C does) the report has ping's summary."""
    # Both in one process group, as a shell pipeline in a terminal: Ctrl-C is one killpg that
    # reaches ping and holdtime at once (two kill() calls let ping end before holdtime is hit).
    ping = subprocess.Popen(
        ["ip", "netns", "exec", loopback_netns, "ping", "-D", "-O", "-i", "0.2", "127.0.0.1"],
        stdout=subprocess.PIPE,
        process_group=0,
    )
    assert ping.stdout is not None
    process = subprocess.Popen(
        [HOLDTIME, "gap", "--follow", "--format", "json", "--status-every", "0.5", "-"],
        stdin=ping.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=ping.pid,
    )
    ping.stdout.close()  # holdtime holds the pipe now
    err = Lines(process.stderr)  # type: ignore[arg-type]
    try:
        err.wait_for(lambda line: _last_seq(line) >= 5, "showing seq 5 or later")
        _nft(loopback_netns, "add", "table", "inet", "hgapf")
        _nft(
            loopback_netns,
            "add chain inet hgapf input { type filter hook input priority 0; }",
        )
        _nft(loopback_netns, "add rule inet hgapf input icmp type echo-request drop")
        err.wait_for(lambda line: "LOSING since" in line, "LOSING")
        time.sleep(1.0)
        _nft(loopback_netns, "delete", "table", "inet", "hgapf")
        episode = err.wait_for(lambda line: line.startswith("loss episode #1 ended"), "ep. 1")
        os.killpg(ping.pid, signal.SIGINT)
        ping.wait(DEADLINE_SECONDS)
        out = process.communicate(timeout=DEADLINE_SECONDS)[0]
        assert 0 == process.returncode
    finally:
        for child in (ping, process):
            if child.poll() is None:
                child.kill()
    document = json.loads(out)
    assert document["summary_transmitted"] is not None  # ping's summary was read after SIGINT
    assert (document["summary_transmitted"], "probes") == (
        document["sent"],
        document["counts_from"],
    )
    assert 1 == len(document["episodes"])
    lost = document["episodes"][0]["lost_count"]
    assert episode.startswith(
        f"loss episode #1 ended: seq {document['episodes'][0]['first_lost_seq']}"
    )
    assert f"{lost} lost" in episode

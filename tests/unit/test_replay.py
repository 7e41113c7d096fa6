"""Record -> replay -> `holdtime check`: the lab's recordings, the faults, the refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from holdtime.errors import CommandTimeout, ConfigError
from holdtime.inventory import load_inventory
from holdtime.lab.replay import Replay, parse_faults
from holdtime.probes.router_config import Router
from holdtime.probes.ssh import SshParams, SshSession
from holdtime.record import Recorded, load_recording, record

RECORDINGS = Path(__file__).parents[1] / "fixtures" / "recordings"
HOLDTIME = [str(Path(sys.executable).with_name("holdtime"))]  # the installed console script
# The replay answers the second IPsec read at once; a short sample keeps the tests fast.
FAST = {**os.environ, "HOLDTIME_TRAFFIC_SAMPLE_SECONDS": "0.2"}

Verdict = tuple[str, str, str]


def _recorded_verdicts(name: str) -> set[Verdict]:
    recording = load_recording(RECORDINGS / name)
    return {(v["check"], v["target"], v["status"]) for r in recording.routers for v in r.verdicts}


def _check(inventory: Path, *extra: str) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run(
        [*HOLDTIME, "check", "-i", str(inventory), "--format", "json", "-q", *extra],
        capture_output=True,
        text=True,
        env=FAST,
        timeout=120,
        check=False,
    )
    assert done.stdout, done.stderr
    return done.returncode, list(json.loads(done.stdout)["results"])


@pytest.mark.parametrize(("case", "exit_code"), [("lab-healthy", 0), ("lab-esg1-shut", 1)])
def test_replay_gives_the_recorded_verdicts(case: str, exit_code: int, tmp_path: Path) -> None:
    """`holdtime check` against the replay of a lab recording: the lab's own verdicts."""
    with Replay(load_recording(RECORDINGS / case), tmp_path) as replay:
        code, results = _check(replay.inventory_path)
        assert [] == replay.stats.refused
    assert (exit_code, _recorded_verdicts(case)) == (
        code,
        {(str(r["check"]), str(r["target"]), str(r["status"])) for r in results},
    )


def test_recording_the_replay_records_the_same_command_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """record over a replay sends exactly the recorded lines, in order, and finds the verdicts."""
    monkeypatch.setenv("HOLDTIME_TRAFFIC_SAMPLE_SECONDS", "0.2")
    source = load_recording(RECORDINGS / "lab-healthy")
    with Replay(source, tmp_path / "state") as replay:
        again, _ = record(load_inventory(replay.inventory_path), tmp_path / "again")
    assert [(r.name, [c.command for c in r.commands]) for r in source.routers] == [
        (r.name, [c.command for c in r.commands]) for r in again.routers
    ]
    assert [(r.name, r.verdicts and {v["status"] for v in r.verdicts}) for r in source.routers] == [
        (r.name, r.verdicts and {v["status"] for v in r.verdicts}) for r in again.routers
    ]


def test_a_recording_holds_no_secret_and_no_host_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The router files keep neither auth, host, port, user, known_hosts nor any key."""
    monkeypatch.setenv("HOLDTIME_TRAFFIC_SAMPLE_SECONDS", "0.2")
    with Replay(load_recording(RECORDINGS / "lab-healthy"), tmp_path / "state") as replay:
        again, _ = record(load_inventory(replay.inventory_path), tmp_path / "again")
        key_text = (tmp_path / "state" / "client_key").read_text()
        host_keys = [s.host_key.get_base64() for s in replay.routers]
    transport = {"auth", "host", "port", "username", "known_hosts", "netns", "ssh_config"}
    assert [set()] * 3 == [set(r.entry) & transport for r in again.routers]
    text = "".join(p.read_text() for p in (tmp_path / "again").rglob("*.json"))
    assert ([], False) == (
        [k for k in host_keys if k in text],
        "PRIVATE KEY" in text or key_text in text,
    )


def test_replay_refuses_a_command_outside_the_recording(tmp_path: Path) -> None:
    """A line that is not in the recording: exit 127 and `command not found`, as a shell says."""
    with Replay(load_recording(RECORDINGS / "lab-healthy"), tmp_path) as replay:
        router = load_inventory(replay.inventory_path).named(Router, "esg1")
        with SshSession(SshParams.from_router(router)) as session:
            out = session.run("vtysh -c 'show running-config'")
            recorded = session.run("sysctl net.ipv4.ip_forward")
        refused = list(replay.stats.refused)
    assert (127, "", "esg1: vtysh: command not found\n") == (
        out.exit_status,
        out.stdout,
        out.stderr,
    )
    assert (0, "net.ipv4.ip_forward = 1\n") == (recorded.exit_status, recorded.stdout)
    assert ["esg1: vtysh -c 'show running-config'"] == refused


def test_copies_serve_one_router_many_times(tmp_path: Path) -> None:
    """--copies 3 --router esg2: r001..r003, each with its own port and host key."""
    recording = load_recording(RECORDINGS / "lab-healthy")
    with Replay(recording, tmp_path, copies=3, router="esg2") as replay:
        names = [s.name for s in replay.routers]
        ports = {s.port for s in replay.routers}
        keys = {s.host_key.get_base64() for s in replay.routers}
        code, results = _check(replay.inventory_path, "--only", "system.*")
    assert (["r001", "r002", "r003"], 3, 3) == (names, len(ports), len(keys))
    assert (0, {"r001", "r002", "r003"}) == (code, {str(r["device"]) for r in results})


# -- faults: one replay, one faulted copy of esg1 per fault, one clean copy ------------------
# What `holdtime check` says for a router with each fault: the ERROR documented in
# holdtime/lab/replay.py and docs/replay.md.
FAULTS = {
    "r001": ("delay:3", "did not finish within 1 s"),
    "r002": ("hang", "timed out after 1 s waiting for the SSH banner"),
    "r003": ("reset", "connection lost again during"),
    "r004": ("garbage", "garbage"),  # each parser quotes what it could not read
    "r005": ("auth", "authentication as 'holdtime' on"),
    "r006": ("hostkey", "does NOT match known_hosts"),
}
CLEAN = "r007"


@pytest.fixture(scope="module")
def faulted(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """The results of one `holdtime check` over the seven copies (timeouts cut to 1 s)."""
    state = tmp_path_factory.mktemp("faults")
    spec = ",".join(f"{name}={fault}" for name, (fault, _) in FAULTS.items())
    recording = load_recording(RECORDINGS / "lab-healthy")
    with Replay(recording, state, copies=7, router="esg1", faults=spec) as replay:
        data = yaml.safe_load(replay.inventory_path.read_text())
        for entry in data["routers"]:
            entry["timeouts"] = {"connect_seconds": 1, "command_seconds": 1}
        inventory = state / "short.yaml"
        inventory.write_text(yaml.safe_dump(data))
        code, results = _check(inventory)
    assert 2 == code
    return results


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_is_an_error_of_its_router_only(
    name: str, faulted: list[dict[str, object]]
) -> None:
    """Every check of the faulted router is ERROR, saying what the fault does."""
    fault, says = FAULTS[name]
    mine = [r for r in faulted if r["device"] == name]
    assert (fault, {("error", True)}) == (
        fault,
        {(str(r["status"]), says in str(r["summary"])) for r in mine if r["status"] != "skip"},
    )


def test_a_clean_copy_next_to_faulted_ones_keeps_its_verdicts(
    faulted: list[dict[str, object]],
) -> None:
    """The unfaulted copy of esg1 gets exactly esg1's recorded verdicts."""
    recorded = {
        (c, t.replace("esg1", CLEAN, 1), s)
        for c, t, s in _recorded_verdicts("lab-healthy")
        if t.split("/")[0] == "esg1"
    }
    got = {(str(r["check"]), str(r["target"]), str(r["status"])) for r in faulted}
    assert recorded == {v for v in got if v[1].split("/")[0] == CLEAN}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("esg9=hang", "--faults 'esg9=hang': no served router 'esg9' (serving esg1, esg2)"),
        ("esg1=melt", "--faults 'esg1=melt': 'melt' is not one of delay, hang, reset, garbage"),
        ("esg1=delay", "--faults 'esg1=delay': delay needs seconds, e.g. esg1=delay:2"),
        ("esg1=hang:3", "--faults 'esg1=hang:3': hang takes no value"),
        ("esg1", "--faults 'esg1': write NAME=KIND[:SECONDS], e.g. esg1=delay:2"),
    ],
)
def test_a_bad_fault_spec_is_one_line_naming_it(spec: str, message: str) -> None:
    """A fault spec that cannot be read names the element and what to write."""
    with pytest.raises(ConfigError) as caught:
        parse_faults(spec, ["esg1", "esg2"])
    assert message == str(caught.value)[: len(message)]


def test_record_refuses_a_folder_that_is_not_a_recording(tmp_path: Path) -> None:
    """`holdtime record -o DIR` on a non-empty folder without a manifest: exit 2, one line."""
    (tmp_path / "notes.txt").write_text("mine\n")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "version: 1\nrouters:\n  - {name: r1, host: 127.0.0.1, username: u, auth: {agent: true},"
        " host_key_policy: warn}\n"
    )
    done = subprocess.run(
        [*HOLDTIME, "record", "-i", str(inventory), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    expected = (
        f"holdtime: error: {tmp_path} is not empty and holds no recording (manifest.json); "
        "give a new folder\n"
    )
    assert (2, expected) == (done.returncode, done.stderr)


def test_known_hosts_per_router_gives_each_router_its_own_line(tmp_path: Path) -> None:
    """--known-hosts per-router: each inventory entry names a file with only its host key."""
    recording = load_recording(RECORDINGS / "lab-healthy")
    with Replay(recording, tmp_path, known_hosts_per_router=True) as replay:
        routers = load_inventory(replay.inventory_path).of(Router)
        lines = {r.name: Path(str(r.known_hosts)).read_text().splitlines() for r in routers}
        expected = {
            s.name: [f"[127.0.0.1]:{s.port} ecdsa-sha2-nistp256 {s.host_key.get_base64()}"]
            for s in replay.routers
        }
        code, _ = _check(replay.inventory_path, "--only", "system.*")
    assert (0, expected) == (code, lines)


def test_lab_replay_command_serves_until_sigterm(tmp_path: Path) -> None:
    """`holdtime lab replay`: prints the inventory once listening, exits 0 on SIGTERM."""
    server = subprocess.Popen(
        [*HOLDTIME, "lab", "replay", str(RECORDINGS / "lab-healthy"), "--state", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        code, results = _check(tmp_path / "inventory.yaml", "--only", "system.*")
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert (f"inventory: {tmp_path / 'inventory.yaml'}\n", 0, 3) == (line, code, len(results))
    assert (0, "replay: 3 connections, 3 commands, 0 refused") == (
        server.returncode,
        stderr.splitlines()[-1],
    )


def test_a_recorded_timeout_replays_as_a_command_that_never_ends(tmp_path: Path) -> None:
    """A command that timed out while recording never answers in the replay either."""
    source = load_recording(RECORDINGS / "lab-healthy")
    esg1 = source.router("esg1")
    hung = Recorded(command="sysctl net.ipv4.ip_forward", error="timed out", timed_out=True)
    edited = replace(source, routers=(replace(esg1, commands=(hung,)),))
    with Replay(edited, tmp_path) as replay:
        router = load_inventory(replay.inventory_path).named(Router, "esg1")
        with (
            SshSession(SshParams.from_router(router)) as session,
            pytest.raises(CommandTimeout) as caught,
        ):
            session.run("sysctl net.ipv4.ip_forward", timeout_seconds=0.5)
    assert "esg1: `sysctl net.ipv4.ip_forward` did not finish within 0.5 s" == str(caught.value)


def _openssh(state: Path, port: int, command: str) -> subprocess.CompletedProcess[str]:
    """OpenSSH's own client against one replayed router (it waits for the server's CLOSE)."""
    return subprocess.run(
        [
            "ssh",
            *("-F", "none", "-n", "-p", str(port), "-i", str(state / "client_key")),
            *("-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={state / 'known_hosts'}"),
            *("-o", "StrictHostKeyChecking=yes", "holdtime@127.0.0.1", command),
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_openssh_gets_answers_and_their_end_like_from_sshd(tmp_path: Path) -> None:
    """The replay closes each session once its command has answered, as sshd does: OpenSSH's
    `ssh` gets the recorded output, the refusal and a delayed answer, and returns each time
    (before, it waited forever for a CLOSE that never came)."""
    recording = load_recording(RECORDINGS / "lab-healthy")
    with Replay(recording, tmp_path, copies=2, router="esg1", faults="r002=delay:0.5") as replay:
        ports = {s.name: s.port for s in replay.routers}
        answered = _openssh(tmp_path, ports["r001"], "sysctl net.ipv4.ip_forward")
        refused = _openssh(tmp_path, ports["r001"], "rm -rf /")
        delayed = _openssh(tmp_path, ports["r002"], "sysctl net.ipv4.ip_forward")
    assert (0, "net.ipv4.ip_forward = 1\n") == (answered.returncode, answered.stdout)
    assert (127, "r001: rm: command not found\n") == (refused.returncode, refused.stderr)
    assert (0, "net.ipv4.ip_forward = 1\n") == (delayed.returncode, delayed.stdout)

"""ldaps.* and tls.* against real slapd 2.5 in a scratch namespace (certificates from the lab CA).

Controllers in namespace `hl-ldaps-XXXX` (addresses on its loopback, standard ports 389/636):
dc1 healthy, dc2 expired certificate, dc3 certificate for another name, dc4 signed by another CA,
dc5 slapd stopped, dc6 a TCP listener that accepts and never speaks TLS, dc7 a certificate not
yet valid.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from holdtime import netns
from holdtime.lab.lab_ca import LabCa, issue_server_variant
from holdtime.lab.slapd import (
    Slapd,
    SlapdTls,
    await_slapd,
    prepare_slapd,
    start_slapd,
    stop_slapd,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
    pytest.mark.skipif(not Path("/usr/sbin/slapd").exists(), reason="needs slapd"),
]

PASSWORD = "Hl-bind-pw-7Qz"  # the service account's; must appear in no output
HOLDTIME = Path(sys.executable).with_name("holdtime")
PREFIX = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-")
CONTROLLERS = {  # name: (address, certificate variant)
    "dc1": ("10.79.0.1", "good"),
    "dc2": ("10.79.0.2", "expired"),
    "dc3": ("10.79.0.3", "wrong_name"),
    "dc4": ("10.79.0.4", "other_ca"),
    "dc5": ("10.79.0.5", "good"),
    "dc7": ("10.79.0.7", "not_yet_valid"),
}
HANGING = "10.79.0.6"


@dataclass
class Directory:
    """The scratch namespace, its CA, its slapds and the inventory naming them."""

    namespace: str
    ca: LabCa
    servers: dict[str, Slapd]
    inventory: Path


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _inventory(path: Path, namespace: str, ca: Path, service_dn: str) -> None:
    entries = []
    for name, (address, _) in CONTROLLERS.items():
        entries.append(
            f"""  - name: {name}
    host: {address}
    server_name: {name}.lab.example
    ca_file: {ca}
    netns: {namespace}
    timeout_seconds: 2
    base_dn: dc=lab,dc=example
    bind_dn: {service_dn}
    password_env: HL_TEST_LDAP_PASSWORD
    starttls_port: 389
"""
        )
    entries.append(
        f"""  - name: dc6
    host: {HANGING}
    server_name: dc6.lab.example
    ca_file: {ca}
    netns: {namespace}
    timeout_seconds: 1
"""
    )
    path.write_text(
        "ldaps:\n"
        + "".join(entries)
        + f"""tls:
  - name: dc1-tls
    host: 10.79.0.1
    port: 636
    server_name: dc1.lab.example
    ca_file: {ca}
    netns: {namespace}
  - name: dc3-tls
    host: 10.79.0.3
    port: 636
    server_name: dc3.lab.example
    ca_file: {ca}
    netns: {namespace}
"""
    )


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """Five slapds and a hanging listener in one scratch namespace; all removed at the end."""
    state = tmp_path_factory.mktemp("ldaps")
    namespace = f"{PREFIX}ldaps-{uuid.uuid4().hex[:6]}"
    _ip("netns", "add", namespace)
    servers: dict[str, Slapd] = {}
    hanging: socket.socket | None = None
    try:
        _ip("-n", namespace, "link", "set", "lo", "up")
        for address, _ in [*CONTROLLERS.values(), (HANGING, "")]:
            _ip("-n", namespace, "addr", "add", f"{address}/32", "dev", "lo")
        ca = LabCa.create(state / "ca")
        for name, (address, variant) in CONTROLLERS.items():
            issued = issue_server_variant(
                ca,
                state / name,
                variant,
                f"{name}.lab.example",
                ips=[address],  # type: ignore[arg-type]
            )
            servers[name] = start_slapd(
                state / name / "slapd",
                SlapdTls(issued.cert_path, issued.key_path, issued.ca_path),
                PASSWORD,
                netns=namespace,
                address=address,
            )
        stop_slapd(servers["dc5"])  # dc5: slapd stopped
        with netns.entered(namespace):
            hanging = socket.create_server((HANGING, 636))  # accepts, never answers
        inventory = state / "inventory.yaml"
        _inventory(inventory, namespace, ca.cert_path, servers["dc1"].service_dn)
        yield Directory(namespace, ca, servers, inventory)
    finally:
        if hanging is not None:
            hanging.close()
        for server in servers.values():
            stop_slapd(server)
        _ip("netns", "del", namespace)


def _check(
    directory: Directory, *args: str, password: str = PASSWORD
) -> tuple[int, dict[tuple[str, str], dict[str, object]], str]:
    env = {**os.environ, "HL_TEST_LDAP_PASSWORD": password}
    done = subprocess.run(
        [HOLDTIME, "check", "-i", str(directory.inventory), "--format", "json", "-q", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    report = json.loads(done.stdout)
    results = {(r["check"], r["device"]): r for r in report["results"]}
    return done.returncode, results, done.stdout + done.stderr


@pytest.fixture(scope="module")
def run(directory: Directory) -> tuple[int, dict[tuple[str, str], dict[str, object]], str]:
    """One `holdtime check` of the whole inventory (every controller at once)."""
    return _check(directory)


def _statuses(results: dict[tuple[str, str], dict[str, object]], device: str) -> dict[str, str]:
    return {check: str(r["status"]) for (check, name), r in results.items() if name == device}


def test_healthy_controller_passes_everything(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """dc1: handshake, expiry, rootDSE, bind and StartTLS all PASS; so do its tls checks."""
    _, results, _ = run
    checks = ("handshake", "expiry", "rootdse", "bind", "starttls")
    assert {f"ldaps.{c}": "pass" for c in checks} == _statuses(results, "dc1")
    assert {"tls.handshake": "pass", "tls.expiry": "pass"} == _statuses(results, "dc1-tls")


def test_expired_certificate_fails_with_its_date(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """dc2: handshake and expiry FAIL saying expired; the password is not sent (bind ERROR)."""
    _, results, _ = run
    handshake = results[("ldaps.handshake", "dc2")]
    assert ("fail", True) == (
        handshake["status"],
        str(handshake["summary"]).startswith("10.79.0.2:636: the certificate expired on "),
    )
    assert "fail" == results[("ldaps.expiry", "dc2")]["status"]
    assert "expired on" in str(results[("ldaps.expiry", "dc2")]["summary"])
    assert "error" == results[("ldaps.bind", "dc2")]["status"]


def test_wrong_name_fails_naming_both(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """dc3: the certificate names another host: FAIL with the wanted and the present names."""
    _, results, _ = run
    wanted = ("name mismatch: wanted dc3.lab.example, certificate has wrong-name.lab.example",)
    assert wanted == tuple(results[("ldaps.handshake", "dc3")]["reasons"])  # type: ignore[arg-type]
    assert wanted == tuple(results[("ldaps.starttls", "dc3")]["reasons"])  # type: ignore[arg-type]
    assert wanted == tuple(results[("tls.handshake", "dc3-tls")]["reasons"])  # type: ignore[arg-type]


def test_unknown_ca_fails(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """dc4: signed by another CA: FAIL 'unknown CA' naming that issuer."""
    _, results, _ = run
    (reason,) = results[("ldaps.handshake", "dc4")]["reasons"]  # type: ignore[misc]
    assert str(reason).startswith(
        "unknown CA: the certificate (issuer CN=holdtime other CA,O=holdtime lab) does not chain"
    )


def test_not_yet_valid_certificate_fails(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """dc7: notBefore tomorrow: handshake FAIL 'not yet valid', expiry FAIL naming the start."""
    _, results, _ = run
    (reason,) = results[("ldaps.handshake", "dc7")]["reasons"]  # type: ignore[misc]
    assert str(reason).startswith("the certificate is not yet valid: not valid before ")
    expiry = results[("ldaps.expiry", "dc7")]
    assert ("fail", True) == (expiry["status"], "not yet valid" in str(expiry["summary"]))


def test_stopped_slapd_is_error_and_alone(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """dc5: refused: every check ERROR (bind/rootDSE not tried), the others judged as usual."""
    _, results, _ = run
    assert {
        "ldaps.handshake": "error",
        "ldaps.expiry": "error",
        "ldaps.rootdse": "error",
        "ldaps.bind": "error",
        "ldaps.starttls": "error",
    } == _statuses(results, "dc5")
    assert "TCP connect refused" in str(results[("ldaps.handshake", "dc5")]["summary"])


def test_hanging_listener_is_error_at_its_deadline(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """dc6 accepts TCP and never speaks TLS: ERROR 'no TLS answer'; bind skipped (none set)."""
    exit_code, results, _ = run
    assert "error" == results[("ldaps.handshake", "dc6")]["status"]
    assert "no TLS answer" in str(results[("ldaps.handshake", "dc6")]["summary"])
    assert "skip" == results[("ldaps.bind", "dc6")]["status"]
    assert 2 == exit_code  # errors present


def test_password_never_appears(run: tuple[int, dict, str]) -> None:  # type: ignore[type-arg]
    """The bind password is in no byte of the report or the messages."""
    _, _, output = run
    assert PASSWORD not in output


def test_wrong_password_fails_naming_the_account(directory: Directory) -> None:
    """A wrong password: FAIL invalidCredentials naming the DN; neither password is shown."""
    wrong = "Hl-wrong-pw-3Xk"
    _, results, output = _check(directory, "--only", "ldaps.bind", password=wrong)
    bind = results[("ldaps.bind", "dc1")]
    assert "fail" == bind["status"]
    assert (
        f"the controller rejected the bind of {directory.servers['dc1'].service_dn}"
        " (invalidCredentials 49)" == bind["summary"]
    )
    assert (wrong not in output, PASSWORD not in output) == (True, True)


def test_pytest_items_per_controller(directory: Directory, tmp_path: Path) -> None:
    """The pytest plugin makes `ldaps.<check>[dcN]` items; junit holds no password."""
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--holdtime-inventory={directory.inventory}",
            "--holdtime-only=ldaps.*",
            "--collect-only",
            "-q",
            f"--junitxml={junit}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HL_TEST_LDAP_PASSWORD": PASSWORD},
        timeout=60,
        check=False,
    )
    items = sorted(line.rsplit("::", 1)[-1] for line in done.stdout.splitlines() if "::" in line)
    checks = ("bind", "expiry", "handshake", "rootdse", "starttls")
    devices = sorted([*CONTROLLERS, "dc6"])
    assert sorted(f"ldaps.{c}[{d}]" for c in checks for d in devices) == items
    assert PASSWORD not in done.stdout + done.stderr + junit.read_text()


def test_prepare_and_await_for_a_caller_that_spawns(directory: Directory, tmp_path: Path) -> None:
    """The lab's way: prepare_slapd's argv run by the caller in the netns, then await_slapd."""
    issued = directory.ca.issue_server(tmp_path, "dc8.lab.example", dns_names=["dc8.lab.example"])
    tls = SlapdTls(issued.cert_path, issued.key_path, issued.ca_path)
    _ip("-n", directory.namespace, "addr", "add", "10.79.0.8/32", "dev", "lo")
    argv = prepare_slapd(tmp_path / "slapd", tls, PASSWORD, address="10.79.0.8")
    process = subprocess.Popen(
        ["ip", "netns", "exec", directory.namespace, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        ready = await_slapd(process.pid, netns=directory.namespace, address="10.79.0.8")
    finally:
        process.terminate()
        process.wait(10)
    assert ready

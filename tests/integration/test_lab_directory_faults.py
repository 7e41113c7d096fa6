"""The lab's directory controllers broken on purpose: a hung controller, broken certificates.

`holdtime check` runs as a user runs it (a subprocess, JSON report) against the lab inventory,
from app across the IPsec tunnels. Each fault is made on dc2 only and undone afterwards: dc1's
checks must not notice it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_check import check_lab

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.lab.lab_ca import EXPIRING_SOON_DAYS
from holdtime.probes.dns_config import DnsGroup
from holdtime.probes.ldaps_config import LdapsController

pytestmark = [pytest.mark.integration, pytest.mark.lab]

GROUP = "lab-directory"
ONLY = ("dns.*", "ldaps.*", "tls.*")
Report = dict[tuple[str, str], dict[str, object]]  # (check, target) -> result


def _check(lab: Lab) -> tuple[int, Report]:
    """Exit code and results by (check, target) of every dns, ldaps and tls check of the lab."""
    exit_code, report, _ = check_lab(lab, ONLY, key="target")
    return exit_code, report


def _owner(check: str, target: str) -> str:
    """The controller a result is about: dc1, dc2, or `both` (dns.consistent compares them)."""
    if check == "dns.consistent":
        return "both"
    if check.startswith("dns."):
        return target.split("/")[1]
    # dc1 (ldaps), dc1-ldaps/172.16.1.11:636 (tls)
    return target.split("/", maxsplit=1)[0].removesuffix("-ldaps")


def _statuses(report: Report, owner: str) -> set[str]:
    return {
        str(r["status"]) for (check, target), r in report.items() if _owner(check, target) == owner
    }


def _by_owner(exit_code: int, report: Report) -> tuple[int, set[str], set[str], set[str]]:
    """Exit code, then the statuses of dc1's, dc2's and both controllers' results."""
    dc1, dc2, both = (_statuses(report, owner) for owner in ("dc1", "dc2", "both"))
    return exit_code, dc1, dc2, both


# dc2 unusable: exit 2, dc1's results PASS, dc2's and dns.consistent's (compares both) ERROR
ONLY_DC2_ERRORS = (2, {"pass"}, {"error"}, {"error"})


@pytest.fixture
def dc2_certificate(lab: Lab) -> Iterator[None]:
    """dc2's slapd gets its good certificate back after the test, whatever it did to it."""
    yield
    lab.issue_certificate("dc2", "good")


def test_hung_controller_errors_only_its_own_checks_at_their_deadline(lab: Lab) -> None:
    """named and slapd of dc2 SIGSTOPped: dc2's checks ERROR at their deadline, dc1's PASS."""
    with lab.hung("dc2"):
        exit_code, report = _check(lab)
    controller = load_inventory(lab.inventory_path).named(LdapsController, "dc2")
    handshake = report[("ldaps.handshake", "dc2")]
    transport = report[("dns.transport", f"{GROUP}/dc2")]
    dc1_ldaps = [r for (check, target), r in report.items() if target == "dc1"]
    assert ONLY_DC2_ERRORS == _by_owner(exit_code, report)
    assert (
        "172.16.1.12:636: could not evaluate the TLS handshake: no TLS answer "
        "(the handshake timed out)"
    ) == handshake["summary"]
    assert [
        "dc2 A app.lab.holdtime.test over udp: no answer (waited 2 s)",
        "dc2 A app.lab.holdtime.test over tcp: no answer (waited 2 s)",
    ] == transport["reasons"]
    # dc2's handshake waited its whole timeout; dc1's own checks did not wait for dc2's
    dc2_seconds = float(handshake["duration_seconds"])  # type: ignore[arg-type]
    assert (True, True) == (
        dc2_seconds >= controller.timeout_seconds,
        all(float(r["duration_seconds"]) < dc2_seconds for r in dc1_ldaps),  # type: ignore[arg-type]
    )


BLACK_HOLE = """table inet holdtime_directory_test {
  chain input {
    type filter hook input priority -10;
    tcp dport { 53, 389, 636 } drop
    udp dport 53 drop
  }
}
"""


def test_controller_behind_a_silent_drop_errors_only_its_own_checks(lab: Lab) -> None:
    """nftables drops DNS and LDAP on dc2: its checks ERROR naming the connect timeout."""
    lab.exec("dc2", ["nft", "-f", "-"], input_text=BLACK_HOLE)
    try:
        exit_code, report = _check(lab)
    finally:
        lab.exec("dc2", ["nft", "delete", "table", "inet", "holdtime_directory_test"])
    assert ONLY_DC2_ERRORS == _by_owner(exit_code, report)
    assert (
        "172.16.1.12:636: could not evaluate the TLS handshake: TCP connect timeout (timed out)",
        "bind of cn=holdtime-svc,ou=services,dc=lab,dc=holdtime,dc=test not evaluated: no TCP "
        "connection to 172.16.1.12:636 (connect timeout)",
        "172.16.1.12:636: no certificate read (TCP connect timeout (timed out))",
    ) == (
        report[("ldaps.handshake", "dc2")]["summary"],
        report[("ldaps.bind", "dc2")]["summary"],
        report[("tls.expiry", "dc2-ldaps/172.16.1.12:636")]["summary"],
    )


def test_hung_controller_comes_back(lab: Lab) -> None:
    """After SIGCONT dc2 answers again: every dns, ldaps and tls check passes."""
    with lab.hung("dc2"):
        pass
    exit_code, report = _check(lab)
    assert (0, {"pass"}) == (exit_code, {str(r["status"]) for r in report.values()})


def test_expired_certificate_on_dc2_fails_its_checks(lab: Lab, dc2_certificate: None) -> None:
    """dc2's certificate expired: handshake and expiry FAIL with the date; no bind is tried."""
    lab.issue_certificate("dc2", "expired")
    exit_code, report = _check(lab)
    summaries = {
        check: str(report[(check, target)]["summary"])
        for check, target in [
            ("ldaps.handshake", "dc2"),
            ("ldaps.expiry", "dc2"),
            ("tls.handshake", "dc2-ldaps/172.16.1.12:636"),
        ]
    }
    assert (2, {"pass"}) == (exit_code, _statuses(report, "dc1"))  # 2: rootDSE, bind not tried
    assert (
        "fail",
        "fail",
        "error",
        "fail",
    ) == (
        report[("ldaps.handshake", "dc2")]["status"],
        report[("ldaps.expiry", "dc2")]["status"],
        report[("ldaps.bind", "dc2")]["status"],
        report[("tls.expiry", "dc2-ldaps/172.16.1.12:636")]["status"],
    )
    assert [True, True, True] == ["expired on " in summary for summary in summaries.values()], (
        summaries
    )


def test_certificate_for_another_name_on_dc2_fails_naming_both(
    lab: Lab, dc2_certificate: None
) -> None:
    """dc2 presents a certificate for another host: FAIL naming the wanted and the present name."""
    lab.issue_certificate("dc2", "wrong_name")
    exit_code, report = _check(lab)
    wanted = ["name mismatch: wanted dc2.lab.holdtime.test, certificate has wrong-name.lab.example"]
    assert (2, {"pass"}) == (exit_code, _statuses(report, "dc1"))  # 2: rootDSE, bind not tried
    assert [wanted, wanted, wanted] == [
        report[("ldaps.handshake", "dc2")]["reasons"],
        report[("ldaps.starttls", "dc2")]["reasons"],
        report[("tls.handshake", "dc2-ldaps/172.16.1.12:636")]["reasons"],
    ]


def test_certificate_expiring_within_30_days_warns(lab: Lab, dc2_certificate: None) -> None:
    """dc2's certificate has 10 days left: ldaps.expiry and tls.expiry WARN (exit 0), rest PASS."""
    lab.issue_certificate("dc2", "expiring_soon")
    exit_code, report = _check(lab)
    expiry = report[("ldaps.expiry", "dc2")]
    not_warn = {
        str(r["status"])
        for key, r in report.items()
        if key not in {("ldaps.expiry", "dc2"), ("tls.expiry", "dc2-ldaps/172.16.1.12:636")}
    }
    days_left = float(expiry["observed"]["days_left"])  # type: ignore[index]
    assert (0, "warn", "warn", {"pass"}) == (
        exit_code,
        expiry["status"],
        report[("tls.expiry", "dc2-ldaps/172.16.1.12:636")]["status"],
        not_warn,
    )
    assert EXPIRING_SOON_DAYS - 1 < days_left <= EXPIRING_SOON_DAYS


def test_pytest_items_per_resolver_name_and_controller(lab: Lab, tmp_path: Path) -> None:
    """The pytest plugin: one item per resolver x name, per name, per resolver, per controller."""
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "-p", "no:cacheprovider", "-q"),
            f"--holdtime-inventory={lab.inventory_path}",
            "--holdtime-only=dns.*",
            "--holdtime-only=ldaps.*",
            f"--junitxml={junit}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    inventory = load_inventory(lab.inventory_path)
    (group,) = inventory.of(DnsGroup)
    resolvers = [r.name for r in group.resolvers]
    names = [n.name for n in group.names]
    controllers = [c.name for c in inventory.of(LdapsController)]
    expected = sorted(
        [
            f"dns.{c}[{GROUP}/{r}/{n}]"
            for c in ("resolves", "reverse_matches")
            for r in resolvers
            for n in names
        ]
        + [f"dns.consistent[{GROUP}/{n}]" for n in names]
        + [f"dns.transport[{GROUP}/{r}]" for r in resolvers]
        + [
            f"ldaps.{c}[{d}]"
            for c in ("handshake", "expiry", "rootdse", "bind", "starttls")
            for d in controllers
        ]
    )
    cases = ET.parse(junit).getroot().iter("testcase")
    ran = {case.get("name", ""): [child.tag for child in case] for case in cases}
    assert (0, expected) == (done.returncode, sorted(ran)), done.stdout[-2000:]
    not_passed = {"failure", "error", "skipped"}
    assert {} == {name: tags for name, tags in ran.items() if not_passed & set(tags)}
    assert lab.ldap_password() not in done.stdout + done.stderr + junit.read_text()
    assert os.environ.get("HOLDTIME_LAB_LDAP_PASSWORD") == lab.ldap_password()

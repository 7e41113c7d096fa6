"""The `ldaps` and `tls` families against the lab's real slapd on dc1 and dc2, from app.

`holdtime check -i <lab inventory>` runs as a user would (a subprocess, the password from
HOLDTIME_LAB_LDAP_PASSWORD, which the integration conftest sets): every TLS connection leaves the
app namespace and crosses the IPsec tunnels to the stretched segment.
"""

from __future__ import annotations

import os
import stat

import pytest
from lab_check import Results, check_lab, statuses

from holdtime.lab import Lab
from holdtime.lab.topology import LDAP_PASSWORD_ENV

pytestmark = [pytest.mark.integration, pytest.mark.lab]

LDAPS_CHECKS = ("handshake", "expiry", "rootdse", "bind", "starttls")
ONLY = ("ldaps.*", "tls.*")


def _check(lab: Lab) -> tuple[int, Results, str]:
    """`holdtime check --only 'ldaps.*' --only 'tls.*'` of the lab inventory, as JSON."""
    return check_lab(lab, ONLY)


def _healthy(device: str) -> dict[str, str]:
    if device.endswith("-ldaps"):
        return {"tls.handshake": "pass", "tls.expiry": "pass"}
    return {f"ldaps.{check}": "pass" for check in LDAPS_CHECKS}


def test_password_is_the_labs_own_and_private(lab: Lab) -> None:
    """`up` keeps the service account's password 0600 in the state folder; tests export it."""
    mode = stat.S_IMODE(lab.ldap_password_path.stat().st_mode)
    assert (0o600, lab.ldap_password()) == (mode, os.environ[LDAP_PASSWORD_ENV])


def test_every_ldaps_and_tls_check_passes_across_the_tunnels(lab: Lab) -> None:
    """Both controllers: LDAPS, rootDSE, bind, StartTLS and their certificates all PASS."""
    exit_code, results, output = _check(lab)
    devices = ("dc1", "dc2", "dc1-ldaps", "dc2-ldaps")
    assert (0, {d: _healthy(d) for d in devices}) == (
        exit_code,
        {d: statuses(results, d) for d in devices},
    ), output
    assert lab.ldap_password() not in output


def test_slapd_stopped_on_dc2_errors_only_dc2(lab: Lab) -> None:
    """slapd stopped on dc2: `lab status` names it, dc2's checks ERROR, dc1's still PASS."""
    lab.stop_slapd("dc2")
    try:
        assert ["dc2-slapd"] == lab.findings(sessions=False).stopped
        assert "missing: processes slapd on dc2" in lab.status()
        exit_code, results, output = _check(lab)
    finally:
        lab.start_slapd("dc2")
    assert (
        2,
        _healthy("dc1"),
        _healthy("dc1-ldaps"),
        {f"ldaps.{check}": "error" for check in LDAPS_CHECKS},
        {"tls.handshake": "error", "tls.expiry": "error"},
    ) == (
        exit_code,
        statuses(results, "dc1"),
        statuses(results, "dc1-ldaps"),
        statuses(results, "dc2"),
        statuses(results, "dc2-ldaps"),
    ), output
    assert "TCP connect refused" in str(results[("ldaps.handshake", "dc2")]["summary"])


def test_slapd_restarts_and_serves_again(lab: Lab) -> None:
    """After a stop and start the lab is whole again and every ldaps and tls check passes."""
    lab.stop_slapd("dc1")
    lab.start_slapd("dc1")
    assert [] == lab.findings(sessions=False).stopped
    exit_code, results, output = _check(lab)
    assert (0, {"pass"}) == (exit_code, {str(r["status"]) for r in results.values()}), output

"""tls.* and ldaps.* verdicts from observations: every state, the user's words for each failure."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from holdtime.checks import ldaps as ldaps_checks
from holdtime.checks import tls as tls_checks
from holdtime.models import Status
from holdtime.plugins import Target
from holdtime.probes import tls_handshake as th
from holdtime.probes.ldaps import BindOutcome, LdapsObservation, RootDse
from holdtime.probes.ldaps_config import LdapsController
from holdtime.probes.tls_config import TlsEndpoint
from holdtime.probes.tls_handshake import Certificate, TlsObservation

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
DAY = 86400.0
CERT = Certificate(
    subject="CN=dc1.lab.example,O=holdtime lab",
    common_name="dc1.lab.example",
    issuer="CN=holdtime lab CA,O=holdtime lab",
    dns_names=("dc1.lab.example",),
    ip_addresses=("10.20.0.10",),
    not_before_timestamp=NOW - 10 * DAY,
    not_after_timestamp=NOW + 300 * DAY,
    serial="1f",
    sha256_fingerprint="ab" * 32,
    public_key="EC secp256r1",
)
OK = TlsObservation(
    host="10.20.0.10",
    port=636,
    server_name="dc1.lab.example",
    connect="open",
    handshake="ok",
    observed_at=NOW,
    timeout_seconds=5.0,
    tls_version="TLSv1.3",
    cipher="TLS_AES_256_GCM_SHA384",
    certificate=CERT,
    handshake_seconds=0.01,
    ca_file="/etc/holdtime/lab-ca.pem",
)
TLS_TARGET = Target(
    name="dc1-tls/10.20.0.10:636",
    device="dc1-tls",
    config=TlsEndpoint(name="dc1-tls", host="10.20.0.10", port=636),
)
CONTROLLER = LdapsController(
    name="dc1",
    host="10.20.0.10",
    server_name="dc1.lab.example",
    ca_file=Path("/etc/holdtime/lab-ca.pem"),
    base_dn="dc=lab,dc=example",
    bind_dn="cn=holdtime-svc,ou=services,dc=lab,dc=example",
    password="never-shown",
    starttls_port=389,
)
LDAPS_TARGET = Target(name="dc1", device="dc1", config=CONTROLLER)
READ = RootDse(state="read", naming_contexts=("dc=lab,dc=example",), result_code=0)
BOUND = BindOutcome(dn=CONTROLLER.bind_dn, state="bound", result_code=0, result_name="success")


def _failed(code: int, message: str, **changes: object) -> TlsObservation:
    return dataclasses.replace(
        OK, handshake="verify_failed", verify_code=code, verify_message=message, **changes
    )


def _tls_handshake(observation: TlsObservation) -> tuple[Status, str, tuple[str, ...]]:
    (result,) = tls_checks.HandshakeCheck().evaluate(TLS_TARGET, observation)
    return result.status, result.summary, result.reasons


def test_verified_handshake_passes_naming_version_and_trust() -> None:
    """A verified TLS 1.3 session is PASS; the summary names the version, name and CA file."""
    status, summary, _ = _tls_handshake(OK)
    assert Status.PASS == status
    assert (
        "10.20.0.10:636: TLS 1.3, certificate for dc1.lab.example verified against"
        " the CA file /etc/holdtime/lab-ca.pem" == summary
    )


def test_expired_certificate_fails_with_its_date() -> None:
    """OpenSSL's 'certificate has expired' becomes the expiry date in words."""
    expired = dataclasses.replace(CERT, not_after_timestamp=NOW - DAY)
    status, _, reasons = _tls_handshake(
        _failed(th.CERT_HAS_EXPIRED, "certificate has expired", certificate=expired)
    )
    assert (Status.FAIL, ("the certificate expired on 2027-01-14 08:00 UTC",)) == (status, reasons)


def test_not_yet_valid_certificate_fails_with_its_start() -> None:
    """'certificate is not yet valid' names the notBefore."""
    future = dataclasses.replace(CERT, not_before_timestamp=NOW + DAY)
    status, _, reasons = _tls_handshake(
        _failed(th.CERT_NOT_YET_VALID, "certificate is not yet valid", certificate=future)
    )
    assert Status.FAIL == status
    assert ("the certificate is not yet valid: not valid before 2027-01-16 08:00 UTC",) == reasons


@pytest.mark.parametrize("code", [th.HOSTNAME_MISMATCH, th.IP_ADDRESS_MISMATCH])
def test_name_mismatch_names_both_sides(code: int) -> None:
    """A host-name or IP mismatch says what was wanted and what the certificate has."""
    other = dataclasses.replace(CERT, dns_names=("dc9.lab.example",), ip_addresses=())
    status, _, reasons = _tls_handshake(_failed(code, "Hostname mismatch", certificate=other))
    assert Status.FAIL == status
    assert ("name mismatch: wanted dc1.lab.example, certificate has dc9.lab.example",) == reasons


@pytest.mark.parametrize(
    "code",
    [
        th.SELF_SIGNED_CERT_IN_CHAIN,
        th.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        th.DEPTH_ZERO_SELF_SIGNED_CERT,
    ],
)
def test_unknown_ca_names_issuer_and_trust(code: int) -> None:
    """A chain that does not reach the CA file is 'unknown CA', naming the issuer."""
    rogue = dataclasses.replace(CERT, issuer="CN=rogue CA")
    status, _, reasons = _tls_handshake(_failed(code, "unable to get", certificate=rogue))
    assert Status.FAIL == status
    assert (
        "unknown CA: the certificate (issuer CN=rogue CA) does not chain to"
        " the CA file /etc/holdtime/lab-ca.pem",
    ) == reasons


def test_other_verify_error_keeps_openssls_words_and_code() -> None:
    """An X509 error without a dedicated sentence keeps OpenSSL's message and code."""
    _, _, reasons = _tls_handshake(_failed(26, "unsupported certificate purpose"))
    assert (
        "the certificate did not verify: unsupported certificate purpose (OpenSSL verify error 26)",
    ) == reasons


def test_tls_1_0_offered_fails_below_the_minimum() -> None:
    """A server whose best version is TLS 1.0 fails the default minimum 1.2."""
    status, _, reasons = _tls_handshake(dataclasses.replace(OK, tls_version="TLSv1"))
    assert Status.FAIL == status
    assert ("TLS 1.0 offered: the server's best version is below the minimum TLS 1.2",) == reasons


def test_version_and_verification_failures_are_both_reported() -> None:
    """An expired certificate on a TLS 1.1 server gives both reasons."""
    _, _, reasons = _tls_handshake(
        _failed(th.CERT_HAS_EXPIRED, "certificate has expired", tls_version="TLSv1.1")
    )
    assert 2 == len(reasons)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (
            {
                "connect": "refused",
                "handshake": "not_attempted",
                "certificate": None,
                "detail": "Connection refused",
            },
            "TCP connect refused (Connection refused)",
        ),
        (
            {
                "handshake": "timeout",
                "certificate": None,
                "tls_version": "",
                "detail": "no TLS answer (the handshake timed out)",
            },
            "handshake timed out",
        ),
        ({"handshake": "closed", "certificate": None, "tls_version": "", "detail": "EOF"}, "EOF"),
        (
            {"handshake": "local_error", "certificate": None, "detail": "CA file: bad"},
            "CA file: bad",
        ),
        ({"handshake": "sideways"}, "not understood"),
        ({"tls_version": "TLSv9"}, "not understood"),
    ],
)
def test_what_could_not_be_evaluated_is_error(changes: dict[str, object], words: str) -> None:
    """No connection, no answer, a closed connection or an unknown state: ERROR, not FAIL."""
    status, summary, _ = _tls_handshake(dataclasses.replace(OK, **changes))  # type: ignore[arg-type]
    assert Status.ERROR == status
    assert words in summary


def test_protocol_failure_is_fail_with_the_library_reason() -> None:
    """A TLS alert or a non-TLS answer is the server not doing TLS: FAIL with the reason."""
    status, summary, _ = _tls_handshake(
        dataclasses.replace(OK, handshake="protocol", detail="WRONG_VERSION_NUMBER (SSL)")
    )
    assert (Status.FAIL, "10.20.0.10:636: TLS handshake failed: WRONG_VERSION_NUMBER (SSL)") == (
        status,
        summary,
    )


@pytest.mark.parametrize(
    ("not_before", "not_after", "status"),
    [
        (NOW - DAY, NOW + 300 * DAY, Status.PASS),
        (NOW - DAY, NOW + 29 * DAY, Status.WARN),
        (NOW - DAY, NOW - 1, Status.FAIL),
        (NOW + DAY, NOW + 300 * DAY, Status.FAIL),
    ],
)
def test_expiry_window(not_before: float, not_after: float, status: Status) -> None:
    """PASS outside the 30-day window, WARN inside it, FAIL expired or not yet valid."""
    cert = dataclasses.replace(CERT, not_before_timestamp=not_before, not_after_timestamp=not_after)
    (result,) = tls_checks.ExpiryCheck().evaluate(
        TLS_TARGET, dataclasses.replace(OK, certificate=cert)
    )
    assert status == result.status
    assert not_after == result.observed["not_after_timestamp"]


def test_expiry_is_judged_even_when_the_chain_did_not_verify() -> None:
    """The certificate read on a failed verification still gets its dates judged."""
    (result,) = tls_checks.ExpiryCheck().evaluate(
        TLS_TARGET, _failed(th.SELF_SIGNED_CERT_IN_CHAIN, "self-signed")
    )
    assert Status.PASS == result.status


def test_expiry_without_a_certificate_is_error() -> None:
    """No certificate (no connection) is ERROR: nothing to judge."""
    (result,) = tls_checks.ExpiryCheck().evaluate(
        TLS_TARGET,
        dataclasses.replace(OK, connect="refused", handshake="not_attempted", certificate=None),
    )
    assert Status.ERROR == result.status


def _ldaps(**changes: object) -> LdapsObservation:
    base = LdapsObservation(
        ldaps=OK, rootdse=READ, bind=BOUND, starttls=dataclasses.replace(OK, port=389)
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _status(check: object, observation: LdapsObservation) -> tuple[Status, str]:
    (result,) = check.evaluate(LDAPS_TARGET, observation)  # type: ignore[attr-defined]
    return result.status, result.summary


def test_healthy_controller_passes_every_ldaps_check() -> None:
    """Verified LDAPS, readable rootDSE with the base DN, a bind and StartTLS: all PASS."""
    checks = [
        ldaps_checks.HandshakeCheck(),
        ldaps_checks.ExpiryCheck(),
        ldaps_checks.RootDseCheck(),
        ldaps_checks.BindCheck(),
        ldaps_checks.StartTlsCheck(),
    ]
    assert [Status.PASS] * 5 == [_status(check, _ldaps())[0] for check in checks]


def test_base_dn_not_served_fails() -> None:
    """A rootDSE without the configured base DN among its namingContexts is FAIL."""
    other = RootDse(state="read", naming_contexts=("dc=other,dc=example",), result_code=0)
    assert (
        Status.FAIL,
        "base DN dc=lab,dc=example is not among the namingContexts (dc=other,dc=example)",
    ) == _status(ldaps_checks.RootDseCheck(), _ldaps(rootdse=other))


def test_rootdse_not_tried_is_error() -> None:
    """When the handshake did not verify, the rootDSE was not read: ERROR."""
    skipped = RootDse(state="not_attempted", detail="the LDAPS handshake did not verify")
    assert Status.ERROR == _status(ldaps_checks.RootDseCheck(), _ldaps(rootdse=skipped))[0]


def test_rootdse_refused_by_the_controller_is_fail() -> None:
    """A controller answering the rootDSE search with an error code is FAIL."""
    refused = RootDse(state="failed", result_code=50, detail="insufficientAccessRights")
    assert Status.FAIL == _status(ldaps_checks.RootDseCheck(), _ldaps(rootdse=refused))[0]


def test_rejected_bind_fails_naming_the_account_never_the_password() -> None:
    """invalidCredentials is FAIL naming the DN; the password is nowhere in the result."""
    rejected = BindOutcome(
        dn=CONTROLLER.bind_dn, state="rejected", result_code=49, result_name="invalidCredentials"
    )
    (result,) = ldaps_checks.BindCheck().evaluate(LDAPS_TARGET, _ldaps(bind=rejected))
    assert Status.FAIL == result.status
    assert (
        "the controller rejected the bind of cn=holdtime-svc,ou=services,dc=lab,dc=example"
        " (invalidCredentials 49)" == result.summary
    )
    assert "never-shown" not in repr(result)


def test_bind_without_bind_dn_skips() -> None:
    """No bind_dn: the one SKIP of the target."""
    assert Status.SKIP == _status(ldaps_checks.BindCheck(), _ldaps(bind=None))[0]


def test_bind_that_failed_on_io_is_error() -> None:
    """A bind that got no answer is ERROR, not FAIL."""
    lost = BindOutcome(dn=CONTROLLER.bind_dn, state="failed", detail="socket receive timeout")
    assert Status.ERROR == _status(ldaps_checks.BindCheck(), _ldaps(bind=lost))[0]


def test_starttls_refused_fails_with_the_servers_answer() -> None:
    """A StartTLS request answered with protocolError is FAIL quoting the server."""
    refused = dataclasses.replace(
        OK,
        port=389,
        handshake="preamble_failed",
        certificate=None,
        tls_version="",
        detail="StartTLS refused with result 2 (protocolError): unsupported extended operation",
    )
    status, summary = _status(ldaps_checks.StartTlsCheck(), _ldaps(starttls=refused))
    assert (Status.FAIL, f"10.20.0.10:389: {refused.detail}") == (status, summary)


def test_starttls_answer_not_understood_is_error() -> None:
    """An answer to StartTLS that is not LDAP is ERROR."""
    garbled = dataclasses.replace(
        OK, port=389, handshake="preamble_unreadable", certificate=None, detail="not LDAP"
    )
    assert Status.ERROR == _status(ldaps_checks.StartTlsCheck(), _ldaps(starttls=garbled))[0]


def test_starttls_not_configured_skips() -> None:
    """No starttls_port: SKIP."""
    assert Status.SKIP == _status(ldaps_checks.StartTlsCheck(), _ldaps(starttls=None))[0]


def test_expiry_without_a_tcp_connection_says_how_the_connect_ended() -> None:
    """Connect timed out: tls.expiry ERRORs in the connect's words, not an internal state."""
    unreachable = dataclasses.replace(
        OK, connect="timeout", handshake="not_attempted", detail="timed out", certificate=None
    )
    (result,) = tls_checks.ExpiryCheck().evaluate(TLS_TARGET, unreachable)
    assert (
        Status.ERROR,
        "10.20.0.10:636: no certificate read (TCP connect timeout (timed out))",
        ("the handshake did not deliver a certificate: TCP connect timeout (timed out)",),
    ) == (result.status, result.summary, result.reasons)


def test_no_bind_is_tried_without_a_connection_and_the_result_says_why() -> None:
    """A controller refusing TCP: the bind and rootDSE ERROR naming the refused connect."""
    from tls_loopback import closed_port

    from holdtime.probes.ldaps import collect_controller

    port = closed_port()
    controller = dataclasses.replace(
        CONTROLLER, host="127.0.0.1", port=port, ca_file=None, timeout_seconds=2
    )
    observation = collect_controller(controller)
    why = f"no TCP connection to 127.0.0.1:{port} (connect refused)"
    assert ("not_attempted", why, why) == (
        observation.bind.state if observation.bind else None,
        observation.bind.detail if observation.bind else None,
        observation.rootdse.detail,
    )

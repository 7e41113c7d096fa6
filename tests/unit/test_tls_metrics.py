"""tls.* and ldaps.* results as Prometheus samples: Unix-second timestamps, 0/1 gauges."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from holdtime.checks import ldaps as ldaps_checks
from holdtime.checks import tls as tls_checks
from holdtime.exporters.metrics import domain_families, render_text
from holdtime.models import CheckResult
from holdtime.plugins import Target
from holdtime.probes.ldaps import BindOutcome, LdapsObservation, RootDse
from holdtime.probes.ldaps_config import LdapsController
from holdtime.probes.tls_config import TlsEndpoint
from holdtime.probes.tls_handshake import Certificate, TlsObservation

NOW = 1_800_000_000.0
CERT = Certificate(
    subject="CN=dc1.lab.example",
    common_name="dc1.lab.example",
    issuer="CN=holdtime lab CA",
    dns_names=("dc1.lab.example",),
    ip_addresses=(),
    not_before_timestamp=NOW - 86400,
    not_after_timestamp=NOW + 90 * 86400,
    serial="1",
    sha256_fingerprint="00" * 32,
    public_key="EC secp256r1",
)
SEEN = TlsObservation(
    host="10.20.0.10",
    port=636,
    server_name="dc1.lab.example",
    connect="open",
    handshake="ok",
    observed_at=NOW,
    timeout_seconds=5.0,
    tls_version="TLSv1.3",
    certificate=CERT,
    handshake_seconds=0.02,
)


def _samples(results: list[CheckResult]) -> tuple[dict[tuple[str, str], float], str]:
    text = render_text(domain_families((r, NOW) for r in results)).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, sample.labels.get("version", ""))] = sample.value
    return samples, text


def test_tls_results_become_blackbox_style_metrics() -> None:
    """notAfter/notBefore as Unix seconds, verified 1, the version as an info label."""
    target = Target(
        name="dc1-tls/10.20.0.10:636",
        device="dc1-tls",
        config=TlsEndpoint(name="dc1-tls", host="10.20.0.10", port=636),
    )
    results = [
        *tls_checks.HandshakeCheck().evaluate(target, SEEN),
        *tls_checks.ExpiryCheck().evaluate(target, SEEN),
    ]
    samples, _ = _samples(results)
    assert {
        ("holdtime_tls_certificate_not_after_timestamp_seconds", ""): NOW + 90 * 86400,
        ("holdtime_tls_certificate_not_before_timestamp_seconds", ""): NOW - 86400,
        ("holdtime_tls_chain_verified", ""): 1.0,
        ("holdtime_tls_handshake_duration_seconds", ""): 0.02,
        ("holdtime_tls_version_info", "TLSv1.3"): 1.0,
    } == samples


def test_rejected_bind_is_zero_and_the_password_is_absent() -> None:
    """A rejected bind is holdtime_ldaps_bind_succeeded 0; the password is in no sample."""
    controller = LdapsController(
        name="dc1", host="10.20.0.10", bind_dn="cn=svc", password="pw-in-no-metric"
    )
    target = Target(name="dc1", device="dc1", config=controller)
    observation = LdapsObservation(
        ldaps=SEEN,
        rootdse=RootDse(state="read", naming_contexts=("dc=lab",), result_code=0),
        bind=BindOutcome(dn="cn=svc", state="rejected", result_code=49),
        starttls=None,
    )
    results = [
        *ldaps_checks.BindCheck().evaluate(target, observation),
        *ldaps_checks.RootDseCheck().evaluate(target, observation),
        *ldaps_checks.StartTlsCheck().evaluate(target, observation),
    ]
    samples, text = _samples(results)
    assert {
        ("holdtime_ldaps_bind_succeeded", ""): 0.0,
        ("holdtime_ldaps_rootdse_readable", ""): 1.0,
    } == samples
    assert "pw-in-no-metric" not in text

"""LdapsProber against a real TLS server on loopback: every outcome, every attempt accounted for."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tls_loopback import LoopbackTlsServer, closed_port

from holdtime.errors import ConfigError
from holdtime.lab.lab_ca import Issued, LabCa
from holdtime.probes.ldaps_prober import LdapsPath, LdapsProber

NAME = "dc2.lab.example"


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """A server certificate for dc2.lab.example from a CA made for the module."""
    ca = LabCa.create(tmp_path_factory.mktemp("ca"))
    return ca.issue_server(tmp_path_factory.mktemp("dc2"), NAME, dns_names=[NAME])


def _path(port: int, ca_file: Path) -> LdapsPath:
    return LdapsPath("127.0.0.1", port, server_name=NAME, ca_file=str(ca_file), name="dc2-ldaps")


def test_verified_handshakes_succeed(issued: Issued) -> None:
    """A server with a certificate the CA file verifies: every attempt is a handshake."""
    with LoopbackTlsServer("tls", issued.cert_path, issued.key_path) as server:
        (result,) = LdapsProber([_path(server.port, issued.ca_path)], 0.05).run(count=5)
    assert (5, {"handshake": 5}, 0) == (result.sent, result.outcomes, result.failed)
    assert [True] * 5 == [e.replied for e in result.events]


def test_nothing_listening_is_refused(issued: Issued) -> None:
    """No listener on the port: each attempt is refused, none lost without an outcome."""
    (result,) = LdapsProber([_path(closed_port(), issued.ca_path)], 0.05).run(count=4)
    assert (4, {"refused": 4}) == (result.sent, result.outcomes)


def test_a_server_that_never_answers_times_out(issued: Issued) -> None:
    """TCP connects but no TLS answer: every attempt is a timeout after late_after_seconds."""
    with LoopbackTlsServer("silent") as server:
        prober = LdapsProber([_path(server.port, issued.ca_path)], 0.05, late_after_seconds=0.2)
        (result,) = prober.run(count=4)
    assert (4, {"timeout": 4}) == (result.sent, result.outcomes)
    assert [None] * 4 == [a.answered_at for a in result.attempts]


def test_a_reset_connection_is_a_reset(issued: Issued) -> None:
    """The server resets every connection: each attempt is a reset."""
    with LoopbackTlsServer("reset") as server:
        (result,) = LdapsProber([_path(server.port, issued.ca_path)], 0.05).run(count=4)
    assert (4, {"reset": 4}) == (result.sent, result.outcomes)


def test_a_certificate_from_another_ca_is_a_certificate_error(
    issued: Issued, tmp_path: Path
) -> None:
    """Verifying against another CA: every attempt a certificate error, with OpenSSL's words."""
    other = LabCa.create(tmp_path, "another CA")
    with LoopbackTlsServer("tls", issued.cert_path, issued.key_path) as server:
        (result,) = LdapsProber([_path(server.port, other.cert_path)], 0.05).run(count=3)
    assert (3, {"certificate_error": 3}) == (result.sent, result.outcomes)
    assert "unable to get local issuer certificate" == result.attempts[0].detail


def test_a_wrong_name_is_a_certificate_error(issued: Issued) -> None:
    """The certificate verifies but not for the name asked: a certificate error."""
    with LoopbackTlsServer("tls", issued.cert_path, issued.key_path) as server:
        path = LdapsPath(
            "127.0.0.1", server.port, server_name="dc9.lab.example", ca_file=str(issued.ca_path)
        )
        (result,) = LdapsProber([path], 0.05).run(count=2)
    assert {"certificate_error": 2} == result.outcomes


def test_settled_events_and_snapshot_count_every_attempt(issued: Issued) -> None:
    """After the run every attempt is settled once; the snapshot counts sent = 3, lost = 3."""
    later = [0.0]
    prober = LdapsProber(
        [_path(closed_port(), issued.ca_path)],
        0.05,
        late_after_seconds=0.1,
        clock=lambda: time.monotonic() + later[0],
    )
    prober.run(count=3)
    later[0] = 1.0  # every attempt now sent more than late_after ago
    events, cursor = prober.settled_events(-1)
    (progress,) = prober.snapshot(start=0.0)
    assert ([False] * 3, 2) == ([e.replied for e in events], cursor)
    assert ("dc2-ldaps", 3, 0, 3) == (
        progress.flow,
        progress.sent,
        progress.received,
        progress.lost,
    )


@pytest.mark.parametrize(
    ("paths", "interval", "message"),
    [([], 0.5, "LDAPS prober needs at least one path"), ([LdapsPath("h")], 0.001, "interval")],
)
def test_bad_arguments_are_config_errors(
    paths: list[LdapsPath], interval: float, message: str
) -> None:
    """No path, or an interval under 10 ms: a ConfigError naming it."""
    with pytest.raises(ConfigError, match=message):
        LdapsProber(paths, interval)

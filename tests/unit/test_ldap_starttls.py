"""The StartTLS answer parser on answers recorded from slapd, and on what it must refuse."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from holdtime.errors import ParseError
from holdtime.probes.ldaps import (
    STARTTLS_REQUEST,
    ExtendedResponse,
    ldap_starttls,
    parse_ldap_extended_response,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slapd" / "starttls"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "output.hex").is_file())


def _answer(case: str) -> bytes:
    return bytes.fromhex((FIXTURES / case / "output.hex").read_text())


@pytest.mark.parametrize("case", CASES)
def test_recorded_answers_parse_as_expected(case: str) -> None:
    """Each recorded slapd answer parses to its expected.json."""
    expected = json.loads((FIXTURES / case / "expected.json").read_text())
    assert ExtendedResponse(
        message_id=expected["message_id"],
        result_code=expected["result_code"],
        diagnostic=expected["diagnostic"],
        response_name=expected["response_name"].encode(),
    ) == parse_ldap_extended_response(_answer(case))


def test_the_request_is_one_ber_ldap_message() -> None:
    """The StartTLS request is a well-formed SEQUENCE of exactly its announced length."""
    assert (0x30, len(STARTTLS_REQUEST) - 2) == (STARTTLS_REQUEST[0], STARTTLS_REQUEST[1])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        bytes.fromhex("300c020101"),  # cut short
        bytes.fromhex("3005020101610000"),  # a BindResponse, not an extended response
        bytes.fromhex("308f"),  # a length of 15 bytes of length
    ],
)
def test_garbage_raises_parse_error(data: bytes) -> None:
    """Empty, cut, foreign or wrong-operation answers raise ParseError, nothing else."""
    with pytest.raises(ParseError):
        parse_ldap_extended_response(data)


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("accepted", ""),
        (
            "unsupported",
            "StartTLS refused with result 2 (protocolError): unsupported extended operation",
        ),
    ],
)
def test_preamble_sends_the_request_and_reads_the_answer(case: str, said: str) -> None:
    """Over a socket pair: the request goes out, the recorded answer comes back as words."""
    ours, peer = socket.socketpair()
    with ours, peer:
        peer.sendall(_answer(case))
        assert said == ldap_starttls(ours)
        assert STARTTLS_REQUEST == peer.recv(4096)


def test_a_peer_that_closes_is_a_connection_error() -> None:
    """A server that hangs up before answering is a ConnectionError (the handshake: closed)."""
    ours, peer = socket.socketpair()
    with ours:
        peer.close()
        with pytest.raises(ConnectionError):
            ldap_starttls(ours)

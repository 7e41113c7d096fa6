"""The prober's packet fast path agrees with scapy, and scapy stays out of the CLI import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.packet import Raw

from holdtime.probes.ping import (
    build_echo_template,
    echo_request,
    icmp_checksum,
    parse_echo_reply,
)


@pytest.mark.parametrize("seq", [0, 1, 255, 256, 4660, 65535, 65536, 70000])
def test_patched_request_equals_scapy_build(seq: int) -> None:
    """Patching seq+checksum into the template gives the bytes scapy builds for that seq."""
    template = build_echo_template(0x1234, 56)
    payload = template[8:]
    expected = bytes(ICMP(type=8, code=0, id=0x1234, seq=seq % 65536) / Raw(load=payload))
    assert expected == echo_request(template, seq)


def test_checksum_verifies_to_zero() -> None:
    """A packet with its checksum in place sums to zero (RFC 1071), odd lengths included."""
    packet = echo_request(build_echo_template(7, 57), 3)
    assert 0 == icmp_checksum(packet)


def test_parse_echo_reply_reads_id_and_seq() -> None:
    """An IPv4 echo reply as a raw socket returns it yields (identifier, seq)."""
    reply = bytes(IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=0, id=4242, seq=65535) / b"x")
    assert (4242, 65535) == parse_echo_reply(reply)


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x45" * 19,
        bytes(IP() / ICMP(type=8, id=1, seq=1)),  # our own request, not a reply
        bytes(IP() / ICMP(type=3, code=1)),
        bytes(IP(ihl=15) / ICMP(type=0))[:30],  # header longer than the packet
    ],
)
def test_parse_echo_reply_rejects_others(packet: bytes) -> None:
    """Short packets, requests, errors and truncated headers are not replies."""
    assert parse_echo_reply(packet) is None


def test_cli_help_does_not_import_scapy(tmp_path: Path) -> None:
    """`holdtime --help` (which imports holdtime.cli.gap) must not import scapy."""
    code = (
        "import sys, contextlib, io\n"
        "from holdtime import cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['--help'])\n"
        "import holdtime.cli.gap, holdtime.probes.ping, holdtime.probes.pinglog\n"
        "print('scapy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not the checkout: `-c` puts the cwd first on sys.path
    )
    assert "False" == result.stdout.strip()

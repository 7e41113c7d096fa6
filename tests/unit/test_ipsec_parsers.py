"""IPsec parsers on recorded strongSwan 5.9 / libreswan 4.10 output, plus garbage and fuzz."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holdtime.cli_parse import parse_text, parser_for
from holdtime.errors import ParseError
from holdtime.probes import ipsec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES = sorted(
    p.parent
    for tool in ("strongswan", "libreswan")
    for p in (FIXTURES / tool).glob("*/*/meta.json")
)
LISTING_PARSERS: list[Callable[[str], Any]] = [
    ipsec.parse_swanctl_list_sas,
    ipsec.parse_swanctl_list_conns,
    ipsec.parse_libreswan_showstates,
    ipsec.parse_libreswan_trafficstatus,
]
PARSERS: list[Callable[[str], Any]] = [*LISTING_PARSERS, ipsec.parse_libreswan_status]


def _case_id(case: Path) -> str:
    return f"{case.parent.parent.name}/{case.parent.name}/{case.name}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_recorded_output_parses_to_expected(case: Path) -> None:
    """Every recorded IPsec output parses to its expected.json (or raises the recorded error)."""
    tool = case.parent.parent.name
    meta = json.loads((case / "meta.json").read_text())
    expected = json.loads((case / "expected.json").read_text())
    text = (case / "output.txt").read_text()
    if isinstance(expected, dict) and expected.get("raises") == "ParseError":
        with pytest.raises(ParseError) as caught:
            parse_text(tool, meta["command"], text)
        assert 1 == len(str(caught.value).splitlines())
    else:
        assert expected == parse_text(tool, meta["command"], text)


def test_every_fixture_says_how_it_was_recorded() -> None:
    """Each IPsec fixture names its command, tool version and recording procedure, unedited."""
    assert CASES
    for case in CASES:
        meta = json.loads((case / "meta.json").read_text())
        assert (case.parent.parent.name, False) == (meta["tool"], meta["edited"])
        assert meta["command"]
        assert meta["how"]
        assert meta["version"].split()[0] in {"4.10", "5.9.8"}


@pytest.mark.parametrize("parser", PARSERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "text",
    [
        "garbage\nmore garbage\n",
        "connecting to 'unix:///var/run/charon.vici' failed: No such file or directory\n"
        "Error: connection to the daemon failed\n",
        '{"json": true}',
    ],
)
def test_garbage_raises_parse_error(parser: Callable[[str], Any], text: str) -> None:
    """Output that is not what the command prints raises ParseError."""
    with pytest.raises(ParseError):
        parser(text)


@pytest.mark.parametrize("parser", LISTING_PARSERS, ids=lambda f: f.__name__)
def test_empty_listing_means_nothing_listed(parser: Callable[[str], Any]) -> None:
    """An SA listing with no output is a real answer (no SAs), as recorded from pluto and charon."""
    assert () == parser("")


def test_empty_status_raises_parse_error() -> None:
    """`ipsec status` always prints its sections; empty output is a ParseError."""
    with pytest.raises(ParseError):
        ipsec.parse_libreswan_status("")


@pytest.mark.parametrize("parser", PARSERS, ids=lambda f: f.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_fuzzed_text_raises_only_parse_error(parser: Callable[[str], Any], text: str) -> None:
    """Arbitrary text either parses or raises ParseError."""
    with contextlib.suppress(ParseError):
        parser(text)


_LINE_PIECES = st.sampled_from(
    [
        "esg1: #3, ESTABLISHED, IKEv2, 0b1c_i* 8a7b_r",
        "  esg1: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256",
        "    in  c1a2b3c4,   1234 bytes,    12 packets,     3s ago",
        "    local  0.0.0.0/0",
        "  established 12s ago, rekeying in 13795s",
        "esg1: IKEv2, no reauthentication, rekeying every 14400s",
        "  esg1: TUNNEL, rekeying every 3600s",
        '000 #6: "east"[2] 192.1.2.45:500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); ',
        '006 #2: "westnet-eastnet", type=ESP, add_time=1234567890, inBytes=84, outBytes=84',
        '000 "east"[2]: 192.0.2.0/24===192.1.2.23[@east]...192.1.2.45[@road]===192.0.3.0/24; ',
        "000 Connection list:",
        "000 ",
        "",
    ]
)


@pytest.mark.parametrize("parser", PARSERS, ids=lambda f: f.__name__)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.tuples(_LINE_PIECES, st.text(max_size=6)), max_size=12))
def test_fuzzed_plausible_lines_raise_only_parse_error(
    parser: Callable[[str], Any], lines: list[tuple[str, str]]
) -> None:
    """Shuffled real-looking lines with random tails either parse or raise ParseError."""
    with contextlib.suppress(ParseError):
        parser("\n".join(piece + tail for piece, tail in lines))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_truncated_and_corrupted_recordings_raise_only_parse_error(case: Path, data: Any) -> None:
    """A recorded output cut or corrupted anywhere either parses or raises ParseError."""
    meta = json.loads((case / "meta.json").read_text())
    text = (case / "output.txt").read_text()
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.text(max_size=5))
    with contextlib.suppress(ParseError):
        parser_for(case.parent.parent.name, meta["command"])(text[:cut] + insert + text[cut + 3 :])


def test_libreswan_trafficstatus_line_formats() -> None:
    """trafficstatus lines of 4.x (`006 ` prefix) and 5.x (instance, DN id, lease) parse.

    No child SA can be installed here (no kernel ESP), so these two lines are the formats
    documented in libreswan's README (4.x) and printed by 5.x, not recordings.
    """
    rows = ipsec.parse_libreswan_trafficstatus(
        '006 #2: "westnet-eastnet", type=ESP, add_time=1561671961, inBytes=336, '
        "outBytes=336, id='@east'\n"
        '#154: "ikev2-cp"[27] 5.149.159.35, type=ESP, add_time=1755279621, inBytes=90686439, '
        "outBytes=2012385143, maxBytes=2^63B, id='CN=vpnclient, O=IKEv2 VPN', "
        "lease=192.168.43.13/32\n"
    )
    assert [
        (2, "westnet-eastnet", "", 336, 336, "@east", ""),
        (154, "ikev2-cp", "[27] 5.149.159.35", 90686439, 2012385143,
         "CN=vpnclient, O=IKEv2 VPN", "192.168.43.13/32"),
    ] == [
        (r.serial, r.connection, r.instance, r.bytes_in, r.bytes_out, r.peer_id, r.lease)
        for r in rows
    ]  # fmt: skip


def test_libreswan_status_and_showstates_agree() -> None:
    """The states inside `ipsec status` equal those of `ipsec whack --showstates` (same moment)."""
    for case in ("responder-instance-and-idle-conn", "initiator-two-ike-sas"):
        status = ipsec.parse_libreswan_status(
            (FIXTURES / "libreswan" / "ipsec-status" / case / "output.txt").read_text()
        )
        states = ipsec.parse_libreswan_showstates(
            (FIXTURES / "libreswan" / "ipsec-whack-showstates" / case / "output.txt").read_text()
        )
        assert [(s.serial, s.connection, s.state) for s in states] == [
            (s.serial, s.connection, s.state) for s in status.states
        ]


def test_libreswan_model_keeps_instances_and_idle_connections() -> None:
    """The east (responder) recording maps to IKE SAs `east`[2] and westnet-eastnet, no child
    SAs, and three configured connections including the idle eastnet-northnet."""
    status = ipsec.parse_libreswan_status(
        (
            FIXTURES
            / "libreswan"
            / "ipsec-status"
            / "responder-instance-and-idle-conn"
            / "output.txt"
        ).read_text()
    )
    model = ipsec.libreswan_status(status)
    assert [
        ("east", "[2] 192.1.2.45", True, "192.1.2.45", 0),
        ("westnet-eastnet", "", True, "192.1.2.45", 0),
    ] == [
        (sa.name, sa.instance, sa.established, sa.remote_host, len(sa.children))
        for sa in model.ike_sas
    ]
    assert ["east", "eastnet-northnet", "westnet-eastnet"] == [c.name for c in model.connections]


def test_libreswan_child_with_traffic_hangs_under_its_ike_sa() -> None:
    """A child state names its IKE SA (`IKE SA #1`); trafficstatus bytes attach to it."""
    status = ipsec.parse_libreswan_status(
        "000 Connection list:\n"
        '000 "tun": 10.0.1.0/24===192.1.2.45...192.1.2.23===10.0.2.0/24; erouted; '
        "eroute owner: #2\n"
        "000 State Information: DDoS cookies not required, Accepting new IKE connections\n"
        '000 #1: "tun":500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 27000s; '
        "REPLACE in 28770s; newest; idle;\n"
        '000 #2: "tun":500 STATE_V2_ESTABLISHED_CHILD_SA (IPsec SA established); REKEY in 27800s; '
        "REPLACE in 28770s; newest; eroute owner; IKE SA #1; idle;\n"
        '000 #2: "tun" esp.1@192.1.2.23 esp.2@192.1.2.45 tun.0@192.1.2.23 tun.0@192.1.2.45 '
        "Traffic: ESPin=2KB ESPout=84B ESPmax=2^63B\n"
    )
    traffic = ipsec.parse_libreswan_trafficstatus(
        "006 #2: \"tun\", type=ESP, add_time=1700000000, inBytes=2100, outBytes=84, id='@b'\n"
    )
    (sa,) = ipsec.libreswan_status(status, traffic, now_epoch=1700000100).ike_sas
    (child,) = sa.children
    assert ("#1", "#2", True, 2100, 84, 100, ("10.0.1.0/24",), ("10.0.2.0/24",)) == (
        sa.unique_id,
        child.unique_id,
        child.installed,
        child.bytes_in,
        child.bytes_out,
        child.installed_seconds,
        child.local_ts,
        child.remote_ts,
    )
    assert (2048, 84) == (status.states[1].bytes_in, status.states[1].bytes_out)

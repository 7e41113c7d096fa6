"""IPsec parsers on recorded strongSwan and libreswan output (here and in public test suites)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holdtime.cli.parse import parse_text, parser_for
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
# outputs that always print their sections: empty output is an error, never "no SAs"
SECTIONED_PARSERS: list[Callable[[str], Any]] = [
    ipsec.parse_libreswan_status,
    ipsec.parse_libreswan_briefstatus,
    ipsec.parse_stroke_statusall,
    ipsec.parse_stroke_status,
]
PARSERS: list[Callable[[str], Any]] = [*LISTING_PARSERS, *SECTIONED_PARSERS]


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
    """Each fixture names command, version and procedure; others' recordings name their source."""
    assert CASES
    for case in CASES:
        meta = json.loads((case / "meta.json").read_text())
        assert (case.parent.parent.name, False) == (meta["tool"], meta["edited"])
        assert meta["command"]
        assert meta["how"]
        if meta["recorded_here"]:
            assert meta["version"].split()[0] in {"4.10", "5.9.8"}
        else:
            assert meta["repository"].startswith("https://github.com/")
            assert re.fullmatch(r"[0-9a-f]{40}", meta["commit"])
            assert meta["path"]
            assert meta["licence"]


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


@pytest.mark.parametrize("parser", SECTIONED_PARSERS, ids=lambda f: f.__name__)
def test_empty_status_raises_parse_error(parser: Callable[[str], Any]) -> None:
    """`ipsec status`/`statusall`/`briefstatus` always print their sections: empty is an error."""
    with pytest.raises(ParseError):
        parser("")


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


def _fixture(tool: str, command: str, case: str) -> str:
    return (FIXTURES / tool / command / case / "output.txt").read_text()


@pytest.mark.parametrize(
    ("command", "case", "expected"),
    [
        (
            "ipsec-status",
            "v3.32-prospective-erouted",
            [("westnet-eastnet-ikev2", "prospective erouted")],
        ),
        ("ipsec-status", "v5.0-routed-ondemand", [("westnet-eastnet-ikev2", "routed-ondemand")]),
        (
            "ipsec-auto-status",
            "v5.4-ikev1-isakmp-established-routed-tunnel",
            [("northnet-westnet-ipv4-psk", "routed-tunnel")],
        ),
    ],
)
def test_libreswan_multi_word_routing_keeps_the_connection(
    command: str, case: str, expected: list[tuple[str, str]]
) -> None:
    """A connection whose routing is `prospective erouted` (or a 5.x routing line) is listed."""
    status = ipsec.parse_libreswan_status(_fixture("libreswan", command, case))
    assert expected == [(c.name, c.routing) for c in status.connections]


def test_libreswan_oe_templates_and_instances_are_connections() -> None:
    """OE templates (`private-or-clear#192.1.2.0/24`) count as connections, as pluto counts them."""
    status = ipsec.parse_libreswan_status(
        _fixture("libreswan", "ipsec-auto-status", "v4.10-oe-template-prospective-erouted")
    )
    assert 9 == status.counts.loaded_connections == len(status.connections)
    assert ("private-or-clear#192.1.2.0/24", "prospective erouted") in [
        (c.name, c.routing) for c in status.connections
    ]


def test_libreswan_5_4_state_lines_without_state_token_are_established() -> None:
    """5.4's `#1: "conn":500 ISAKMP SA established; ...` is an established IKEv1 SA with a child."""
    status = ipsec.parse_libreswan_status(
        _fixture("libreswan", "ipsec-auto-status", "v5.4-ikev1-isakmp-established-routed-tunnel")
    )
    (sa,) = ipsec.libreswan_status(status).ike_sas
    (child,) = sa.children
    assert ("#1", "ISAKMP SA established", True, "IKEv1") == (
        sa.unique_id,
        sa.state,
        sa.established,
        sa.version,
    )
    assert ("#2", True, 0, 0) == (child.unique_id, child.installed, child.bytes_in, child.bytes_out)


def test_libreswan_pending_child_is_a_child_not_installed() -> None:
    """`#4: pending Child SA for "static"` is a child of IKE SA #4 that is not installed."""
    status = ipsec.libreswan_showstates_status(
        _fixture("libreswan", "ipsec-showstates", "v5.4-pending-child")
    )
    model = ipsec.libreswan_status(status)
    assert [
        ("#4", False, [("PENDING", False)]),
        ("#5", True, [("established Child SA", True)]),
    ] == [
        (sa.unique_id, sa.established, [(c.state, c.installed) for c in sa.children])
        for sa in model.ike_sas
    ]


def test_libreswan_labelled_instance_keeps_both_instance_numbers() -> None:
    """A labelled child `"labeled"[1][1]` keeps `[1][1]` and hangs under IKE SA #1 `[1]`."""
    states = ipsec.parse_libreswan_showstates(
        _fixture("libreswan", "ipsec-showstates", "v5.4-labelled-instance")
    )
    assert [(1, "[1] 192.1.2.45", False), (2, "[1][1] 192.1.2.45", True)] == [
        (s.serial, s.instance, s.is_child) for s in states
    ]
    rows = ipsec.parse_libreswan_trafficstatus(
        _fixture("libreswan", "ipsec-trafficstatus", "v5.4-labelled-instance")
    )
    assert [("labeled", "[1][1] 192.1.2.23")] == [(r.connection, r.instance) for r in rows]


def test_libreswan_oe_instance_traffic_row() -> None:
    """`"private-or-clear#192.1.2.0/24"[1] ...192.1.2.23, type=ESP, ...` parses with its peer."""
    (row,) = ipsec.parse_libreswan_trafficstatus(
        _fixture("libreswan", "ipsec-whack-trafficstatus", "v5.4-oe-instance")
    )
    assert ("private-or-clear#192.1.2.0/24", "[1] ...192.1.2.23", 84, 84) == (
        row.connection,
        row.instance,
        row.bytes_in,
        row.bytes_out,
    )


def test_libreswan_traffic_row_without_counters_is_unknown_not_zero() -> None:
    """A trafficstatus row with no inBytes/outBytes has counters None (unknown), never 0."""
    (row,) = ipsec.parse_libreswan_trafficstatus(
        _fixture("libreswan", "ipsec-trafficstatus", "v5.0-no-byte-counters")
    )
    assert ("interop", None, None, "@east") == (
        row.connection,
        row.bytes_in,
        row.bytes_out,
        row.peer_id,
    )


def _without_line(text: str, needle: str) -> str:
    """The output with every line containing `needle` lost (as a filter or a bad copy would)."""
    kept = [line for line in text.splitlines(keepends=True) if needle not in line]
    assert len(kept) < len(text.splitlines())
    return "".join(kept)


@pytest.mark.parametrize(
    ("needle", "says"),
    [
        ('#1: "northnet-westnet-ipv4-psk":500', "IKE SAs: total(1) but 0"),
        ('#2: "northnet-westnet-ipv4-psk":500', "IPsec SAs: total(1) but 0"),
        ('"northnet-westnet-ipv4-psk": 192.0.3.0/24', None),
    ],
)
def test_libreswan_printed_counts_win_over_what_was_read(needle: str, says: str | None) -> None:
    """A state line lost before parsing makes pluto's totals disagree: ParseError, not 'no SAs'."""
    text = _fixture("libreswan", "ipsec-auto-status", "v5.4-ikev1-isakmp-established-routed-tunnel")
    if says is None:  # the main line of the only connection: its detail lines still name it
        status = ipsec.parse_libreswan_status(_without_line(text, needle))
        assert ["northnet-westnet-ipv4-psk"] == [c.name for c in status.connections]
        return
    with pytest.raises(ParseError, match=re.escape(says)):
        ipsec.parse_libreswan_status(_without_line(text, needle))


def test_libreswan_connection_count_disagreement_is_parse_error() -> None:
    """`Total IPsec connections: loaded 9` with 8 connections read is a ParseError."""
    text = _fixture("libreswan", "ipsec-auto-status", "v4.10-oe-template-prospective-erouted")
    kept = [line for line in text.splitlines(keepends=True) if '"block"' not in line]
    with pytest.raises(ParseError, match="loaded 9 but 8"):
        ipsec.parse_libreswan_status("".join(kept))


@pytest.mark.parametrize(
    ("command", "case", "says"),
    [
        (
            "ipsec statusall",
            "initiator-ikev2-ikev1-connecting-idle",
            "3 IKE SAs (up + connecting) but 2",
        ),
        (
            "ipsec status",
            "initiator-ikev2-ikev1-connecting-idle",
            "3 IKE SAs (up + connecting) but 2",
        ),
    ],
)
def test_stroke_printed_count_wins(command: str, case: str, says: str) -> None:
    """`Security Associations (2 up, 1 connecting)` with an IKE SA line lost is a ParseError."""
    text = _fixture("strongswan", command.replace(" ", "-"), case)
    with pytest.raises(ParseError, match=re.escape(says)):
        parser_for("strongswan", command)(_without_line(text, "dead[3]: "))


def test_stroke_statusall_reads_the_recorded_initiator() -> None:
    """The recorded initiator: 5 connections (one routed), 3 IKE SAs, byte counters per child."""
    model = ipsec.parse_stroke_statusall(
        _fixture("strongswan", "ipsec-statusall", "initiator-ikev2-ikev1-connecting-idle")
    )
    assert ["tun", "ondemand", "v1", "dead", "idle"] == [c.name for c in model.connections]
    assert [
        ("dead", "CONNECTING", "IKEv2", []),
        ("v1", "ESTABLISHED", "IKEv1", [("#3", "INSTALLED", "TUNNEL-in-UDP", 168, 168)]),
        ("tun", "ESTABLISHED", "IKEv2", [("#1", "INSTALLED", "TUNNEL-in-UDP", 252, 252)]),
    ] == [
        (
            sa.name,
            sa.state,
            sa.version,
            [(c.unique_id, c.state, c.mode, c.bytes_in, c.bytes_out) for c in sa.children],
        )
        for sa in model.ike_sas
    ]
    tun = model.ike_sas[2].children[0]
    assert (("10.1.0.0/24", "10.1.1.0/24"), ("10.2.0.0/24", "10.2.1.0/24")) == (
        tun.local_ts,
        tun.remote_ts,
    )


def test_stroke_status_and_statusall_agree_on_sas() -> None:
    """`ipsec status` and `ipsec statusall` of one moment give the same IKE and child SAs."""
    for case in ("initiator-ikev2-ikev1-connecting-idle", "responder-two-tunnels"):
        short = ipsec.parse_stroke_status(_fixture("strongswan", "ipsec-status", case))
        full = ipsec.parse_stroke_statusall(_fixture("strongswan", "ipsec-statusall", case))
        assert [
            (sa.name, sa.unique_id, sa.state, [(c.unique_id, c.state) for c in sa.children])
            for sa in full.ike_sas
        ] == [
            (sa.name, sa.unique_id, sa.state, [(c.unique_id, c.state) for c in sa.children])
            for sa in short.ike_sas
        ]


@pytest.mark.parametrize(
    ("platform", "command"),
    [
        ("libreswan", "ipsec auto --status"),
        ("libreswan", "ipsec whack --status"),
        ("libreswan", "ipsec showstates"),
        ("libreswan", "ipsec whack --showstates"),
        ("libreswan", "ipsec whack --trafficstatus"),
        ("libreswan", "ipsec briefstatus"),
        ("strongswan", "ipsec statusall"),
        ("strongswan", "strongswan statusall"),
        ("strongswan", "ipsec status"),
    ],
)
def test_holdtime_parse_accepts_every_ipsec_spelling(platform: str, command: str) -> None:
    """`holdtime parse` knows each spelling operators type for the IPsec status commands."""
    assert callable(parser_for(platform, command))


def test_libreswan_briefstatus_counts() -> None:
    """Recorded `ipsec briefstatus`: pluto's totals, equal to what `ipsec status` said then."""
    brief = ipsec.parse_libreswan_briefstatus(
        _fixture("libreswan", "ipsec-briefstatus", "west-two-peers-ondemand-oe-never")
    )
    status = ipsec.parse_libreswan_status(
        _fixture("libreswan", "ipsec-status", "west-two-peers-ondemand-oe-never")
    )
    assert (ipsec.LibreswanCounts(ike_sas=3, ipsec_sas=0), 3, 9) == (
        brief,
        status.counts.ike_sas,
        status.counts.loaded_connections,
    )


def test_unknown_line_error_names_command_line_and_text() -> None:
    """An unknown line raises ParseError `line N of `ipsec status` not understood: TEXT`."""
    text = _fixture("libreswan", "ipsec-status", "v5.0-routed-ondemand").splitlines(keepends=True)
    text.insert(6, "frobnicated 3 tunnels\n")
    with pytest.raises(ParseError) as caught:
        ipsec.parse_libreswan_status("".join(text))
    assert "line 7 of `ipsec status` not understood: 'frobnicated 3 tunnels'" == str(caught.value)


def test_stroke_bypass_lan_shunts_are_not_tunnels() -> None:
    """`Bypass LAN 192.0.2.0/24:  ... PASS` shunts (names with blanks) are read as noise."""
    model = ipsec.parse_stroke_statusall(
        _fixture("strongswan", "ipsec-statusall", "libreswan-interop-bypass-lan-no-sa")
    )
    assert (["westnet-eastnet-ikev2-esp-null"], ()) == (
        [c.name for c in model.connections],
        model.ike_sas,
    )

"""FRR parsers on recorded output (FRR 8.4 here, 7.x from public projects), empty, garbage, fuzz."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holdtime.cli.parse import logical_command, parse_text, parser_for
from holdtime.errors import ParseError
from holdtime.probes import frr

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "frr"
CASES = sorted(p.parent for p in FIXTURES.glob("*/*/meta.json"))

PARSERS: list[Callable[[str], Any]] = [
    frr.parse_frr_bgp_summary_json,
    frr.parse_frr_bgp_ipv6_summary_json,
    frr.parse_frr_bgp_summary_text,
    frr.parse_frr_bgp_ipv6_summary_text,
    frr.parse_frr_bgp_neighbors_json,
    frr.parse_frr_bgp_route_json,
    frr.parse_frr_bfd_peers_json,
    frr.parse_frr_bfd_peers_text,
    frr.parse_sysctl_ip_forward,
]


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recorded_output_parses_to_expected(case: Path) -> None:
    """Every recorded FRR output parses to its expected.json (or raises ParseError as recorded)."""
    meta = json.loads((case / "meta.json").read_text())
    expected = json.loads((case / "expected.json").read_text())
    text = (case / "output.txt").read_text()
    if isinstance(expected, dict) and expected.get("raises") == "ParseError":
        with pytest.raises(ParseError) as caught:
            parse_text("frr", meta["command"], text)
        assert 1 == len(str(caught.value).splitlines())
    else:
        assert expected == parse_text("frr", meta["command"], text)


def test_every_fixture_has_meta_naming_command_version_and_provenance() -> None:
    """Each FRR fixture names command, version and how it was made; public ones their source."""
    assert CASES
    for case in CASES:
        meta = json.loads((case / "meta.json").read_text())
        expected = json.loads((case / "expected.json").read_text())
        assert ("frr", True, True) == (meta["tool"], "command" in meta, "how" in meta)
        if meta.get("recorded_here", True):
            assert (False, True) == (meta["edited"], meta["version"].startswith("8.4"))
        else:
            assert {"repository", "path", "commit", "licence"} <= set(meta)
            # an edited public file may only be kept as a case that must be refused
            assert meta["edited"] is False or expected == {"raises": "ParseError"}


@pytest.mark.parametrize("parser", PARSERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("text", ["", "   \n", "garbage\nmore garbage\n", "{not json", "[1, 2"])
def test_empty_and_garbage_raise_parse_error(parser: Callable[[str], Any], text: str) -> None:
    """Empty or garbage input raises ParseError, never another exception."""
    with pytest.raises(ParseError):
        parser(text)


@pytest.mark.parametrize("parser", PARSERS, ids=lambda f: f.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_fuzzed_text_raises_only_parse_error(parser: Callable[[str], Any], text: str) -> None:
    """Arbitrary text either parses or raises ParseError."""
    with contextlib.suppress(ParseError):
        parser(text)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "default",
                    "ipv4Unicast",
                    "peers",
                    "state",
                    "bgpState",
                    "peer",
                    "status",
                    "paths",
                    "prefix",
                    "nexthops",
                    "peerBfdInfo",
                    "addressFamilyInfo",
                    "10.10.10.2",
                    "pfxRcd",
                    "remoteAs",
                    "bestpath",
                    "aspath",
                    "advertisedTo",
                    "vrfName",
                    "uptime",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@pytest.mark.parametrize("parser", PARSERS[:-1], ids=lambda f: f.__name__)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_JSON)
def test_fuzzed_json_shapes_raise_only_parse_error(
    parser: Callable[[str], Any], document: Any
) -> None:
    """Any JSON document with FRR-like keys either parses or raises ParseError."""
    with contextlib.suppress(ParseError):
        parser(json.dumps(document))


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_truncated_and_corrupted_recordings_raise_only_parse_error(case: Path, data: Any) -> None:
    """A recorded output cut or corrupted anywhere either parses or raises ParseError."""
    meta = json.loads((case / "meta.json").read_text())
    text = (case / "output.txt").read_text()
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.text(max_size=5))
    with contextlib.suppress(ParseError):
        parser_for("frr", meta["command"])(text[:cut] + insert + text[cut + 3 :])


def test_uptime_formats_convert_to_seconds() -> None:
    """FRR's Up/Down column formats (hh:mm:ss, 1d02h03m, 01w2d03h, never) become seconds."""
    assert [35.0, 93780.0, 788400.0, None] == [
        frr.parse_frr_uptime(t) for t in ("00:00:35", "1d02h03m", "01w2d03h", "never")
    ]


def test_sysctl_output_forms_parse() -> None:
    """`sysctl net.ipv4.ip_forward` and `sysctl -n` output (as recorded in the htrp- lab) parse."""
    assert [False, True, True] == [
        frr.parse_sysctl_ip_forward(t)
        for t in ("net.ipv4.ip_forward = 0\n", "net.ipv4.ip_forward = 1\n", "1\n")
    ]


def test_sysctl_error_raises_parse_error() -> None:
    """sysctl's own error message (recorded) is a ParseError."""
    with pytest.raises(ParseError):
        frr.parse_sysctl_ip_forward(
            "sysctl: cannot stat /proc/sys/net/ipv4/ip_forwar: No such file or directory\n"
        )


def test_vtysh_wrapped_commands_map_to_the_same_parser() -> None:
    """`vtysh -c '...'` and `sudo -n vtysh -c ...` name the same parser as the bare command."""
    assert "show bgp vrf all summary json" == logical_command(
        "frr", "sudo -n vtysh -c 'show bgp vrf all summary json'"
    )
    assert frr.parse_frr_bgp_summary_json is parser_for(
        "frr", "vtysh -c 'show bgp vrf all summary json'"
    )


def test_text_summary_agrees_with_json_summary() -> None:
    """The plain-text summary gives the same peers, states and counts as the JSON one."""
    for case in ("both-established", "esg1-admin-shutdown", "esg1-silent-drop-bfd-down"):
        json_peers = frr.parse_frr_bgp_summary_json(
            (FIXTURES / "show-bgp-vrf-all-summary-json" / case / "output.txt").read_text()
        )
        text_peers = frr.parse_frr_bgp_summary_text(
            (FIXTURES / "show-bgp-vrf-all-summary" / case / "output.txt").read_text()
        )
        # the text prints a received count only while Established (unknown, not 0, otherwise)
        assert [
            (
                p.address,
                p.remote_as,
                p.state,
                p.established,
                p.prefixes_received if p.established else None,
                p.description,
            )
            for p in json_peers
        ] == [
            (p.address, p.remote_as, p.state, p.established, p.prefixes_received, p.description)
            for p in text_peers
        ]


def _parsed(command_dir: str, case: str = "both-established") -> Any:
    """A fixture parsed by the parser `holdtime parse` picks for its recorded command."""
    folder = FIXTURES / command_dir / case
    meta = json.loads((folder / "meta.json").read_text())
    return parser_for("frr", meta["command"])((folder / "output.txt").read_text())


def test_every_summary_spelling_reads_the_same_peers() -> None:
    """Flat, family-nested and VRF-nested JSON and the text forms give the same IPv4 peers."""
    forms = [
        "show-ip-bgp-summary-json",
        "show-bgp-summary-json",
        "show-bgp-ipv4-summary-json",
        "show-bgp-ipv4-unicast-summary-json",
        "show-bgp-vrf-all-ipv4-unicast-summary-json",
        "show-ip-bgp-vrf-all-summary-json",
        "show-ip-bgp-summary",
        "show-bgp-ipv4-unicast-summary",
    ]
    read = {
        form: [(p.vrf, p.afi_safi, p.address, p.remote_as, p.state) for p in _parsed(form)]
        for form in forms
    }
    expected = [
        ("default", "ipv4Unicast", "10.10.10.2", 65010, "Established"),
        ("default", "ipv4Unicast", "10.10.10.6", 65010, "Established"),
    ]
    assert dict.fromkeys(forms, expected) == read


def test_an_empty_family_is_no_peers_in_every_spelling() -> None:
    """`{}`, `{"default":{}}` and `% No BGP neighbors found` (FRR 8.4, no IPv6 peer): no peers."""
    forms = [
        "show-bgp-ipv6-summary-json",
        "show-bgp-ipv6-unicast-summary-json",
        "show-bgp-vrf-all-ipv6-unicast-summary-json",
        "show-bgp-ipv6-summary",
    ]
    assert dict.fromkeys(forms, ()) == {form: _parsed(form) for form in forms}


def test_a_printed_peer_count_that_disagrees_refuses_the_output() -> None:
    """totalPeers 2 over 3 peers (frr_exporter's test data): ParseError naming the key path."""
    case = FIXTURES / "show-bgp-vrf-all-ipv4-summary-json" / "frr-exporter-totalpeers-mismatch"
    with pytest.raises(ParseError) as caught:
        frr.parse_frr_bgp_summary_json((case / "output.txt").read_text())
    assert (
        "`show bgp summary json`: default.ipv4Unicast.totalPeers: FRR counts 2 peers, 3 were read"
        == str(caught.value)
    )


def test_text_total_that_disagrees_with_the_rows_is_refused() -> None:
    """`Total number of neighbors` of the recorded text, with a row removed: ParseError."""
    text = (FIXTURES / "show-ip-bgp-summary" / "both-established" / "output.txt").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("10.10.10.6")]
    with pytest.raises(ParseError) as caught:
        frr.parse_frr_bgp_summary_text("\n".join(lines))
    assert "FRR counts 2 neighbors, 1 rows were read" in str(caught.value)


def test_unknown_text_line_names_command_line_and_text() -> None:
    """An unknown line in the recorded text summary is refused with its number and text."""
    text = (FIXTURES / "show-ip-bgp-summary" / "both-established" / "output.txt").read_text()
    lines = text.splitlines()
    lines.insert(3, "Graceful restart: 2 peers pending")
    with pytest.raises(ParseError) as caught:
        frr.parse_frr_bgp_summary_text("\n".join(lines))
    assert "`show bgp summary` line 4 not understood: 'Graceful restart: 2 peers pending'" == str(
        caught.value
    )


def test_bfd_text_and_json_agree() -> None:
    """The text `show bfd peers` reads the same sessions, states and timers as the JSON."""
    for case in ("esg1-bfd-dropped",):  # both recorded in the same hfr- lab state
        json_peers = frr.parse_frr_bfd_peers_json(
            (FIXTURES / "show-bfd-peers-json" / case / "output.txt").read_text()
        )
        text_peers = frr.parse_frr_bfd_peers_text(
            (FIXTURES / "show-bfd-peers" / case / "output.txt").read_text()
        )
        keys = ("peer", "vrf", "status", "local", "interface", "detect_multiplier", "diagnostic")
        assert [tuple(getattr(p, k) for k in keys) for p in json_peers] == [
            tuple(getattr(p, k) for k in keys) for p in text_peers
        ]


def test_every_spelling_is_allowlisted_and_has_a_parser() -> None:
    """Each command a fixture was recorded with is on the frr allowlist and names a parser."""
    from holdtime.probes import commands

    for case in CASES:
        command = logical_command("frr", json.loads((case / "meta.json").read_text())["command"])
        assert (command, True) == (command, commands.is_allowed("frr", command))
        assert callable(parser_for("frr", command))


def _lab_text(command_dir: str = "show-bgp-vrf-all-summary", case: str = "both-established") -> str:
    return (FIXTURES / command_dir / case / "output.txt").read_text()


def test_frr10_header_spellings_read_like_the_recorded_ones() -> None:
    """The 8.4 recording respelled with FRR 10's format strings (bgpd/bgp_vty.c) reads the same.

    FRR 10 heads a family `IPv4 Unicast Summary:` and names the VRF in the router line
    (`local AS number %s %s vrf-id %d`, name_pretty "VRF default"). Derived input, not a fixture.
    """
    recorded = _lab_text()
    respelled = recorded.replace("IPv4 Unicast Summary (VRF default):", "IPv4 Unicast Summary:")
    respelled = respelled.replace(
        "local AS number 64555 vrf-id 0", "local AS number 64555 VRF default vrf-id 0"
    )
    assert respelled != recorded
    assert frr.parse_frr_bgp_summary_text(recorded) == frr.parse_frr_bgp_summary_text(respelled)


def test_noneg_and_show_hostname_rows_are_understood() -> None:
    """`NoNeg` (family not negotiated): Established, counts unknown; `host(addr)` names both."""
    recorded = _lab_text()
    row = next(line for line in recorded.splitlines() if line.startswith("10.10.10.6"))
    fields = row.split()
    respelled = f"esg2(10.10.10.6) {' '.join(fields[1:9])}        NoNeg    NoNeg {fields[-1]}"
    peers = frr.parse_frr_bgp_summary_text(recorded.replace(row, respelled))
    esg2 = peers[1]
    assert ("10.10.10.6", "esg2", "Established", True, None, None) == (
        esg2.address,
        esg2.hostname,
        esg2.state,
        esg2.established,
        esg2.prefixes_received,
        esg2.prefixes_sent,
    )


def test_asdot_numbers_convert_to_asplain() -> None:
    """`bgp asnotation dot` (FRR 9+) prints 1.10 for AS 65546; plain numbers pass through."""
    assert [65546, 65010, 65010] == [
        frr.as_number("1.10", "as"),
        frr.as_number("65010", "as"),
        frr.as_number(65010, "as"),
    ]


def test_an_odd_route_flag_is_refused_not_read_as_false() -> None:
    """`"valid":"yes"` in a recorded route lookup: ParseError naming the path, never `valid: no`."""
    text = _lab_text("show-bgp-ipv4-unicast-prefix-json")
    with pytest.raises(ParseError) as caught:
        frr.parse_frr_bgp_route_json(text.replace('"valid":true', '"valid":"yes"', 1))
    assert (
        "`show bgp ipv4 unicast PREFIX json`: 172.16.1.0/24.paths[0].valid: "
        "expected true/false, got 'yes'"
    ) == str(caught.value)

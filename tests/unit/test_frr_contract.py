"""Issue 12's contract on every FRR fixture: what is not understood never becomes PASS or FAIL.

Into each recorded output (FRR 8.4 from the lab, and the public recordings) hypothesis inserts an
unknown line (text outputs) or puts an unknown value into a field that carries state (JSON).
Either the parser raises ParseError, and the check that reads that output reports ERROR for
every target, or the parse is exactly the original one (the line was known noise).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from holdtime.checks.bgp import BfdPeerUpCheck, PeerEstablishedCheck, TimersCheck
from holdtime.cli.parse import parser_for
from holdtime.errors import ParseError
from holdtime.models import Status
from holdtime.plugins import Check, Target
from holdtime.probes import frr
from holdtime.probes.bgp_model import BgpState
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import BgpExpect, Router, RouterExpect, SshAuth

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "frr"
HEALTHY = "both-established"


def _cases() -> list[Path]:
    """Fixtures that parse (the refused ones prove their refusal in test_frr_parsers)."""
    cases = []
    for meta in sorted(FIXTURES.glob("*/*/meta.json")):
        expected = json.loads((meta.parent / "expected.json").read_text())
        command = json.loads(meta.read_text())["command"]
        if isinstance(expected, dict) and "raises" in expected:
            continue
        if "unicast 1" in command or "unicast 2" in command:
            continue  # route lookups: not a state-carrying read of this contract
        cases.append(meta.parent)
    return cases


CASES = _cases()
# A field whose value says what state something is in, per parser: an unknown value there must
# never be judged.
STATE_KEYS = {"state", "bgpState", "peerState", "idType", "status"}
# Counters FRR prints that a result reports (an Established peer without one is refused).
COUNTER_KEYS = {"pfxRcd", "prefixReceivedCount"}


def _command(case: Path) -> str:
    return str(json.loads((case / "meta.json").read_text())["command"])


def _target() -> Target:
    router = Router(
        name="r1",
        host="192.0.2.1",
        username="root",
        auth=SshAuth(agent=True),
        platforms=("frr",),
        expect=RouterExpect(bgp=BgpExpect(bfd=True)),
    )
    return Target(name="r1", device="r1", config=router)


def _healthy_state() -> BgpState:
    def read(command: str) -> str:
        return (FIXTURES / command / HEALTHY / "output.txt").read_text()

    return BgpState(
        peers=frr.parse_frr_bgp_summary_json(read("show-bgp-vrf-all-summary-json")),
        neighbors=frr.parse_frr_bgp_neighbors_json(read("show-bgp-vrf-all-neighbors-json")),
        bfd_peers=frr.parse_frr_bfd_peers_json(read("show-bfd-peers-json")),
    )


def _role(parse: Callable[[str], Any]) -> tuple[str, Check]:
    """The observation section an output fills and the check that reads it."""
    name = parse.__name__
    if "summary" in name:
        return "bgp", PeerEstablishedCheck()
    if "neighbors" in name:
        return "bgp.neighbors", TimersCheck()
    return "bfd", BfdPeerUpCheck()


def _statuses(case: Path, text: str) -> tuple[Any, list[Status]]:
    """(parsed value or the ParseError, statuses of the check reading it) as the probe builds."""
    parse = parser_for("frr", _command(case))
    section, check = _role(parse)
    state = _healthy_state()
    errors: dict[str, str] = {}
    try:
        parsed: Any = parse(text)
    except ParseError as exc:
        parsed, errors = exc, {section: f"r1: {exc}"}
    else:
        field = {"bgp": "peers", "bgp.neighbors": "neighbors", "bfd": "bfd_peers"}[section]
        state = BgpState(**{**_fields(state), field: parsed})
    observation = RouterObservation(
        device="r1",
        platforms=("frr",),
        collected_at=dt.datetime.now(dt.UTC),
        bgp=state,
        errors=errors,
    )
    return parsed, [r.status for r in check.evaluate(_target(), observation)]


def _fields(state: BgpState) -> dict[str, Any]:
    return {
        "peers": state.peers,
        "neighbors": state.neighbors,
        "routes": state.routes,
        "bfd_peers": state.bfd_peers,
        "source": state.source,
    }


def _paths(value: Any, keys: set[str], path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Key paths in a JSON document whose last key is one of `keys`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and not isinstance(item, dict | list):
                yield (*path, key)
            yield from _paths(item, keys, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, keys, (*path, index))


def _set(document: Any, path: tuple[Any, ...], value: object) -> None:
    for key in path[:-1]:
        document = document[key]
    if value is _DELETE:
        del document[path[-1]]
    else:
        document[path[-1]] = value


_DELETE = object()
# Values FRR prints in the state fields: a "replacement" equal to one of them is understood.
_KNOWN = (
    frr.BGP_STATES
    | {"Idle (Admin)", "Idle (PfxCt)", "OK", "Admin", "PfxCt", "Policy"}
    | {"ipv4", "ipv6", "interface"}
    | frr.BFD_STATUSES
    | {"Up", "Down", "Unknown", "Admin Down", "AdminDown"}
)
_LINE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    min_size=1,
    max_size=60,
).filter(lambda line: bool(line.strip()))

TEXT_CASES = [c for c in CASES if not _command(c).endswith("json'")]
# `{}` (no peers in the family) has no field to disturb: its own case is in test_frr_parsers.
JSON_CASES = [
    c
    for c in CASES
    if _command(c).endswith("json'")
    and any(_paths(json.loads((c / "output.txt").read_text()), STATE_KEYS))
]


def test_the_contract_covers_lab_and_public_recordings() -> None:
    """Text and JSON fixtures of every parser, lab and public, are under the contract test."""
    recorded_here = {json.loads((c / "meta.json").read_text()).get("recorded_here") for c in CASES}
    parsers = {parser_for("frr", _command(c)).__name__ for c in CASES}
    assert (True, True) == (bool(TEXT_CASES), bool(JSON_CASES))
    assert {False, True} <= recorded_here
    assert {
        "parse_frr_bgp_summary_json",
        "parse_frr_bgp_ipv6_summary_json",
        "parse_frr_bgp_summary_text",
        "parse_frr_bgp_ipv6_summary_text",
        "parse_frr_bgp_neighbors_json",
        "parse_frr_bfd_peers_json",
        "parse_frr_bfd_peers_text",
    } <= parsers


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_unknown_line_is_error_never_a_silent_verdict(case: Path, data: Any) -> None:
    """An unknown line anywhere in a text output: ParseError and ERROR, or an identical parse."""
    text = (case / "output.txt").read_text()
    lines = text.splitlines()
    at = data.draw(st.integers(0, len(lines)))
    line = data.draw(_LINE)
    original, original_statuses = _statuses(case, text)
    parsed, statuses = _statuses(case, "\n".join([*lines[:at], line, *lines[at:]]) + "\n")
    if isinstance(parsed, ParseError):
        assert [Status.ERROR] * len(statuses) == statuses
    else:
        assert (original, original_statuses) == (parsed, statuses)


@pytest.mark.parametrize("case", JSON_CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_odd_state_value_is_error_never_a_silent_verdict(case: Path, data: Any) -> None:
    """An unknown state value or a missing counter in JSON: ERROR, or still understood."""
    text = (case / "output.txt").read_text()
    document = json.loads(text)
    paths = list(_paths(document, STATE_KEYS)) + list(_paths(document, COUNTER_KEYS))
    path = data.draw(st.sampled_from(paths))
    if path[-1] in COUNTER_KEYS:
        value: object = _DELETE
    else:
        value = data.draw(st.text(max_size=12) | st.integers() | st.none())
        assume(value not in _KNOWN)
    _set(document, path, value)
    parsed, statuses = _statuses(case, json.dumps(document))
    if isinstance(parsed, ParseError):
        assert [Status.ERROR] * len(statuses) == statuses
        return
    original, original_statuses = _statuses(case, text)
    if path[-1] in COUNTER_KEYS:
        # Understood only where FRR need not print it: a peer that is not Established.
        assert not any(p.established and p.prefixes_received is None for p in parsed)
        assert original_statuses == statuses
    else:
        # A field of that name the parser does not read (it carries no state we judge).
        assert (original, original_statuses) == (parsed, statuses)

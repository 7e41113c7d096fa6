"""The `frr` platform's reader: BGP and BFD through vtysh, into the neutral BGP model.

Registered in probes/platforms.py; the parsers are in probes/frr.py. All reads of one call go
to vtysh in one batch (``vtysh -E -c A -c B``, see CommandReader.prefetch_frr).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from holdtime.errors import ParseError
from holdtime.probes import frr
from holdtime.probes.bgp_model import BfdPeer, BgpNeighbor, BgpRoute, BgpState

if TYPE_CHECKING:
    from holdtime.probes.command_reader import CommandReader
    from holdtime.probes.router_config import Router, RouterExpect

T = TypeVar("T")

SUMMARY_JSON = "show bgp vrf all summary json"
NEIGHBORS_JSON = "show bgp vrf all neighbors json"
BFD_JSON = "show bfd peers json"


def expected_prefixes(expect: RouterExpect) -> tuple[str, ...]:
    """Every prefix the BGP expectations mention (received, sent, best paths), in order."""
    prefixes: list[str] = []
    for neighbor in expect.bgp.neighbors:
        prefixes += [*neighbor.prefixes_received, *neighbor.prefixes_sent]
    prefixes += [best.prefix for best in expect.bgp.best_paths]
    return tuple(dict.fromkeys(prefixes))


def route_command(prefix: str) -> str:
    """The allowlisted read of one prefix's BGP table entry."""
    return f"show bgp ipv4 unicast {prefix} json"


def read_frr(
    reader: CommandReader,
    router: Router,
    prefixes: Sequence[str] = (),
    *,
    detail: bool = True,
) -> BgpState:
    """Summary (JSON, else text), neighbors, BFD and the routes of the expected prefixes.

    ``prefixes`` adds routes to read besides the ones the router's expectations name;
    ``detail=False`` leaves out the neighbor details and BFD (a drill's one-second poll).
    """
    wanted = list(dict.fromkeys((*expected_prefixes(router.expect), *prefixes)))
    reader.prefetch_frr(
        [
            SUMMARY_JSON,
            *([NEIGHBORS_JSON] if detail else []),
            *(route_command(prefix) for prefix in wanted),
            *([BFD_JSON] if detail else []),  # last: vtysh stops at "bfdd is not running"
        ]
    )
    peers, source = json_or_text(
        reader,
        SUMMARY_JSON,
        frr.parse_frr_bgp_summary_json,
        "show bgp vrf all summary",
        frr.parse_frr_bgp_summary_text,
    )
    neighbors: tuple[BgpNeighbor, ...] = ()
    if detail and source == "json":
        neighbors = (
            reader.section(
                "bgp.neighbors",
                lambda: frr.parse_frr_bgp_neighbors_json(reader.text("frr", NEIGHBORS_JSON)),
            )
            or ()
        )
    routes: dict[str, BgpRoute] = {}
    for prefix in wanted:
        route = reader.section(f"bgp.route {prefix}", functools.partial(read_route, reader, prefix))
        if route is not None:
            routes[prefix] = route
    bfd_peers = reader.section("bfd", lambda: read_bfd(reader)) if detail else None
    return BgpState(
        peers=peers, neighbors=neighbors, routes=routes, bfd_peers=bfd_peers, source=source
    )


def read_route(reader: CommandReader, prefix: str) -> BgpRoute:
    """One prefix's BGP table entry (no paths when the prefix is not in the table)."""
    route = frr.parse_frr_bgp_route_json(reader.text("frr", route_command(prefix)))
    return route if route.prefix else BgpRoute(prefix, (), ())


def json_or_text(
    reader: CommandReader,
    json_command: str,
    parse_json: Callable[[str], T],
    text_command: str,
    parse_text: Callable[[str], T],
) -> tuple[T, str]:
    """The JSON read, or the text read where vtysh gives no JSON: (value, "json" | "text").

    Only an answer that is not JSON at all (an FRR without `json` on that command: vtysh's
    `% Unknown command`) falls back to the text. A daemon that is not running, a failed command
    or a JSON output with something the parser does not understand is an error naming the
    device and the command: never a second reading that hides the first.
    """
    out = reader.run("frr", json_command)
    first = out.text.strip().splitlines()[0][:160] if out.text.strip() else "no output"
    if "is not running" in out.text:
        raise ParseError(f"{reader.device}: `{json_command}`: {first}")
    if out.exit_status == 0:
        try:
            return parse_json(out.stdout), "json"
        except ParseError as exc:
            if "not JSON" not in str(exc) and "vtysh answered" not in str(exc):
                detail = str(exc).split("`: ", 1)[-1] if str(exc).startswith("`") else str(exc)
                raise ParseError(f"{reader.device}: `{json_command}`: {detail}") from None
    elif not first.startswith("%"):
        raise ParseError(f"{reader.device}: `{json_command}` exited {out.exit_status}: {first}")
    return parse_text(reader.text("frr", text_command)), "text"


def read_bfd(reader: CommandReader) -> tuple[BfdPeer, ...]:
    """`show bfd peers json`; the text `show bfd peers` where vtysh has no JSON for it."""
    peers, _ = json_or_text(
        reader,
        BFD_JSON,
        frr.parse_frr_bfd_peers_json,
        "show bfd peers",
        frr.parse_frr_bfd_peers_text,
    )
    return peers

"""`holdtime lab status` wording: what a lab must run, and every missing piece named."""

from __future__ import annotations

from dataclasses import replace

from holdtime.lab.health import Findings, expected_daemons, problems, render

UP = Findings(
    prefix="hlb-",
    root="/run/holdtime-lab/hlb-",
    state="ok",
    stage="built",
    namespaces_missing=(),
    namespaces_present=7,
    stopped=(),
    bgp={"10.10.10.2": "Established", "10.10.10.6": "Established"},
    best_path="10.10.10.2",
    ipsec={"esg1": "INSTALLED", "esg2": "INSTALLED"},
    sessions_checked=True,
)


def test_expected_daemons_follow_bfd() -> None:
    """20 daemons without BFD (PyKMIP on kms included); bfdd on router, esg1, esg2 with it."""
    plain, with_bfd = expected_daemons(False), expected_daemons(True)
    assert (20, ["router-bfdd", "esg1-bfdd", "esg2-bfdd"]) == (
        len(plain),
        [name for name in with_bfd if name not in plain],
    )


def test_up_lab_renders_as_before() -> None:
    """A healthy lab: the headline and the router's BGP and IPsec lines, no problem."""
    assert [] == problems(UP)
    assert [
        "lab hlb-: up (/run/holdtime-lab/hlb-)",
        "  BGP 10.10.10.2: Established",
        "  BGP 10.10.10.6: Established",
        "  best path 172.16.1.0/24 via 10.10.10.2",
        "  IPsec esg1: INSTALLED",
        "  IPsec esg2: INSTALLED",
    ] == render(UP).splitlines()


def test_sessions_down_are_named() -> None:
    """Every process runs but one session is Active and one SA only ESTABLISHED: both named."""
    found = replace(
        UP,
        bgp={"10.10.10.2": "Active", "10.10.10.6": "Established"},
        ipsec={"esg1": "INSTALLED", "esg2": "ESTABLISHED"},
    )
    assert [
        "lab hlb-: NOT UP (/run/holdtime-lab/hlb-); `holdtime lab up --prefix hlb-` rebuilds it",
        "  missing: BGP 10.10.10.2 Established (now Active)",
        "  missing: IPsec esg2 CHILD SA installed (now ESTABLISHED)",
    ] == render(found).splitlines()[:3]


def test_router_not_running_skips_the_session_lines() -> None:
    """Without the router's holder nothing can be asked: one line says so, no stale BGP lines."""
    found = replace(
        UP, stage="holders", stopped=("router-namespace holder",), bgp={}, sessions_checked=False
    )
    assert [
        "lab hlb-: NOT UP (/run/holdtime-lab/hlb-); `holdtime lab up --prefix hlb-` rebuilds it",
        "  missing: a finished `holdtime lab up` (it stopped during: holders)",
        "  missing: processes namespace holder on router",
        "  missing: the router node (BGP and IPsec not checked)",
    ] == render(found).splitlines()


def test_absent_lab_is_down() -> None:
    """No state and no namespace: `down`, one problem (status exits 1)."""
    found = Findings("hlb-", "/run/holdtime-lab/hlb-", "missing", "", (), 0, ())
    assert (["the lab (nothing of it exists)"], "lab hlb-: down") == (
        problems(found),
        render(found),
    )


def test_busy_lab_says_what_runs() -> None:
    """While an `up` holds the lock, status names it and says to wait instead of to rebuild."""
    found = replace(UP, stage="ipsec", busy_with="`holdtime lab up --prefix hlb-` (pid 42)", bgp={})
    assert (
        "lab hlb-: NOT UP (/run/holdtime-lab/hlb-); `holdtime lab up --prefix hlb-` (pid 42)"
        " is running: wait for it"
    ) == render(found).splitlines()[0]

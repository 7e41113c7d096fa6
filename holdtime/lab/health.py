"""What a lab must run to be up, and how `holdtime lab status` names what is missing.

Pure functions over what `Lab` observed (its state file, namespaces, processes, the router's BGP
and IPsec state), so every wording is unit-tested without a lab.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from holdtime.lab.topology import (
    DOMAIN_CONTROLLERS,
    FRR_NODES,
    KMS_NODE,
    SSH_NODES,
    STRETCHED_PREFIX,
    TUNNELS,
)

# The router's BGP neighbors: the edges' tunnel addresses.
NEIGHBORS = tuple(t.edge_inner.split("/")[0] for t in TUNNELS)


def expected_daemons(bfd: bool) -> list[str]:
    """Names `up` records in state.json for every daemon a complete lab runs."""
    names = []
    for tunnel in TUNNELS:
        names += [f"{tunnel.edge}-charon-router", f"router-charon-{tunnel.name}"]
    for node in FRR_NODES:
        names.append(f"{node}-zebra")
        if bfd and node != "dr":
            names.append(f"{node}-bfdd")
        names.append(f"{node}-bgpd")
    names += [f"{node}-sshd" for node in SSH_NODES]
    names += [f"{node}-named" for node in DOMAIN_CONTROLLERS]
    names += [f"{node}-slapd" for node in DOMAIN_CONTROLLERS]
    names.append(f"{KMS_NODE}-pykmip")
    return names


def expected_holders() -> list[str]:
    """Nodes whose mount-namespace holder a complete lab runs."""
    return list(FRR_NODES)


@dataclass(frozen=True, slots=True)
class Findings:
    """What `lab status` observed about one lab; empty sessions when they could not be asked."""

    prefix: str
    root: str
    state: str  # "ok", "missing" or "damaged"
    stage: str  # the stage `up` reached ("built" when it finished)
    namespaces_missing: Sequence[str]
    namespaces_present: int
    stopped: Sequence[str]  # recorded or expected daemons that are not running
    bgp: Mapping[str, str] = field(default_factory=dict)
    best_path: str | None = None
    ipsec: Mapping[str, str] = field(default_factory=dict)
    sessions_checked: bool = False
    busy_with: str = ""  # "`holdtime lab up --prefix P` (pid N)" while that command runs

    @property
    def absent(self) -> bool:
        """Nothing of the lab exists: no state, no namespace."""
        return self.state == "missing" and self.namespaces_present == 0


def build_problems(findings: Findings) -> list[str]:
    """What is missing from the lab's pieces (state, namespaces, processes), one line each."""
    problems = []
    if findings.state == "missing":
        problems.append("state file state.json (absent)")
    elif findings.state == "damaged":
        problems.append("state file state.json (damaged: not JSON)")
    elif findings.stage != "built":
        problems.append(f"a finished `holdtime lab up` (it stopped during: {findings.stage})")
    if findings.namespaces_missing:
        problems.append(f"namespaces {', '.join(findings.namespaces_missing)}")
    if findings.stopped:
        problems.append(f"processes {_by_daemon(findings.stopped)}")
    return problems


def session_problems(findings: Findings) -> list[str]:
    """What is missing from BGP and IPsec on the router, one line each."""
    if not findings.sessions_checked:
        return ["the router node (BGP and IPsec not checked)"]
    problems = []
    for address in NEIGHBORS:
        state = findings.bgp.get(address)
        if state != "Established":
            now = f"now {state}" if state else "no answer from bgpd on router"
            problems.append(f"BGP {address} Established ({now})")
    for tunnel in TUNNELS:
        state = findings.ipsec.get(tunnel.name, "down")
        if state != "INSTALLED":
            problems.append(f"IPsec {tunnel.name} CHILD SA installed (now {state})")
    return problems


def problems(findings: Findings) -> list[str]:
    """Everything that keeps the lab from being up; empty when it is."""
    if findings.absent:
        return ["the lab (nothing of it exists)"]
    return build_problems(findings) + session_problems(findings)


def render(findings: Findings) -> str:
    """`holdtime lab status`: a headline, what is missing, then the router's BGP and IPsec."""
    missing = problems(findings)
    busy = f"; {findings.busy_with} is running" if findings.busy_with else ""
    if findings.absent:
        return f"lab {findings.prefix}: down{busy}"
    if not missing:
        lines = [f"lab {findings.prefix}: up ({findings.root})"]
    else:
        repair = f"`holdtime lab up --prefix {findings.prefix}` rebuilds it"
        advice = f"{busy}: wait for it" if busy else f"; {repair}"
        lines = [f"lab {findings.prefix}: NOT UP ({findings.root}){advice}"]
        lines += [f"  missing: {problem}" for problem in missing]
    if findings.sessions_checked:
        lines += [f"  BGP {address}: {state}" for address, state in sorted(findings.bgp.items())]
        lines.append(f"  best path {STRETCHED_PREFIX} via {findings.best_path}")
        lines += [f"  IPsec {name}: {state}" for name, state in findings.ipsec.items()]
    return "\n".join(lines)


def _by_daemon(names: Sequence[str]) -> str:
    """`bgpd on router, esg1; sshd on esg2` from `<node>-<daemon>` names, in first-seen order."""
    nodes: dict[str, list[str]] = {}
    for name in names:
        node, _, daemon = name.partition("-")
        nodes.setdefault(daemon, []).append(node)
    return "; ".join(f"{daemon} on {', '.join(on)}" for daemon, on in nodes.items())

"""FRR configs of the lab's nodes, rendered by pure functions (unit-tested)."""

from __future__ import annotations

from holdtime.lab.topology import (
    APP_PREFIX,
    DR_AS,
    EDGE_AS,
    ROUTER_AS,
    ROUTER_ID,
    STRETCHED_PREFIX,
    TUNNELS,
    Tunnel,
)

_BFD_PROFILE = """bfd
 profile fast
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 exit
exit
!
"""


def bfdd_conf(hostname: str) -> str:
    """bfdd's own config: the 300 ms x 3 profile the BGP neighbors refer to."""
    return f"hostname {hostname}\n!\n" + _BFD_PROFILE


def _neighbor(
    address: str, remote_as: int, timers: tuple[int, int], bfd: bool, description: str
) -> str:
    keepalive, hold = timers
    lines = [
        f" neighbor {address} remote-as {remote_as}",
        f" neighbor {address} description {description}",
        f" neighbor {address} timers {keepalive} {hold}",
        f" neighbor {address} timers connect 3",
    ]
    if bfd:
        lines.append(f" neighbor {address} bfd profile fast")
    return "\n".join(lines) + "\n"


def router_frr(timers: tuple[int, int], bfd: bool) -> str:
    """The router of the reference deployment: AS 64555, weight 2 on esg1, weight 1 on esg2."""
    esg1, esg2 = (t.edge_inner.split("/")[0] for t in TUNNELS)
    text = "frr defaults traditional\nhostname router\nlog stdout informational\n!\n"
    text += (
        "ip prefix-list PL-IN seq 5 permit 172.16.0.0/12 le 32\n"
        "ip prefix-list PL-OUT seq 5 permit 192.168.0.0/16 le 32\n"
        "route-map RMAP-IN permit 10\n match ip address prefix-list PL-IN\nexit\n"
        "route-map RMAP-OUT permit 10\n match ip address prefix-list PL-OUT\nexit\n!\n"
    )
    text += f"router bgp {ROUTER_AS}\n bgp router-id {ROUTER_ID}\n no bgp ebgp-requires-policy\n"
    text += f" timers bgp {timers[0]} {timers[1]}\n"
    text += _neighbor(esg1, EDGE_AS, timers, bfd, "esg1")
    text += _neighbor(esg2, EDGE_AS, timers, bfd, "esg2")
    text += " address-family ipv4 unicast\n"
    text += f"  network {APP_PREFIX}\n"
    for address, weight in ((esg1, 2), (esg2, 1)):
        text += (
            f"  neighbor {address} weight {weight}\n"
            f"  neighbor {address} soft-reconfiguration inbound\n"
            f"  neighbor {address} route-map RMAP-IN in\n"
            f"  neighbor {address} route-map RMAP-OUT out\n"
        )
    text += " exit-address-family\nexit\n!\n"
    return text


def edge_frr(tunnel: Tunnel, dr_address: str, timers: tuple[int, int], bfd: bool) -> str:
    """An edge gateway (AS 65010): BGP to the router over the tunnel and to the dr."""
    inner = tunnel.edge_inner.split("/")[0]
    router = tunnel.router_inner.split("/")[0]
    text = f"frr defaults traditional\nhostname {tunnel.edge}\nlog stdout informational\n!\n"
    text += f"router bgp {EDGE_AS}\n bgp router-id {inner}\n no bgp ebgp-requires-policy\n"
    text += f" timers bgp {timers[0]} {timers[1]}\n"
    text += _neighbor(router, ROUTER_AS, timers, bfd, "vpc-router-1")
    text += _neighbor(dr_address, DR_AS, (3, 9), False, "dr")
    text += " address-family ipv4 unicast\n"
    text += f"  neighbor {router} soft-reconfiguration inbound\n"
    text += " exit-address-family\nexit\n!\n"
    return text


def dr_frr(esg1_address: str, esg2_address: str) -> str:
    """The distributed router: originates the stretched network, prefers esg1 for the return."""
    text = "frr defaults traditional\nhostname dr\nlog stdout informational\n!\n"
    text += f"router bgp {DR_AS}\n bgp router-id 172.31.1.2\n no bgp ebgp-requires-policy\n"
    text += " timers bgp 3 9\n"
    text += _neighbor(esg1_address, EDGE_AS, (3, 9), False, "esg1")
    text += _neighbor(esg2_address, EDGE_AS, (3, 9), False, "esg2")
    text += " address-family ipv4 unicast\n"
    text += f"  network {STRETCHED_PREFIX}\n"
    text += f"  neighbor {esg1_address} weight 2\n  neighbor {esg2_address} weight 1\n"
    text += " exit-address-family\nexit\n!\n"
    return text

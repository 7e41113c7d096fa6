"""The inventory the lab writes: holdtime pointed at the lab, host keys verified."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from holdtime.lab.slapd import service_dn
from holdtime.lab.topology import (
    DNS_RECORDS,
    DNS_ZONE,
    DOMAIN_CONTROLLERS,
    KMS_ADDRESS,
    KMS_NODE,
    KMS_PORT,
    KMS_SERVER_NAME,
    LDAP_BASE_DN,
    LDAP_PASSWORD_ENV,
    MGMT_ADDRESSES,
    SSH_NODES,
    TUNNELS,
)

if TYPE_CHECKING:
    from holdtime.lab.lab import Lab


def render(lab: Lab) -> str:
    """The lab inventory as YAML text."""
    mgmt = lab.netns("mgmt")
    nft_file = lab.root / "esg1" / "drop-tunnel.nft"

    def router(node: str) -> dict[str, object]:
        entry: dict[str, object] = {
            "name": "vpc-router-1" if node == "router" else node,
            "host": MGMT_ADDRESSES[node],
            "username": "root",
            "auth": {"key_file": str(lab.root / "client_key")},
            "known_hosts": str(lab.known_hosts_path),
            "platform": ["frr", "strongswan"],
            "netns": mgmt,
            "timeouts": {"connect_seconds": 5, "command_seconds": 10},
        }
        if node == "router":
            entry["swanctl_uris"] = [lab.vici_uri(t.name) for t in TUNNELS]
            entry["expect"] = {
                "bgp": {
                    "neighbors": [
                        {
                            "address": "10.10.10.2",
                            "remote_as": 65010,
                            "prefixes_received": ["172.16.1.0/24"],
                            "prefixes_sent": ["192.168.1.0/24"],
                        },
                        {
                            "address": "10.10.10.6",
                            "remote_as": 65010,
                            "prefixes_received": ["172.16.1.0/24"],
                            "prefixes_sent": ["192.168.1.0/24"],
                        },
                    ],
                    "best_paths": [{"prefix": "172.16.1.0/24", "via": "10.10.10.2"}],
                    "bfd": lab.bfd,
                },
                "ipsec": {"tunnels": [t.name for t in TUNNELS]},
                "ip_forwarding": True,
            }
        else:
            entry["swanctl_uris"] = [lab.vici_uri("router", node)]
            entry["expect"] = {"ipsec": {"tunnels": ["router"]}, "ip_forwarding": True}
        return entry

    shutdown = "vtysh -c 'conf t' -c 'router bgp 65010' -c '{no}neighbor 10.10.10.1 shutdown'"
    document = {
        "version": 1,
        "routers": [router(node) for node in SSH_NODES],
        "tcp": [
            {"name": f"sshd-{node}", "host": MGMT_ADDRESSES[node], "port": 22, "netns": mgmt}
            for node in SSH_NODES
        ],
        "ping_paths": [
            {
                "name": "app-to-db",
                "source": {"netns": lab.netns("app")},
                "destination": "172.16.1.10",
                "interval_seconds": 0.2,
            },
            kms_ping_path(lab),
        ],
        "dns": dns_section(lab),
        "dns_paths": dns_paths_section(lab),
        "ldaps": ldaps_section(lab),
        "ldaps_paths": ldaps_paths_section(),
        "tls": tls_section(lab),
        "kmip": kmip_section(lab),
        "drills": {
            "esg1-bgp-shutdown": {
                "description": "Shut BGP on the active edge: traffic moves to esg2 and back.",
                "steady_state": ["bgp.*", "ipsec.*"],
                "probes": ["app-to-db"],
                "watch": ["vpc-router-1"],
                "trigger": {"ssh": "esg1", "command": shutdown.format(no="")},
                "restore": {"ssh": "esg1", "command": shutdown.format(no="no ")},
                "budget": {"max_outage_seconds": 5, "abort_outage_seconds": 60},
                "timing": {"settle_seconds": 3, "observe_seconds": 15, "clean_seconds": 3},
            },
            "esg1-silent-failure": {
                "description": "Drop all tunnel traffic on esg1: no NOTIFICATION, no FIN; "
                "failover waits for the hold timer (or BFD).",
                "probes": ["app-to-db"],
                "watch": ["vpc-router-1"],
                "trigger": {
                    "exec": ["nft", "-f", str(nft_file)],
                    "netns": lab.netns("esg1"),
                    "failure": "silent",
                },
                "restore": {
                    "exec": ["nft", "delete", "table", "inet", "holdtime_drill"],
                    "netns": lab.netns("esg1"),
                },
                "budget": {
                    "max_outage_seconds": max(5, lab.timers[1] + 2),
                    "abort_outage_seconds": 300,
                },
                # BFD (300 ms x 3) detects it within a second; without, the hold timer decides.
                # The failback waits for no timer: BGP reconnects (connect retry 3 s) at once.
                "timing": {
                    "settle_seconds": 3,
                    "observe_seconds": 6 if lab.bfd else lab.timers[1] + 8,
                    "failback_observe_seconds": 10,
                    "clean_seconds": 3,
                },
            },
        },
    }
    header = (
        f"# Written by `holdtime lab up --prefix {lab.prefix}`: the built-in lab.\n"
        "# SSH sockets open inside the lab's mgmt namespace (netns:); host keys are verified\n"
        "# against the lab's own known_hosts. The router runs one charon per tunnel, so each\n"
        "# tunnel's SAs are read through its own vici socket (swanctl_uris).\n"
        "# The ldaps entries bind with the lab's service account: before loading this file,\n"
        f"# export {LDAP_PASSWORD_ENV}=$(cat {lab.ldap_password_path})\n"
        "# The kmip entry authenticates to the key server on kms with the client certificate the\n"
        "# lab CA issued for holdtime (kmip-client/); a drill can probe the key server's\n"
        "# reachability across the failover with the app-to-kms ping path.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, width=100)


# -- issue 15: the directory controllers' DNS, asked from the app side across the tunnels ------
def dns_section(lab: Lab) -> list[dict[str, object]]:
    """The `dns:` group of the lab: dc1 and dc2, every lab node's name with its address."""
    return [
        {
            "name": "lab-directory",
            "resolvers": [
                {"name": node, "address": address} for node, address in DOMAIN_CONTROLLERS.items()
            ],
            "names": [
                {"name": f"{node}.{DNS_ZONE}", "addresses": [address]}
                for node, address in DNS_RECORDS.items()
            ],
            "timeout_seconds": 2,
            "netns": lab.netns("app"),
        }
    ]


def ldaps_section(lab: Lab) -> list[dict[str, object]]:
    """The `ldaps:` entries: each controller's LDAPS, bind and StartTLS, from the app side."""
    return [
        {
            "name": node,
            "host": address,
            "server_name": f"{node}.{DNS_ZONE}",
            "ca_file": str(lab.ca_path),
            "netns": lab.netns("app"),
            "base_dn": LDAP_BASE_DN,
            "bind_dn": service_dn(LDAP_BASE_DN),
            "password_env": LDAP_PASSWORD_ENV,
            "starttls_port": 389,
        }
        for node, address in DOMAIN_CONTROLLERS.items()
    ]


def tls_section(lab: Lab) -> list[dict[str, object]]:
    """The `tls:` entries: each controller's certificate on 636, from the app side."""
    return [
        {
            "name": f"{node}-ldaps",
            "host": address,
            "port": 636,
            "server_name": f"{node}.{DNS_ZONE}",
            "ca_file": str(lab.ca_path),
            "netns": lab.netns("app"),
        }
        for node, address in DOMAIN_CONTROLLERS.items()
    ]


# -- end issue 15 ---------------------------------------------------------------------------


# -- issue 15, during drills: a DNS query path (`dns_paths:`) a drill's probes can name -------
def dns_paths_section(lab: Lab) -> list[dict[str, object]]:
    """`dc1-db`: ask dc1 for db's name every 200 ms from app, across the tunnels.

    The resolver by its name in the `dns:` group: its address, and the group's netns (app).
    """
    return [
        {
            "name": "dc1-db",
            "resolver": "dc1",
            "query": f"db.{DNS_ZONE}",
            "interval_seconds": 0.2,
            "timeout_seconds": 1,
        }
    ]


# -- end dns_paths ----------------------------------------------------------------------------


# -- issue 15, during drills: an LDAPS handshake path (`ldaps_paths:`) a drill's probes can name
def ldaps_paths_section() -> list[dict[str, object]]:
    """`dc1-ldaps`: an LDAPS handshake to dc1 every 500 ms (its `ldaps:` entry: from app, the lab
    CA), across the tunnels."""
    return [
        {"name": "dc1-ldaps", "controller": "dc1", "interval_seconds": 0.5, "timeout_seconds": 1}
    ]


# -- end ldaps_paths --------------------------------------------------------------------------


# -- issue 16: the key server on kms, from the app side across the tunnels ---------------------
def kmip_section(lab: Lab) -> list[dict[str, object]]:
    """The `kmip:` entry: kms on 5696, mutual TLS with the lab CA and holdtime's client cert."""
    return [
        {
            "name": KMS_NODE,
            "host": KMS_ADDRESS,
            "port": KMS_PORT,
            "server_name": KMS_SERVER_NAME,
            "ca_file": str(lab.ca_path),
            "client_certificate": str(lab.kmip_client_dir / "client.pem"),
            "client_key": str(lab.kmip_client_dir / "client.key"),
            # a lab round trip takes milliseconds: 2 s keeps a dropped port's ERROR quick
            "timeout_seconds": 2,
            "netns": lab.netns("app"),
        }
    ]


def kms_ping_path(lab: Lab) -> dict[str, object]:
    """`app-to-kms`: the key server's reachability every 200 ms, for a drill's `probes:`."""
    return {
        "name": "app-to-kms",
        "source": {"netns": lab.netns("app")},
        "destination": KMS_ADDRESS,
        "interval_seconds": 0.2,
    }


# -- end issue 16 -----------------------------------------------------------------------------


NFT_DROP_TUNNEL = """table inet holdtime_drill {
  chain input {
    type filter hook input priority -10;
    iifname "up0" udp dport { 500, 4500 } drop
  }
  chain output {
    type filter hook output priority -10;
    oifname "up0" udp sport { 500, 4500 } drop
  }
}
"""


def write(lab: Lab) -> None:
    """Write the inventory and the drill helper files into the lab's state folder."""
    (lab.root / "esg1").mkdir(parents=True, exist_ok=True)
    (lab.root / "esg1" / "drop-tunnel.nft").write_text(NFT_DROP_TUNNEL)
    lab.inventory_path.write_text(render(lab))

"""The lab's addressing plan, as data: one place to read what talks to what.

::

                       mgmt 10.250.0.1/24 (bridge; holdtime's SSH sockets start here)
                 .2 |            .3 |             .4 |
   app ---------- router ===IPsec=== esg1 ---------- dr ---------- db
   192.168.1.5   AS 64555  10.10.10.1/.2  AS 65010  172.31.1.0/30  AS 65020  172.16.1.10
                 192.168.1.1  (over 100.64.1.0/30)      \\           172.16.1.1
                            ===IPsec=== esg2 ------------/
                             10.10.10.5/.6  AS 65010  172.31.2.0/30
                             (over 100.64.2.0/30)            |-- dc1 172.16.1.11
                                                                   |-- dc2 172.16.1.12
                                                                   `-- kms 172.16.1.13

The directory controllers dc1 and dc2 sit on the stretched segment 172.16.1.0/24 next to db (a
bridge `seg0` on dr holds 172.16.1.1), the way AD controllers sit on an NSX segment behind the
distributed router: the app side reaches them only across the IPsec tunnels, through whichever
edge carries the segment, so a tunnel failover is also the directory's failover. (Putting dc1
behind esg1 only and dc2 behind esg2 only would need a prefix per edge and change the BGP
picture every other test relies on.) Each runs bind9's named, authoritative for DNS_ZONE and
its reverse zones, and OpenLDAP's slapd (LDAPS on 636, StartTLS on 389) serving LDAP_BASE_DN
with a certificate from the lab's CA for `<dc>.DNS_ZONE` and its address.

The key server kms sits on the same segment the same way, as a KMIP cluster member sits next
to vCenter's management network behind the edges: PyKMIP's server on 5696 (holdtime.lab.kms)
with an RSA certificate of the lab's CA for `kms.DNS_ZONE` and its address, and client
certificate authentication (the lab CA issues holdtime's client certificate).

All addresses live only inside the lab's namespaces; the root namespace is not connected.
"""

from __future__ import annotations

from dataclasses import dataclass

NODES = ("mgmt", "app", "router", "esg1", "esg2", "dr", "db", "dc1", "dc2", "kms")
FRR_NODES = ("router", "esg1", "esg2", "dr")
SSH_NODES = ("router", "esg1", "esg2")
MGMT_ADDRESSES = {
    "mgmt": "10.250.0.1",
    "router": "10.250.0.2",
    "esg1": "10.250.0.3",
    "esg2": "10.250.0.4",
}
DB_ADDRESS = "172.16.1.10"
STRETCHED_PREFIX = "172.16.1.0/24"
APP_PREFIX = "192.168.1.0/24"


@dataclass(frozen=True, slots=True)
class Link:
    """A veth pair: (node, interface, address/len) on each side."""

    a: str
    a_if: str
    a_addr: str
    b: str
    b_if: str
    b_addr: str


LINKS = (
    Link("app", "eth0", "192.168.1.5/24", "router", "app0", "192.168.1.1/24"),
    Link("router", "up1", "100.64.1.1/30", "esg1", "up0", "100.64.1.2/30"),
    Link("router", "up2", "100.64.2.1/30", "esg2", "up0", "100.64.2.2/30"),
    Link("esg1", "dr0", "172.31.1.1/30", "dr", "esg1", "172.31.1.2/30"),
    Link("esg2", "dr0", "172.31.2.1/30", "dr", "esg2", "172.31.2.2/30"),
    # The stretched segment: dr's side of these links are ports of the bridge SEGMENT_BRIDGE.
    Link("dr", "db0", "", "db", "eth0", "172.16.1.10/24"),
    Link("dr", "dc10", "", "dc1", "eth0", "172.16.1.11/24"),
    Link("dr", "dc20", "", "dc2", "eth0", "172.16.1.12/24"),
    Link("dr", "kms0", "", "kms", "eth0", "172.16.1.13/24"),
)
SEGMENT_BRIDGE = ("dr", "seg0", "172.16.1.1/24")  # node, bridge, gateway address of the segment
DEFAULT_ROUTES = {
    "app": "192.168.1.1",
    "db": "172.16.1.1",
    "dc1": "172.16.1.1",
    "dc2": "172.16.1.1",
    "kms": "172.16.1.1",
}

# -- DNS of the directory controllers (holdtime.lab.dns_server) -----------------------------
DNS_ZONE = "lab.holdtime.test"  # .test: reserved (RFC 6761), never leaks to a real resolver
DOMAIN_CONTROLLERS = {"dc1": "172.16.1.11", "dc2": "172.16.1.12"}
# The directory slapd serves on both controllers (holdtime.lab.slapd), and the variable the lab
# inventory names for the service account's password (`password_env`).
LDAP_BASE_DN = "dc=lab,dc=holdtime,dc=test"
LDAP_PASSWORD_ENV = "HOLDTIME_LAB_LDAP_PASSWORD"  # noqa: S105 - a variable name, not a password
# The key server (holdtime.lab.kms): PyKMIP's server, the name its certificate carries.
KMS_NODE = "kms"
KMS_ADDRESS = "172.16.1.13"
KMS_PORT = 5696
KMS_SERVER_NAME = f"kms.{DNS_ZONE}"
# Every lab node's name in DNS_ZONE and the address it answers on from the app side (the
# router's inside address; the edges' and mgmt's management addresses).
DNS_RECORDS = {
    "app": "192.168.1.5",
    "router": "192.168.1.1",
    "mgmt": "10.250.0.1",
    "esg1": "10.250.0.3",
    "esg2": "10.250.0.4",
    "dr": "172.16.1.1",
    "db": "172.16.1.10",
    "dc1": "172.16.1.11",
    "dc2": "172.16.1.12",
}


@dataclass(frozen=True, slots=True)
class Tunnel:
    """One IPsec tunnel: a charon at each end, BGP over the TUN devices."""

    name: str  # connection name on the router (esg1 / esg2)
    edge: str  # the edge node
    router_underlay: str
    edge_underlay: str
    router_inner: str  # address/len on the router's TUN
    edge_inner: str
    router_ike_port: int
    router_natt_port: int
    table: int  # libipsec's routing table in the router namespace


TUNNELS = (
    Tunnel(
        "esg1", "esg1", "100.64.1.1", "100.64.1.2", "10.10.10.1/30", "10.10.10.2/30", 500, 4500, 201
    ),
    Tunnel(
        "esg2",
        "esg2",
        "100.64.2.1",
        "100.64.2.2",
        "10.10.10.5/30",
        "10.10.10.6/30",
        10500,
        14500,
        202,
    ),
)
ROUTER_ID = "10.10.10.1"
ROUTER_AS, EDGE_AS, DR_AS = 64555, 65010, 65020

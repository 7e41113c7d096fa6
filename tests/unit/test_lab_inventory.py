"""The inventory the lab writes is valid and points holdtime at the lab with host keys checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdtime.drill.scenario import Budget, Timing
from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory
from holdtime.lab import Lab, inventory_file, lab_ca
from holdtime.lab.topology import DNS_RECORDS, DNS_ZONE, LDAP_PASSWORD_ENV
from holdtime.probes.dns_config import DnsGroup
from holdtime.probes.kmip_config import KmipServer
from holdtime.probes.ldaps_config import LdapsController
from holdtime.probes.ping_config import PingPath
from holdtime.probes.router_config import Router
from holdtime.probes.tcp_config import TcpTarget
from holdtime.probes.tls_config import TlsEndpoint


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Lab, Path]:
    """A lab object (never started) whose inventory is written into tmp_path."""
    lab = Lab(prefix="htunit-", state_dir=tmp_path)
    for name in ("client_key", "known_hosts"):  # `up` generates these before the inventory
        (tmp_path / name).write_text("")
    ca = lab_ca.LabCa.create(tmp_path / "ca")  # and the CA the ldaps and tls entries verify with
    ca.issue_client(lab.kmip_client_dir, "holdtime")  # and holdtime's KMIP client certificate
    monkeypatch.setenv(LDAP_PASSWORD_ENV, "unit-secret")
    inventory_file.write(lab)
    return lab, lab.inventory_path


def test_inventory_loads(written: tuple[Lab, Path]) -> None:
    """The written file passes the real inventory loader."""
    _, path = written
    inventory = load_inventory(path)
    assert ["vpc-router-1", "esg1", "esg2"] == [r.name for r in inventory.of(Router)]
    assert ["esg1-bgp-shutdown", "esg1-silent-failure"] == sorted(inventory.drills)


def test_router_entry(written: tuple[Lab, Path], tmp_path: Path) -> None:
    """vpc-router-1: mgmt netns, key auth, lab known_hosts, both vici sockets, expectations."""
    _, path = written
    router = load_inventory(path).named(Router, "vpc-router-1")
    assert ("10.250.0.2", "root", "htunit-mgmt") == (router.host, router.username, router.netns)
    assert (tmp_path / "client_key", tmp_path / "known_hosts") == (
        router.auth.key_file,
        router.known_hosts,
    )
    assert "reject" == router.host_key_policy
    assert ("frr", "strongswan") == router.platforms
    assert (
        f"unix://{tmp_path}/router/charon-esg1/charon.vici",
        f"unix://{tmp_path}/router/charon-esg2/charon.vici",
    ) == router.swanctl_uris
    bgp = router.expect.bgp
    assert [
        ("10.10.10.2", 65010, ("172.16.1.0/24",)),
        ("10.10.10.6", 65010, ("172.16.1.0/24",)),
    ] == [(n.address, n.remote_as, n.prefixes_received) for n in bgp.neighbors]
    assert [("172.16.1.0/24", "10.10.10.2")] == [(b.prefix, b.via) for b in bgp.best_paths]
    assert (("esg1", "esg2"), True) == (router.expect.ipsec.tunnels, router.expect.ip_forwarding)


def test_probes_and_tcp(written: tuple[Lab, Path]) -> None:
    """app-to-db pings from the app namespace; each sshd is a tcp target from mgmt."""
    _, path = written
    inventory = load_inventory(path)
    ping = inventory.of(PingPath)[0]
    assert ("app-to-db", "netns", "htunit-app", "172.16.1.10", 0.2) == (
        ping.name,
        ping.source.kind,
        ping.source.netns,
        ping.destination,
        ping.interval_seconds,
    )
    assert [
        ("10.250.0.2", 22, "htunit-mgmt"),
        ("10.250.0.3", 22, "htunit-mgmt"),
        ("10.250.0.4", 22, "htunit-mgmt"),
    ] == [(t.host, t.port, t.netns) for t in inventory.of(TcpTarget)]


def test_drills(written: tuple[Lab, Path], tmp_path: Path) -> None:
    """Both drills: BGP shutdown over SSH and an nft drop on esg1 from a file in the state dir."""
    _, path = written
    drills = load_inventory(path).drills
    shutdown = drills["esg1-bgp-shutdown"]
    assert (
        "ssh",
        "esg1",
        "vtysh -c 'conf t' -c 'router bgp 65010' -c 'neighbor 10.10.10.1 shutdown'",
    ) == (shutdown.trigger.kind, shutdown.trigger.device, shutdown.trigger.command)
    assert "no neighbor 10.10.10.1 shutdown'" == shutdown.restore.command[-32:]
    assert ("bgp.*", "ipsec.*") == shutdown.steady_state
    assert Budget(max_outage_seconds=5, abort_outage_seconds=60) == shutdown.budget
    assert Timing(settle_seconds=3, observe_seconds=15, clean_seconds=3) == shutdown.timing
    silent = drills["esg1-silent-failure"]
    nft_file = tmp_path / "esg1" / "drop-tunnel.nft"
    assert ("exec", ("nft", "-f", str(nft_file)), "htunit-esg1") == (
        silent.trigger.kind,
        silent.trigger.argv,
        silent.trigger.netns,
    )
    assert True is nft_file.read_text().startswith("table inet holdtime_drill")
    # declared silent (the prediction reads it); observed for the hold time + 8 s, failback 10 s
    assert ("silent", 17.0, 10.0) == (
        silent.trigger.failure,
        silent.timing.observe_seconds,
        silent.timing.failback_observe,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prefix": "bad prefix"}, "invalid lab prefix 'bad prefix'"),
        ({"prefix": "x" * 25}, "is longer than 24 characters"),
        ({"prefix": ".."}, "starting with a letter or digit"),
        ({"prefix": "-x"}, "starting with a letter or digit"),
        ({"timers": (3, 5)}, "BGP timers 3 5: need keepalive >= 1 and hold >= 3 x keepalive"),
    ],
)
def test_bad_lab_arguments(kwargs: dict[str, object], message: str) -> None:
    """A bad prefix or timer pair is a one-line ConfigError."""
    with pytest.raises(ConfigError) as caught:
        Lab(**kwargs)  # type: ignore[arg-type]
    assert True is (message in str(caught.value))


def test_default_names_and_state_dir() -> None:
    """Default prefix holdtime-, state under /run/holdtime-lab/<prefix> (the exact prefix)."""
    lab = Lab()
    assert ("holdtime-router", Path("/run/holdtime-lab/holdtime-")) == (
        lab.netns("router"),
        lab.root,
    )


def test_dns_group_asks_both_controllers_for_every_node(written: tuple[Lab, Path]) -> None:
    """The `lab-directory` group: dc1 and dc2 on port 53, every node's name, asked from app."""
    lab, path = written
    (group,) = load_inventory(path).of(DnsGroup)
    assert (
        "lab-directory",
        [("dc1", "172.16.1.11", 53), ("dc2", "172.16.1.12", 53)],
        {f"{node}.{DNS_ZONE}": (address,) for node, address in DNS_RECORDS.items()},
        lab.netns("app"),
    ) == (
        group.name,
        [(r.name, r.address, r.port) for r in group.resolvers],
        {n.name: n.addresses for n in group.names},
        group.netns,
    )


def test_ldaps_entries_bind_to_both_controllers_from_app(written: tuple[Lab, Path]) -> None:
    """dc1 and dc2 over LDAPS from the app side: their names, the lab CA, bind and StartTLS."""
    lab, path = written
    assert [
        (
            node,
            address,
            f"{node}.{DNS_ZONE}",
            lab.ca_path,
            lab.netns("app"),
            "dc=lab,dc=holdtime,dc=test",
            "cn=holdtime-svc,ou=services,dc=lab,dc=holdtime,dc=test",
            "unit-secret",
            389,
        )
        for node, address in (("dc1", "172.16.1.11"), ("dc2", "172.16.1.12"))
    ] == [
        (
            c.name,
            c.host,
            c.verify_name,
            c.ca_file,
            c.netns,
            c.base_dn,
            c.bind_dn,
            c.password,
            c.starttls_port,
        )
        for c in load_inventory(path).of(LdapsController)
    ]


def test_tls_entries_are_the_controllers_ldaps_ports(written: tuple[Lab, Path]) -> None:
    """dc1-ldaps and dc2-ldaps: port 636, verified by name against the lab CA, from app."""
    lab, path = written
    assert [
        ("dc1-ldaps", "172.16.1.11", 636, "dc1.lab.holdtime.test", lab.ca_path, lab.netns("app")),
        ("dc2-ldaps", "172.16.1.12", 636, "dc2.lab.holdtime.test", lab.ca_path, lab.netns("app")),
    ] == [
        (t.name, t.host, t.port, t.verify_name, t.ca_file, t.netns)
        for t in load_inventory(path).of(TlsEndpoint)
    ]


def test_unset_password_variable_is_named(
    written: tuple[Lab, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the variable the lab inventory does not load, and the message names it."""
    _, path = written
    monkeypatch.delenv(LDAP_PASSWORD_ENV)
    with pytest.raises(ConfigError, match=f"environment variable {LDAP_PASSWORD_ENV} is not set"):
        load_inventory(path)


def test_kmip_entry_is_the_key_server_with_the_labs_client_certificate(
    written: tuple[Lab, Path],
) -> None:
    """kms on 5696 from app: verified as kms.lab.holdtime.test against the lab CA, client cert."""
    lab, path = written
    [server] = load_inventory(path).of(KmipServer)
    assert (
        "kms",
        "172.16.1.13",
        5696,
        "kms.lab.holdtime.test",
        lab.ca_path,
        lab.kmip_client_dir / "client.pem",
        lab.kmip_client_dir / "client.key",
        lab.netns("app"),
        2.0,
    ) == (
        server.name,
        server.host,
        server.port,
        server.verify_name,
        server.ca_file,
        server.client_certificate,
        server.client_key,
        server.netns,
        server.timeout_seconds,
    )


def test_app_to_kms_ping_path_for_drills(written: tuple[Lab, Path]) -> None:
    """app-to-kms pings the key server from app every 200 ms: a drill's `probes:` can name it."""
    lab, path = written
    paths = {p.name: p for p in load_inventory(path).of(PingPath)}
    kms = paths["app-to-kms"]
    assert (["app-to-db", "app-to-kms"], lab.netns("app"), "172.16.1.13", 0.2) == (
        list(paths),
        kms.source.netns,
        kms.destination,
        kms.interval_seconds,
    )

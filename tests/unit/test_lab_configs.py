"""The lab's daemon configs, rendered by pure functions."""

from __future__ import annotations

from pathlib import Path

from holdtime.lab import frr, kms, sshd, strongswan
from holdtime.lab.topology import TUNNELS


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_router_has_reference_policy() -> None:
    """The router config carries AS, router-id, weights, route-maps and soft-reconfiguration."""
    lines = _lines(frr.router_frr((3, 9), bfd=False))
    for wanted in (
        "router bgp 64555",
        "bgp router-id 10.10.10.1",
        "neighbor 10.10.10.2 weight 2",
        "neighbor 10.10.10.6 weight 1",
        "neighbor 10.10.10.2 route-map RMAP-IN in",
        "neighbor 10.10.10.6 route-map RMAP-OUT out",
        "neighbor 10.10.10.2 soft-reconfiguration inbound",
        "neighbor 10.10.10.6 soft-reconfiguration inbound",
        "ip prefix-list PL-IN seq 5 permit 172.16.0.0/12 le 32",
        "ip prefix-list PL-OUT seq 5 permit 192.168.0.0/16 le 32",
    ):
        assert [wanted] == [line for line in lines if line == wanted]


def test_timers_and_connect_retry() -> None:
    """Chosen keepalive/hold reach both neighbors, with a 3 s connect retry."""
    lines = _lines(frr.router_frr((10, 30), bfd=False))
    expected = [
        "neighbor 10.10.10.2 timers 10 30",
        "neighbor 10.10.10.2 timers connect 3",
        "neighbor 10.10.10.6 timers 10 30",
        "neighbor 10.10.10.6 timers connect 3",
    ]
    assert expected == [line for line in lines if " timers " in line and "neighbor" in line]


def test_bfd_only_when_asked() -> None:
    """BFD profile lines appear on the tunnel neighbors only with bfd=True."""
    with_bfd = [line for line in _lines(frr.router_frr((3, 9), bfd=True)) if "bfd" in line]
    without = [line for line in _lines(frr.router_frr((3, 9), bfd=False)) if "bfd" in line]
    assert ["neighbor 10.10.10.2 bfd profile fast", "neighbor 10.10.10.6 bfd profile fast"] == (
        with_bfd
    )
    assert [] == without
    assert ["receive-interval 300", "transmit-interval 300", "detect-multiplier 3"] == [
        line for line in _lines(frr.bfdd_conf("router")) if "interval" in line or "multi" in line
    ]


def test_edge_peers_router_and_dr() -> None:
    """An edge is AS 65010 and peers with the router over the tunnel and with the dr."""
    lines = _lines(frr.edge_frr(TUNNELS[1], "172.31.2.2", (3, 9), bfd=False))
    assert ["router bgp 65010"] == [line for line in lines if line.startswith("router bgp")]
    assert ["neighbor 10.10.10.5 remote-as 64555", "neighbor 172.31.2.2 remote-as 65020"] == [
        line for line in lines if "remote-as" in line
    ]


def test_dr_prefers_esg1_for_return() -> None:
    """The dr originates 172.16.1.0/24 and weighs esg1 above esg2 (symmetric return path)."""
    lines = _lines(frr.dr_frr("172.31.1.1", "172.31.2.1"))
    assert ["network 172.16.1.0/24"] == [line for line in lines if line.startswith("network")]
    assert ["neighbor 172.31.1.1 weight 2", "neighbor 172.31.2.1 weight 1"] == [
        line for line in lines if "weight" in line
    ]


def test_charon_loads_libipsec_before_netlink() -> None:
    """kernel-libipsec precedes kernel-netlink, kdf is loaded, ports and table are the given."""
    text = strongswan.strongswan_conf(10500, 14500, 202, "/run/charon.log")
    load = next(line.split("=", 1)[1].split() for line in _lines(text) if line.startswith("load"))
    assert True is (load.index("kernel-libipsec") < load.index("kernel-netlink"))
    assert True is ("kdf" in load and "vici" in load)
    assert ["port = 10500", "port_nat_t = 14500", "routing_table = 202"] == [
        line for line in _lines(text) if line in {"port = 10500", "port_nat_t = 14500"}
    ] + [line for line in _lines(text) if line.startswith("routing_table =")]


def test_swanctl_route_based_connection() -> None:
    """One IKEv2 connection: forced encapsulation, 0.0.0.0/0 selectors, remote port when not 500."""
    text = strongswan.swanctl_conf(
        "router", "100.64.2.2", "100.64.2.1", "esg2", "router", "s3cret", 10500, initiate=False
    )
    lines = _lines(text)
    for wanted in (
        "version = 2",
        "encap = yes",
        "remote_port = 10500",
        "local_ts = 0.0.0.0/0",
        "remote_ts = 0.0.0.0/0",
        "start_action = none",
        'secret = "s3cret"',
    ):
        assert [wanted] == [line for line in lines if line == wanted]
    initiator = strongswan.swanctl_conf(
        "esg1", "100.64.1.1", "100.64.1.2", "router", "esg1", "x", None, initiate=True
    )
    assert [] == [line for line in _lines(initiator) if line.startswith("remote_port")]
    assert ["start_action = start"] == [
        line for line in _lines(initiator) if line.startswith("start_action")
    ]


def test_sshd_key_only_and_high_startups() -> None:
    """sshd takes keys only (root allowed by key) and does not throttle a fan-out."""
    lines = _lines(sshd.sshd_config("10.250.0.2", "/k", "/k.pub", "/p.pid"))
    for wanted in (
        "ListenAddress 10.250.0.2",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "AuthorizedKeysFile /k.pub",
        "MaxStartups 400:30:800",
    ):
        assert [wanted] == [line for line in lines if line == wanted]


def test_kms_server_conf_is_pykmips_own_format(tmp_path: Path) -> None:
    """server.conf as PyKMIP reads it: client auth on, database and policies in the folder."""
    from kmip.services.server.config import KmipServerConfig

    tls = kms.KmsTls(tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem")
    for path in (tls.cert_path, tls.key_path, tls.ca_path):
        path.write_text("")  # PyKMIP's parser checks only that the files exist
    argv = kms.prepare_kms(tmp_path, tls, "172.16.1.13", 5696)
    config = KmipServerConfig()
    config.load_settings(str(tmp_path / "server.conf"))
    settings = config.settings
    assert (
        "172.16.1.13",
        5696,
        str(tls.cert_path),
        True,
        str(tmp_path / "pykmip.sqlite"),
        str(tmp_path / "policies"),
        True,
    ) == (
        settings["hostname"],
        settings["port"],
        settings["certificate_path"],
        settings["enable_tls_client_auth"],
        settings["database_path"],
        settings["policy_path"],
        (tmp_path / "policies").is_dir(),
    )
    assert ["-m", "holdtime.lab.kms", str(tmp_path / "server.conf")] == argv[4:7]

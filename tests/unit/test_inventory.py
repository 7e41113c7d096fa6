"""Valid inventories load into the model; defaults merge; paths expand; fuzzing never crashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdtime.errors import ConfigError
from holdtime.inventory import (
    BestPathExpect,
    NeighborExpect,
    PingSource,
    TcpTarget,
    load_inventory,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory.yaml"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped example, with the files it names created under a fake HOME."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HOLDTIME_VC_PASSWORD", "vc-secret")
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "holdtime_ed25519").write_text("key\n")
    (tmp_path / ".ssh" / "known_hosts").write_text("")
    return Path(shutil.copy(EXAMPLE, tmp_path / "inventory.yaml"))


def test_example_inventory_loads_into_the_model(example: Path, tmp_path: Path) -> None:
    """The README's full example loads: routers, vcenters, tcp, ping paths, expectations."""
    inventory = load_inventory(example)
    router = inventory.router("vpc-router-1")
    assert ("10.20.0.1", 22, ("frr", "strongswan")) == (
        router.host,
        router.port,
        router.platforms,
    )
    assert tmp_path / ".ssh" / "holdtime_ed25519" == router.auth.key_file
    assert (
        NeighborExpect("10.10.10.2", 65010, ("172.16.1.0/24",)),
        NeighborExpect("10.10.10.6", 65010, ("172.16.1.0/24",)),
    ) == router.expect.bgp.neighbors
    assert (BestPathExpect("172.16.1.0/24", "10.10.10.2"),) == router.expect.bgp.best_paths
    assert ("esg1", "esg2") == router.expect.ipsec.tunnels
    assert TcpTarget("dc1-dns", "127.0.0.1", 53, 2.0) == inventory.tcp[1]
    assert 3.0 == inventory.tcp[0].timeout_seconds  # from defaults.tcp
    path = inventory.ping_paths[0]
    assert (PingSource("netns", netns="holdtime-app"), 0.2, 60.0, 10.0) == (
        path.source,
        path.interval_seconds,
        path.duration_seconds,
        path.max_outage_seconds,
    )
    vcenter = inventory.vcenter("vc-site-a")
    assert ("vc-secret", True, 10.0, 50.0) == (
        vcenter.password,
        vcenter.verify_tls,
        vcenter.expect.sioc_threshold_ms_min,
        vcenter.expect.sioc_threshold_ms_max,
    )
    assert "vc-secret" not in repr(vcenter)


def test_defaults_fill_entries_and_entries_win(tmp_path: Path) -> None:
    """defaults.ssh gives username/known_hosts/timeouts unless the entry sets its own."""
    (tmp_path / "kh").write_text("")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "defaults:\n  ssh: {username: ops, known_hosts: kh, command_timeout_seconds: 7}\n"
        "routers:\n  - {name: a, host: 10.0.0.1, auth: {agent: true}}\n"
        "  - {name: b, host: 10.0.0.2, username: root, auth: {agent: true},"
        " timeouts: {command_seconds: 3}}\n"
    )
    a, b = load_inventory(path).routers
    assert ("ops", tmp_path / "kh", 7.0) == (a.username, a.known_hosts, a.command_timeout_seconds)
    assert ("root", 3.0) == (b.username, b.command_timeout_seconds)


def test_accept_new_policy_does_not_need_known_hosts_to_exist(tmp_path: Path) -> None:
    """Trust-on-first-use may point at a known_hosts file it will create."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        "routers:\n  - {name: a, host: h, username: u, auth: {agent: true},"
        " host_key_policy: accept-new, known_hosts: new_known_hosts}\n"
    )
    assert "accept-new" == load_inventory(path).routers[0].host_key_policy


def test_drill_keys_are_located_for_error_messages(tmp_path: Path) -> None:
    """drills.* keys keep their line numbers for the drill validator's messages."""
    path = tmp_path / "inv.yaml"
    path.write_text("version: 1\ndrills:\n  d1:\n    trigger: {manual: pull the cable}\n")
    inventory = load_inventory(path)
    assert f"{path}:4:5" == inventory.locate("drills.d1.trigger")
    assert {"d1": {"trigger": {"manual": "pull the cable"}}} == dict(inventory.drills)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}\n\t '\"&*!|>%@`#,.0123456789"))))
def test_any_text_is_an_inventory_or_a_config_error(text: str) -> None:
    """Whatever the file holds, loading raises nothing but ConfigError."""
    path = Path("/tmp/holdtime-fuzz-inventory.yaml")
    path.write_text(text)
    try:
        load_inventory(path)
    except ConfigError as exc:
        assert exc.problems  # type: ignore[attr-defined]  # noqa: PT017

"""Valid inventories load into the model; defaults merge; paths expand; fuzzing never crashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holdtime.cli import main
from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory, registered_sections, schema
from holdtime.probes.ping_config import PingPath, PingSource
from holdtime.probes.router_config import BestPathExpect, NeighborExpect, Router
from holdtime.probes.tcp_config import TcpTarget
from holdtime.probes.vsphere_config import VCenter
from holdtime.yaml_schema import Field

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "inventory.yaml"
FIXTURES = REPO / "tests" / "fixtures" / "inventory"


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
    router = inventory.named(Router, "vpc-router-1")
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
    assert TcpTarget("dc1-dns", "127.0.0.1", 53, 2.0) == inventory.of(TcpTarget)[1]
    assert 3.0 == inventory.of(TcpTarget)[0].timeout_seconds  # from defaults.tcp
    path = inventory.of(PingPath)[0]
    assert (PingSource("netns", netns="holdtime-app"), 0.2, 60.0, 10.0) == (
        path.source,
        path.interval_seconds,
        path.duration_seconds,
        path.max_outage_seconds,
    )
    vcenter = inventory.named(VCenter, "vc-site-a")
    assert ("vc-secret", True, 10.0, 50.0) == (
        vcenter.password,
        vcenter.verify_tls,
        vcenter.expect.sioc_threshold_ms_min,
        vcenter.expect.sioc_threshold_ms_max,
    )
    assert "vc-secret" not in repr(vcenter)
    assert "vc-secret" not in json.dumps(inventory.to_dict())


def test_example_validates_on_the_command_line(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime inventory validate` on the example prints the ok line with counts, exit 0."""
    assert 0 == main(["inventory", "validate", str(example)])
    counts = (
        "1 routers, 1 vcenters, 0 key provider sites, 2 tcp targets, 1 ping paths, 0 dns paths,"
        " 0 dns groups, 0 ldaps controllers, 0 ldaps paths, 0 tls endpoints, 0 KMIP servers,"
        " 0 drills"
    )
    expected = f"{example}: ok ({counts})\n"
    assert (expected, "") == capsys.readouterr()


def test_reference_shows_the_example_verbatim() -> None:
    """docs/inventory.md quotes examples/inventory.yaml exactly, so the reference cannot drift."""
    docs = (REPO / "docs" / "inventory.md").read_text()
    assert True is (f"```yaml\n{EXAMPLE.read_text()}```" in docs)


def test_merge_keys_share_settings_and_written_keys_win() -> None:
    """A `<<: *anchor` router inherits the anchor's settings; keys it writes itself win."""
    inventory = load_inventory(FIXTURES / "valid" / "lab.yaml")
    first, second = inventory.of(Router)
    assert ("htlab-mgmt", True, ("frr",)) == (first.netns, first.auth.agent, first.platforms)
    assert ("esg-1", "10.99.0.2", "htlab-mgmt", True, ("frr", "libreswan"), True) == (
        second.name,
        second.host,
        second.netns,
        second.auth.agent,
        second.platforms,
        second.sudo,
    )
    assert ("esg1",) == second.expect.ipsec.tunnels
    assert (
        PingPath("from-router", PingSource("router", router="esg-1"), "172.16.1.10", 1.0, 50, None)
        == inventory.of(PingPath)[0]
    )


def test_entry_defaults_when_nothing_is_said(tmp_path: Path) -> None:
    """Port 22/443, platform frr, TLS verified, 60 s of 1 s pings from local, hold time 30 s."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        "routers:\n  - {name: r, host: r.example.net, username: u, auth: {agent: true},"
        " host_key_policy: warn}\n"
        "vcenters:\n  - {name: vc, host: vc, username: u, password_env: HOLDTIME_T_PW}\n"
        "ping_paths:\n  - {name: p, destination: 10.0.0.1}\n"
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOLDTIME_T_PW", "pw")
        inventory = load_inventory(path)
    router, vcenter, ping = (
        inventory.of(Router)[0],
        inventory.of(VCenter)[0],
        inventory.of(PingPath)[0],
    )
    assert (22, ("frr",), False, 30.0, 10.0, 20.0) == (
        router.port,
        router.platforms,
        router.sudo,
        router.expect.bgp.max_hold_time_seconds,
        router.connect_timeout_seconds,
        router.command_timeout_seconds,
    )
    assert (443, True, 2, 5.0, 100.0) == (
        vcenter.port,
        vcenter.verify_tls,
        vcenter.expect.nfs_min_paths,
        vcenter.expect.sioc_threshold_ms_min,
        vcenter.expect.sioc_threshold_ms_max,
    )
    assert PingPath("p", PingSource("local"), "10.0.0.1", 1.0, None, None) == ping


def test_insecure_turns_tls_verification_off(tmp_path: Path) -> None:
    """`insecure: true` is the explicit opt-out of TLS verification."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        "vcenters:\n  - {name: vc, host: vc, username: u, password: pw,"
        " allow_literal_password: true, insecure: true}\n"
    )
    assert False is load_inventory(path).of(VCenter)[0].verify_tls


def test_literal_password_needs_the_explicit_opt_in(tmp_path: Path) -> None:
    """`allow_literal_password: true` lets a literal password through, kept out of repr/dict."""
    (tmp_path / "kh").write_text("")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "routers:\n  - {name: r, host: h, username: u, known_hosts: kh,"
        " allow_literal_password: true, auth: {password: hunter2-literal}}\n"
    )
    inventory = load_inventory(path)
    assert "hunter2-literal" == inventory.of(Router)[0].auth.password
    shown = repr(inventory) + str(inventory) + json.dumps(inventory.to_dict())
    assert "hunter2-literal" not in shown


def test_to_dict_is_json_ready_and_keeps_the_env_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """to_dict gives paths as text and names the env var, but never the password itself."""
    monkeypatch.setenv("HOLDTIME_T_PW", "s3cr3t-from-env")
    (tmp_path / "key").write_text("")
    (tmp_path / "kh").write_text("")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "routers:\n  - {name: r, host: h, username: u, known_hosts: kh, auth: {key_file: key}}\n"
        "vcenters:\n  - {name: vc, host: vc, username: u, password_env: HOLDTIME_T_PW}\n"
    )
    data = load_inventory(path).to_dict()
    assert {"key_file": str(tmp_path / "key"), "agent": False, "password_env": None} == data[
        "routers"
    ][0]["auth"]
    assert ("HOLDTIME_T_PW", False) == (
        data["vcenters"][0]["password_env"],
        "password" in data["vcenters"][0],
    )
    assert "s3cr3t-from-env" not in json.dumps(data)


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
    a, b = load_inventory(path).of(Router)
    assert ("ops", tmp_path / "kh", 7.0) == (a.username, a.known_hosts, a.command_timeout_seconds)
    assert ("root", 3.0) == (b.username, b.command_timeout_seconds)


def test_accept_new_policy_does_not_need_known_hosts_to_exist(tmp_path: Path) -> None:
    """Trust-on-first-use may point at a known_hosts file it will create."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        "routers:\n  - {name: a, host: h, username: u, auth: {agent: true},"
        " host_key_policy: accept-new, known_hosts: new_known_hosts}\n"
    )
    assert "accept-new" == load_inventory(path).of(Router)[0].host_key_policy


def test_ping_source_address_for_local_netns_and_router(tmp_path: Path) -> None:
    """`address` sits next to the source kind, or alone for this host."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        "routers:\n  - {name: r, host: h, username: u, auth: {agent: true},"
        " host_key_policy: accept-new, known_hosts: kh}\n"
        "ping_paths:\n"
        "  - {name: a, destination: 10.0.0.1, source: {address: 192.0.2.1}}\n"
        "  - {name: b, destination: 10.0.0.1, source: {netns: n1, address: '2001:db8::1'}}\n"
        "  - {name: c, destination: 10.0.0.1, source: {router: r, address: 10.20.0.1}}\n"
    )
    assert [
        PingSource("local", address="192.0.2.1"),
        PingSource("netns", netns="n1", address="2001:db8::1"),
        PingSource("router", router="r", address="10.20.0.1"),
    ] == [p.source for p in load_inventory(path).of(PingPath)]


def test_drills_load_as_scenarios_with_their_marks(tmp_path: Path) -> None:
    """drills.* are validated and built with the rest; their values keep their line numbers."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nping_paths: [{name: p, destination: 10.0.0.1}]\ndrills:\n  d1:\n"
        "    probes: p\n    trigger: {manual: pull the cable}\n    restore: {manual: plug it}\n"
    )
    inventory = load_inventory(path)
    assert f"{path}:6:14" == inventory.locate("drills.d1.trigger")
    assert ("d1", ("p",), "pull the cable") == (
        inventory.drills["d1"].name,
        inventory.drills["d1"].probes,
        inventory.drills["d1"].trigger.prompt,
    )


def _loads_or_config_error(path: Path, text: str) -> None:
    path.write_text(text)
    try:
        load_inventory(path)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert (True, lines) == (bool(lines), exc.problems)  # type: ignore[attr-defined]  # noqa: PT017
        assert all(line.startswith(str(path)) for line in lines), lines


YAMLISH = st.text(
    alphabet=st.sampled_from(list("abc:-[]{}\n\t '\"&*!|>%@`#,.<0123456789")), max_size=200
)
# Whole tokens that reach deeper: keys of the schema, tags, anchors, aliases, merges.
TOKENS = st.sampled_from(
    [
        "routers:",
        "tcp:",
        "ping_paths:",
        "drills:",
        "defaults:",
        "vcenters:",
        "version: 1",
        "- ",
        "  ",
        "\n",
        "name: a",
        "host: h",
        "port: 22",
        "port: 73382",
        "auth:",
        "{agent: true}",
        "source:",
        "{router: a}",
        "{netns: n}",
        "&x ",
        "*x",
        "<<: ",
        "!!int ",
        "!!str ",
        "!!python/none ",
        "!t ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        ": ",
        "? ",
        "---\n",
        "~",
        "key_file: k",
        "password_env: HOME",
        "known_hosts: kh",
        "count: 1",
        "expect:",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(YAMLISH, st.lists(TOKENS, max_size=40).map("".join)))
def test_any_text_is_an_inventory_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """Whatever the file holds, loading raises nothing but ConfigError naming the file."""
    _loads_or_config_error(tmp_path_factory.mktemp("fuzz") / "inventory.yaml", text)


def _documents(spec: Field, depth: int = 0) -> st.SearchStrategy[object]:
    """Documents shaped like the schema, with random (often wrong) values in every slot."""
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.sampled_from(["local", "frr", "10.0.0.1", "10.0.0.0/8", "reject", "HOME", "~/x"]),
    )
    if depth > 4:
        return junk
    if spec.kind == "map" and spec.fields:
        keys = st.sampled_from([*spec.fields, "prot", "nmae"])
        children = {key: _documents(field, depth + 1) for key, field in spec.fields.items()}
        return st.one_of(
            junk,
            st.lists(keys, max_size=6, unique=True).flatmap(
                lambda chosen: st.fixed_dictionaries({k: children.get(k, junk) for k in chosen})
            ),
        )
    if spec.kind == "list" and spec.item is not None:
        return st.one_of(junk, st.lists(_documents(spec.item, depth + 1), max_size=3))
    return junk


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_documents(schema(registered_sections())))
def test_schema_shaped_documents_load_or_give_config_errors(
    tmp_path_factory: pytest.TempPathFactory, document: object
) -> None:
    """Well-formed YAML with any value in any schema slot loads or gives ConfigError lines."""
    text = yaml.safe_dump(document, default_flow_style=True)
    _loads_or_config_error(tmp_path_factory.mktemp("fuzz") / "inventory.yaml", text)

"""`holdtime inventory import ansible`: Ansible inventories become valid holdtime inventories.

The first tests run the real `ansible-inventory` (ansible-core, a dev dependency) on static YAML
and INI inventories; the others feed `ansible-inventory --list` JSON directly.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from holdtime.ansible_import import import_ansible
from holdtime.cli import main
from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory

HOLDTIME = Path(sys.executable).with_name("holdtime")
ANSIBLE_INVENTORY = shutil.which("ansible-inventory") or shutil.which(
    "ansible-inventory", path=str(Path(sys.executable).parent)
)
needs_ansible = pytest.mark.skipif(
    ANSIBLE_INVENTORY is None,
    reason="ansible-inventory not found: `pip install '.[dev]'` installs ansible-core",
)
VAULTED = (
    "$ANSIBLE_VAULT;1.1;AES256\n"
    "62313365396662343061393464336163383764373764613633653634306231386433626436623361\n"
    "6134333665353966363534333632666535333761666131620a663537646436643839616531643561\n"
    "63396265333966386166373632626539326166353965363262633030333630313338646335303630\n"
    "3438626666666137650a353638643435666633633964366338633066623234616432373231333331\n"
    "6564\n"
)
YAML_INVENTORY = """\
all:
  vars:
    ansible_user: ops
  children:
    routers:
      vars:
        ansible_ssh_common_args: "-o StrictHostKeyChecking=yes -o ProxyJump=ops@bastion.example.net"
        holdtime_platform: frr
        ansible_port: 2200
      hosts:
        vpc-router-1:
          ansible_host: 10.20.0.1
          ansible_ssh_private_key_file: KEYFILE
        vpc-router-2:
          ansible_host: 10.20.0.2
          ansible_password: !vault |
VAULT
      children:
        edges:
          vars:
            holdtime_platform: [frr, strongswan]
            ansible_port: 22
          hosts:
            esg1:
              ansible_host: 172.16.0.1
              ansible_user: admin
    web:
      hosts:
        app1: {ansible_host: 10.30.0.5}
"""
INI_INVENTORY = """\
[core]
core1 ansible_host=10.40.0.1 ansible_port=2022 holdtime_platform=frr.frr.frr

[ipsec]
vpn1 ansible_host=10.40.0.9 holdtime_platform=strongswan ansible_password=hunter2-literal

[sites:children]
core
ipsec

[sites:vars]
ansible_user=netops
ansible_ssh_extra_args='-J jump@10.40.0.254:2222'
ansible_become=true

[ungrouped_lab]
lab1
"""


def _vaulted_yaml() -> str:
    lines = "".join(f"            {line}\n" for line in VAULTED.splitlines())
    return YAML_INVENTORY.replace("VAULT\n", lines)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME with a default known_hosts, as a user who has used ssh has one."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text("10.20.0.1 ssh-ed25519 AAAA\n")
    monkeypatch.setenv("HOME", str(home))
    return home


def _routers(text: str) -> list[dict[str, Any]]:
    data = yaml.safe_load(text)
    routers: list[dict[str, Any]] = data["routers"]
    return routers


def _holdtime(*args: str | Path, cwd: Path, stdin: str = "", **env: str) -> Any:
    return subprocess.run(
        [HOLDTIME, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(cwd), **env},
        check=False,
    )


# -- the real ansible-inventory ----------------------------------------------------------------
@needs_ansible
def test_yaml_inventory_groups_children_and_vars(tmp_path: Path, home: Path) -> None:
    """A YAML inventory's routers group (and its child group) imports with Ansible's precedence."""
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key\n")
    source = tmp_path / "site.yaml"
    source.write_text(_vaulted_yaml().replace("KEYFILE", str(key)))
    out = tmp_path / "holdtime.yaml"
    done = _holdtime(
        "inventory", "import", "ansible", "-i", source, "--group", "routers",
        "--platform-var", "holdtime_platform", "-o", out,
        cwd=home,
    )  # fmt: skip
    assert 0 == done.returncode, done.stderr
    expected = [
        {
            "name": "vpc-router-1",
            "host": "10.20.0.1",
            "port": 2200,
            "username": "ops",
            "auth": {"key_file": str(key)},
            "proxy_jump": "ops@bastion.example.net",
            "platform": "frr",
        },
        {
            "name": "vpc-router-2",
            "host": "10.20.0.2",
            "port": 2200,
            "username": "ops",
            "auth": {"password_env": "HOLDTIME_PASSWORD_VPC_ROUTER_2"},
            "proxy_jump": "ops@bastion.example.net",
            "platform": "frr",
        },
        {
            "name": "esg1",
            "host": "172.16.0.1",
            "port": 22,  # the child group `edges` wins over its parent `routers`
            "username": "admin",  # the host's own var wins over group all
            "auth": {"agent": True},
            "proxy_jump": "ops@bastion.example.net",
            "platform": ["frr", "strongswan"],
        },
    ]
    text = out.read_text()
    assert expected == _routers(text)
    assert "$ANSIBLE_VAULT" not in text
    assert "port: 22                              # ansible_port (group edges)" in text
    assert "HOLDTIME_PASSWORD_VPC_ROUTER_2" in done.stderr
    valid = _holdtime(
        "inventory", "validate", out, cwd=home, HOLDTIME_PASSWORD_VPC_ROUTER_2="s3cret-value-0"
    )
    assert (0, "") == (valid.returncode, valid.stderr)
    assert valid.stdout.startswith(f"{out}: ok (3 routers,")


@needs_ansible
def test_ini_inventory_children_group_vars_and_jump(tmp_path: Path, home: Path) -> None:
    """An INI inventory with [g:children] and [g:vars]: -J jump, become, a literal password."""
    source = tmp_path / "hosts.ini"
    source.write_text(INI_INVENTORY)
    done = _holdtime(
        "inventory", "import", "ansible", "-i", source, "--group", "sites",
        "--platform-var", "holdtime_platform",
        cwd=home,
    )  # fmt: skip
    assert 0 == done.returncode, done.stderr
    common = {"username": "netops", "proxy_jump": "jump@10.40.0.254:2222", "sudo": True}
    expected = [
        {
            "name": "core1",
            "host": "10.40.0.1",
            "port": 2022,
            **common,
            "auth": {"agent": True},
            "platform": "frr",
        },
        {
            "name": "vpn1",
            "host": "10.40.0.9",
            **common,
            "auth": {"password_env": "HOLDTIME_PASSWORD_VPN1"},
            "platform": "strongswan",
        },
    ]
    routers = _routers(done.stdout)
    assert expected == [{k: r[k] for k in expected[i]} for i, r in enumerate(routers)]
    assert [set(e) for e in expected] == [set(r) for r in routers]
    assert "hunter2-literal" not in done.stdout + done.stderr
    out = home / "written.yaml"
    out.write_text(done.stdout)
    valid = _holdtime("inventory", "validate", out, cwd=home, HOLDTIME_PASSWORD_VPN1="a-secret-1")
    assert (0, "") == (valid.returncode, valid.stderr)


@needs_ansible
def test_an_inventory_ansible_cannot_parse_is_one_line(tmp_path: Path, home: Path) -> None:
    """A file no inventory plugin reads fails with exit 2 and one line, not an empty import."""
    source = tmp_path / "broken.yaml"
    source.write_text("all:\n  hosts: [this, is, not, a, mapping\n")
    done = _holdtime("inventory", "import", "ansible", "-i", source, cwd=home)
    assert (2, "") == (done.returncode, done.stdout)
    assert 1 == len(done.stderr.splitlines())
    assert done.stderr.startswith(f"holdtime: error: {source}: ansible-inventory failed: ")


# -- from `ansible-inventory --list` JSON ------------------------------------------------------
def _json(**groups: Any) -> dict[str, Any]:
    hostvars = groups.pop("hostvars", {})
    return {"_meta": {"hostvars": hostvars}, **groups}


def test_host_vars_beat_child_groups_which_beat_parents() -> None:
    """Precedence as Ansible's: all < parent < child group < ansible_group_priority < host."""
    data = _json(
        all={"children": ["net"], "vars": {"ansible_user": "a", "ansible_port": 1001}},
        net={"children": ["core", "zz"], "vars": {"ansible_user": "b", "ansible_port": 1002}},
        core={"hosts": ["r1"], "vars": {"ansible_port": 1003}},
        zz={"hosts": ["r1"], "vars": {"ansible_port": 1004, "ansible_group_priority": 0}},
        hostvars={"r1": {"ansible_host": "10.0.0.1"}},
    )
    (router,) = _routers(import_ansible(data, source="t").text)
    # zz has a lower priority than core at the same depth, so core's 1003 wins
    assert ("b", 1003, "10.0.0.1") == (router["username"], router["port"], router["host"])


def test_each_value_says_where_it_came_from() -> None:
    """Every written value carries a comment naming the Ansible variable and its origin."""
    data = _json(
        all={"children": ["net"], "vars": {"ansible_user": "ops"}},
        net={"hosts": ["r1"]},
        hostvars={"r1": {"ansible_host": "10.0.0.1", "ansible_port": 2222}},
    )
    text = import_ansible(data, source="t").text
    assert "host: 10.0.0.1                        # ansible_host (host r1)" in text
    assert "username: ops                         # ansible_user (group all)" in text


def test_plain_list_output_without_export_reads_the_same() -> None:
    """`--list` without --export (group vars folded into hostvars) imports the same values."""
    data = _json(
        all={"children": ["net"]},
        net={"hosts": ["r1"]},
        hostvars={"r1": {"ansible_host": "10.0.0.1", "ansible_user": "ops"}},
    )
    (router,) = _routers(import_ansible(data, source="t", platform="frr").text)
    expected = {
        "name": "r1",
        "host": "10.0.0.1",
        "username": "ops",
        "auth": {"agent": True},
        "platform": "frr",
    }
    assert expected == router


def test_a_vaulted_password_becomes_password_env_and_is_never_copied() -> None:
    """A vaulted ansible_password gives auth.password_env and a line saying what to set."""
    data = _json(
        all={"hosts": ["r1"]},
        hostvars={"r1": {"ansible_password": {"__ansible_vault": VAULTED}}},
    )
    imported = import_ansible(data, source="t")
    assert {"password_env": "HOLDTIME_PASSWORD_R1"} == _routers(imported.text)[0]["auth"]
    assert "ANSIBLE_VAULT" not in imported.text
    expected = ["HOLDTIME_PASSWORD_R1: the password of router r1 (ansible_password of host r1)"]
    assert expected == imported.secrets
    assert f"#   {expected[0]}" in imported.text


def test_a_vaulted_address_skips_the_host_with_the_reason() -> None:
    """Any other vaulted connection value cannot be used: the host is skipped, not guessed."""
    data = _json(
        all={"hosts": ["r1", "r2"]},
        hostvars={"r1": {"ansible_host": {"__ansible_vault": VAULTED}}, "r2": {}},
    )
    imported = import_ansible(data, source="t")
    assert ["r2"] == [router["name"] for router in _routers(imported.text)]
    expected = [
        "r1: ansible_host is vaulted in Ansible and holdtime never copies vaulted values: "
        "add this router by hand"
    ]
    assert expected == imported.skipped


def test_platform_var_reads_network_os_names_and_skips_others() -> None:
    """`frr.frr.frr` reads as frr and `strongswan,frr` as a list; `cisco.ios.ios` is skipped."""
    data = _json(
        all={"hosts": ["a", "b", "c"]},
        hostvars={
            "a": {"ansible_network_os": "frr.frr.frr"},
            "b": {"ansible_network_os": "strongswan,frr"},
            "c": {"ansible_network_os": "cisco.ios.ios"},
        },
    )
    imported = import_ansible(data, source="t", platform_var="ansible_network_os")
    platforms = [router["platform"] for router in _routers(imported.text)]
    assert ["frr", ["strongswan", "frr"]] == platforms
    expected = [
        "c: ansible_network_os (host c) is 'cisco.ios.ios', not one of frr, strongswan, libreswan"
    ]
    assert expected == imported.skipped


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("-o ProxyJump=ops@bastion", "ops@bastion"),
        ("-oProxyJump=ops@bastion:2222", "ops@bastion:2222"),
        ("-o 'ProxyJump ops@a,ops@b'", "ops@a,ops@b"),
        ("-C -J ops@bastion", "ops@bastion"),
        ("-Jops@[2001:db8::1]:22", "ops@[2001:db8::1]:22"),
        ("-o ProxyCommand='ssh -q -W %h:%p ops@bastion'", "ops@bastion"),
        ("-o 'ProxyCommand=/usr/bin/ssh -W %h:%p -p 2222 -l ops bastion'", "ops@bastion:2222"),
    ],
)
def test_proxy_jump_is_read_from_ssh_args(args: str, expected: str) -> None:
    """ProxyJump from `-o ProxyJump=...`, `-J ...`, `-J...` and a plain `ssh -W` ProxyCommand."""
    data = _json(all={"hosts": ["r1"]}, hostvars={"r1": {"ansible_ssh_extra_args": args}})
    assert expected == _routers(import_ansible(data, source="t").text)[0]["proxy_jump"]


def test_a_proxy_command_is_reported_not_dropped() -> None:
    """A ProxyCommand that is not a plain `ssh -W` jump becomes a note to set it by hand."""
    args = "-o ProxyCommand='ssh -i ~/.ssh/bastion -W %h:%p bastion'"
    data = _json(all={"hosts": ["r1"]}, hostvars={"r1": {"ansible_ssh_common_args": args}})
    imported = import_ansible(data, source="t")
    assert "proxy_jump" not in _routers(imported.text)[0]
    assert any("ProxyCommand" in note for note in imported.notes)


def test_templates_and_bad_names_are_skipped_with_reasons() -> None:
    """A Jinja-templated address and a host name holdtime cannot use are skipped, each said."""
    data = _json(
        all={"hosts": ["r1", "-bad"]},
        hostvars={"r1": {"ansible_host": "{{ lookup('env', 'R1') }}"}},
    )
    imported = import_ansible(data, source="t")
    assert 0 == imported.routers
    assert [line.split(":")[0] for line in imported.skipped] == ["r1", "-bad"]


def test_an_unknown_group_names_the_groups_there_are() -> None:
    """`--group nope` is a ConfigError that lists the inventory's groups."""
    data = _json(all={"children": ["net"]}, net={"hosts": ["r1"]})
    with pytest.raises(ConfigError) as raised:
        import_ansible(data, source="hosts.json", groups=["nope"])
    assert "hosts.json: no group 'nope' (groups: all, net)" == str(raised.value)


def test_json_from_stdin_and_a_refused_overwrite(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json -` reads standard input; an existing -o file needs --force (exit 2 otherwise)."""
    data = _json(all={"hosts": ["r1"]}, hostvars={"r1": {"ansible_host": "10.0.0.1"}})
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(data)))
    out = tmp_path / "out.yaml"
    args = ["inventory", "import", "ansible", "--json", "-", "--platform", "frr", "-o", str(out)]
    assert 0 == main(args)
    assert "r1" == _routers(out.read_text())[0]["name"]
    assert f"holdtime: wrote 1 routers to {out}\n" == capsys.readouterr().err
    assert 2 == main(args)
    expected = f"holdtime: error: {out} exists: pass --force to overwrite it\n"
    assert expected == capsys.readouterr().err
    assert "r1" == load_inventory(out).entries("routers")[0].name  # type: ignore[attr-defined]


def test_json_that_is_not_ansible_output_is_one_line(tmp_path: Path) -> None:
    """Garbage given to --json names the file, line and column and what was expected."""
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = _holdtime("inventory", "import", "ansible", "--json", bad, cwd=tmp_path)
    expected = (
        f"holdtime: error: {bad}:1:2: not JSON (Expecting property name enclosed in double "
        "quotes): expected what `ansible-inventory --list` prints\n"
    )
    assert (2, expected) == (done.returncode, done.stderr)


def test_missing_ansible_inventory_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ansible-inventory, -i fails with one line naming ansible-core and --json."""
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    assert 2 == main(["inventory", "import", "ansible", "-i", "hosts.ini"])
    expected = (
        "holdtime: error: ansible-inventory not found: install ansible-core (pipx install "
        "ansible-core), or pass --json with what `ansible-inventory -i INVENTORY --list` prints\n"
    )
    assert expected == capsys.readouterr().err

"""The inventory's `include: {ansible: FILE, groups: [...]}`: routers read from Ansible.

Every test runs the real `ansible-inventory` (ansible-core, a dev dependency) on the static INI
and YAML inventories in tests/fixtures/ansible/include/ (groups, children, group_vars/ and
host_vars/ folders), copied into a temporary folder so a test can change them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from holdtime import inventory_include
from holdtime.ansible_import import import_ansible, run_ansible_inventory
from holdtime.errors import ConfigError
from holdtime.inventory import Inventory, load_inventory
from holdtime.json_schema import inventory_schema
from holdtime.probes.router_config import Router

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ansible" / "include"
HOLDTIME = Path(sys.executable).with_name("holdtime")
ANSIBLE_INVENTORY = shutil.which("ansible-inventory") or shutil.which(
    "ansible-inventory", path=str(Path(sys.executable).parent)
)
pytestmark = pytest.mark.skipif(
    ANSIBLE_INVENTORY is None,
    reason="ansible-inventory not found: `pip install '.[dev]'` installs ansible-core",
)
VAULTED = (  # `ansible-vault encrypt_string` output, as tests/unit/test_ansible_import.py uses
    "$ANSIBLE_VAULT;1.1;AES256\n"
    "62313365396662343061393464336163383764373764613633653634306231386433626436623361\n"
    "6134333665353966363534333632666535333761666131620a663537646436643839616531643561\n"
    "63396265333966386166373632626539326166353965363262633030333630313338646335303630\n"
    "3438626666666137650a353638643435666633633964366338633066623234616432373231333331\n"
    "6564\n"
)
PASSWORD = "a-long-secret-4711"  # esg2's password, from the environment as password_env says


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with no ansible-inventory output kept from another."""
    inventory_include._CACHE.clear()
    yield
    inventory_include._CACHE.clear()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with both Ansible inventories, a HOME with known_hosts, esg2's password set."""
    shutil.copytree(FIXTURES, tmp_path / "site")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text("10.40.0.1 ssh-ed25519 AAAA\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HOLDTIME_PASSWORD_ESG2", PASSWORD)
    return tmp_path / "site"


def _inventory(site: Path, text: str) -> Path:
    path = site / "holdtime.yaml"
    path.write_text(text)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_inventory(path)
    return list(raised.value.problems)


def _summary(inventory: Inventory) -> list[dict[str, Any]]:
    """The connection settings of each router, as a reader checks them."""
    return [
        {
            "name": r.name,
            "host": r.host,
            "port": r.port,
            "username": r.username,
            "auth": "agent" if r.auth.agent else r.auth.password_env,
            "proxy_jump": r.proxy_jump,
            "platforms": r.platforms,
            "sudo": r.sudo,
        }
        for r in inventory.of(Router)
    ]


INI_ROUTERS = [
    {
        "name": "core1",
        "host": "10.40.0.1",
        "port": 2022,  # on the host's line
        "username": "netops",  # [routers:vars], routers being core's parent
        "auth": "agent",
        "proxy_jump": "jump@10.40.0.254:2222",  # -J in [routers:vars] ansible_ssh_extra_args
        "platforms": ("frr",),  # group_vars/core.yml: frr.frr.frr
        "sudo": True,
    },
    {
        "name": "esg1",
        "host": "172.16.0.1",
        "port": 22,
        "username": "netops",
        "auth": "agent",
        "proxy_jump": "jump@10.40.0.254:2222",
        "platforms": ("frr", "strongswan"),  # group_vars/edges.yml
        "sudo": True,
    },
    {
        "name": "esg2",
        "host": "172.16.0.2",  # host_vars/esg2.yml
        "port": 22,
        "username": "netops",
        "auth": "HOLDTIME_PASSWORD_ESG2",  # a templated ansible_password: never read
        "proxy_jump": "jump@10.40.0.254:2222",
        "platforms": ("frr", "strongswan"),
        "sudo": True,
    },
]
INI_INCLUDE = """\
version: 1
include:
  ansible: ini/hosts.ini
  groups: routers
  platform_var: holdtime_platform
"""


def test_ini_inventory_with_children_group_vars_and_host_vars(site: Path) -> None:
    """An INI inventory's group and its [children], with group_vars/ and host_vars/ files."""
    inventory = load_inventory(_inventory(site, INI_INCLUDE))
    assert INI_ROUTERS == _summary(inventory)
    assert (("include (ini/hosts.ini, groups routers)", 3),) == inventory.included
    assert PASSWORD == inventory.named(Router, "esg2").auth.password
    known_hosts = Path(os.environ["HOME"], ".ssh", "known_hosts")
    assert {known_hosts} == {router.known_hosts for router in inventory.of(Router)}


def test_yaml_inventory_with_nested_children_and_a_list_of_includes(site: Path) -> None:
    """A YAML inventory: child group vars over parents', host_vars/ over both; two includes."""
    text = """\
version: 1
defaults:
  ssh: {username: fallback}
routers:
  - {name: hand-made, host: 10.9.9.9, auth: {agent: true}, known_hosts: ~/.ssh/known_hosts}
include:
  - ansible: yaml/site.yml
    groups: [routers]
    exclude: [vpc-router-1]
    platform_var: holdtime_platform
  - ansible: ini/hosts.ini
    groups: core
    platform: [frr]
"""
    inventory = load_inventory(_inventory(site, text))
    expected = [
        ("hand-made", "10.9.9.9", 22, "fallback", ("frr",)),
        ("vpc-router-2", "10.20.0.2", 2201, "ops", ("frr",)),  # host_vars: "2201"
        ("esg1", "172.16.0.1", 22, "admin", ("frr", "strongswan")),  # edges over routers
        ("core1", "10.40.0.1", 2022, "netops", ("frr",)),
    ]
    assert expected == [
        (r.name, r.host, r.port, r.username, r.platforms) for r in inventory.of(Router)
    ]
    assert "ops@bastion.example.net" == inventory.named(Router, "esg1").proxy_jump
    included = (
        ("include[0] (yaml/site.yml, groups routers)", 2),
        ("include[1] (ini/hosts.ini, groups core)", 1),
    )
    assert included == inventory.included
    assert f"{site / 'holdtime.yaml'}:7:14" == inventory.locate(
        inventory.where_is(inventory.named(Router, "esg1"))
    )


def test_included_routers_equal_the_imported_ones(site: Path) -> None:
    """The routers an include reads are the Router objects the import's file gives."""
    data = run_ansible_inventory(site / "ini" / "hosts.ini")
    imported = import_ansible(
        data, source="hosts.ini", groups=["routers"], platform_var="holdtime_platform"
    )
    written = site / "imported.yaml"
    written.write_text(imported.text)
    included = load_inventory(_inventory(site, INI_INCLUDE)).of(Router)
    assert load_inventory(written).of(Router) == included
    assert 3 == len(included)


def test_a_bad_host_var_is_reported_against_the_ansible_host(site: Path) -> None:
    """ansible_port: 99999 in host_vars/ is the validator's range error, naming host and var."""
    (site / "ini" / "host_vars" / "core1.yml").write_text(
        "ansible_port: 99999\nansible_host: 10.0.0.300.5\n"
    )
    path = _inventory(site, INI_INCLUDE)
    prefix = f"{path}:3:12: include (ini/hosts.ini) host core1: "
    expected = [
        prefix + "host from ansible_host (host core1): '10.0.0.300.5' is neither an IP "
        "address nor a host name",
        prefix + "port from ansible_port (host core1): 99999 is out of range 1..65535",
    ]
    assert expected == _problems(path)


def test_a_builder_rule_and_an_unset_password_name_the_host(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rules of the routers builder apply too: a bad ProxyJump, a password variable not set."""
    monkeypatch.delenv("HOLDTIME_PASSWORD_ESG2")
    (site / "ini" / "host_vars" / "esg1.yml").write_text(
        "ansible_ssh_extra_args: '-o ProxyJump=ops@bastion:notaport'\n"
    )
    path = _inventory(site, INI_INCLUDE)
    problems = _problems(path)
    assert 2 == len(problems), problems
    assert problems[0].startswith(
        f"{path}:3:12: include (ini/hosts.ini) host esg1: proxy_jump from ProxyJump in "
        "ansible_ssh_extra_args (host esg1): "
    )
    assert (
        f"{path}:3:12: include (ini/hosts.ini) host esg2: auth.password_env from "
        "ansible_password (host esg2): environment variable HOLDTIME_PASSWORD_ESG2 is not set"
    ) == problems[1]


def test_a_problem_shared_by_many_hosts_is_one_line(site: Path) -> None:
    """No ~/.ssh/known_hosts: one line naming the hosts, not one per host."""
    known_hosts = Path(os.environ["HOME"], ".ssh", "known_hosts")
    known_hosts.unlink()
    path = _inventory(site, INI_INCLUDE)
    expected = [
        f"{path}:3:12: include (ini/hosts.ini) hosts core1, esg1, esg2: known_hosts from ssh's "
        f"default, as Ansible uses: file '~/.ssh/known_hosts' does not exist ({known_hosts})"
    ]
    assert expected == _problems(path)


def test_a_host_the_import_would_skip_is_a_problem(site: Path) -> None:
    """A vaulted address cannot be read: the include says so instead of leaving the host out."""
    (site / "ini" / "host_vars" / "esg1.yml").write_text(
        "ansible_host: !vault |\n" + "".join(f"  {line}\n" for line in VAULTED.splitlines())
    )
    path = _inventory(site, INI_INCLUDE)
    assert [
        f"{path}:3:12: include (ini/hosts.ini) host esg1: ansible_host is vaulted in Ansible "
        "and holdtime never copies vaulted values: add this router by hand"
    ] == _problems(path)


def test_a_name_in_routers_and_in_two_includes_is_one_line_each(site: Path) -> None:
    """A router named in `routers:` and an include, or in two includes, names both places."""
    text = """\
version: 1
routers:
  - {name: core1, host: 10.9.9.9, auth: {agent: true}, username: u, known_hosts: ~/.ssh/known_hosts}
include:
  - {ansible: ini/hosts.ini, groups: core}
  - {ansible: ini/hosts.ini, groups: edges}
  - {ansible: ini/hosts.ini, groups: routers, exclude: core1}
"""
    path = _inventory(site, text)
    expected = [
        f"{path}:5:15: include[0] (ini/hosts.ini) host core1: the name is also routers[0] "
        "(line 3): rename one, or leave it out with exclude: [core1]",
        f"{path}:7:15: include[2] (ini/hosts.ini) host esg1: the name is also include[1] "
        "(ini/hosts.ini): rename one, or leave it out with exclude: [esg1]",
        f"{path}:7:15: include[2] (ini/hosts.ini) host esg2: the name is also include[1] "
        "(ini/hosts.ini): rename one, or leave it out with exclude: [esg2]",
    ]
    assert expected == _problems(path)


def test_unknown_groups_and_excluded_strangers_are_problems(site: Path) -> None:
    """A mistyped group names the groups there are; excluding a host that is not there too."""
    text = INI_INCLUDE.replace("groups: routers", "groups: [routers, rooters]")
    text += "  exclude: [esg3]\n"
    path = _inventory(site, text)
    expected = [
        f"{path}:4:11: include.groups: no group 'rooters' in ini/hosts.ini (groups: all, core, "
        "edges, routers, web)",
        f"{path}:6:12: include.exclude: 'esg3' is not a host of groups routers, rooters in "
        "ini/hosts.ini",
    ]
    assert expected == _problems(path)


def test_include_keys_are_validated_like_any_other(site: Path) -> None:
    """No groups, an unknown key, a platform not known: the walker's usual messages."""
    text = "version: 1\ninclude:\n  - {ansible: ini/hosts.ini, platfrom: frr}\n"
    path = _inventory(site, text)
    expected = [
        f"{path}:3:5: include[0]: missing required key 'groups'",
        f"{path}:3:30: include[0]: unknown key 'platfrom' (did you mean 'platform'?)",
    ]
    assert expected == _problems(path)


def test_an_empty_group_list_and_both_platform_keys_are_problems(site: Path) -> None:
    """`groups: []` would include nothing in silence; platform and platform_var conflict."""
    text = (
        "version: 1\ninclude:\n  - {ansible: ini/hosts.ini, groups: []}\n"
        "  - {ansible: ini/hosts.ini, groups: core, platform: frr, platform_var: p}\n"
    )
    path = _inventory(site, text)
    expected = [
        f"{path}:3:38: include[0].groups: name at least one Ansible group",
        f"{path}:4:5: include[1]: set platform or platform_var, not both",
    ]
    assert expected == _problems(path)


def test_passwords_are_not_kept_with_the_cached_output(site: Path) -> None:
    """The JSON kept between loads has no password value, even a literal one in the INI."""
    source = site / "ini" / "hosts.ini"
    source.write_text(source.read_text().replace("esg2\n", "esg2 ansible_password=hunter2-lit\n"))
    (site / "ini" / "group_vars" / "edges.yml").write_text(
        "holdtime_platform: frr\nansible_become_password: become-lit-9\n"
    )
    inventory = load_inventory(_inventory(site, INI_INCLUDE))
    assert "HOLDTIME_PASSWORD_ESG2" == inventory.named(Router, "esg2").auth.password_env
    kept = json.dumps([entry[2] for entry in inventory_include._CACHE.values()])
    assert ("hunter2-lit" in kept, "become-lit-9" in kept) == (False, False)
    assert "ansible_become_password" in kept


def test_a_missing_ansible_file_is_one_line(site: Path) -> None:
    """An `ansible:` path that does not exist is named with the folder it was looked for in."""
    path = _inventory(site, INI_INCLUDE.replace("ini/hosts.ini", "ini/hots.ini"))
    expected = [
        f"{path}:3:12: include.ansible: no Ansible inventory 'ini/hots.ini' "
        f"({site / 'ini' / 'hots.ini'})"
    ]
    assert expected == _problems(path)


def test_a_broken_ini_file_is_one_line_with_ansibles_reason(site: Path) -> None:
    """ansible-inventory failing on the file: one line with the ini plugin's own reason."""
    source = site / "ini" / "hosts.ini"
    source.write_text(source.read_text().replace("[web]", "[web"))
    path = _inventory(site, INI_INCLUDE)
    expected = [
        f"{path}:3:12: include.ansible: {source}: ansible-inventory failed: Failed to parse "
        "inventory with 'ini' plugin: Failed to parse inventory: Expected key=value, got: [web: "
        "fix it, then validate again"
    ]
    assert expected == _problems(path)


def test_without_ansible_inventory_the_line_says_what_to_install(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No ansible-inventory on PATH nor beside Python: install ansible-core, or import once."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(sys, "executable", str(empty / "python3"))
    path = _inventory(site, INI_INCLUDE)
    expected = [
        f"{path}:3:12: include.ansible: ansible-inventory not found: install ansible-core "
        "(pipx install ansible-core), in holdtime's environment or on PATH (or write the "
        "routers once with `holdtime inventory import ansible --json FILE`): fix it, then "
        "validate again"
    ]
    assert expected == _problems(path)


def test_a_slow_ansible_inventory_stops_at_the_timeout(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An ansible-inventory that hangs (a dynamic plugin waiting on its API) is cut off."""
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir()
    slow = bin_dir / "ansible-inventory"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    path = _inventory(site, INI_INCLUDE + "  timeout_seconds: 1\n")
    expected = [
        f"{path}:3:12: include.ansible: {site / 'ini' / 'hosts.ini'}: ansible-inventory did "
        "not finish in 1 s: fix it, then validate again"
    ]
    assert expected == _problems(path)


# -- the cache -----------------------------------------------------------------------------------
@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file with one line per ansible-inventory run (the real one, behind a counting script)."""
    assert ANSIBLE_INVENTORY is not None
    counted = tmp_path / "runs.txt"
    counted.write_text("")
    bin_dir = tmp_path / "counting-bin"
    bin_dir.mkdir()
    script = bin_dir / "ansible-inventory"
    script.write_text(f'#!/bin/sh\necho run >> "{counted}"\nexec "{ANSIBLE_INVENTORY}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return counted


def _count(runs: Path) -> int:
    return len(runs.read_text().splitlines())


def _touch(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def test_ansible_inventory_runs_again_only_when_a_file_changed(site: Path, runs: Path) -> None:
    """Unchanged: the kept output; touching the file or a group_vars/ file: a new run."""
    path = _inventory(site, INI_INCLUDE)
    load_inventory(path)
    load_inventory(path)
    assert 1 == _count(runs)
    _touch(site / "ini" / "hosts.ini")
    load_inventory(path)
    assert 2 == _count(runs)
    (site / "ini" / "group_vars" / "edges.yml").write_text("holdtime_platform: strongswan\n")
    assert ("strongswan",) == load_inventory(path).named(Router, "esg1").platforms
    assert 3 == _count(runs)
    (site / "ini" / "host_vars" / "esg1.yml").write_text("ansible_port: 2222\n")
    assert 2222 == load_inventory(path).named(Router, "esg1").port
    assert 4 == _count(runs)


def test_max_age_zero_runs_ansible_inventory_on_every_load(site: Path, runs: Path) -> None:
    """For a dynamic inventory (no file changes when the source does): max_age_seconds: 0."""
    path = _inventory(site, INI_INCLUDE + "  max_age_seconds: 0\n")
    load_inventory(path)
    load_inventory(path)
    assert 2 == _count(runs)


def test_a_failed_run_is_not_kept(site: Path, runs: Path) -> None:
    """After a failure the next load runs ansible-inventory again (the fix may be elsewhere)."""
    source = site / "ini" / "hosts.ini"
    good = source.read_text()
    source.write_text(good.replace("[web]", "[web"))
    path = _inventory(site, INI_INCLUDE)
    _problems(path)
    _problems(path)
    assert 2 == _count(runs)


# -- the command line, the schema, the cost of not using it ------------------------------------
def _holdtime(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOLDTIME, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": os.environ["HOME"],
            "HOLDTIME_PASSWORD_ESG2": PASSWORD,
        },
        check=False,
    )


def test_inventory_validate_counts_the_routers_of_each_include(site: Path) -> None:
    """`inventory validate` says ok and how many routers each include brought."""
    text = """\
version: 1
include:
  - {ansible: ini/hosts.ini, groups: routers, platform_var: holdtime_platform}
  - {ansible: yaml/site.yml, groups: routers, exclude: esg1, platform: frr}
"""
    path = _inventory(site, text)
    done = _holdtime("inventory", "validate", path.name, cwd=site)
    assert (0, "") == (done.returncode, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("holdtime.yaml: ok (5 routers, ")
    assert [
        "holdtime.yaml: include[0] (ini/hosts.ini, groups routers): 3 routers",
        "holdtime.yaml: include[1] (yaml/site.yml, groups routers): 2 routers",
    ] == lines[1:]


def test_inventory_validate_reports_include_problems_with_exit_2(site: Path) -> None:
    """A bad host var: exit 2, the problem line, the count; no traceback."""
    (site / "ini" / "host_vars" / "core1.yml").write_text("ansible_port: 99999\n")
    path = _inventory(site, INI_INCLUDE)
    done = _holdtime("inventory", "validate", path.name, cwd=site)
    expected = (
        "holdtime.yaml:3:12: include (ini/hosts.ini) host core1: port from ansible_port "
        "(host core1): 99999 is out of range 1..65535\nholdtime.yaml: 1 problem\n"
    )
    assert (2, "", expected) == (done.returncode, done.stdout, done.stderr)


def test_holdtime_check_runs_the_included_routers(site: Path) -> None:
    """`holdtime check` reaches each included router (a closed port here: ERROR, exit 2)."""
    (site / "check.ini").write_text("[routers]\nr1 ansible_host=127.0.0.1 ansible_port=1\n")
    path = _inventory(site, "version: 1\ninclude: {ansible: check.ini, groups: routers}\n")
    done = _holdtime("check", "-i", path.name, "--format", "json", cwd=site)
    assert 2 == done.returncode, done.stderr
    results = json.loads(done.stdout)["results"]
    assert results
    assert {"r1"} == {result["target"].partition("/")[0] for result in results}
    assert {"error"} == {result["status"] for result in results}
    assert all("127.0.0.1:1" in result["summary"] for result in results)


def test_the_schema_describes_include() -> None:
    """`inventory schema` takes one include or a list, requires ansible and groups."""
    validator = jsonschema.Draft202012Validator(inventory_schema())
    good = [
        {"include": {"ansible": "hosts.ini", "groups": "routers"}},
        {"include": [{"ansible": "a.yml", "groups": ["r"], "platform": ["frr"]}]},
    ]
    bad = [
        {"include": {"ansible": "hosts.ini"}},
        {"include": [{"ansible": "a.yml", "groups": "r", "platform": "ios"}]},
        {"include": {"ansible": "a.yml", "groups": "r", "max_age_seconds": -1}},
    ]
    assert [[], []] == [list(validator.iter_errors(data)) for data in good]
    assert [True, True, True] == [bool(list(validator.iter_errors(data))) for data in bad]


def test_an_inventory_without_include_loads_no_ansible_machinery(tmp_path: Path) -> None:
    """Loading a plain inventory does not import the Ansible mapping (nor run anything)."""
    path = tmp_path / "plain.yaml"
    path.write_text("version: 1\ntcp:\n  - {name: t1, host: 10.0.0.1, port: 443}\n")
    probe = (
        "import sys\n"
        "from holdtime.inventory import load_inventory\n"
        f"load_inventory({str(path)!r})\n"
        "print(sorted(m for m in ('holdtime.ansible_import',) if m in sys.modules))"
    )
    done = subprocess.run(  # cwd: not the checkout, whose holdtime/ folder would shadow the install
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "[]\n" == done.stdout

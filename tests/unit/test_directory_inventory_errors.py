"""Bad `dns:`, `dns_paths:`, `ldaps:`, `ldaps_paths:` and `tls:` input at the real command line.

`holdtime inventory validate` runs as a user runs it (the installed console script): each mistake
is exactly one `file:line:col: where: what` line and the count, exit status 2, no traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from holdtime.inventory import load_inventory
from holdtime.lab.lab_ca import LabCa
from holdtime.probes.dns_path_config import DnsPathConfig

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))

GOOD = """\
version: 1
dns:
  - name: directory
    resolvers:
      - {name: dc1, address: 10.1.1.10}
      - {name: dc2, address: 10.1.2.10}
    names:
      - {name: vcenter.example.net}
      - {name: nsx.example.net}
dns_paths:
  - {name: dc1-vc, resolver: {name: dc1, address: 10.1.1.10}, query: vcenter.example.net}
ldaps:
  - name: dc1
    host: 10.1.1.10
    server_name: dc1.example.net
    ca_file: ca.pem
    bind_dn: cn=svc,dc=example,dc=net
    password_env: HDQ_TEST_BIND_PW
    starttls_port: 389
ldaps_paths:
  - {name: dc1-ldaps, controller: dc1}
tls:
  - {name: vc, host: 10.1.1.20, port: 443, server_name: vcenter.example.net, ca_file: ca.pem}
drills:
  dc1-noop:
    description: nothing happens
    probes: [dc1-vc, dc1-ldaps]
    trigger: {exec: ["true"]}
    restore: {exec: ["true"]}
    budget: {max_outage_seconds: 10, abort_outage_seconds: 30}
"""

CASES = [  # id, (replace this, with this), the one line expected after `file:`
    (
        "unknown-controller",
        ("{name: dc1-ldaps, controller: dc1}", "{name: dc1-ldaps, controller: dc3}"),
        "21:35: ldaps_paths[0].controller: no ldaps controller named 'dc3' (did you mean "
        "'dc1'?); the ldaps: section has dc1",
    ),
    (
        "unknown-path-in-drill",
        ("probes: [dc1-vc, dc1-ldaps]", "probes: [dc2-vc, dc1-ldaps]"),
        "27:14: drills.dc1-noop.probes: no ping path named 'dc2-vc' in the inventory, nor a dns "
        "or ldaps path (did you mean 'dc1-vc'?); paths: dc1-vc (dns), dc1-ldaps (ldaps)",
    ),
    (
        "unknown-resolver",
        ("resolver: {name: dc1, address: 10.1.1.10}", "resolver: dc3"),
        "11:30: dns_paths[0].resolver: no resolver named 'dc3' in a dns: group (did you mean "
        "'dc2'?); the dns: section has dc1, dc2",
    ),
    (
        "resolver-not-a-mapping",
        ("resolver: {name: dc1, address: 10.1.1.10}", "resolver: [dc1]"),
        "11:30: dns_paths[0].resolver: must be a mapping, not a list (a resolver of a dns: "
        "group by its name (resolver: dc1), or the resolver itself: {name: dc1, address: "
        "10.1.1.10, port: 53})",
    ),
    (
        "ldaps-ca-not-pem",
        ("    ca_file: ca.pem\n", "    ca_file: notpem.pem\n"),
        "16:14: ldaps[0].ca_file: 'notpem.pem': not a PEM file with a certificate "
        "(want -----BEGIN CERTIFICATE-----)",
    ),
    (
        "tls-ca-not-pem",
        ("server_name: vcenter.example.net, ca_file: ca.pem", "ca_file: notpem.pem"),
        "23:53: tls[0].ca_file: 'notpem.pem': not a PEM file with a certificate "
        "(want -----BEGIN CERTIFICATE-----)",
    ),
    (
        "resolver-port",
        ("{name: dc2, address: 10.1.2.10}", "{name: dc2, address: 10.1.2.10, port: 65536}"),
        "6:47: dns[0].resolvers[1].port: 65536 is out of range 1..65535",
    ),
    (
        "ldaps-port",
        ("    starttls_port: 389\n", "    starttls_port: 0\n"),
        "19:20: ldaps[0].starttls_port: 0 is out of range 1..65535",
    ),
    (
        "tls-port",
        ("port: 443", "port: 100000"),
        "23:39: tls[0].port: 100000 is out of range 1..65535",
    ),
    (
        "name-not-dns",
        ("{name: nsx.example.net}", "{name: nsx..example.net}"),
        "9:16: dns[0].names[1].name: 'nsx..example.net' is not a DNS name: write labels of "
        "letters, digits, '-' or '_' (1-63 each, not starting with '-') joined by single dots, "
        "e.g. vcenter.example.net",
    ),
    (
        "name-is-an-address",
        ("{name: nsx.example.net}", "{name: 10.1.1.30}"),
        "9:16: dns[0].names[1].name: '10.1.1.30' is an IP address, not a DNS name to resolve",
    ),
    (
        "query-not-dns",
        ("query: vcenter.example.net}", "query: 'vcenter example'}"),
        "11:70: dns_paths[0].query: 'vcenter example' is not a DNS name: write labels of "
        "letters, digits, '-' or '_' (1-63 each, not starting with '-') joined by single dots, "
        "e.g. vcenter.example.net",
    ),
    (
        "server-name-not-dns",
        ("server_name: dc1.example.net", "server_name: dc1..example.net"),
        "15:18: ldaps[0].server_name: 'dc1..example.net' is neither an IP address nor a host name",
    ),
    (
        "password-env-unset",
        ("password_env: HDQ_TEST_BIND_PW", "password_env: HDQ_TEST_UNSET_PW"),
        "18:19: ldaps[0].password_env: environment variable HDQ_TEST_UNSET_PW is not set",
    ),
]


def _validate(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    shutil.copyfile(LabCa.create(tmp_path / "ca").cert_path, tmp_path / "ca.pem")
    (tmp_path / "notpem.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a certificate\n")
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    env = {**os.environ, "HDQ_TEST_BIND_PW": "Hdq-bind-Xq93-secret"}
    env.pop("HDQ_TEST_UNSET_PW", None)
    return subprocess.run(
        [HOLDTIME, "inventory", "validate", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_good_inventory_is_valid(tmp_path: Path) -> None:
    """The base every case changes one thing in validates (exit 0), so each line is its own."""
    done = _validate(tmp_path, GOOD)
    assert (0, "") == (done.returncode, done.stderr)


@pytest.mark.parametrize(("change", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_is_one_line_naming_where(
    tmp_path: Path, change: tuple[str, str], line: str
) -> None:
    """One `file:line:col: where: what` line and the count; exit 2; no traceback, no secret."""
    assert change[0] in GOOD
    done = _validate(tmp_path, GOOD.replace(*change, 1))
    path = tmp_path / "inventory.yaml"
    assert (2, "", [f"{path}:{line}", f"{path}: 1 problem"]) == (
        done.returncode,
        done.stdout,
        done.stderr.splitlines(),
    )
    assert "Hdq-bind-Xq93-secret" not in done.stderr


def test_two_bad_names_are_two_lines_and_no_duplicate(tmp_path: Path) -> None:
    """Two names that are not DNS names: a line each, neither taken for a name listed twice."""
    names = "      - {name: vcenter.example.net}\n      - {name: nsx.example.net}\n"
    bad = "      - {name: -vc.example.net}\n      - {name: nsx..example.net}\n"
    assert names in GOOD
    done = _validate(tmp_path, GOOD.replace(names, bad))
    path = tmp_path / "inventory.yaml"
    rule = (
        "is not a DNS name: write labels of letters, digits, '-' or '_' (1-63 each, not "
        "starting with '-') joined by single dots, e.g. vcenter.example.net"
    )
    assert (
        2,
        [
            f"{path}:8:16: dns[0].names[0].name: '-vc.example.net' {rule}",
            f"{path}:9:16: dns[0].names[1].name: 'nsx..example.net' {rule}",
            f"{path}: 2 problems",
        ],
    ) == (done.returncode, done.stderr.splitlines())


def test_a_resolver_by_name_is_the_dns_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`resolver: dc2` in a dns path is dc2 of the `dns:` group: its address, port and netns."""
    text = (
        GOOD.replace("resolver: {name: dc1, address: 10.1.1.10}", "resolver: dc2", 1)
        .replace("{name: dc2, address: 10.1.2.10}", "{name: dc2, address: 10.1.2.10, port: 5353}")
        .replace("    names:\n", "    netns: hdq-app\n    names:\n", 1)
    )
    done = _validate(tmp_path, text)
    assert (0, "") == (done.returncode, done.stderr)
    monkeypatch.setenv("HDQ_TEST_BIND_PW", "Hdq-bind-Xq93-secret")
    (path,) = load_inventory(tmp_path / "inventory.yaml").of(DnsPathConfig)
    assert (path.resolver.name, path.resolver.address, path.resolver.port, path.netns) == (
        "dc2",
        "10.1.2.10",
        5353,
        "hdq-app",
    )


def test_a_resolver_name_with_two_addresses_is_refused(tmp_path: Path) -> None:
    """The same resolver name at two addresses in two groups: which one is meant is for the user."""
    other = (
        "  - name: other\n    resolvers:\n      - {name: dc1, address: 10.9.9.9}\n"
        "    names:\n      - {name: vcenter.example.net}\n"
    )
    text = GOOD.replace("resolver: {name: dc1, address: 10.1.1.10}", "resolver: dc1", 1).replace(
        "dns_paths:\n", other + "dns_paths:\n", 1
    )
    done = _validate(tmp_path, text)
    path = tmp_path / "inventory.yaml"
    assert (
        2,
        [
            f"{path}:16:30: dns_paths[0].resolver: resolver 'dc1' has different addresses in the "
            "dns: groups (10.1.1.10 port 53; 10.9.9.9 port 53): give the resolver itself, "
            "{name: ..., address: ..., port: ...}",
            f"{path}: 1 problem",
        ],
    ) == (done.returncode, done.stderr.splitlines())

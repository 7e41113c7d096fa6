"""Bad inventories: every problem is one line `file:line:col: where: message`, exit code 2."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from holdtime.cli import main
from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory
from holdtime.probes.router_config import Router

ROUTER = """\
routers:
  - name: r1
    host: 10.0.0.1
    username: ops
    auth: {key_file: key}
    known_hosts: known_hosts
"""

VCENTER = "vcenters:\n  - {name: vc, host: vc, username: u, password_env: HOME"

# (case id, inventory text, the one problem line expected without the file name; {dir} stands
# for the inventory's folder)
CASES = [
    (
        "yaml-syntax",
        "routers: [\n",
        "2:1: invalid YAML: expected the node content, but found '<stream end>'",
    ),
    (
        "yaml-tab",
        "routers:\n\t- name: x\n",
        "2:1: invalid YAML: found character '\\t' that cannot start any token",
    ),
    ("top-is-list", "- a\n- b\n", "1:1: top level: must be a mapping, not a list"),
    ("top-is-scalar", "hello\n", "1:1: top level: must be a mapping, not 'hello'"),
    (
        "unknown-top-key",
        "routerz: []\n",
        "1:1: top level: unknown key 'routerz' (did you mean 'routers'?)",
    ),
    (
        "unknown-top-key-no-hint",
        "colour: red\n",
        "1:1: top level: unknown key 'colour'; known keys: version, defaults, include, routers, vcenters, kms, tcp, ping_paths, dns_paths, dns, ldaps, ldaps_paths, tls, kmip, drills",
    ),
    (
        "bad-version",
        "version: 2\n",
        "1:10: version: unsupported version 2 (this holdtime reads version 1)",
    ),
    ("version-text", "version: one\n", "1:10: version: must be a whole number, not 'one'"),
    ("routers-not-list", "routers: {a: 1}\n", "1:10: routers: must be a list, not a mapping"),
    ("router-not-map", "routers:\n  - r1\n", "2:5: routers[0]: must be a mapping, not 'r1'"),
    (
        "router-missing-name",
        ROUTER.replace("  - name: r1\n    host", "  - host"),
        "2:5: routers[0]: missing required key 'name'",
    ),
    (
        "router-missing-host",
        ROUTER.replace("    host: 10.0.0.1\n", ""),
        "2:5: routers[0]: missing required key 'host'",
    ),
    (
        "router-port-too-big",
        ROUTER + "    port: 73382\n",
        "7:11: routers[0].port: 73382 is out of range 1..65535",
    ),
    (
        "router-port-zero",
        ROUTER + "    port: 0\n",
        "7:11: routers[0].port: 0 is out of range 1..65535",
    ),
    (
        "router-port-text",
        ROUTER + "    port: ssh\n",
        "7:11: routers[0].port: must be a whole number, not 'ssh'",
    ),
    (
        "router-port-float",
        ROUTER + "    port: 22.5\n",
        "7:11: routers[0].port: must be a whole number, not '22.5'",
    ),
    (
        "router-port-bool",
        ROUTER + "    port: true\n",
        "7:11: routers[0].port: must be a whole number, not 'true'",
    ),
    (
        "router-typo",
        ROUTER + "    prot: 22\n",
        "7:5: routers[0]: unknown key 'prot' (did you mean 'port'?)",
    ),
    (
        "router-duplicate-key",
        ROUTER + "    host: 10.0.0.2\n",
        "7:5: routers[0].host: duplicate key (first set on line 3)",
    ),
    (
        "router-bad-name",
        ROUTER.replace("name: r1", "name: 'r 1'"),
        "2:11: routers[0].name: 'r 1' is not a valid name (letters, digits, . _ -)",
    ),
    (
        "router-bad-host",
        ROUTER.replace("10.0.0.1", "'bad host!'"),
        "3:11: routers[0].host: 'bad host!' is neither an IP address nor a host name",
    ),
    (
        "router-duplicate-name",
        ROUTER + ROUTER.replace("routers:\n", ""),
        "7:11: routers[1].name: duplicate name 'r1' (first used on line 2)",
    ),
    (
        "router-bad-platform",
        ROUTER + "    platform: [frr, strongswam]\n",
        "7:21: routers[0].platform[1]: 'strongswam' is not one of frr, strongswan, libreswan (did you mean 'strongswan'?)",
    ),
    (
        "router-sudo-text",
        ROUTER + "    sudo: yes please\n",
        "7:11: routers[0].sudo: must be true or false, not 'yes please'",
    ),
    (
        "router-timeout-negative",
        ROUTER + "    timeouts: {connect_seconds: -1}\n",
        "7:33: routers[0].timeouts.connect_seconds: -1.0 seconds is out of range 0.1..600 seconds",
    ),
    (
        "router-timeout-typo",
        ROUTER + "    timeouts: {conect_seconds: 5}\n",
        "7:16: routers[0].timeouts: unknown key 'conect_seconds' (did you mean 'connect_seconds'?)",
    ),
    (
        "router-literal-password",
        ROUTER.replace("{key_file: key}", "{password: hunter2}"),
        "5:22: routers[0].auth.password: literal passwords are refused: use password_env, or set allow_literal_password: true on this entry",
    ),
    (
        "router-two-auths",
        ROUTER.replace("{key_file: key}", "{key_file: key, agent: true}"),
        "5:11: routers[0].auth: needs exactly one of key_file, agent: true, password_env (found key_file, agent)",
    ),
    (
        "router-no-auth",
        ROUTER.replace("    auth: {key_file: key}\n", ""),
        "2:5: routers[0].auth: needs exactly one of key_file, agent: true, password_env",
    ),
    (
        "router-env-unset",
        ROUTER.replace("{key_file: key}", "{password_env: HOLDTIME_TEST_UNSET}"),
        "5:26: routers[0].auth.password_env: environment variable HOLDTIME_TEST_UNSET is not set",
    ),
    (
        "router-key-missing",
        ROUTER.replace("key_file: key", "key_file: nokey"),
        "5:22: routers[0].auth.key_file: file 'nokey' does not exist ({dir}/nokey)",
    ),
    (
        "router-known-hosts-dir",
        ROUTER.replace("known_hosts: known_hosts", "known_hosts: adir"),
        "6:18: routers[0].known_hosts: file 'adir' is not a readable file ({dir}/adir)",
    ),
    (
        "router-no-known-hosts",
        ROUTER.replace("    known_hosts: known_hosts\n", ""),
        "2:5: routers[0]: host keys are verified by default: set known_hosts (or host_key_policy: accept-new to trust on first use)",
    ),
    (
        "router-bad-policy",
        ROUTER + "    host_key_policy: trust-all\n",
        "7:22: routers[0].host_key_policy: 'trust-all' is not one of reject, accept-new, warn",
    ),
    (
        "router-no-username",
        ROUTER.replace("    username: ops\n", ""),
        "2:5: routers[0]: missing 'username' (set it here or in defaults.ssh.username)",
    ),
    (
        "bgp-bad-neighbor",
        ROUTER + "    expect:\n      bgp:\n        neighbors:\n          - address: 10.10.10.300\n",
        "10:22: routers[0].expect.bgp.neighbors[0].address: '10.10.10.300' is not an IP address",
    ),
    (
        "bgp-bad-prefix",
        ROUTER
        + "    expect:\n      bgp:\n        neighbors:\n          - {address: 10.10.10.2, prefixes_received: [172.16.1.1/24]}\n",
        "10:55: routers[0].expect.bgp.neighbors[0].prefixes_received[0]: '172.16.1.1/24' is not an IP prefix (172.16.1.1/24 has host bits set)",
    ),
    (
        "bgp-bad-as",
        ROUTER
        + "    expect:\n      bgp:\n        neighbors:\n          - {address: 10.10.10.2, remote_as: 0}\n",
        "10:46: routers[0].expect.bgp.neighbors[0].remote_as: 0 is out of range 1..4294967295",
    ),
    (
        "bgp-best-path-missing-via",
        ROUTER
        + "    expect:\n      bgp:\n        best_paths:\n          - {prefix: 172.16.1.0/24}\n",
        "10:13: routers[0].expect.bgp.best_paths[0]: missing required key 'via'",
    ),
    (
        "expect-typo",
        ROUTER + "    expect:\n      bgpp: {}\n",
        "8:7: routers[0].expect: unknown key 'bgpp' (did you mean 'bgp'?)",
    ),
    (
        "tcp-missing-port",
        "tcp:\n  - {name: dns, host: 10.1.1.1}\n",
        "2:5: tcp[0]: missing required key 'port'",
    ),
    (
        "tcp-port-negative",
        "tcp:\n  - {name: dns, host: 10.1.1.1, port: -53}\n",
        "2:39: tcp[0].port: -53 is out of range 1..65535",
    ),
    (
        "tcp-timeout-huge",
        "tcp:\n  - {name: dns, host: 10.1.1.1, port: 53, timeout_seconds: 1000}\n",
        "2:60: tcp[0].timeout_seconds: 1000.0 seconds is out of range 0.1..120 seconds",
    ),
    (
        "tcp-duplicate",
        "tcp:\n  - {name: dns, host: a, port: 53}\n  - {name: dns, host: b, port: 53}\n",
        "3:12: tcp[1].name: duplicate name 'dns' (first used on line 2)",
    ),
    (
        "vcenter-no-password",
        "vcenters:\n  - {name: vc, host: vc.example.net, username: u}\n",
        "2:5: vcenters[0]: needs exactly one of password_env or password",
    ),
    (
        "vcenter-env-unset",
        "vcenters:\n  - {name: vc, host: vc, username: u, password_env: HOLDTIME_TEST_UNSET}\n",
        "2:53: vcenters[0].password_env: environment variable HOLDTIME_TEST_UNSET is not set",
    ),
    (
        "vcenter-verify-text",
        "vcenters:\n  - {name: vc, host: vc, username: u, password_env: HOME, verify_tls: maybe}\n",
        "2:71: vcenters[0].verify_tls: must be true or false, not 'maybe'",
    ),
    (
        "vcenter-insecure-contradiction",
        "vcenters:\n  - {name: vc, host: vc, username: u, password_env: HOME, verify_tls: true, insecure: true}\n",
        "2:5: vcenters[0]: insecure: true contradicts verify_tls: true",
    ),
    (
        "vcenter-sioc-inverted",
        "vcenters:\n  - {name: vc, host: vc, username: u, password_env: HOME, expect: {sioc: {threshold_ms: {min: 50, max: 10}}}}\n",
        "2:89: vcenters[0].expect.sioc.threshold_ms: min 50.0 is above max 10.0",
    ),
    (
        "ping-interval-too-small",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, interval_seconds: 0.001}\n",
        "2:56: ping_paths[0].interval_seconds: 0.001 seconds is out of range 0.01..60 seconds",
    ),
    (
        "ping-interval-text",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, interval_seconds: fast}\n",
        "2:56: ping_paths[0].interval_seconds: must be a number, not 'fast'",
    ),
    (
        "ping-count-and-duration",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, count: 10, duration_seconds: 5}\n",
        "2:5: ping_paths[0]: give count or duration_seconds, not both",
    ),
    (
        "ping-count-zero",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, count: 0}\n",
        "2:45: ping_paths[0].count: 0 is out of range 1..10000000",
    ),
    (
        "ping-unknown-router",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, source: {router: r9}}\n",
        "2:46: ping_paths[0].source: no router named 'r9' in routers",
    ),
    (
        "ping-bad-source",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, source: {vrf: x}}\n",
        "2:46: ping_paths[0].source: must be local, {netns: NAME} or {router: NAME}"
        " (optionally with address: IP)",
    ),
    (
        "ping-bad-source-address",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, source: {router: r, address: x}}\n",
        "2:46: ping_paths[0].source.address: 'x' is not an IP address",
    ),
    (
        "ping-no-destination",
        "ping_paths:\n  - {name: p}\n",
        "2:5: ping_paths[0]: missing required key 'destination'",
    ),
    (
        "drills-not-mapping",
        "drills: [a]\n",
        "1:9: drills: must be a mapping of drill name -> scenario",
    ),
    (
        "defaults-typo",
        "defaults:\n  shh: {}\n",
        "2:3: defaults: unknown key 'shh' (did you mean 'ssh'?)",
    ),
    (
        "key-not-text",
        "tcp:\n  - {1: x, name: a, host: h, port: 1}\n",
        "2:6: tcp[0]: keys must be text, not '1'",
    ),
    (
        "empty-name",
        "tcp:\n  - {name: '', host: a, port: 1}\n",
        "2:12: tcp[0].name: must not be empty",
    ),
    (
        "yaml-unclosed-quote",
        "routers:\n  - name: 'r1\n",
        "3:1: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 2, column 11)",
    ),
    (
        "yaml-two-documents",
        "version: 1\n---\nversion: 1\n",
        "2:1: invalid YAML: expected a single document in the stream, but found another document",
    ),
    (
        "yaml-undefined-alias",
        "routers: *nope\n",
        "1:10: invalid YAML: found undefined alias 'nope'",
    ),
    (
        "yaml-bad-indent",
        "routers:\n  - name: r1\n   host: h\n",
        "3:4: invalid YAML: expected <block end>, but found '<block mapping start>' (while parsing a block collection at line 2, column 3)",
    ),
    (
        "tag-python-object",
        "version: !!python/object/apply:os.system [id]\n",
        "1:10: unsupported YAML tag !!python/object/apply:os.system (plain lists and mappings only)",
    ),
    (
        "tag-custom",
        ROUTER + "    port: !port 22\n",
        "7:11: unsupported YAML tag !port (plain values only)",
    ),
    (
        "tag-bad-int",
        ROUTER + "    port: !!int twenty-two\n",
        "7:11: 'twenty-two' is not a valid !!int",
    ),
    (
        "tag-timestamp",
        "version: !!timestamp 2026-01-01\n",
        "1:10: unsupported YAML tag !!timestamp (plain values only)",
    ),
    (
        "tag-set",
        "routers: !!set {a: null}\n",
        "1:10: unsupported YAML tag !!set (plain lists and mappings only)",
    ),
    (
        "alias-recursive",
        "routers: &loop\n  - *loop\n",
        "1:10: an alias refers to a value that contains it (recursive structure)",
    ),
    (
        "alias-bomb",
        "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n"
        + "".join(f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]\n" for i in range(1, 7)),
        "6:5: aliases expand to more than 200000 values (alias bomb?)",
    ),
    (
        "nested-too-deep",
        "drills:\n  d: " + "[" * 70 + "]" * 70 + "\n",
        "2:68: nested more than 64 levels deep",
    ),
    (
        "merge-not-mapping",
        ROUTER + "    <<: 5\n",
        "7:9: '<<' merges a mapping or a list of mappings",
    ),
    (
        "drills-duplicate",
        "drills: {}\ndrills: {}\n",
        "2:1: drills: duplicate key (first set on line 1)",
    ),
    (
        "drill-name-duplicate",
        "drills:\n  d1: {}\n  d1: {}\n",
        "3:3: drills.d1: duplicate key (first set on line 2)",
    ),
    (
        "host-control-char",
        ROUTER.replace("10.0.0.1", '"10.0.0.1\\n"'),
        "3:11: routers[0].host: '10.0.0.1\\n' must not contain control characters",
    ),
    (
        "env-bad-name",
        ROUTER.replace("{key_file: key}", "{password_env: 'MY-PASSWORD'}"),
        "5:26: routers[0].auth.password_env: 'MY-PASSWORD' is not an environment variable name",
    ),
    (
        "env-empty",
        ROUTER.replace("{key_file: key}", "{password_env: HOLDTIME_TEST_EMPTY}"),
        "5:26: routers[0].auth.password_env: environment variable HOLDTIME_TEST_EMPTY is set but empty",
    ),
    (
        "ping-bad-netns",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, source: {netns: 'ns 1'}}\n",
        "2:46: ping_paths[0].source.netns: 'ns 1' is not a valid network namespace name",
    ),
    (
        "key-path-too-long",
        ROUTER.replace("key_file: key", "key_file: " + "k" * 300),
        f"5:22: routers[0].auth.key_file: file '{'k' * 300}' cannot be checked: File name too long",
    ),
    (
        "ssh-config-missing",
        ROUTER + "    ssh_config: no_such_config\n",
        "7:17: routers[0].ssh_config: file 'no_such_config' does not exist ({dir}/no_such_config)",
    ),
    (
        "vcenter-port-too-big",
        VCENTER + ", port: 65536}\n",
        "2:65: vcenters[0].port: 65536 is out of range 1..65535",
    ),
    (
        "vcenter-typo",
        VCENTER + ", verfy_tls: true}\n",
        "2:59: vcenters[0]: unknown key 'verfy_tls' (did you mean 'verify_tls'?)",
    ),
    (
        "vcenter-duplicate",
        VCENTER + "}\n" + VCENTER.replace("vcenters:\n", "") + "}\n",
        "3:12: vcenters[1].name: duplicate name 'vc' (first used on line 2)",
    ),
    (
        "vcenter-nfs-zero",
        VCENTER + ", expect: {nfs: {min_paths: 0}}}\n",
        "2:85: vcenters[0].expect.nfs.min_paths: 0 is out of range 1..32",
    ),
    (
        "vcenter-sioc-text",
        VCENTER + ", expect: {sioc: {threshold_ms: {min: low}}}}\n",
        "2:95: vcenters[0].expect.sioc.threshold_ms.min: must be a number, not 'low'",
    ),
    (
        "vcenter-literal-password",
        "vcenters:\n  - {name: vc, host: vc, username: u, password: hunter2}\n",
        "2:49: vcenters[0].password: literal passwords are refused: use password_env, or set allow_literal_password: true on this entry",
    ),
    (
        "vcenter-missing-username",
        "vcenters:\n  - {name: vc, host: vc, password_env: HOME}\n",
        "2:5: vcenters[0]: missing required key 'username'",
    ),
    (
        "defaults-timeout-zero",
        "defaults:\n  ssh: {connect_timeout_seconds: 0}\n",
        "2:34: defaults.ssh.connect_timeout_seconds: 0.0 seconds is out of range 0.1..600 seconds",
    ),
    (
        "defaults-tcp-typo",
        "defaults:\n  tcp: {timeout: 3}\n",
        "2:9: defaults.tcp: unknown key 'timeout' (did you mean 'timeout_seconds'?)",
    ),
    (
        "ping-interval-too-big",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, interval_seconds: 61}\n",
        "2:56: ping_paths[0].interval_seconds: 61.0 seconds is out of range 0.01..60 seconds",
    ),
    (
        "ping-duration-zero",
        "ping_paths:\n  - {name: p, destination: 10.0.0.1, duration_seconds: 0}\n",
        "2:56: ping_paths[0].duration_seconds: 0.0 seconds is out of range 0.1..86400 seconds",
    ),
    (
        "ping-duplicate",
        "ping_paths:\n  - {name: p, destination: a}\n  - {name: p, destination: b}\n",
        "3:12: ping_paths[1].name: duplicate name 'p' (first used on line 2)",
    ),
    (
        "ping-bad-destination",
        "ping_paths:\n  - {name: p, destination: 'db server'}\n",
        "2:28: ping_paths[0].destination: 'db server' is neither an IP address nor a host name",
    ),
    (
        "ping-outage-negative",
        "ping_paths:\n  - {name: p, destination: a, expect: {max_outage_seconds: -1}}\n",
        "2:60: ping_paths[0].expect.max_outage_seconds: -1.0 seconds is out of range 0..86400 seconds",
    ),
    (
        "ping-expect-typo",
        "ping_paths:\n  - {name: p, destination: a, expect: {max_outage: 5}}\n",
        "2:40: ping_paths[0].expect: unknown key 'max_outage' (did you mean 'max_outage_seconds'?)",
    ),
    (
        "router-platform-typo",
        ROUTER + "    platform: fr\n",
        "7:15: routers[0].platform: 'fr' is not one of frr, strongswan, libreswan (did you mean 'frr'?)",
    ),
    (
        "router-policy-typo",
        ROUTER + "    host_key_policy: accept_new\n",
        "7:22: routers[0].host_key_policy: 'accept_new' is not one of reject, accept-new, warn (did you mean 'accept-new'?)",
    ),
    (
        "router-platform-mapping",
        ROUTER + "    platform: [{frr: 1}]\n",
        "7:16: routers[0].platform[0]: must be text, not a mapping",
    ),
    (
        "ipsec-bad-tunnel-name",
        ROUTER + "    expect:\n      ipsec:\n        tunnels: ['esg 1']\n",
        "9:19: routers[0].expect.ipsec.tunnels[0]: 'esg 1' is not a valid name (letters, digits, . _ -)",
    ),
    (
        "bgp-hold-time-zero",
        ROUTER + "    expect:\n      bgp: {max_hold_time_seconds: 0}\n",
        "8:36: routers[0].expect.bgp.max_hold_time_seconds: 0.0 seconds is out of range 1..65535 seconds",
    ),
    (
        "bgp-bfd-text",
        ROUTER + "    expect:\n      bgp: {bfd: 'on please'}\n",
        "8:18: routers[0].expect.bgp.bfd: must be true or false, not 'on please'",
    ),
    (
        "bgp-neighbors-not-list",
        ROUTER + "    expect:\n      bgp: {neighbors: 10.0.0.2}\n",
        "8:24: routers[0].expect.bgp.neighbors: must be a list, not '10.0.0.2'",
    ),
    (
        "ip-forwarding-quoted",
        ROUTER + "    expect:\n      ip_forwarding: 'true'\n",
        "8:22: routers[0].expect.ip_forwarding: must be true or false, not 'true'",
    ),
    (
        "port-quoted",
        "tcp:\n  - {name: a, host: h, port: '443'}\n",
        "2:30: tcp[0].port: must be a whole number, not '443'",
    ),
    (
        "port-null",
        "tcp:\n  - {name: a, host: h, port: ~}\n",
        "2:30: tcp[0].port: must be a whole number, not '~'",
    ),
    (
        "section-null-item",
        "tcp:\n  -\n",
        "2:4: tcp[0]: must be a mapping, not nothing (null)",
    ),
    (
        "name-too-long",
        "tcp:\n  - {name: " + "n" * 64 + ", host: h, port: 1}\n",
        f"2:12: tcp[0].name: '{'n' * 64}' is not a valid name (letters, digits, . _ -)",
    ),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory with the files the router snippets refer to."""
    (tmp_path / "key").write_text("not really a key\n")
    (tmp_path / "known_hosts").write_text("")
    (tmp_path / "adir").mkdir()
    return tmp_path


def test_at_least_forty_five_bad_input_cases() -> None:
    """The table covers the 40 bad-input cases the foundation promises, and more; ids are unique."""
    ids = [case[0] for case in CASES]
    assert (True, True) == (len(ids) >= 45, len(set(ids)) == len(ids))


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_inventory_names_file_line_and_key(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    """One mistake is reported as exactly one line `file:line:col: where: message`."""
    monkeypatch.delenv("HOLDTIME_TEST_UNSET", raising=False)
    monkeypatch.setenv("HOLDTIME_TEST_EMPTY", "")
    path = workdir / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    line = f"{path}:" + expected.replace("{dir}", str(workdir))
    assert [line] == str(caught.value).splitlines()
    assert str(caught.value).splitlines() == caught.value.problems  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "missing.yaml", "no such inventory file"),
        (lambda d: d, "is a directory, not an inventory file"),
        (lambda d: _write(d / "empty.yaml", ""), "the inventory is empty"),
        (lambda d: _write(d / "bin.yaml", b"\xff\xfe\x00bad"), "not UTF-8 text"),
    ],
    ids=["missing", "directory", "empty", "not-utf8"],
)
def test_unreadable_inventory_is_one_line(workdir: Path, make: object, expected: str) -> None:
    """Missing, directory, empty and binary files give one line naming the file."""
    path = make(workdir)  # type: ignore[operator]
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert [f"{path}: {expected}"] == [str(caught.value).split(" (")[0]]


def test_nesting_deeper_than_the_yaml_parser_can_follow_is_one_line(workdir: Path) -> None:
    """Thousands of nested brackets exhaust PyYAML's recursion: one line, no RecursionError."""
    path = _write(workdir / "deep.yaml", "routers: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert [f"{path}: invalid YAML: nested too deeply"] == str(caught.value).splitlines()


def test_file_that_fails_to_read_is_one_line() -> None:
    """A read that fails with an I/O error (even for root) names the file and the reason."""
    path = Path("/proc/self/mem")  # open() works, read() at offset 0 fails with EIO
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert [f"{path}: cannot read: Input/output error"] == str(caught.value).splitlines()


def test_fixture_with_many_problems_lists_them_all(capsys: pytest.CaptureFixture[str]) -> None:
    """`inventory validate` on tests/fixtures/inventory/invalid/* prints the golden lines."""
    folder = Path(__file__).resolve().parents[1] / "fixtures" / "inventory" / "invalid"
    cases = sorted(folder.glob("*.yaml"))
    assert cases
    for path in cases:
        expected = path.with_suffix(".expected").read_text().replace("{file}", str(path))
        assert (2, "", expected) == (
            main(["inventory", "validate", str(path)]),
            *capsys.readouterr(),
        )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_permissions(workdir: Path) -> None:
    """A file without read permission is a one-line error."""
    path = _write(workdir / "secret.yaml", "version: 1\n")
    path.chmod(0)
    with pytest.raises(ConfigError, match="permission denied"):
        load_inventory(path)


def test_every_problem_is_reported_at_once(workdir: Path) -> None:
    """Three independent mistakes give three lines, in file order."""
    path = _write(
        workdir / "inventory.yaml",
        textwrap.dedent(
            """\
            tcp:
              - {name: a, host: h, port: 70000}
              - {name: b, host: h, prot: 1}
            ping_paths:
              - {name: p, destination: 10.0.0.1, interval_seconds: 0}
            """
        ),
    )
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    numbers = [int(line.split(":")[1]) for line in str(caught.value).splitlines()]
    assert [2, 3, 3, 5] == numbers


def test_secret_never_appears_in_errors_or_repr(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolved password is in neither the repr of the inventory nor any error."""
    monkeypatch.setenv("HOLDTIME_TEST_SECRET", "s3cr3t-value")
    text = ROUTER.replace("{key_file: key}", "{password_env: HOLDTIME_TEST_SECRET}")
    inventory = load_inventory(_write(workdir / "ok.yaml", text))
    assert "s3cr3t-value" == inventory.of(Router)[0].auth.password
    assert "s3cr3t-value" not in repr(inventory)
    bad = _write(workdir / "bad.yaml", text + "    port: 0\n")
    with pytest.raises(ConfigError) as caught:
        load_inventory(bad)
    assert "s3cr3t-value" not in str(caught.value)


def test_cli_validate_exits_2_with_lines_and_no_traceback(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime inventory validate` prints the problems and a count, exit code 2."""
    path = _write(workdir / "inventory.yaml", "tcp:\n  - {name: a, host: h, port: 73382}\n")
    assert 2 == main(["inventory", "validate", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [
        f"{path}:2:30: tcp[0].port: 73382 is out of range 1..65535",
        f"{path}: 1 problem",
    ] == err.splitlines()


def test_cli_check_with_bad_inventory_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime check` refuses a bad inventory with the same one-line error, exit 2."""
    path = _write(workdir / "inventory.yaml", "routerz: []\n")
    assert 2 == main(["check", "-i", str(path)])
    err = capsys.readouterr().err
    assert err.startswith(f"holdtime: error: {path}:1:1: top level: unknown key 'routerz'")
    assert "Traceback" not in err


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path

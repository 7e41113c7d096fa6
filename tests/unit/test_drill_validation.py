"""`inventory validate` rejects drills that cannot work, at file:line:col, before any run."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdtime.cli import main

INVENTORY = """\
version: 1
routers:
  - name: esg1
    host: 10.20.0.2
    username: holdtime
    auth: {{key_file: {key}}}
    known_hosts: {known}
{router_extra}ping_paths:
  - name: app-to-db
    source: local
    destination: 172.16.1.10
drills:
  d:
    probes: {probes}
    trigger: {trigger}
{restore}"""
GOOD_RESTORE = "    restore: {ssh: esg1, command: \"vtysh -c 'no x'\"}\n"


def _validate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    probes: str = "[app-to-db]",
    trigger: str = "{ssh: esg1, command: \"vtysh -c 'x'\"}",
    restore: str = GOOD_RESTORE,
    router_extra: str = "",
) -> tuple[int, list[str]]:
    (tmp_path / "key").write_text("")
    (tmp_path / "known").write_text("")
    path = tmp_path / "inv.yaml"
    path.write_text(
        INVENTORY.format(
            key=tmp_path / "key",
            known=tmp_path / "known",
            probes=probes,
            trigger=trigger,
            restore=restore,
            router_extra=router_extra,
        )
    )
    code = main(["inventory", "validate", str(path)])
    captured = capsys.readouterr()
    lines = [
        line.replace(str(path), "inv.yaml") for line in (captured.err + captured.out).splitlines()
    ]
    return code, lines


def test_valid_drill_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The base inventory is valid (so each case below fails for its own reason)."""
    assert 0 == _validate(tmp_path, capsys)[0]


def test_empty_probes_is_rejected_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`probes: []` measures nothing: rejected with file:line:col."""
    code, lines = _validate(tmp_path, capsys, probes="[]")
    assert (2, True) == (
        code,
        "inv.yaml:14:13: drills.d.probes: names no ping path: a drill without probes measures "
        "nothing" in lines,
    ), lines


def test_netns_path_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An action's netns must be a name, not a path like /run/netns/x."""
    code, lines = _validate(
        tmp_path, capsys, trigger="{exec: [nft, -f, x.nft], netns: /run/netns/esg1}"
    )
    assert (2, True) == (
        code,
        any(
            line.startswith("inv.yaml:15:46: drills.d.trigger.netns: must be a namespace name")
            for line in lines
        ),
    ), lines


def test_missing_restore_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A drill without restore: exactly one problem line saying so."""
    code, lines = _validate(tmp_path, capsys, restore="")
    problems = [line for line in lines if "drills.d" in line]
    assert (2, ["inv.yaml:14:5: drills.d: missing required key 'restore'"]) == (code, problems)


def test_verify_on_a_signal_action_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify is declared on ssh and exec actions only."""
    restore = "    restore: {signal: CONT, process: bgpd, verify: [true]}\n"
    code, lines = _validate(tmp_path, capsys, restore=restore)
    assert (2, True) == (
        code,
        any(
            "drills.d.restore.verify: only ssh and exec actions can be verified" in line
            for line in lines
        ),
    ), lines


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "    swanctl_uris: [/run/charon.vici]\n",
            "inv.yaml:8:19: routers[0].swanctl_uris: '/run/charon.vici' is not a vici socket URI "
            "like unix:///run/charon.vici",
        ),
        (
            "    proxy_jump: ops@bastion:99999\n",
            "inv.yaml:8:17: routers[0].proxy_jump: 'ops@bastion:99999' has an invalid port",
        ),
        (
            "    proxy_jump: 'ops@-oProxyCommand=x'\n",
            "inv.yaml:8:17: routers[0].proxy_jump: 'ops@-oProxyCommand=x' names no valid host",
        ),
    ],
    ids=["swanctl-uri-path", "proxy-jump-port", "proxy-jump-option"],
)
def test_router_run_time_fields_are_checked_at_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, expected: str
) -> None:
    """swanctl_uris and proxy_jump: a bad value is a file:line:col problem at validate."""
    code, lines = _validate(tmp_path, capsys, router_extra=extra)
    assert (2, True) == (code, expected in lines), lines


def test_good_router_run_time_fields_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vici URI and a two-hop proxy_jump with an IPv6 hop are accepted."""
    extra = (
        "    swanctl_uris: [unix:///run/charon-esg1/charon.vici]\n"
        "    proxy_jump: 'ops@bastion.example.net:2222,[2001:db8::9]:22'\n"
    )
    assert 0 == _validate(tmp_path, capsys, router_extra=extra)[0]

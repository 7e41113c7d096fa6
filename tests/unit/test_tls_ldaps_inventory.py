"""Bad `ldaps:` and `tls:` entries: one line `file:line:col: where: message` each."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory
from holdtime.probes.ldaps_config import LdapsController
from holdtime.probes.tls_config import TlsEndpoint

CASES = [
    (
        "ca-not-pem",
        "ldaps:\n  - {name: dc1, host: 10.0.0.1, ca_file: notpem.pem}\n",
        "2:42: ldaps[0].ca_file: 'notpem.pem': not a PEM file with a certificate"
        " (want -----BEGIN CERTIFICATE-----)",
    ),
    (
        "ca-missing",
        "tls:\n  - {name: vc, host: 10.0.0.2, port: 443, ca_file: none.pem}\n",
        "2:52: tls[0].ca_file: file 'none.pem' does not exist ({dir}/none.pem)",
    ),
    (
        "port-out-of-range",
        "ldaps:\n  - {name: dc1, host: 10.0.0.1, port: 70000}\n",
        "2:39: ldaps[0].port: 70000 is out of range 1..65535",
    ),
    (
        "starttls-port-out-of-range",
        "ldaps:\n  - {name: dc1, host: 10.0.0.1, starttls_port: 0}\n",
        "2:48: ldaps[0].starttls_port: 0 is out of range 1..65535",
    ),
    (
        "password-env-unset",
        "ldaps:\n  - {name: dc1, host: 10.0.0.1, bind_dn: cn=x, password_env: HT_UNSET_PW}\n",
        "2:62: ldaps[0].password_env: environment variable HT_UNSET_PW is not set",
    ),
    (
        "bind-dn-without-password",
        "ldaps:\n  - {name: dc1, host: 10.0.0.1, bind_dn: cn=x}\n",
        "2:5: ldaps[0]: bind_dn needs password_env (the service account's password)",
    ),
    (
        "tls-version",
        "tls:\n  - {name: vc, host: 10.0.0.2, port: 443, min_tls_version: '1.5'}\n",
        "2:60: tls[0].min_tls_version: '1.5' is not one of 1.0, 1.1, 1.2, 1.3"
        " (did you mean '1.3'?)",
    ),
    (
        "literal-password",
        "ldaps:\n  - {name: dc1, host: 10.0.0.1, bind_dn: cn=x, password: hunter2-secret}\n",
        "2:58: ldaps[0].password: literal passwords are refused: use password_env,"
        " or set allow_literal_password: true on this entry",
    ),
]


@pytest.mark.parametrize(("text", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_entry_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: str
) -> None:
    """Each mistake is exactly one problem line naming file:line:col, never the secret."""
    monkeypatch.delenv("HT_UNSET_PW", raising=False)
    (tmp_path / "notpem.pem").write_text("this is not a certificate\n")
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert [f"{path}:{line.format(dir=tmp_path)}"] == caught.value.problems
    assert "hunter2-secret" not in str(caught.value)


def test_good_entries_get_their_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults come from the config dataclasses; `defaults:` overrides them per family."""
    monkeypatch.setenv("HT_LDAP_PW", "s3cret-for-test")
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "defaults: {ldaps: {warn_before_days: 45}}\n"
        "ldaps:\n  - {name: dc1, host: 10.0.0.1, bind_dn: cn=x, password_env: HT_LDAP_PW}\n"
        "tls:\n  - {name: vc, host: vc.example.net, port: 443}\n"
    )
    inventory = load_inventory(path)
    (controller,) = inventory.of(LdapsController)
    (endpoint,) = inventory.of(TlsEndpoint)
    assert (636, 45, "s3cret-for-test", None) == (
        controller.port,
        controller.warn_before_days,
        controller.password,
        controller.starttls_port,
    )
    assert ("vc.example.net", 30.0, "1.2") == (
        endpoint.verify_name,
        endpoint.warn_before_days,
        endpoint.min_tls_version,
    )
    assert "s3cret-for-test" not in repr(controller)

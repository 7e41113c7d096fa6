"""`holdtime inventory schema`: a JSON Schema from the validator's Fields that agrees with it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from holdtime.cli import main
from holdtime.errors import ConfigError
from holdtime.inventory import load_inventory, registered_sections
from holdtime.json_schema import inventory_schema
from holdtime.lab import Lab, inventory_file
from holdtime.lab.lab_ca import LabCa
from holdtime.lab.topology import LDAP_PASSWORD_ENV
from holdtime.sections import Section
from holdtime.yaml_schema import Field

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    [*REPO.glob("examples/*.yaml"), *REPO.glob("tests/fixtures/inventory/valid/*.yaml")]
)


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    """The schema of every registered section, checked as a draft 2020-12 schema."""
    schema = inventory_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return _validator(schema)


def _schema_problems(validator: jsonschema.Draft202012Validator, data: object) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(data)
    ]


def test_the_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """`holdtime inventory schema` prints the generated schema as JSON, exit 0."""
    assert 0 == main(["inventory", "schema"])
    assert inventory_schema() == json.loads(capsys.readouterr().out)


def test_every_section_and_key_is_in_the_schema() -> None:
    """Each registered section is a property, each router key a property of its items."""
    schema = inventory_schema()
    sections = {section.name for section in registered_sections()}
    assert {"version", "defaults", "include", "drills", *sections} == set(schema["properties"])
    routers = next(s for s in registered_sections() if s.name == "routers")
    items = schema["properties"]["routers"]["items"]
    assert set(routers.item.fields or {}) == set(items["properties"])
    assert ["name", "host"] == items["required"]
    assert {"type": ["integer", "null"], "minimum": 1, "maximum": 65535} == {
        k: v for k, v in items["properties"]["port"].items() if k != "description"
    }


def test_a_third_party_section_is_in_the_schema() -> None:
    """A section a package adds (here `banners:`) gets its keys, ranges and choices."""
    banners = Section(
        name="banners",
        item=Field(
            "map",
            fields={
                "name": Field("name", required=True),
                "port": Field("port"),
                "mode": Field("str", choices=("ssh", "smtp"), default="ssh"),
            },
        ),
        build=lambda raw, where, context: raw,
    )
    validator = _validator(inventory_schema([*registered_sections(), banners]))
    good = {"version": 1, "banners": [{"name": "b1", "port": 22, "mode": "smtp"}]}
    bad = {"banners": [{"name": "b1", "mode": "imap", "hots": "x"}]}
    assert [] == _schema_problems(validator, good)
    expected = [
        "banners/0/mode: 'imap' is not one of ['ssh', 'smtp', None]",
        "banners/0: Additional properties are not allowed ('hots' was unexpected)",
    ]
    assert expected == sorted(_schema_problems(validator, bad))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_examples_validate_against_the_schema(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    """Every example and fixture inventory the validator accepts, the schema accepts."""
    assert [] == _schema_problems(validator, yaml.safe_load(path.read_text()))


def test_the_lab_inventory_validates_against_the_schema(
    validator: jsonschema.Draft202012Validator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inventory `holdtime lab up` writes (with its drills) passes the schema."""
    lab = Lab(prefix="htschema-", state_dir=tmp_path)
    for name in ("client_key", "known_hosts"):
        (tmp_path / name).write_text("")
    ca = LabCa.create(tmp_path / "ca")  # what its ldaps/tls entries verify with, and their password
    ca.issue_client(lab.kmip_client_dir, "holdtime")  # the kmip entry's client certificate
    monkeypatch.setenv(LDAP_PASSWORD_ENV, "schema-secret")
    inventory_file.write(lab)
    data = yaml.safe_load(lab.inventory_path.read_text())
    assert data["drills"]
    assert [] == _schema_problems(validator, data)
    load_inventory(lab.inventory_path)  # and the validator agrees


# -- schema and validator agree on bad inventories ------------------------------------------
BASE = "version: 1\nrouters:\n  - name: r1\n    host: 10.0.0.1\n    auth: {agent: true}\n"
SCENARIO = (
    "drills:\n  d1:\n    probes: [p1]\n    trigger: {manual: pull the cable}\n"
    "    restore: {manual: plug it in}\n"
)
BAD = {
    "port out of range": (BASE + "    port: 73382\n", "routers/0/port"),
    "unknown key": (BASE + "    prot: 22\n", "routers/0"),
    "quoted boolean": (BASE + "    sudo: 'true'\n", "routers/0/sudo"),
    "platform not a choice": (BASE + "    platform: [frr, ios]\n", "routers/0/platform"),
    "missing host": ("routers:\n  - name: r1\n    auth: {agent: true}\n", "routers/0"),
    "version 2": ("version: 2\n", "version"),
    "bad name": (BASE.replace("name: r1", "name: -r1"), "routers/0/name"),
    "mistyped address": (BASE.replace("10.0.0.1", "10.0.0.300.5"), "routers/0/host"),
    "blank text": (BASE + "    username: '  '\n", "routers/0/username"),
    "seconds too small": (
        BASE + "    timeouts: {connect_seconds: 0}\n",
        "routers/0/timeouts/connect_seconds",
    ),
    "not a prefix": (
        BASE + "    expect: {bgp: {best_paths: [{prefix: 10.0.0/8, via: 10.0.0.2}]}}\n",
        "routers/0/expect/bgp/best_paths/0/prefix",
    ),
    "scenario unknown key": (BASE + SCENARIO + "    budgets: {}\n", "drills/d1"),
    "scenario without trigger": (
        BASE + SCENARIO.replace("    trigger", "    #"),
        "drills/d1",
    ),
    "deadman mechanism": (
        BASE + SCENARIO + "    deadman: {fire_after_seconds: 60, mechanism: cron}\n",
        "drills/d1/deadman/mechanism",
    ),
}


def _walker_paths(text: str, tmp_path: Path) -> set[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_inventory(path)
    return {_where(line) for line in str(raised.value).splitlines()}


def _where(line: str) -> str:
    """`routers[0].port` of `file:3:5: routers[0].port: message`, as a JSON pointer."""
    where = line.split(": ", 2)[1]
    return re.sub(r"\[(\d+)\]", r".\1", where).replace(".", "/")


def _schema_paths(errors: Iterator[jsonschema.ValidationError]) -> set[str]:
    return {"/".join(map(str, error.absolute_path)) for error in errors}


@pytest.mark.parametrize(("text", "where"), BAD.values(), ids=BAD.keys())
def test_schema_and_validator_refuse_the_same_bad_inventory(
    validator: jsonschema.Draft202012Validator, tmp_path: Path, text: str, where: str
) -> None:
    """Both refuse the inventory, and both place the problem on the same key."""
    walker = _walker_paths(text, tmp_path)
    schema = _schema_paths(validator.iter_errors(yaml.safe_load(text)))
    assert any(path.startswith(where) for path in walker), walker
    assert {where} == schema


def test_a_good_inventory_passes_both(
    validator: jsonschema.Draft202012Validator, tmp_path: Path
) -> None:
    """The base inventory with a scenario and empty keys passes the validator and the schema."""
    text = BASE + "    username: ops\n    known_hosts: kh\n    proxy_jump:\n"
    text += "ping_paths:\n  - {name: p1, source: local, destination: 10.0.0.9, count: 5}\n"
    text += SCENARIO
    (tmp_path / "kh").write_text("")
    path = tmp_path / "good.yaml"
    path.write_text(text)
    load_inventory(path)
    assert [] == _schema_problems(validator, yaml.safe_load(text))

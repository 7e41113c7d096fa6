"""A JSON Schema (draft 2020-12) of the inventory, generated from the validator's own Fields.

`holdtime inventory schema` prints it; editors that read JSON Schema for YAML (the YAML language
server in VS Code, JetBrains IDEs, Neovim) then complete keys and mark mistakes as the file is
typed. It comes from :func:`holdtime.inventory.schema` over every registered section, so a
third-party family's section is in it as soon as its package is installed.

Each Field kind maps to JSON Schema as the walker reads it: unknown keys are refused
(``additionalProperties: false``), a key left empty (YAML null) counts as absent unless it is
required, ``one_or_list`` takes one item or a list, ports are 1..65535, names and host names
carry the walker's own patterns, ``choices`` become ``enum``, ``low``/``high`` become
``minimum``/``maximum`` and ``default`` is kept. What only code can say stays with the
validator: a Field's ``check`` function (``version`` must be 1 is written out as a ``const``;
drills' cross-field rules are not), builder rules (exactly one `auth` method, files that must
exist, environment variables that must be set), and a prefix's host bits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from holdtime.sections import Section
from holdtime.yaml_schema import _KIND_WORDS, HOST_RE, NAME_RE, Field

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# the walker's text rules: not blank, no control character (the one-line-per-problem output)
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f]*[^\u0000-\u001f\u007f\s][^\u0000-\u001f\u007f]*$"
# a host name whose last label is all digits is a mistyped address (10.0.0.300.5)
HOST_NAME_PATTERN = r"^(?!(?:.*\.)?[0-9]+\.?$)" + HOST_RE.pattern.removeprefix("^")
# an IPv4 or IPv6 network with an optional length (the validator also checks the host bits)
PREFIX_PATTERN = (
    r"^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:/[0-9]{1,3})?$"
)
ADDRESS = {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
FIXED = {"version": {"const": 1, "description": "format version: 1"}}


def inventory_schema(sections: Sequence[Section[Any]] | None = None) -> dict[str, Any]:
    """The JSON Schema of a whole inventory file with `sections` (default: every registered)."""
    from holdtime.inventory import registered_sections, schema

    chosen = registered_sections() if sections is None else sections
    return {
        "$schema": DIALECT,
        "title": "holdtime inventory",
        "description": "What holdtime checks and drills; `holdtime inventory validate` has the "
        "last word (files, environment variables, cross-references).",
        **to_json_schema(schema(chosen), fixed=FIXED),
    }


def to_json_schema(
    spec: Field, *, fixed: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """One Field (and everything under it) as JSON Schema; `fixed` replaces top-level keys."""
    return _field(spec, fixed or {})


def _field(spec: Field, fixed: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    if spec.kind == "list" and spec.one_or_list:
        assert spec.item is not None
        single = _field(spec.item)
        out: dict[str, Any] = {"anyOf": [single, {"type": "array", "items": single}]}
    elif spec.kind == "list":
        assert spec.item is not None
        out = {"type": "array", "items": _field(spec.item)}
    elif spec.kind == "map" and spec.or_name:  # a bare name stands for a declared entry
        out = {"anyOf": [_map(spec, fixed or {}), _scalar(Field("name"))]}
    elif spec.kind == "map":
        out = _map(spec, fixed or {})
    elif spec.kind == "table":
        assert spec.item is not None
        out = {
            "type": "object",
            "propertyNames": {"pattern": TEXT_PATTERN},
            "additionalProperties": _field(spec.item),  # the walker refuses a null value here
        }
    elif spec.kind == "any":
        out = {}
    else:
        out = _scalar(spec)
    if spec.shape:
        out["description"] = spec.shape
    if spec.default is not None:
        out["default"] = spec.default
    return out


def _map(spec: Field, fixed: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    if spec.fields is None:  # a mapping the walker does not look into
        return {"type": "object"}
    properties = {
        key: dict(fixed[key]) if key in fixed else _field(sub) for key, sub in spec.fields.items()
    }
    out: dict[str, Any] = {
        "type": "object",
        "properties": {
            key: value if spec.fields[key].required else _nullable(value)
            for key, value in properties.items()
        },
        "additionalProperties": False,
    }
    required = [key for key, sub in spec.fields.items() if sub.required]
    if required:
        out["required"] = required
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """A key written with no value (YAML null) is read as absent: allow null beside `schema`.

    Written into the schema's own `type` (or `enum`) rather than as an `anyOf`, so an editor
    still says "73382 is greater than the maximum of 65535", not "not valid under any schema".
    """
    out = dict(schema)
    if "const" in out:
        out["enum"] = [out.pop("const"), None]
    elif "enum" in out:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    elif "anyOf" in out and "type" not in out:
        out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


def _scalar(spec: Field) -> dict[str, Any]:
    kind = spec.kind
    words = _KIND_WORDS.get(kind, kind)
    if kind == "bool":
        return {"type": "boolean"}
    if kind in {"int", "port"}:
        low, high = (1, 65535) if kind == "port" else (spec.low, spec.high)
        return _bounded({"type": "integer", "description": words}, low, high)
    if kind in {"float", "seconds"}:
        return _bounded({"type": "number", "description": words}, spec.low, spec.high)
    out: dict[str, Any] = {"type": "string", "pattern": TEXT_PATTERN}
    if spec.choices:
        return {"type": "string", "enum": list(spec.choices)}
    if kind == "name":
        out = {"type": "string", "pattern": NAME_RE.pattern, "description": words}
    elif kind == "host":
        host_name = {"pattern": HOST_NAME_PATTERN}
        out = {"type": "string", "anyOf": [*ADDRESS["anyOf"], host_name], "description": words}
    elif kind == "address":
        out = {"type": "string", **ADDRESS, "description": words}
    elif kind == "prefix":
        out = {"type": "string", "pattern": PREFIX_PATTERN, "description": words}
    return out


def _bounded(out: dict[str, Any], low: float | None, high: float | None) -> dict[str, Any]:
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high
    if low is not None or high is not None:
        out["description"] += f" {_number(low)}..{_number(high)}"
    return out


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"

"""Validate a YAML document against a small declarative schema, keeping line numbers.

The document is composed (not loaded) with PyYAML's SafeLoader, so every value keeps its
start mark and every problem reads ``file:line:col: where: message``. All problems are
collected; nothing stops at the first one. Unknown keys are errors with a did-you-mean hint.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from holdtime.suggestions import did_you_mean
from holdtime.yaml_nodes import NULL_TAG, STR_TAG, mapping_pairs

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$")
# a control character in a value would break the one-line-per-problem output (or a path)
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

Validator = Callable[[Any, yaml.Node, "Walker", str], Any]


@dataclass(frozen=True)
class Field:
    """What one key (or list item) may hold."""

    kind: str  # str name host address prefix int float seconds port bool map table list any
    required: bool = False
    default: Any = None
    fields: Mapping[str, Field] | None = None  # kind == "map"
    item: Field | None = None  # kind == "list"; kind == "table": every value of the mapping
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    one_or_list: bool = False  # a single value stands for a one-item list
    check: Validator | None = None  # extra validation, may return a replacement value
    shape: str = ""  # map: what the mapping looks like; table: "NAME -> WHAT" (for messages)
    or_name: bool = False  # map: a bare name stands for an entry declared elsewhere (by name)


@dataclass
class Walker:
    """Walks nodes against Fields and records problems with their marks."""

    source: str
    problems: list[tuple[int, int, str]] = field(default_factory=list)
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)  # dotted path -> line, col

    def problem(self, node: yaml.Node, where: str, message: str) -> None:
        """Record one problem at a node."""
        mark = node.start_mark
        self.problems.append((mark.line + 1, mark.column + 1, f"{where or 'top level'}: {message}"))

    def syntax_problem(self, node: yaml.Node, message: str) -> None:
        """Record a problem with the YAML itself (a tag, an alias), not with one key."""
        mark = node.start_mark
        self.problems.append((mark.line + 1, mark.column + 1, message))

    def problem_at(self, where: str, message: str, at: str = "") -> None:
        """Record a problem about `where`, placed at the closest mark seen of `at` (or `where`).

        For checks after the walk (a drill naming a router that does not exist): the mark of
        the path itself, else of its closest parent, else line 1.
        """
        key = at or where
        while key and key not in self.marks:
            key = key.rpartition(".")[0]
        line, col = self.marks.get(key, (1, 1))
        self.problems.append((line, col, f"{where}: {message}"))

    def lines(self) -> list[str]:
        """Problems as `file:line:col: message`, in file order."""
        # an aliased node is walked once per alias: the same problem at the same place is one line
        unique = sorted(set(self.problems))
        return [f"{self.source}:{line}:{col}: {msg}" for line, col, msg in unique]

    def locate(self, where: str) -> str:
        """`file:line:col` of a dotted path seen during the walk (the file alone if unknown)."""
        while where:
            if where in self.marks:
                line, col = self.marks[where]
                return f"{self.source}:{line}:{col}"
            where = where.rpartition(".")[0]
        return self.source

    # -- scalars -------------------------------------------------------------------------
    def value(self, node: yaml.Node, spec: Field, where: str) -> Any:
        """The Python value of `node` if it fits `spec`, else None (with a problem recorded)."""
        self.marks[where] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if spec.one_or_list and spec.kind == "list" and not isinstance(node, yaml.SequenceNode):
            assert spec.item is not None
            single = self.value(node, spec.item, where)
            result: Any = None if single is None else [single]
        elif spec.kind == "map" and spec.or_name and isinstance(node, yaml.ScalarNode):
            result = self._typed_scalar(node, Field("name"), where)  # the builder resolves it
        elif spec.kind == "map":
            result = self._map(node, spec, where)
        elif spec.kind == "table":
            result = self._table(node, spec, where)
        elif spec.kind == "list":
            result = self._list(node, spec, where)
        elif spec.kind == "any":
            result = to_python(node)
        else:
            result = self._typed_scalar(node, spec, where)
        if result is not None and spec.check is not None:
            result = spec.check(result, node, self, where)
        return result

    def _map(self, node: yaml.Node, spec: Field, where: str) -> dict[str, Any] | None:
        if not isinstance(node, yaml.MappingNode):
            shape = f" ({spec.shape})" if spec.shape else ""
            self.problem(node, where, f"must be a mapping, not {_describe(node)}{shape}")
            return None
        fields = spec.fields or {}
        seen: dict[str, yaml.Node] = {}
        out: dict[str, Any] = {}
        for pair in mapping_pairs(node, self.syntax_problem):
            key_node, value_node = pair.key, pair.value
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or key_node.tag != STR_TAG:
                self.problem(key_node, where, f"keys must be text, not {_describe(key_node)}")
                continue
            path = f"{where}.{key}" if where else key
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.problem(key_node, path, f"duplicate key (first set on line {first})")
                continue
            seen[key] = key_node
            if key not in fields:
                hint = did_you_mean(key, fields)
                known = f"; known keys: {', '.join(fields)}" if not hint and fields else ""
                self.problem(key_node, where, f"unknown key {key!r}{hint}{known}")
                continue
            if _is_null(value_node) and not fields[key].required:
                continue
            out[key] = self.value(value_node, fields[key], path)
        for key, sub in fields.items():
            if key not in seen:
                if sub.required:
                    self.problem(node, where, f"missing required key {key!r}")
                elif sub.default is not None:
                    out[key] = sub.default
        return out

    def _table(self, node: yaml.Node, spec: Field, where: str) -> dict[str, Any] | None:
        """A mapping of names the user chooses (drills: NAME -> scenario), each value an item.

        A name given twice is reported at its second place and neither value is walked: which
        of the two was meant is for the user to say, and the problems of both would be noise.
        """
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, where, f"must be a mapping of {spec.shape}")
            return None
        assert spec.item is not None
        pairs = list(mapping_pairs(node, self.syntax_problem))
        first: dict[str, yaml.Node] = {}
        repeated: set[str] = set()
        for pair in pairs:
            key_node = pair.key
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or key_node.tag != STR_TAG:
                self.problem(key_node, where, f"keys must be text, not {_describe(key_node)}")
            elif key in first:
                line = first[key].start_mark.line + 1
                self.problem(
                    key_node, f"{where}.{key}", f"duplicate key (first set on line {line})"
                )
                repeated.add(key)
            else:
                first[key] = key_node
        out: dict[str, Any] = {}
        for pair in pairs:
            key = pair.key.value if isinstance(pair.key, yaml.ScalarNode) else None
            if key in first and key not in repeated and first[key] is pair.key:
                out[key] = self.value(pair.value, spec.item, f"{where}.{key}")
        return out

    def _list(self, node: yaml.Node, spec: Field, where: str) -> list[Any] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, where, f"must be a list, not {_describe(node)}")
            return None
        assert spec.item is not None
        return [self.value(item, spec.item, f"{where}[{i}]") for i, item in enumerate(node.value)]

    def _typed_scalar(self, node: yaml.Node, spec: Field, where: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, where, f"must be {_KIND_WORDS[spec.kind]}, not {_describe(node)}")
            return None
        raw = to_python(node)
        kind = spec.kind
        if kind == "bool":
            if not isinstance(raw, bool):
                self.problem(node, where, f"must be true or false, not {node.value!r}")
                return None
            return raw
        if kind in {"int", "port"}:
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.problem(node, where, f"must be a whole number, not {node.value!r}")
                return None
            low, high = (1, 65535) if kind == "port" else (spec.low, spec.high)
            return self._range(node, where, raw, low, high, "")
        if kind in {"float", "seconds"}:
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
                self.problem(node, where, f"must be a number, not {node.value!r}")
                return None
            unit = " seconds" if kind == "seconds" else ""
            return self._range(node, where, float(raw), spec.low, spec.high, unit)
        if not isinstance(raw, str):
            self.problem(node, where, f"must be {_KIND_WORDS[kind]}, not {node.value!r}")
            return None
        if not raw.strip():
            self.problem(
                node, where, "must not be empty" + (f": {spec.shape}" if spec.shape else "")
            )
            return None
        if CONTROL_RE.search(raw):
            self.problem(node, where, f"{raw!r} must not contain control characters")
            return None
        if spec.choices and raw not in spec.choices:
            hint = did_you_mean(raw, spec.choices)
            self.problem(node, where, f"{raw!r} is not one of {', '.join(spec.choices)}{hint}")
            return None
        if kind == "name" and not NAME_RE.match(raw):
            self.problem(node, where, f"{raw!r} is not a valid name (letters, digits, . _ -)")
            return None
        if kind == "host" and not (_is_address(raw) or _is_host_name(raw)):
            self.problem(node, where, f"{raw!r} is neither an IP address nor a host name")
            return None
        if kind == "address" and not _is_address(raw):
            self.problem(node, where, f"{raw!r} is not an IP address")
            return None
        if kind == "prefix":
            try:
                return str(ipaddress.ip_network(raw, strict=True))
            except ValueError as exc:
                self.problem(node, where, f"{raw!r} is not an IP prefix ({exc})")
                return None
        return raw

    def _range(
        self,
        node: yaml.Node,
        where: str,
        value: Any,
        low: float | None,
        high: float | None,
        unit: str,
    ) -> Any:
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(node, where, f"{value}{unit} is out of range {low}..{high}{unit}")
            return None
        return value


_KIND_WORDS = {
    "str": "text",
    "name": "a name",
    "host": "a host name or IP address",
    "address": "an IP address",
    "prefix": "an IP prefix",
    "int": "a whole number",
    "port": "a port number",
    "float": "a number",
    "seconds": "a number of seconds",
    "bool": "true or false",
    "path": "a file path",
}


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_host_name(text: str) -> bool:
    # an all-digit last label is a mistyped address (10.0.0.300.5), never a DNS name
    return bool(HOST_RE.match(text)) and not text.rstrip(".").rpartition(".")[2].isdigit()


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if _is_null(node):
        return "nothing (null)"
    return repr(node.value)


def to_python(node: yaml.Node) -> Any:
    """Construct the plain Python value of a composed node (safe types only).

    Only call it on a document `holdtime.yaml_nodes.audit` accepted: then it cannot fail.
    """
    constructor = yaml.constructor.SafeConstructor()
    return constructor.construct_object(node, deep=True)

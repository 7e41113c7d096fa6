"""The inventory: one YAML file naming routers, vCenters, TCP targets, ping paths and drills.

`load_inventory(path)` validates everything at once and raises one ConfigError listing every
problem as ``file:line:col: where: message`` (its ``problems`` attribute holds the lines).
This module keeps only what is the inventory's own: ``version``, ``defaults``, ``drills`` and
the YAML safety audit. Every other top-level key is a family's :class:`~holdtime.sections.Section`
(``routers:`` from probes/router_config.py, ``vcenters:``, ``tcp:``, a third party's ``kmip:``),
found through the probes registered as entry points, plus the drills' ``ping_paths:`` and
``dns_paths:``.
Secrets come from environment variables; the resolved values are kept out of repr, errors and
any dict form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from holdtime.drill.scenario import DRILLS, Scenario, check_references
from holdtime.errors import ConfigError
from holdtime.inventory_include import INCLUDE_FIELD
from holdtime.sections import Context, Section
from holdtime.yaml_nodes import audit
from holdtime.yaml_schema import Field, Walker

INVENTORY_VERSION = 1
MAX_INVENTORY_BYTES = 4_000_000
"""Checked before anything is parsed. Thousands of devices fit in 1 MB, and PyYAML's pure-Python
parser (needed for its exact error marks) took 27 s per MB on the loaded 2-core test VM: a 60 MB
file held validation for 5 minutes and 5 GB before this limit."""
T = TypeVar("T")


class Named(Protocol):
    """An inventory entry: every section's entries have a unique `name`."""

    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


# -- the model -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Inventory:
    """A validated inventory file: each section's typed entries, and the drills."""

    path: Path
    sections: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    drills: Mapping[str, Scenario] = field(default_factory=dict)
    locations: Mapping[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    included: tuple[tuple[str, int], ...] = ()  # (include label, routers it brought)

    def entries(self, section: str) -> tuple[object, ...]:
        """The entries of one section, in file order (empty when the file has none)."""
        return tuple(self.sections.get(section, ()))

    def of(self, kind: type[T]) -> tuple[T, ...]:
        """Every entry of one config type (``inventory.of(Router)``), in file order."""
        return tuple(
            entry
            for entries in self.sections.values()
            for entry in entries
            if isinstance(entry, kind)
        )

    def named(self, kind: type[N], name: str) -> N:
        """The entry of a config type with that name (ConfigError naming the file when absent)."""
        for entry in self.of(kind):
            if entry.name == name:
                return entry
        raise ConfigError(f"{self.path}: no {_noun(kind)} named {name!r}")

    def where_is(self, entry: object) -> str:
        """The dotted path of an entry (``routers[2]``); empty when it is not in this inventory."""
        for section, entries in self.sections.items():
            for index, candidate in enumerate(entries):
                if candidate is entry:
                    return f"{section}[{index}]"
        return ""

    def locate(self, where: str) -> str:
        """`file:line:col` of a dotted key path such as `drills.esg1-down.trigger`."""
        while where:
            if where in self.locations:
                line, col = self.locations[where]
                return f"{self.path}:{line}:{col}"
            where = where.rpartition(".")[0]
        return str(self.path)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the inventory, without secrets (fields declared repr=False)."""
        plain = {
            "path": str(self.path),
            **_plain(dict(self.sections)),
            "drills": _plain(self.drills),
        }
        assert isinstance(plain, dict)
        return plain


def _noun(kind: type[object]) -> str:
    """`router` for Router, `vcenter` for VCenter: how messages name an entry's type."""
    return kind.__name__.lower()


def _plain(value: Any) -> Any:
    """JSON-ready copy of model values; repr=False fields (passwords, marks) are left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# -- the schema ------------------------------------------------------------------------------
def _version(value: int, node: yaml.Node, walker: Walker, where: str) -> int | None:
    if value != INVENTORY_VERSION:
        walker.problem(node, where, f"unsupported version {value} (this holdtime reads version 1)")
        return None
    return value


def registered_sections() -> tuple[Section[Any], ...]:
    """Every inventory section: the registered probes' own, then the drills' paths (`ping_paths`,
    `dns_paths`, `ldaps_paths`)."""
    from holdtime.plugins import probe_sections
    from holdtime.probes.dns_path_config import DNS_PATHS  # no dnspython import: the prober's own
    from holdtime.probes.ldaps_path_config import LDAPS_PATHS
    from holdtime.probes.ping_config import PING_PATHS

    found = [*probe_sections(), PING_PATHS, DNS_PATHS, LDAPS_PATHS]
    return tuple(sorted(found, key=lambda section: (section.order, section.name)))


def schema(sections: Sequence[Section[Any]]) -> Field:
    """The whole file's schema: version, defaults (every family's keys), sections, drills."""
    defaults: dict[str, Field] = {}
    for section in sections:
        defaults.update(section.defaults)
    return Field(
        "map",
        fields={
            "version": Field("int", check=_version),
            "defaults": Field("map", fields=defaults),
            "include": INCLUDE_FIELD,  # holdtime.inventory_include: routers from Ansible
            **{section.name: Field("list", item=section.item) for section in sections},
            "drills": DRILLS,  # holdtime.drill.scenario: scenarios, walked with the rest
        },
    )


# -- loading ---------------------------------------------------------------------------------
def load_inventory(path: Path | str) -> Inventory:
    """Read, validate and build an inventory; ConfigError lists every problem at once."""
    path = Path(path)
    text = _read(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        # PyYAML composes recursively: thousands of nested brackets exhaust the stack
        raise _error([f"{path}: invalid YAML: nested too deeply"]) from None
    except yaml.reader.ReaderError as exc:
        raise _error([_reader_problem(path, text, exc)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise _error([f"{where}: invalid YAML: {_yaml_message(exc)}"]) from None
    except yaml.YAMLError as exc:
        raise _error([f"{path}: invalid YAML: {exc}"]) from None
    if root is None:
        raise _error([f"{path}: the inventory is empty"])
    walker = Walker(str(path))
    sections = registered_sections()
    if not audit(root, walker.syntax_problem):
        raise _error(walker.lines())
    data = walker.value(root, schema(sections), "")
    inventory = (
        _build(path, walker, data, data.get("drills") or {}, sections) if data is not None else None
    )
    if inventory is not None:
        check_references(inventory, walker.problem_at)  # drills naming missing routers, paths
    if walker.problems or inventory is None:
        raise _error(walker.lines() or [f"{path}: the inventory must be a mapping"])
    return inventory


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem, with its context when that says where the broken construct began."""
    problem, context, start = exc.problem or "", exc.context or "", exc.context_mark
    if not problem:
        return context
    if context and problem.startswith("but "):
        return f"{context}, {problem}"  # "expected a single document in the stream, but found ..."
    if context and start is not None and start != exc.problem_mark:
        return f"{problem} ({context} at line {start.line + 1}, column {start.column + 1})"
    return problem


def _read(path: Path) -> str:
    limit_mb = MAX_INVENTORY_BYTES / 1e6
    try:
        size = path.stat().st_size
        if size > MAX_INVENTORY_BYTES:
            raise _error(
                [
                    f"{path}: {size / 1e6:.1f} MB is more than the {limit_mb:g} MB an inventory "
                    "may have (thousands of devices fit in 1 MB): is it the right file?"
                ]
            )
        with path.open("rb") as stream:
            data = stream.read(MAX_INVENTORY_BYTES + 1)  # a pipe or device has no size
    except FileNotFoundError:
        raise _error([f"{path}: no such inventory file"]) from None
    except IsADirectoryError:
        raise _error([f"{path}: is a directory, not an inventory file"]) from None
    except PermissionError:
        raise _error([f"{path}: permission denied reading the inventory"]) from None
    except OSError as exc:
        raise _error([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(data) > MAX_INVENTORY_BYTES:
        raise _error([f"{path}: more than the {limit_mb:g} MB an inventory may have"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as read_text() would


def _reader_problem(path: Path, text: str, exc: yaml.reader.ReaderError) -> str:
    """`file:line:col` of a character YAML refuses (PyYAML gives only an offset)."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    what = "a NUL byte" if code == 0 else f"control character #x{code:04x}"
    return f"{path}:{line}:{column}: invalid YAML: {what} is not allowed here; remove it"


def _error(lines: list[str]) -> ConfigError:
    return ConfigError("\n".join(lines), problems=lines)


def _build(
    path: Path,
    walker: Walker,
    data: Mapping[str, Any],
    drills: Mapping[str, Any],
    sections: Sequence[Section[Any]],
) -> Inventory:
    """Each section's validated entries -> its typed configs (with the cross-field checks)."""
    items = {
        section.name: [item for item in (data.get(section.name) or []) if item is not None]
        for section in sections
    }
    context = Context(
        path=path,
        walker=walker,
        defaults=data.get("defaults") or {},
        declared={
            name: frozenset(str(item["name"]) for item in entries if item.get("name"))
            for name, entries in items.items()
        },
        items=items,
    )
    built: dict[str, tuple[object, ...]] = {}
    for section in sections:
        _unique(items[section.name], section, context)
        entries = (
            section.build(raw, f"{section.name}[{index}]", context)
            for index, raw in enumerate(data.get(section.name) or [])
            if raw is not None
        )
        built[section.name] = tuple(entry for entry in entries if entry is not None)
    included: tuple[tuple[str, int], ...] = ()
    if data.get("include"):
        included = _include(data["include"], items.get("routers", []), built, context)
    return Inventory(
        path=path,
        sections=built,
        drills=drills,
        locations=dict(walker.marks),
        included=included,
    )


def _include(
    includes: list[Any],
    routers: list[dict[str, Any]],
    built: dict[str, tuple[object, ...]],
    context: Context,
) -> tuple[tuple[str, int], ...]:
    """`include:`: routers read from Ansible join `routers:` (each located at its include)."""
    from holdtime.inventory_include import include_routers

    found = include_routers(includes, routers, context)
    joined = list(built.get("routers", ()))
    for include in found:
        for router in include.routers:
            context.walker.marks[f"routers[{len(joined)}]"] = include.mark
            joined.append(router)
    built["routers"] = tuple(joined)
    return tuple((include.label, len(include.routers)) for include in found)


def _unique(items: list[dict[str, Any]], section: Section[Any], context: Context) -> None:
    """A second entry with the same `unique_by` value: one line at it, naming the first's line."""
    key = section.unique_by
    seen: dict[str | int, int] = {}
    hint = f"; {section.duplicate_hint}" if section.duplicate_hint else ""
    for index, item in enumerate(items):
        name = item.get(key)
        if name is None or not isinstance(name, str | int):
            continue  # missing or malformed: the walker reports it
        if name in seen:
            first = context.walker.marks.get(f"{section.name}[{seen[name]}].{key}", (0, 0))[0]
            context.problem(
                f"{section.name}[{index}].{key}",
                f"duplicate {key} {name!r} (first used on line {first}){hint}",
            )
        else:
            seen[name] = index


def inventory_summary(inventory: Inventory) -> str:
    """One line counting what an inventory holds, section by section, then the drills."""
    counts = [
        f"{len(inventory.entries(section.name))} {section.counted_as}"
        for section in registered_sections()
    ]
    return ", ".join([*counts, f"{len(inventory.drills)} drills"])

"""Make a composed YAML document safe to walk: plain tags only, no cycles, no alias bombs.

`yaml.compose` accepts things the schema walk must never meet: recursive aliases
(``&a [*a]``), alias bombs (a few lines expanding to billions of nodes), deep nesting,
arbitrary tags (``!!python/object``) and explicitly tagged scalars that cannot be built
(``!!int abc``). `audit` finds them with one linear pass over the node graph, so that bad input
becomes a ``line:col`` problem instead of a traceback, a hang or an exhausted memory.

An alias bomb is measured by what aliases add: the values a node stands for once every alias
is expanded, minus the values written out in the file. A large file without aliases adds
nothing and is never called a bomb (its size is limited where it is read).
`mapping_pairs` expands YAML merge keys (``<<: *base``) so anchors can share settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import yaml

# More than any inventory needs, far below what would make validation slow or deep.
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 200_000  # values added by alias expansion, in any one subtree

_TAG = "tag:yaml.org,2002:"
STR_TAG = _TAG + "str"
MERGE_TAG = _TAG + "merge"
NULL_TAG = _TAG + "null"
_COLLECTION_TAGS = frozenset({_TAG + "seq", _TAG + "map"})
_SCALAR_TAGS = frozenset({STR_TAG, NULL_TAG, _TAG + "bool", _TAG + "int", _TAG + "float"})

Report = Callable[[yaml.Node, str], None]


def audit(root: yaml.Node, report: Report) -> bool:
    """Report every node the walk cannot take; True when the document is safe to walk."""
    expanded_size: dict[int, int] = {}  # id(node) -> values it stands for, aliases expanded
    written_size: dict[int, int] = {}  # id(node) -> values written out under it in the file
    claimed: set[int] = set()  # nodes reached once already: any further edge is an alias
    on_path: set[int] = set()  # nodes being expanded: meeting one again is a cycle
    stack: list[tuple[yaml.Node, int, tuple[bool, ...] | None]] = [(root, 1, None)]
    claimed.add(id(root))
    safe = True
    while stack:
        node, depth, written_edges = stack.pop()
        key = id(node)
        if written_edges is not None:  # children done
            on_path.discard(key)
            children = _children(node)
            expanded_size[key] = 1 + sum(expanded_size[id(child)] for child in children)
            written_size[key] = 1 + sum(
                written_size[id(child)]
                for child, written in zip(children, written_edges, strict=True)
                if written
            )
            if expanded_size[key] - written_size[key] > MAX_ALIAS_VALUES:
                report(node, f"aliases expand to more than {MAX_ALIAS_VALUES} values (alias bomb?)")
                return False
            continue
        if key in expanded_size:
            continue
        if key in on_path:
            report(node, "an alias refers to a value that contains it (recursive structure)")
            return False
        if depth > MAX_DEPTH:
            report(node, f"nested more than {MAX_DEPTH} levels deep")
            return False
        problem = _tag_problem(node)
        if problem:
            report(node, problem)
            safe = False
        on_path.add(key)
        children = _children(node)
        edges = []
        for child in children:
            edges.append(id(child) not in claimed)
            claimed.add(id(child))
        stack.append((node, depth, tuple(edges)))
        stack.extend((child, depth + 1, None) for child in children)
    return safe


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _tag_problem(node: yaml.Node) -> str:
    """Why this node's tag is not allowed (empty when it is)."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == MERGE_TAG:
            return ""
        if node.tag not in _SCALAR_TAGS:
            return f"unsupported YAML tag {_short(node.tag)} (plain values only)"
        if node.tag == STR_TAG:
            return ""
        try:
            yaml.constructor.SafeConstructor().construct_object(node)
        except Exception:
            # PyYAML trusts explicit tags: `!!int abc` raises ValueError, `!!int ''` IndexError,
            # `!!timestamp x` AttributeError. Any failure here means "not a valid value".
            return f"{node.value!r} is not a valid {_short(node.tag)}"
        return ""
    if node.tag not in _COLLECTION_TAGS:
        return f"unsupported YAML tag {_short(node.tag)} (plain lists and mappings only)"
    return ""


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


@dataclass(frozen=True, slots=True)
class Pair:
    """One key/value of a mapping; `merged` when it came in through a `<<` merge key."""

    key: yaml.Node
    value: yaml.Node
    merged: bool = False


def mapping_pairs(node: yaml.MappingNode, report: Report) -> list[Pair]:
    """The pairs of a mapping with `<<` merges expanded.

    Keys written in the mapping win over merged ones; among merges the first source wins
    (the YAML merge-key rule). Merged pairs keep their own marks, so errors point at the anchor.
    """
    own = [Pair(k, v) for k, v in node.value if k.tag != MERGE_TAG]
    taken = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    merged: list[Pair] = []
    for key, value in node.value:
        if key.tag != MERGE_TAG:
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                report(source, "'<<' merges a mapping or a list of mappings")
                continue
            for pair in mapping_pairs(source, report):
                name = pair.key.value if isinstance(pair.key, yaml.ScalarNode) else None
                if name in taken:
                    continue
                taken.add(name)
                merged.append(Pair(pair.key, pair.value, merged=True))
    return own + merged

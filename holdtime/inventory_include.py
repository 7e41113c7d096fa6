"""The inventory's `include:` key: routers read from an Ansible inventory each time it loads.

``include: {ansible: hosts.ini, groups: [routers]}`` runs ``ansible-inventory --list --export``
on the file (any inventory plugin works) and turns each host of the groups into the `routers:`
entry that `holdtime inventory import ansible` would write (holdtime/ansible_import.py). Each
entry is then walked with the `routers:` section's own Field and built by its own builder, so
every rule of a hand-written router applies, and each problem names the include, the Ansible
host and the Ansible variable behind the value::

    site.yaml:4:14: include[0] (hosts.ini) host r1: port from ansible_port (host r1): 99999 is
    out of range 1..65535

The JSON ansible-inventory prints is kept in the process (``holdtime serve`` reloads the
inventory every round) while the file, the files under the ``group_vars/`` and ``host_vars/``
folders beside it (or, for a folder inventory, every file in it) are unchanged, and for at most
``max_age_seconds`` (a dynamic inventory such as NetBox changes without any file changing).

Only :data:`INCLUDE_FIELD` is read when an inventory has no `include:`: the Ansible mapping and
subprocess machinery are imported on first use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from holdtime.probes.platforms import PLATFORM_NAMES
from holdtime.sections import Context, seconds
from holdtime.yaml_schema import Field, Walker

if TYPE_CHECKING:
    from holdtime.ansible_import import AnsibleInventory, RouterDraft
    from holdtime.probes.router_config import Router

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_AGE_SECONDS = 300.0
MAX_FINGERPRINT_FILES = 10_000  # files stat'ed per include (group_vars/, host_vars/, a folder)
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"  # as ssh and Ansible read it (and the import writes)
NOT_KEPT = "(not kept by holdtime)"  # what a password variable holds once read
MAX_HOSTS_NAMED = 5  # in one problem line shared by many hosts
HOLE = "\x00"  # the path a host's entry is walked under; replaced in every message
MISSING_HINT = (
    "in holdtime's environment or on PATH (or write the routers once with "
    "`holdtime inventory import ansible --json FILE`)"
)

INCLUDE_ITEM = Field(
    "map",
    fields={
        "ansible": Field("str", required=True),
        "groups": Field("list", item=Field("str"), one_or_list=True, required=True),
        "exclude": Field("list", item=Field("str"), one_or_list=True),
        "platform": Field("list", item=Field("str", choices=PLATFORM_NAMES), one_or_list=True),
        "platform_var": Field("str"),
        "known_hosts": Field("str"),
        "timeout_seconds": seconds(1, 3600, default=DEFAULT_TIMEOUT_SECONDS),
        "max_age_seconds": seconds(0, 86400, default=DEFAULT_MAX_AGE_SECONDS),
    },
    shape="ansible: FILE, groups: [GROUP, ...]",
)
INCLUDE_FIELD = Field("list", item=INCLUDE_ITEM, one_or_list=True)
"""`include:`: one mapping, or a list of them."""


@dataclass(frozen=True)
class Included:
    """The routers one include brought, and how `inventory validate` names it."""

    label: str  # include[0] (hosts.ini, groups routers)
    routers: tuple[Router, ...]
    mark: tuple[int, int]  # line, column of the include's `ansible:`


# -- running ansible-inventory, once per change ----------------------------------------------
Fingerprint = tuple[tuple[str, int, int], ...]
_CACHE: dict[tuple[str, float], tuple[Fingerprint, float, Mapping[str, Any]]] = {}


def ansible_inventory_json(
    source: Path,
    *,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """What `ansible-inventory -i SOURCE --list --export` prints, re-run only when needed.

    A result is reused while the files it was read from are unchanged (path, mtime, size) and
    it is younger than `max_age_seconds`. A failure is not kept: the next load tries again.
    """
    from holdtime.ansible_import import run_ansible_inventory

    key = (str(source.resolve()), timeout_seconds)
    fingerprint = _fingerprint(source)
    now = clock()
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == fingerprint and now - cached[1] < max_age_seconds:
        return cached[2]
    data = run_ansible_inventory(source, timeout_seconds=timeout_seconds, missing_hint=MISSING_HINT)
    kept = _without_passwords(data)
    _CACHE[key] = (fingerprint, now, kept)
    return kept


def _without_passwords(data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON with every password variable's value replaced: an include never reads one.

    What is kept for later loads then holds no secret; that a password is set is all the
    mapping needs (it becomes `password_env`).
    """
    from holdtime.ansible_import import SECRET_VARS

    def scrub(variables: object) -> object:
        if not isinstance(variables, Mapping):
            return variables
        return {k: NOT_KEPT if k in SECRET_VARS else v for k, v in variables.items()}

    out: dict[str, Any] = dict(data)
    for name, group in data.items():
        if name == "_meta" and isinstance(group, Mapping):
            hostvars = group.get("hostvars")
            if isinstance(hostvars, Mapping):
                out[name] = {**group, "hostvars": {h: scrub(v) for h, v in hostvars.items()}}
        elif isinstance(group, Mapping) and "vars" in group:
            out[name] = {**group, "vars": scrub(group["vars"])}
    return out


def _fingerprint(source: Path) -> Fingerprint:
    """(path, mtime_ns, size) of every file the inventory is read from, as far as we can tell."""
    roots = [source] if source.is_dir() else [source, *_vars_dirs(source.parent)]
    found: list[tuple[str, int, int]] = []
    for root in roots:
        if not root.exists():
            continue
        found.append(_stat(root))
        if root.is_dir():
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted([*dirs, *files]):
                    if len(found) >= MAX_FINGERPRINT_FILES:
                        return tuple(found)
                    found.append(_stat(Path(folder, name)))
    return tuple(found)


def _vars_dirs(folder: Path) -> list[Path]:
    return [folder / "group_vars", folder / "host_vars"]


def _stat(path: Path) -> tuple[str, int, int]:
    try:
        info = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), info.st_mtime_ns, info.st_size)


# -- include entries -> routers ----------------------------------------------------------------
def include_routers(
    includes: Sequence[Mapping[str, Any] | None],
    routers: Sequence[Mapping[str, Any]],
    context: Context,
) -> list[Included]:
    """The routers of every include, built like `routers:` entries; problems go to `context`.

    `routers` are the inventory's own `routers:` entries (for names used twice).
    """
    taken: dict[str, str] = {}
    for index, raw in enumerate(routers):
        if raw.get("name"):
            line = context.walker.marks.get(f"routers[{index}].name", (0, 0))[0]
            taken.setdefault(str(raw["name"]), f"routers[{index}] (line {line})")
    label_of = "include[{}]" if "include[0]" in context.walker.marks else "include"
    found: list[Included] = []
    for index, entry in enumerate(includes):
        where = label_of.format(index)
        if entry is not None and entry.get("groups") == []:
            context.problem(f"{where}.groups", "name at least one Ansible group")
        if entry is None or not entry.get("ansible") or not entry.get("groups"):
            continue  # reported above or by the walk
        routers_here = _one_include(entry, where, context)
        kept: list[Router] = []
        for router in routers_here:
            if router.name in taken:
                _problem(
                    context,
                    f"{where}.ansible",
                    f"{where} ({entry['ansible']}) host {router.name}: the name is also "
                    f"{taken[router.name]}: rename one, or leave it out with exclude: "
                    f"[{router.name}]",
                )
                continue
            taken[router.name] = f"{where} ({entry['ansible']})"
            kept.append(router)
        groups = ", ".join(entry["groups"])
        mark = context.walker.marks.get(f"{where}.ansible", (1, 1))
        found.append(Included(f"{where} ({entry['ansible']}, groups {groups})", tuple(kept), mark))
    return found


def _one_include(entry: Mapping[str, Any], where: str, context: Context) -> list[Router]:
    import getpass

    from holdtime.ansible_import import AnsibleInventory
    from holdtime.errors import ConfigError

    name = str(entry["ansible"])
    source = Path(os.path.expanduser(name))
    if not source.is_absolute():
        source = context.path.parent / source
    if not source.exists():
        context.problem(f"{where}.ansible", f"no Ansible inventory {name!r} ({source})")
        return []
    if entry.get("platform") and entry.get("platform_var"):
        context.problem(where, "set platform or platform_var, not both")
        return []
    try:
        data = ansible_inventory_json(
            source,
            timeout_seconds=entry["timeout_seconds"],
            max_age_seconds=entry["max_age_seconds"],
        )
    except ConfigError as exc:
        context.problem(f"{where}.ansible", f"{exc}: fix it, then validate again")
        return []
    ansible = AnsibleInventory.from_json(data)
    routers: list[Router] = []
    hosts_of: dict[str, list[str]] = {}  # one line per problem, naming every host it hit
    ssh = context.defaults.get("ssh") or {}
    local_user = None if ssh.get("username") else getpass.getuser()  # Ansible's fallback
    for host in _chosen_hosts(ansible, entry, where, name, context):
        router, problems = _router(ansible, host, entry, where, local_user, context)
        for problem in problems:
            hosts_of.setdefault(problem, []).append(host)
        if router is not None and not problems:
            routers.append(router)
    for problem, hosts in hosts_of.items():
        _problem(context, f"{where}.ansible", f"{where} ({name}) {_hosts(hosts)}: {problem}")
    return routers


def _hosts(hosts: Sequence[str]) -> str:
    """`host r1`, `hosts r1, r2`, `hosts r1, r2, r3, r4, r5 and 7 more`."""
    if len(hosts) == 1:
        return f"host {hosts[0]}"
    shown = ", ".join(hosts[:MAX_HOSTS_NAMED])
    more = len(hosts) - MAX_HOSTS_NAMED
    return f"hosts {shown}" + (f" and {more} more" if more > 0 else "")


def _chosen_hosts(
    ansible: AnsibleInventory,
    entry: Mapping[str, Any],
    where: str,
    name: str,
    context: Context,
) -> list[str]:
    """The hosts of the include's groups, less `exclude` (unknown names are problems)."""
    groups: list[str] = list(entry["groups"])
    unknown = [group for group in groups if group not in ansible.groups]
    if unknown:
        known = ", ".join(sorted(ansible.groups))
        names = ", ".join(map(repr, unknown))
        context.problem(f"{where}.groups", f"no group {names} in {name} (groups: {known})")
    hosts = list(
        dict.fromkeys(
            host for group in groups if group not in unknown for host in ansible.hosts_of(group)
        )
    )
    excluded: list[str] = list(entry.get("exclude") or [])
    strangers = [host for host in excluded if host not in hosts]
    if strangers:
        context.problem(
            f"{where}.exclude",
            f"{', '.join(map(repr, strangers))} is not a host of groups {', '.join(groups)} "
            f"in {name}",
        )
    chosen = [host for host in hosts if host not in excluded]
    if not chosen and not unknown:
        context.problem(f"{where}.groups", f"groups {', '.join(groups)} have no hosts in {name}")
    return chosen


def _router(
    ansible: AnsibleInventory,
    host: str,
    entry: Mapping[str, Any],
    where: str,
    local_user: str | None,
    context: Context,
) -> tuple[Router | None, list[str]]:
    """One host as a router, walked and built as a `routers:` entry, and its problems."""
    from holdtime.ansible_import import router_draft
    from holdtime.probes.router_config import ROUTERS

    ssh = context.defaults.get("ssh") or {}
    draft = router_draft(
        host,
        ansible.variables(host),
        platform_var=entry.get("platform_var"),
        platforms=entry.get("platform"),
        local_user=local_user,
    )
    if draft.reason:
        return None, [draft.reason]
    data, notes = _with_known_hosts(draft, entry, ssh, where)
    walker = Walker(context.walker.source)
    line, column = context.walker.marks.get(f"{where}.ansible", (1, 1))
    mark = yaml.Mark(context.walker.source, 0, line - 1, column - 1, None, 0)
    raw = walker.value(_node(data, mark), ROUTERS.item, HOLE)
    own = Context(
        path=context.path,
        walker=walker,
        defaults=context.defaults,
        declared=context.declared,
        items=context.items,
    )
    router = ROUTERS.build(raw, HOLE, own) if raw is not None else None
    problems = [_relabel(message, notes) for _line, _column, message in sorted(walker.problems)]
    return router, list(dict.fromkeys(problems))


def _with_known_hosts(
    draft: RouterDraft, entry: Mapping[str, Any], ssh: Mapping[str, Any], where: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The draft with `known_hosts`: the include's, else defaults.ssh's, else ssh's default."""
    data, notes = dict(draft.data), dict(draft.notes)
    if entry.get("known_hosts"):
        data["known_hosts"], notes["known_hosts"] = entry["known_hosts"], f"{where}.known_hosts"
    elif not ssh.get("known_hosts"):
        data["known_hosts"] = DEFAULT_KNOWN_HOSTS
        notes["known_hosts"] = "ssh's default, as Ansible uses"
    return data, notes


def _node(value: Any, mark: yaml.Mark) -> yaml.Node:
    """A composed YAML node of a plain value, every part of it marked at `mark`."""
    representer = yaml.representer.SafeRepresenter(sort_keys=False)
    node: yaml.Node = representer.represent_data(value)
    pending = [node]
    while pending:
        current = pending.pop()
        current.start_mark = current.end_mark = mark
        if isinstance(current, yaml.MappingNode):
            pending += [part for pair in current.value for part in pair]
        elif isinstance(current, yaml.SequenceNode):
            pending += current.value
    return node


def _relabel(message: str, notes: Mapping[str, str]) -> str:
    """`\\x00.port: 99999 is out of range` -> `port from ansible_port (host r1): 99999 is ...`."""
    path, _, rest = message.partition(": ")
    key = path.removeprefix(HOLE).removeprefix(".")
    if not key:
        return rest
    note = notes.get(key) or notes.get(key.partition(".")[0].partition("[")[0])
    return f"{key} from {note}: {rest}" if note else f"{key}: {rest}"


def _problem(context: Context, at: str, message: str) -> None:
    """A problem placed at the mark of `at` (the include's `ansible:`), worded by the caller."""
    line, column = context.walker.marks.get(
        at, context.walker.marks.get(at.rpartition(".")[0], (1, 1))
    )
    context.walker.problems.append((line, column, message))

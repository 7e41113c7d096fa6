"""Inventory sections: how a family owns its piece of the inventory (`routers:`, `kmip:` ...).

A probe declares one :class:`Section` as its class attribute ``section``: the top-level key, the
schema of one entry in the Field language of :mod:`holdtime.yaml_schema`, the keys it adds under
``defaults:``, and a builder that turns one validated entry into the family's typed config.
`holdtime.inventory.load_inventory` walks every registered section in the same pass as the rest
of the file, so a third-party section gets the same ``file:line:col`` errors and did-you-mean
hints as the built-in ones, and its entries reach its probe as ``Target[C].config``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from holdtime import redaction
from holdtime.yaml_schema import Field, Walker

C = TypeVar("C")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BuildContext(Protocol):
    """What a section's builder may use besides its own entry (no I/O beyond file checks)."""

    path: Path  # the inventory file
    defaults: Mapping[str, Any]  # the validated `defaults:` mapping (every family's keys)

    def problem(self, where: str, message: str) -> None:
        """Record a problem at `where` (a dotted path such as `routers[0].auth`)."""
        ...

    def file(self, value: str | None, where: str, *, must_exist: bool = True) -> Path | None:
        """A path relative to the inventory file; a problem when it must exist and does not."""
        ...

    def secret(self, env_name: str | None, where: str) -> str | None:
        """The value of an environment variable holding a secret (registered for redaction)."""
        ...

    def names(self, section: str) -> frozenset[str]:
        """The entry names another section declares (for cross-references)."""
        ...

    def entries(self, section: str) -> Sequence[Mapping[str, Any]]:
        """Another section's entries as validated (plain mappings; for nested references)."""
        ...


Builder = Callable[[Mapping[str, Any], str, BuildContext], C | None]
"""Builds one entry: (validated plain entry, its dotted path e.g. `routers[3]`, context)."""


@dataclass(frozen=True)
class Section(Generic[C]):
    """One top-level inventory key holding a list of entries of one family."""

    name: str  # the top-level key, e.g. "routers"
    item: Field  # schema of one entry (a "map" Field; entries are unique by `unique_by`)
    build: Builder[C]
    label: str = ""  # how `inventory validate` counts them ("tcp targets"); default: the name
    defaults: Mapping[str, Field] = field(default_factory=dict)  # keys under `defaults:`
    order: int = 100  # position among the sections in messages (built-ins first)
    unique_by: str = "name"  # the key no two entries may share (`kms:` is keyed by its vcenter)
    duplicate_hint: str = ""  # what to do instead, appended to the duplicate's message

    @property
    def counted_as(self) -> str:
        """The plural noun `inventory validate` prints after the count."""
        return self.label or self.name


@dataclass
class Context:
    """The BuildContext the inventory loader hands to every section's builder."""

    path: Path
    walker: Walker
    defaults: Mapping[str, Any]
    declared: Mapping[str, frozenset[str]]
    items: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    def problem(self, where: str, message: str) -> None:
        """Record a problem at the closest known position of `where` (or its parents)."""
        key = where
        while key and key not in self.walker.marks:
            key = key.rpartition(".")[0]
        line, col = self.walker.marks.get(key, (1, 1))
        self.walker.problems.append((line, col, f"{where}: {message}"))

    def file(self, value: str | None, where: str, *, must_exist: bool = True) -> Path | None:
        """A path relative to the inventory file; a problem when it must exist and does not."""
        if value is None:
            return None
        resolved = Path(os.path.expanduser(value))
        if not resolved.is_absolute():
            resolved = self.path.parent / resolved
        if must_exist:
            try:
                if not resolved.exists():
                    self.problem(where, f"file {value!r} does not exist ({resolved})")
                elif not os.access(resolved, os.R_OK) or resolved.is_dir():
                    self.problem(where, f"file {value!r} is not a readable file ({resolved})")
            except OSError as exc:  # ENAMETOOLONG, EACCES on a parent folder, ...
                self.problem(where, f"file {value!r} cannot be checked: {exc.strerror}")
        return resolved

    def secret(self, env_name: str | None, where: str) -> str | None:
        """The value of `env_name`, registered so every later message shows it as ***."""
        if env_name is None:
            return None
        if not ENV_NAME_RE.match(env_name):
            self.problem(where, f"{env_name!r} is not an environment variable name")
            return None
        value = os.environ.get(env_name)
        if value is None:
            self.problem(where, f"environment variable {env_name} is not set")
        elif not value:
            self.problem(where, f"environment variable {env_name} is set but empty")
        return redaction.register(value or None)

    def names(self, section: str) -> frozenset[str]:
        """Entry names declared in another section (from the file, valid or not)."""
        return self.declared.get(section, frozenset())

    def entries(self, section: str) -> Sequence[Mapping[str, Any]]:
        """Another section's validated entries (from the file, valid or not)."""
        return self.items.get(section, ())


def password(
    raw: Mapping[str, Any], where: str, allow_literal: object, context: BuildContext
) -> str | None:
    """The secret of an entry's `password_env` (or its allowed literal `password`).

    Every family with a password uses this: a literal one is refused unless the entry says
    `allow_literal_password: true`; whichever is used is registered, so every message from then
    on shows it as ***.
    """
    if raw.get("password") and not allow_literal:
        context.problem(
            f"{where}.password",
            "literal passwords are refused: use password_env, "
            "or set allow_literal_password: true on this entry",
        )
    from_env = context.secret(raw.get("password_env"), f"{where}.password_env")
    return from_env or redaction.register(raw.get("password"))


def seconds(low: float, high: float, default: float | None = None) -> Field:
    """A number of seconds within low..high (the message names the unit)."""
    return Field("seconds", low=low, high=high, default=default)

"""Turn an Ansible inventory into a holdtime inventory (`holdtime inventory import ansible`).

The input is what `ansible-inventory --list --export` prints, so every inventory plugin works
(static YAML and INI, NetBox, the cloud plugins) without holdtime knowing it. With ``--export``
group variables stay on their groups, so every value written says where it came from (``host
r1``, ``group routers``); the precedence is Ansible's: ``all`` first, then groups by depth (a
child group over its parent), ``ansible_group_priority`` and name, then the host's own vars.
Output from a plain ``--list`` (group vars already folded into each host) reads the same.

Secrets are never copied: a password (vaulted, ``{"__ansible_vault": ...}`` in the JSON, or not)
becomes ``auth.password_env`` with a variable name for the user to fill. Any other vaulted value
cannot be used either, so its host is skipped with the reason.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from holdtime.errors import ConfigError
from holdtime.probes.platforms import PLATFORM_NAMES
from holdtime.yaml_schema import NAME_RE

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
ANSIBLE_INVENTORY = "ansible-inventory"
ANSIBLE_TIMEOUT_SECONDS = 300.0
VAULT_KEY = "__ansible_vault"
# where Ansible keeps each connection setting, the current name first
HOST_VARS = ("ansible_host", "ansible_ssh_host")
PORT_VARS = ("ansible_port", "ansible_ssh_port")
USER_VARS = ("ansible_user", "ansible_ssh_user", "ansible_remote_user")
KEY_VARS = ("ansible_ssh_private_key_file", "ansible_private_key_file")
PASSWORD_VARS = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password")
SSH_ARGS_VARS = ("ansible_ssh_common_args", "ansible_ssh_extra_args")
BECOME_PASSWORD_VARS = ("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass")
SECRET_VARS = frozenset(PASSWORD_VARS + BECOME_PASSWORD_VARS)
"""Variables holding a password: never copied, and not kept in memory by the include."""


@dataclass(frozen=True, slots=True)
class Sourced:
    """One variable's value and where Ansible set it (``host r1``, ``group routers``)."""

    name: str
    value: Any
    origin: str

    @property
    def vaulted(self) -> bool:
        """True when the value is an encrypted vault string."""
        return isinstance(self.value, Mapping) and VAULT_KEY in self.value

    @property
    def note(self) -> str:
        """``ansible_host (host r1)``: what the output comment says."""
        return f"{self.name} ({self.origin})"


@dataclass
class Imported:
    """The result of an import: the YAML text and what the user must know about it."""

    text: str
    routers: int
    skipped: list[str] = field(default_factory=list)  # "esg9: why"
    secrets: list[str] = field(default_factory=list)  # "VAR: router r1 (ansible_password ...)"
    notes: list[str] = field(default_factory=list)  # other things the user should look at
    unread: list[str] = field(default_factory=list)  # the notes about settings left unread


# -- reading Ansible -------------------------------------------------------------------------
MISSING_HINT = "or pass --json with what `ansible-inventory -i INVENTORY --list` prints"


def run_ansible_inventory(
    source: Path,
    *,
    timeout_seconds: float = ANSIBLE_TIMEOUT_SECONDS,
    missing_hint: str = MISSING_HINT,
) -> Mapping[str, Any]:
    """`ansible-inventory -i SOURCE --list --export`, parsed; ConfigError when it cannot run."""
    program = _find_ansible_inventory(missing_hint)
    env = {
        **os.environ,
        # a file no plugin can parse is an error, not an empty inventory with a warning
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        "ANSIBLE_NOCOLOR": "1",
    }
    command = [program, "-i", str(source), "--list", "--export"]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_seconds,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"{source}: ansible-inventory did not finish in {timeout_seconds:g} s"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot run {program}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise ConfigError(f"{source}: ansible-inventory failed: {_ansible_error(done)}")
    return parse_inventory_json(done.stdout, f"ansible-inventory -i {source}")


def _ansible_error(done: subprocess.CompletedProcess[str]) -> str:
    """The line of ansible-inventory's stderr that says what is wrong.

    ansible-core 2.19 prints the plugin's reason first and a generic line last:
    ``[WARNING]: Failed to parse inventory with 'ini' plugin: Failed to parse inventory: ...``
    then ``[ERROR]: Completely failed to parse inventory source /path/hosts.ini``.
    """
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("[WARNING]: Failed to parse"):
            return line.removeprefix("[WARNING]: ")
    for line in lines:
        if line.startswith("[ERROR]: "):
            return line.removeprefix("[ERROR]: ")
    return lines[-1] if lines else f"exit code {done.returncode}"


def _find_ansible_inventory(hint: str) -> str:
    found = shutil.which(ANSIBLE_INVENTORY) or shutil.which(
        ANSIBLE_INVENTORY, path=str(Path(sys.executable).parent)
    )
    if found is None:
        raise ConfigError(
            f"ansible-inventory not found: install ansible-core (pipx install ansible-core), {hint}"
        )
    return found


def read_inventory_json(source: str) -> Mapping[str, Any]:
    """The `--json FILE` (or `-`, standard input) form: what `ansible-inventory --list` printed."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    return parse_inventory_json(text, "standard input" if source == "-" else source)


def parse_inventory_json(text: str, where: str) -> Mapping[str, Any]:
    """The JSON of `ansible-inventory --list`; ConfigError naming `where` when it is not that."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}): "
            "expected what `ansible-inventory --list` prints"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("all", {}), dict):
        raise ConfigError(f"{where}: not the output of `ansible-inventory --list` (no groups)")
    return data


# -- resolving hosts and their variables -------------------------------------------------------
@dataclass(frozen=True)
class AnsibleInventory:
    """Groups, their members and variables, as `ansible-inventory --list` describes them."""

    groups: Mapping[str, Mapping[str, Any]]
    hostvars: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnsibleInventory:
        """Read the `--list` JSON (ignores keys that are not groups)."""
        meta = data.get("_meta")
        found = meta.get("hostvars") if isinstance(meta, dict) else None
        hostvars: dict[str, Any] = found if isinstance(found, dict) else {}
        groups = {
            name: group
            for name, group in data.items()
            if name != "_meta" and isinstance(group, dict)
        }
        groups.setdefault("all", {})
        return cls(groups=groups, hostvars=hostvars)

    def children(self, group: str) -> list[str]:
        """The group's child groups (names that are groups here)."""
        return [str(c) for c in self.groups.get(group, {}).get("children") or [] if str(c)]

    def hosts_of(self, group: str) -> list[str]:
        """Every host in a group or any of its descendants, in the order Ansible lists them."""
        found: dict[str, None] = {}
        seen: set[str] = set()

        def walk(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for host in self.groups.get(name, {}).get("hosts") or []:
                found.setdefault(str(host), None)
            for child in self.children(name):
                walk(child)

        walk(group)
        if group == "all":  # a host listed only in _meta is still in `all`
            for host in self.hostvars:
                found.setdefault(str(host), None)
        return list(found)

    @cached_property
    def members(self) -> dict[str, frozenset[str]]:
        """Each group's hosts, its descendants' included (computed once)."""
        return {name: frozenset(self.hosts_of(name)) for name in self.groups}

    @cached_property
    def depths(self) -> dict[str, int]:
        """Each group's depth below `all` (the longest path, as Ansible counts it)."""
        depth = {"all": 0}
        pending = ["all"]
        while pending:  # longest path in a DAG: relax until nothing changes (groups are few)
            name = pending.pop()
            for child in self.children(name):
                if depth.get(child, -1) < depth[name] + 1 and depth[name] < len(self.groups):
                    depth[child] = depth[name] + 1
                    pending.append(child)
        return depth

    def variables(self, host: str) -> dict[str, Sourced]:
        """A host's variables with Ansible's precedence, each with where it was set."""
        depth = self.depths
        member_of = [name for name in self.groups if host in self.members[name]]

        def rank(name: str) -> tuple[int, int, str]:
            vars_ = self.groups[name].get("vars") or {}
            priority = vars_.get("ansible_group_priority", 1)
            return (depth.get(name, 0), priority if isinstance(priority, int) else 1, name)

        merged: dict[str, Sourced] = {}
        for name in sorted(member_of, key=rank):
            for key, value in (self.groups[name].get("vars") or {}).items():
                merged[key] = Sourced(key, value, f"group {name}")
        for key, value in (self.hostvars.get(host) or {}).items():
            merged[key] = Sourced(key, value, f"host {host}")
        return merged


# -- building the holdtime inventory -------------------------------------------------------------
@dataclass
class _Entry:
    """One router entry being written: (indent, key, value, comment) lines, nested by indent.

    Values are turned into YAML text only when the import writes them (`_render`): the include
    uses `data` and `notes` alone, for every host at every load.
    """

    lines: list[tuple[int, str, object, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # the same entry as plain values
    notes: dict[str, str] = field(default_factory=dict)  # dotted key -> where it came from
    _outer: str = ""  # the last top-level key written without a value (auth:)

    def add(self, indent: int, key: str, value: object, comment: str, note: str = "") -> None:
        """One key; `note` (default: the comment) is what the include's messages cite."""
        self.lines.append((indent, key, value, comment))
        if indent == 0:
            self.data[key] = {} if value is None else value
            self._outer = key if value is None else ""
            dotted = key
        else:
            self.data[self._outer][key] = value
            dotted = f"{self._outer}.{key}"
        if note or comment:
            self.notes[dotted] = note or comment


@dataclass(frozen=True)
class RouterDraft:
    """One Ansible host as a `routers:` entry (plain values), before holdtime validates it."""

    host: str
    data: Mapping[str, Any]  # the entry as `routers:` would hold it
    notes: Mapping[str, str]  # dotted key -> the Ansible variable and where it was set
    reason: str  # why this host cannot be a router ('' when it can)
    advice: tuple[str, ...]  # things the user should know (a ProxyCommand left out, ...)


def router_draft(
    host: str,
    variables: Mapping[str, Sourced],
    *,
    platform_var: str | None = None,
    platforms: Sequence[str] | None = None,
    local_user: str | None = None,
) -> RouterDraft:
    """The entry `inventory import ansible` writes for one host, as data (the `include:` key).

    Unlike the import, a port that is not a port number is kept (digit strings as numbers) for
    the inventory's own validator to report; `local_user=None` leaves `username` out when
    Ansible sets none, so the inventory's `defaults.ssh.username` applies.
    """
    result = Imported(text="", routers=0)
    entry = _router(
        host,
        variables,
        result,
        platform_var=platform_var,
        fixed_platforms=list(platforms) if platforms else None,
        local_user=local_user,
        keep_bad_port=True,
    )
    # a jump host holdtime cannot read would send the router's SSH elsewhere: not usable here
    unread = [note.removeprefix(f"{host}: ") for note in result.unread]
    reason = result.skipped[0].removeprefix(f"{host}: ") if result.skipped else "; ".join(unread)
    advice = tuple(note for note in result.notes if note not in result.unread)
    if entry is None:
        return RouterDraft(host, {}, {}, reason, advice)
    return RouterDraft(host, entry.data, entry.notes, reason, advice)


def import_ansible(
    data: Mapping[str, Any],
    *,
    source: str,
    groups: Sequence[str] = (),
    platform_var: str | None = None,
    platform: str | None = None,
    local_user: str | None = None,
) -> Imported:
    """The holdtime inventory (YAML text with comments) for the hosts of `groups` (default all)."""
    inventory = AnsibleInventory.from_json(data)
    chosen = list(groups) or ["all"]
    unknown = [group for group in chosen if group not in inventory.groups]
    if unknown:
        known = ", ".join(sorted(inventory.groups))
        raise ConfigError(f"{source}: no group {', '.join(map(repr, unknown))} (groups: {known})")
    hosts = list(dict.fromkeys(host for group in chosen for host in inventory.hosts_of(group)))
    if not hosts:
        raise ConfigError(f"{source}: group {', '.join(chosen)} has no hosts")
    fixed_platforms = _platforms(platform, "--platform") if platform else None
    if isinstance(fixed_platforms, str):
        raise ConfigError(fixed_platforms)
    result = Imported(text="", routers=0)
    entries: list[_Entry] = []
    for host in hosts:
        entry = _router(
            host,
            inventory.variables(host),
            result,
            platform_var=platform_var,
            fixed_platforms=fixed_platforms,
            local_user=local_user or getpass.getuser(),
        )
        if entry is not None:
            entries.append(entry)
    result.routers = len(entries)
    if entries and not platform_var and not platform:
        result.notes.append(
            "no --platform-var or --platform: every router is read as frr (holdtime's default)"
        )
    if entries and not Path(DEFAULT_KNOWN_HOSTS).expanduser().is_file():
        result.notes.append(
            f"{DEFAULT_KNOWN_HOSTS} does not exist: connect once with ssh (or ssh-keyscan the "
            "routers into it) before holdtime reads this inventory"
        )
    result.text = _render(entries, result, source=source, groups=chosen)
    return result


def _router(
    host: str,
    variables: Mapping[str, Sourced],
    result: Imported,
    *,
    platform_var: str | None,
    fixed_platforms: list[str] | None,
    local_user: str | None,
    keep_bad_port: bool = False,
) -> _Entry | None:
    """One `routers:` entry, or None (with the reason in result.skipped)."""
    found = {name: _first(variables, names) for name, names in _CONNECTION_VARS.items()}
    platform = _platform_of(variables, platform_var, fixed_platforms)
    port = found["port"]
    number = _port(port.value) if port is not None else None
    reason = _unusable(host, variables, found) or (platform if isinstance(platform, str) else "")
    if not reason and port is not None and number is None and not keep_bad_port:
        reason = f"{port.note} is {port.value!r}, not a port number"
    if reason or isinstance(platform, str):
        result.skipped.append(f"{host}: {reason}")
        return None
    entry = _Entry()
    entry.add(0, "name", host, "the Ansible inventory_hostname")
    address = found["host"]
    entry.add(0, "host", address.value if address else host, address.note if address else "")
    if port is not None:
        kept = _digits_as_number(port.value) if number is None else number
        entry.add(0, "port", kept, port.note)
    user = found["user"]
    if user is not None:
        entry.add(0, "username", str(user.value), user.note)
    elif local_user is not None:
        entry.add(0, "username", local_user, "not set in Ansible: the local user, as Ansible uses")
    _add_auth(entry, host, found, result)
    jump = _proxy_jump(variables, result, host)
    if jump is not None:
        entry.add(0, "proxy_jump", jump[0], jump[1])
    become = variables.get("ansible_become")
    if become is not None and become.value in {True, "true", "True", "yes"}:
        entry.add(0, "sudo", True, f"{become.note}: commands run with sudo -n", note=become.note)
    platforms, platform_note = platform
    if platforms is not None:
        value: object = platforms[0] if len(platforms) == 1 else platforms
        entry.add(0, "platform", value, platform_note)
    checking = _first(variables, ("ansible_host_key_checking", "ansible_ssh_host_key_checking"))
    if checking is not None and checking.value in {False, "false", "False", "no"}:
        result.notes.append(
            f"{host}: {checking.note} turns host key checking off; holdtime still verifies "
            "host keys against known_hosts"
        )
    return entry


def _unusable(
    host: str, variables: Mapping[str, Sourced], found: Mapping[str, Sourced | None]
) -> str:
    """Why a host cannot be imported as it is ('' when it can)."""
    if not NAME_RE.match(host):
        return "not a holdtime name (1-63 letters, digits, . _ -, starting with a letter or digit)"
    # a vaulted password is expected (it becomes password_env); any other is unusable
    vaulted = [
        value.name
        for kind, value in found.items()
        if value is not None and value.vaulted and kind != "password"
    ]
    vaulted += [v.name for v in variables.values() if v.vaulted and v.name in _OTHER_READ]
    if vaulted:
        return (
            f"{', '.join(vaulted)} is vaulted in Ansible and holdtime never copies "
            "vaulted values: add this router by hand"
        )
    # a password is never read, so a templated one ({{ vault_r1_password }}) is no obstacle
    templated = [
        value.name
        for kind, value in found.items()
        if value is not None and kind != "password" and _is_template(value.value)
    ]
    if templated:
        return (
            f"{', '.join(templated)} is a Jinja template, which only Ansible renders: "
            "add this router by hand"
        )
    return ""


def _platform_of(
    variables: Mapping[str, Sourced], platform_var: str | None, fixed: list[str] | None
) -> tuple[list[str] | None, str] | str:
    """(platforms, where they came from), or why the host's platform cannot be told."""
    if not platform_var:
        return fixed, "--platform"
    chosen = variables.get(platform_var)
    if chosen is None:
        return f"no variable {platform_var} (--platform-var)"
    if chosen.vaulted:
        return f"{chosen.note} is vaulted: add this router by hand"
    parsed = _platforms(chosen.value, chosen.note)
    return parsed if isinstance(parsed, str) else (parsed, chosen.note)


def _add_auth(
    entry: _Entry, host: str, found: Mapping[str, Sourced | None], result: Imported
) -> None:
    """`auth:`: a password becomes password_env (never copied), else the key file, else agent."""
    entry.add(0, "auth", None, "")
    key, password = found["key"], found["password"]
    if password is not None:
        env = _env_name(host)
        how = "vaulted" if password.vaulted else "set"
        comment = f"{password.note} is {how} in Ansible: never copied"
        entry.add(2, "password_env", env, comment, note=password.note)
        result.secrets.append(
            f"{env}: the password of router {host} ({password.name} of {password.origin})"
        )
        if key is not None:
            result.notes.append(f"{host}: {key.note} left out: holdtime uses one auth method")
    elif key is not None:
        entry.add(2, "key_file", _path(str(key.value)), key.note)
    else:
        entry.add(2, "agent", True, "no key file or password in Ansible: the SSH agent")


_CONNECTION_VARS = {
    "host": HOST_VARS,
    "port": PORT_VARS,
    "user": USER_VARS,
    "key": KEY_VARS,
    "password": PASSWORD_VARS,
}
_OTHER_READ = frozenset(SSH_ARGS_VARS)


def _first(variables: Mapping[str, Sourced], names: Iterable[str]) -> Sourced | None:
    for name in names:
        if name in variables and variables[name].value not in (None, ""):
            return variables[name]
    return None


def _is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _port(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    else:
        return None
    return number if 0 < number < 65536 else None


def _digits_as_number(value: object) -> object:
    """`"99999"` -> 99999, so the validator says "out of range", not "not a whole number"."""
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def _path(value: str) -> str:
    """A key file path as holdtime reads it (relative to the new inventory's folder)."""
    if value.startswith("~") or os.path.isabs(value):
        return value
    return os.path.abspath(value)  # Ansible reads it relative to where it runs: here


def _env_name(host: str) -> str:
    return "HOLDTIME_PASSWORD_" + re.sub(r"[^A-Za-z0-9]+", "_", host).strip("_").upper()


def _platforms(value: object, where: str) -> list[str] | str:
    """The holdtime platforms a value names, or a message saying why it names none."""
    words: list[str] = []
    items = value if isinstance(value, list) else str(value).split(",")
    for item in items:
        word = str(item).strip().rpartition(".")[2].lower()  # frr.frr.frr (network_os) -> frr
        if word not in PLATFORM_NAMES:
            return f"{where} is {item!r}, not one of {', '.join(PLATFORM_NAMES)}"
        words.append(word)
    return list(dict.fromkeys(words)) or f"{where} is empty"


def _proxy_jump(
    variables: Mapping[str, Sourced], result: Imported, host: str
) -> tuple[str, str] | None:
    """ProxyJump from `-o ProxyJump=...` or `-J ...` in the ssh args variables."""
    for name in SSH_ARGS_VARS:
        sourced = variables.get(name)
        if sourced is None or not isinstance(sourced.value, str):
            continue
        try:
            words = shlex.split(sourced.value)
        except ValueError as exc:
            result.notes.append(f"{host}: {sourced.note} cannot be read ({exc}): ProxyJump unknown")
            result.unread.append(result.notes[-1])
            continue
        for index, word in enumerate(words):
            following = words[index + 1] if index + 1 < len(words) else ""
            if word == "-J" and following:
                return following, f"-J in {sourced.note}"
            if word.startswith("-J") and len(word) > 2:
                return word[2:], f"-J in {sourced.note}"
            option = following if word == "-o" else word[2:] if word.startswith("-o") else ""
            key, _, value = option.replace("=", " ", 1).partition(" ")
            if key.lower() == "proxyjump" and value.strip():
                return value.strip(), f"ProxyJump in {sourced.note}"
            if key.lower() == "proxycommand":
                jump = _jump_of_proxy_command(value)
                if jump is not None:
                    return jump, f"ProxyCommand ssh -W in {sourced.note}"
                result.notes.append(
                    f"{host}: {sourced.note} uses a ProxyCommand holdtime cannot read as a jump "
                    "host: set proxy_jump (or ssh_config) by hand"
                )
                result.unread.append(result.notes[-1])
    return None


# the ssh options a plain jump through ProxyCommand uses: `ssh -q -W %h:%p -p 22 -l ops bastion`
_SSH_FLAGS = frozenset({"-q", "-4", "-6", "-T", "-N", "-C", "-A", "-a", "-x"})


def _jump_of_proxy_command(command: str) -> str | None:
    """`user@bastion[:port]` of `ssh [-q] -W %h:%p [-p PORT] [-l USER] [user@]bastion`, else None.

    Any other option (an identity file, a config file) is the bastion's own setting, which a
    proxy_jump cannot carry: None, and the user is told to set it by hand.
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or Path(words[0]).name != "ssh":
        return None
    given = {"-W": "", "-p": "", "-l": ""}  # forward, port, login
    destination = ""
    rest = iter(words[1:])
    for word in rest:
        if word in _SSH_FLAGS:
            continue
        if word in given:
            given[word] = next(rest, "")
        elif word.startswith("-") or destination:
            return None
        else:
            destination = word
    port, user = given["-p"], given["-l"]
    if given["-W"] != "%h:%p" or not destination or (port and not port.isdigit()):
        return None
    if user and "@" not in destination:
        destination = f"{user}@{destination}"
    return f"{destination}:{port}" if port else destination


# -- writing ---------------------------------------------------------------------------------
def _scalar(value: object) -> str:
    """A value as one line of YAML (quoted when YAML would read it as something else)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _render(entries: list[_Entry], result: Imported, *, source: str, groups: list[str]) -> str:
    head = [
        f"# holdtime inventory imported from Ansible ({source}), groups: {', '.join(groups)}.",
        "# Each comment names the Ansible variable a value came from, and where it was set.",
    ]
    if result.secrets:
        head.append("# Set these environment variables before holdtime reads this file:")
        head += [f"#   {line}" for line in result.secrets]
    if result.skipped:
        head.append("# Not imported:")
        head += [f"#   {line}" for line in result.skipped]
    if result.notes:
        head.append("# To look at:")
        head += [f"#   {line}" for line in result.notes]
    body = [
        "version: 1",
        "",
        "defaults:",
        "  ssh:",
        _line(
            4,
            f"known_hosts: {DEFAULT_KNOWN_HOSTS}",
            "your default known_hosts, as ssh and Ansible read it",
        ),
        "",
        "routers:" if entries else "routers: []",
    ]
    for entry in entries:
        for number, (indent, key, value, comment) in enumerate(entry.lines):
            text = f"{key}:" if value is None else f"{key}: {_scalar(value)}"
            prefix = "  - " if number == 0 else "    "
            body.append(_line(len(prefix) + indent, text, comment, prefix=prefix))
    return "\n".join([*head, *body]) + "\n"


def _line(indent: int, text: str, comment: str, *, prefix: str | None = None) -> str:
    start = (prefix if prefix is not None else "") + " " * (indent - len(prefix or ""))
    line = f"{start}{text}"
    return f"{line:<40}  # {comment}" if comment else line

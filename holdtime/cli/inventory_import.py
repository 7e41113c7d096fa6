"""`holdtime inventory import ansible`: write a holdtime inventory from an Ansible inventory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from holdtime.errors import ConfigError


def register(actions: Any) -> None:
    """Add `inventory import ansible` under the `inventory` actions."""
    importer = actions.add_parser(
        "import",
        help="write a holdtime inventory from another tool's inventory",
        description="Write a holdtime inventory from another tool's inventory.",
    )
    sources = importer.add_subparsers(
        dest="import_source", metavar="SOURCE", required=True, parser_class=type(importer)
    )
    ansible = sources.add_parser(
        "ansible",
        help="routers from an Ansible inventory (any inventory plugin)",
        description=(
            "Write a holdtime inventory (routers:) for the hosts of the chosen Ansible groups, "
            "with a comment naming the Ansible variable behind each value. Passwords, vaulted "
            "or not, are never copied: they become password_env with a variable to set. "
            "Exit 0 when written, 2 on an error."
        ),
    )
    source = ansible.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "-i",
        "--inventory",
        type=Path,
        metavar="ANSIBLE_INVENTORY",
        help="an Ansible inventory (file, folder or plugin config): runs ansible-inventory on it",
    )
    source.add_argument(
        "--json",
        metavar="FILE",
        help="what `ansible-inventory --list [--export]` printed, or - for standard input",
    )
    ansible.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="GROUP",
        help="import the hosts of GROUP and its children; repeatable (default: all)",
    )
    platform = ansible.add_mutually_exclusive_group()
    platform.add_argument(
        "--platform-var",
        metavar="VAR",
        help="host or group variable naming the platform (frr, strongswan, libreswan; a list "
        "or a comma list; frr.frr.frr reads as frr)",
    )
    platform.add_argument(
        "--platform",
        metavar="PLATFORM",
        help="the platform of every imported router (e.g. frr or frr,strongswan)",
    )
    ansible.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write to FILE (default: stdout)"
    )
    ansible.add_argument(
        "--force", action="store_true", help="overwrite the --output file if it exists"
    )
    ansible.set_defaults(handler=run_import_ansible)


def run_import_ansible(args: argparse.Namespace) -> int:
    """Handler of `holdtime inventory import ansible`."""
    from holdtime.ansible_import import (
        import_ansible,
        read_inventory_json,
        run_ansible_inventory,
    )

    output: Path | None = args.output
    if output is not None and output.exists() and not args.force:
        raise ConfigError(f"{output} exists: pass --force to overwrite it")
    if args.inventory is not None:
        data = run_ansible_inventory(args.inventory)
        source = f"ansible-inventory -i {args.inventory}"
    else:
        data = read_inventory_json(args.json)
        source = "standard input" if args.json == "-" else str(args.json)
    imported = import_ansible(
        data,
        source=source,
        groups=args.group,
        platform_var=args.platform_var,
        platform=args.platform,
    )
    if output is None:
        sys.stdout.write(imported.text)
    else:
        try:
            output.write_text(imported.text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{output}: cannot write: {exc.strerror or exc}") from None
    where = f" to {output}" if output else ""
    print(f"holdtime: wrote {imported.routers} routers{where}", file=sys.stderr)
    for line in imported.skipped:
        print(f"holdtime: not imported: {line}", file=sys.stderr)
    for line in imported.notes:
        print(f"holdtime: note: {line}", file=sys.stderr)
    if imported.secrets:
        print("holdtime: set before use: " + "; ".join(imported.secrets), file=sys.stderr)
    return 0

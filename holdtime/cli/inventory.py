"""`holdtime inventory validate FILE` and `inventory schema` (`import`: inventory_import.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from holdtime.errors import ConfigError


def register(subparsers: Any) -> None:
    """Add `inventory validate`, `inventory import` and `inventory schema`."""
    inventory = subparsers.add_parser("inventory", help="work with inventory files")
    actions = inventory.add_subparsers(
        dest="inventory_command", metavar="ACTION", required=True, parser_class=type(inventory)
    )
    validate = actions.add_parser(
        "validate",
        help="check an inventory file and list every problem with file:line:col",
        description="Validate an inventory (and its drills). Exit 0 when valid, 2 otherwise.",
    )
    validate.add_argument("file", type=Path, help="inventory YAML file")
    validate.set_defaults(handler=run_validate)
    from holdtime.cli import inventory_import

    inventory_import.register(actions)
    schema = actions.add_parser(
        "schema",
        help="print a JSON Schema of the inventory, for editors",
        description=(
            "Print the JSON Schema (draft 2020-12) of an inventory, generated from the same "
            "declarations `inventory validate` uses (third-party sections included). Editors "
            "with the YAML language server read it from a first line "
            "`# yaml-language-server: $schema=PATH`."
        ),
    )
    schema.set_defaults(handler=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    """Handler of `holdtime inventory schema`."""
    import json

    from holdtime.json_schema import inventory_schema

    print(json.dumps(inventory_schema(), indent=2))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Handler of `holdtime inventory validate`."""
    from holdtime.inventory import inventory_summary, load_inventory

    try:
        inventory = load_inventory(args.file)  # drills are validated in the same pass
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        count = len(exc.problems) or 1
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return 2
    print(f"{args.file}: ok ({inventory_summary(inventory)})")
    for label, routers in inventory.included:
        print(f"{args.file}: {label}: {routers} router{'s' if routers != 1 else ''}")
    return 0

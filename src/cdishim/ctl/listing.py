"""``cdishim-ctl list``: devices, spec files and conflicts, for people or scripts."""

from __future__ import annotations

import argparse
import sys

from cdishim.ctl.inventory import take_inventory
from cdishim.ctl.render import render
from cdishim.ctl.table import format_table
from cdishim.settings import load_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

EXAMPLE = """\
examples:
  cdishim-ctl list
  cdishim-ctl list --spec-dir /etc/cdi --spec-dir /var/run/cdi -o json | jq -r '.devices[].name'
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``list`` subcommand."""
    parser = subparsers.add_parser(
        "list", help="list CDI devices, spec files and conflicts",
        description="List every resolvable CDI device, every spec file with its errors, and every conflict.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec-dir", action="append", default=[], metavar="DIR",
                        help="CDI spec dir; repeat, later ones win (default: the configured dirs)")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                        help="output format (default: table)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also show each device's nodes and mounts")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the inventory; exit 0 even when spec files have errors (see `doctor`)."""
    settings = load_settings()
    inventory = take_inventory(args.spec_dir or settings.spec_dirs, args.verbose, settings.spec_trust())
    if args.output == "table":
        sys.stdout.write(format_inventory(inventory, args.verbose))
    else:
        sys.stdout.write(render(inventory, args.output))
    return 0


def spec_status(spec: dict[str, Any]) -> str:
    """One cell: ``ok``, the load error, or how many of its devices conflict."""
    if spec["kind"] is None:
        return "; ".join(spec["errors"])
    if spec["conflicts"]:
        return f"{len(spec['conflicts'])} conflicting device(s), see below"
    return "ok"


def format_inventory(inventory: dict[str, Any], verbose: bool = False) -> str:
    """The inventory as tables for a terminal."""
    device_rows = []
    for device in inventory["devices"]:
        row = [device["name"], device["spec"], str(device["priority"])]
        if verbose:
            row.append(" ".join(device["deviceNodes"] + device["mounts"]))
        device_rows.append(row)
    device_header = ["DEVICE", "SPEC", "PRIORITY"] + (["HOST PATHS"] if verbose else [])
    spec_rows = [
        [spec["path"], str(spec["priority"]), spec["kind"] or "-", str(spec["devices"]), spec_status(spec)]
        for spec in inventory["specs"]
    ]
    sections = [
        format_table(device_header, device_rows, empty="no resolvable CDI devices"),
        format_table(["SPEC FILE", "PRIORITY", "KIND", "DEVICES", "STATUS"], spec_rows,
                     empty="no spec files in " + ", ".join(d["path"] for d in inventory["specDirs"])),
    ]
    if inventory["conflicts"]:
        sections.append(format_table(
            ["CONFLICT", "SPECS"], [[c["device"], ", ".join(c["specs"])] for c in inventory["conflicts"]]))
    dir_errors = [error for directory in inventory["specDirs"] for error in directory["errors"]]
    if dir_errors:
        sections.append("".join(f"error: {error}\n" for error in dir_errors))
    return "\n".join(sections)

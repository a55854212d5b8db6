"""``cdishim-ctl validate``: check CDI spec files with the runtime's rules."""

from __future__ import annotations

import argparse
import sys

from cdishim.cdi.spec import read_spec
from cdishim.errors import SpecError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate", help="validate CDI spec files",
        description="Check CDI spec files with the runtime's own rules; one error line per bad file.",
        epilog="example:\n  cdishim-ctl validate /etc/cdi/*.yaml /var/run/cdi/*.json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE", help="CDI spec file (.json or .yaml)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 iff every file is valid; one error line per bad file."""
    bad = 0
    for path in args.files:
        try:
            read_spec(path)
        except SpecError as err:
            sys.stderr.write(f"{err}\n")
            bad += 1
    return 1 if bad else 0

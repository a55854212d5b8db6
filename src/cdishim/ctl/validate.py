"""``cdishim-ctl validate``: check CDI spec files with the runtime's rules."""

from __future__ import annotations

import argparse
import sys

from cdishim.cdi.spec import read_spec
from cdishim.ctl.render import printable
from cdishim.errors import SpecError
from cdishim.settings import load_settings


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
    """Exit 0 iff every file is valid; one error line per bad file.

    Files are read as the runtime reads them: the configured trust policy and
    size limit apply, and any failure is that file's error.
    """
    trust = load_settings().spec_trust()
    bad = 0
    for path in args.files:
        try:
            read_spec(path, trust=trust)
        except SpecError as err:
            sys.stderr.write(printable(str(err)) + "\n")
            bad += 1
    return 1 if bad else 0

"""``cdishim-ctl``: the operator's toolbox. One module per subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cdishim import __version__
from cdishim.errors import CdishimError, debugging, show_traceback_when_debugging


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser, with each subcommand registered by its module."""
    parser = argparse.ArgumentParser(prog="cdishim-ctl", description="Inspect and use CDI specs with cdishim.")
    parser.add_argument("--version", action="version", version=f"cdishim-ctl {__version__}")
    subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    from cdishim.ctl import configure, device_plugin, doctor, generate, inject, listing, validate
    from cdishim.ctl.node import command as node

    for module in (listing, inject, validate, generate, configure, doctor, device_plugin, node):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cdishim-ctl``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CdishimError as err:
        show_traceback_when_debugging()
        sys.stderr.write(f"cdishim-ctl: {err}\n")
        return 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as err:  # a bug: one line, and the traceback only when debugging
        if debugging():
            raise
        sys.stderr.write(" ".join(f"cdishim-ctl: internal error: {type(err).__name__}: {err}".split()) + "\n")
        return 1


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())

"""``cdishim-ctl configure``: register cdishim as a runtime of a container engine.

Edits the engine's own config file and keeps everything else in it (comments
too, for TOML). A second run with the same arguments changes nothing. The
file being replaced is kept as a timestamped backup; ``--dry-run`` shows the
unified diff and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys

from cdishim.ctl.engines import ENGINES, Registration
from cdishim.ctl.filewrite import read_current, unified_diff, write_file
from cdishim.ctl.locate import cdishim_program
from cdishim.errors import CdishimError, quote

EXAMPLE = """\
examples:
  cdishim-ctl configure --engine docker --set-default
  cdishim-ctl configure --engine containerd --dry-run
  cdishim-ctl configure --engine podman --config /etc/containers/containers.conf
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``configure`` subcommand."""
    parser = subparsers.add_parser(
        "configure", help="register cdishim as a runtime of docker, containerd, podman or CRI-O",
        description="Register cdishim in a container engine's configuration file.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", required=True, choices=sorted(ENGINES), help="the engine to configure")
    parser.add_argument("--config", metavar="PATH",
                        help="the engine's config file (default: " +
                             ", ".join(f"{e.name}: {e.default_config}" for e in ENGINES.values()) + ")")
    parser.add_argument("--runtime-name", default="cdishim", metavar="NAME",
                        help="name of the runtime entry (default: %(default)s)")
    parser.add_argument("--runtime-path", metavar="PATH",
                        help="the cdishim program (default: the one installed next to cdishim-ctl)")
    parser.add_argument("--set-default", action="store_true", help="also make it the engine's default runtime")
    parser.add_argument("--dry-run", action="store_true", help="print the unified diff, write nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Edit (or with ``--dry-run`` diff) the engine's config file."""
    engine = ENGINES[args.engine]
    path = args.config or engine.default_config
    runtime_path = args.runtime_path or cdishim_program()
    if not os.path.isabs(runtime_path):
        raise CdishimError(f"--runtime-path {quote(runtime_path)}: must be an absolute path")
    registration = Registration(runtime_name=args.runtime_name, runtime_path=runtime_path,
                                set_default=args.set_default)
    current = read_current(path)
    text = current.decode("utf-8", "replace") if current is not None else ""
    new = engine.register(text, path, registration).encode()
    if new == current:
        sys.stderr.write(f"{path}: {args.runtime_name} is already registered; nothing to do\n")
        return 0
    if args.dry_run:
        sys.stdout.write(unified_diff(path, current, new))
        return 0
    backup = write_file(path, current, new, backup=True)
    sys.stderr.write(f"wrote {path}" + (f" (backup: {backup})" if backup else "") + "\n")
    sys.stderr.write(engine.restart_hint.format(name=args.runtime_name) + "\n")
    return 0

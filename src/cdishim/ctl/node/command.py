"""``cdishim-ctl node install|uninstall``: the node installer's command line."""

from __future__ import annotations

import argparse
import sys

from cdishim.ctl.engines import ENGINES
from cdishim.errors import CdishimError, quote

EXAMPLE = """\
examples (in the installer pod, the host's / mounted at /host):
  cdishim-ctl node install --host-root /host --restart systemd
  cdishim-ctl node install --host-root /host --engine containerd --prefix /opt/cdishim
  cdishim-ctl node uninstall --host-root /host --restart systemd
"""


def _common(parser: argparse.ArgumentParser) -> None:
    from cdishim.ctl.node.install import DEFAULT_PREFIX, RESTART_POLICIES

    parser.add_argument("--host-root", required=True, metavar="DIR", help="where the host's / is mounted")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, metavar="PATH",
                        help="where the runtime trees go on the host (default: %(default)s)")
    parser.add_argument("--engine", default="auto", choices=("auto", *sorted(ENGINES)),
                        help="the engine to (un)register with (default: auto, the first config found: "
                             "containerd, crio, docker, podman)")
    parser.add_argument("--restart", default="none", choices=RESTART_POLICIES,
                        help="restart the engine through the host's systemd when its config changed (default: none)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``node`` subcommand and its ``install`` and ``uninstall``."""
    parser = subparsers.add_parser(
        "node", help="install cdishim on a host from a container (Kubernetes node installer)",
        description="Put a self-contained cdishim (its own Python and libraries) on a host and register it "
                    "with the host's container engine, or take it away again.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = actions.add_parser("install", help="install or upgrade the runtime tree and register it",
                                 epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(install)
    install.add_argument("--set-default", action="store_true", help="also make cdishim the engine's default runtime")
    install.set_defaults(run=run)
    uninstall = actions.add_parser("uninstall", help="unregister, then remove the runtime trees",
                                   epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(uninstall)
    uninstall.set_defaults(run=run, set_default=False)


def run(args: argparse.Namespace) -> int:
    """Install or uninstall; one line per thing done."""
    from cdishim.ctl.locate import cdishim_program
    from cdishim.ctl.node.install import NodeOptions, install, uninstall

    options = NodeOptions(host_root=args.host_root, prefix=args.prefix, engine=args.engine, restart=args.restart,
                          set_default=args.set_default)
    try:
        lines = install(options, cdishim_program()) if args.action == "install" else uninstall(options)
    except OSError as err:
        where = f" {quote(err.filename)}" if err.filename else ""
        raise CdishimError(f"node {args.action}:{where} {err.strerror or err}") from err
    for line in lines:
        sys.stdout.write(f"{line}\n")
    return 0

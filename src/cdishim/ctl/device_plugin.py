"""``cdishim-ctl device-plugin``: advertise every device of a CDI kind to kubelet.

No vendor code: ``--kind mock.com/gpu`` registers the resource
``mock.com/gpu`` and advertises each device of that kind in the spec dirs.
Allocate answers with ``cdi_devices`` (for runtimes with CDI of their own)
and/or ``cdi.k8s.io/`` annotations (for cdishim), per ``--strategy``.
Needs grpcio (Debian: python3-grpcio).
"""

from __future__ import annotations

import argparse
import signal
import threading

from cdishim.errors import InvalidNameError, MissingDependencyError, UsageError

EXAMPLE = """\
example:
  cdishim-ctl device-plugin --kind mock.com/gpu
  cdishim-ctl device-plugin --kind mock.com/gpu --kind mock.com/fpga --strategy cdi-annotations
"""
DEFAULT_SOCKET_DIR = "/var/lib/kubelet/device-plugins"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``device-plugin`` subcommand."""
    parser = subparsers.add_parser(
        "device-plugin", help="run a Kubernetes device plugin for CDI kinds",
        description="Advertise the devices of CDI kinds to kubelet (device plugin API v1beta1).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", action="append", required=True, metavar="VENDOR/CLASS",
                        help="a CDI kind to advertise; the resource name is the kind; repeat for more")
    parser.add_argument("--spec-dir", action="append", default=[], metavar="DIR",
                        help="CDI spec dir; repeat (default: the configured dirs)")
    parser.add_argument("--socket-dir", default=DEFAULT_SOCKET_DIR, metavar="DIR",
                        help="kubelet's device-plugins dir (default: %(default)s)")
    parser.add_argument("--strategy", choices=("cdi-annotations", "cdi-cri", "both"), default="both",
                        help="how Allocate names devices: cdi.k8s.io/ annotations, cdi_devices, or both (default)")
    parser.add_argument("--interval", type=float, default=5.0, metavar="SECONDS",
                        help="rescan specs and device health at least this often (default: %(default)s)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; exit 0."""
    from cdishim.cdi.names import validate_kind
    from cdishim.settings import load_settings

    for kind in args.kind:
        try:
            validate_kind(kind)
        except InvalidNameError as err:
            raise UsageError(f"--kind {kind}: {err}") from None
    try:
        from cdishim.ctl.plugin.plugin import run_plugins
    except ImportError as err:
        raise MissingDependencyError(f"the device plugin needs grpcio ({err}); install python3-grpcio") from err
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_plugins(list(dict.fromkeys(args.kind)), args.spec_dir or list(settings.spec_dirs), args.socket_dir,
                args.strategy, settings.spec_trust(), args.interval, stop)
    return 0

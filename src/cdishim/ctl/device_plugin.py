"""``cdishim-ctl device-plugin``: advertise CDI devices to kubelet, found or shared as a config file says.

No vendor code. ``--config FILE`` lists resources: each either discovers its
devices (device-node globs, USB ids) and writes their CDI spec, or serves the
existing specs of a CDI kind; any may be shared by ``replicas``. ``--kind K``
is the shorthand for a resource K serving the specs of kind K. Allocate
answers with ``cdi_devices`` (for runtimes with CDI of their own) and/or
``cdi.k8s.io/`` annotations (for cdishim), per ``--strategy``.
Needs grpcio (Debian: python3-grpcio).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from cdishim.errors import MissingDependencyError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cdishim.ctl.plugin.config import ResourceConfig

EXAMPLE = """\
example:
  cdishim-ctl device-plugin --config /etc/cdishim/device-plugin.yaml
  cdishim-ctl device-plugin --kind mock.com/gpu
  cdishim-ctl device-plugin --kind mock.com/gpu --kind mock.com/fpga --strategy cdi-annotations
"""
DEFAULT_SOCKET_DIR = "/var/lib/kubelet/device-plugins"
DEFAULT_CDI_DIR = "/var/run/cdi"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``device-plugin`` subcommand."""
    parser = subparsers.add_parser(
        "device-plugin", help="run a Kubernetes device plugin for CDI devices",
        description="Advertise the devices of CDI kinds to kubelet (device plugin API v1beta1).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="FILE",
                        help="the resources to advertise (YAML); see the README's device plugin section")
    parser.add_argument("--kind", action="append", default=[], metavar="VENDOR/CLASS",
                        help="a CDI kind to advertise; the resource name is the kind; repeat for more")
    parser.add_argument("--spec-dir", action="append", default=[], metavar="DIR",
                        help="CDI spec dir; repeat (default: the configured dirs)")
    parser.add_argument("--socket-dir", default=DEFAULT_SOCKET_DIR, metavar="DIR",
                        help="kubelet's device-plugins dir (default: %(default)s)")
    parser.add_argument("--strategy", choices=("cdi-annotations", "cdi-cri", "both"), default="both",
                        help="how Allocate names devices: cdi.k8s.io/ annotations, cdi_devices, or both (default)")
    parser.add_argument("--cdi-dir", default=DEFAULT_CDI_DIR, metavar="DIR",
                        help="where discovering resources write their spec files (default: %(default)s)")
    parser.add_argument("--sysfs-root", default="/sys", metavar="DIR",
                        help="sysfs, for USB ids and NUMA nodes (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=5.0, metavar="SECONDS",
                        help="rescan specs, devices and health at least this often (default: %(default)s)")
    parser.set_defaults(run=run)


def resources_from(args: argparse.Namespace) -> tuple[ResourceConfig, ...]:
    """The resources that ``--config`` and ``--kind`` ask for; `UsageError` for none or a clash."""
    from cdishim.ctl.plugin.config import check_unique, kind_shorthand, load_config

    if not args.config and not args.kind:
        raise UsageError("give --config FILE or at least one --kind")
    resources = (*(load_config(args.config) if args.config else ()), *kind_shorthand(args.kind))
    check_unique(resources)
    return resources


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; exit 0."""
    from cdishim.settings import load_settings

    if args.interval <= 0:
        raise UsageError(f"--interval {args.interval}: must be more than 0")
    resources = resources_from(args)
    try:
        from cdishim.ctl.plugin.plugin import run_plugins
    except ImportError as err:
        raise MissingDependencyError(f"the device plugin needs grpcio ({err}); install python3-grpcio") from err
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    wake, wake_writer = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_writer)  # a signal ends the loop's wait at once, not after --interval
    run_plugins(resources, args.spec_dir or list(settings.spec_dirs), args.socket_dir, args.strategy,
                settings.spec_trust(), args.interval, stop, args.cdi_dir, args.sysfs_root, wake)
    return 0

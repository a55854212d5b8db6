"""``cdishim-hook NAME ...``: the hook programs, one module each.

Each reads the OCI state on stdin (``exec`` forwards it), finds the rootfs
from it, and prints one line on stderr and exits 1 on any failure. Only the
module of the named hook is imported.
"""

from __future__ import annotations

import os
import sys

from cdishim.errors import CdishimError, show_traceback_when_debugging

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from cdishim.oci.state import HookState

EXAMPLES = """\
examples (as OCI hooks; the state comes on stdin):
  cdishim-hook create-symlinks --link libmock.so.1::/usr/lib/libmock.so
  cdishim-hook update-ldcache --folder /mock/lib
  cdishim-hook chmod --mode 0755 --path /usr/local/bin/list_device.sh
  cdishim-hook netdev --host-if eth1 --name net0
  cdishim-hook exec --timeout 5 --env PATH=/bin -- /usr/bin/vendor-hook vendor-hook --flag
  cdishim-hook exec --argc 1 -- /usr/bin/first first --timeout 5 -- /usr/bin/second second
"""


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of every hook (``exec`` is parsed by hand, see `main`; it is here for --help)."""
    import argparse

    parser = argparse.ArgumentParser(prog="cdishim-hook", description="Hardened OCI hooks of cdishim.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    hooks = parser.add_subparsers(dest="hook", required=True, metavar="HOOK")
    links = hooks.add_parser("create-symlinks", help="create symlinks inside the rootfs")
    links.add_argument("--link", action="append", required=True, metavar="TARGET::LINK")
    ldcache = hooks.add_parser("update-ldcache", help="make libraries findable with the host's ldconfig")
    folders = ldcache.add_mutually_exclusive_group(required=True)
    folders.add_argument("--folder", action="append", metavar="DIR")
    folders.add_argument("--from-config", action="store_true",
                         help="the folders of the shared libraries bind-mounted by the bundle's config.json")
    chmod = hooks.add_parser("chmod", help="chmod inside the rootfs without following symlinks")
    chmod.add_argument("--mode", required=True)
    chmod.add_argument("--path", action="append", required=True)
    netdev = hooks.add_parser("netdev", help="move a host network interface into the container")
    netdev.add_argument("--host-if", metavar="IF")
    netdev.add_argument("--name")
    netdev.add_argument("--from-config", action="store_true",
                        help="every interface of linux.netDevices in the bundle's config.json")
    wrapper = hooks.add_parser(
        "exec", help="run vendor hooks of one stage with their declared env, confined",
        description="GROUP [GROUP ...]; GROUP: [--timeout S] [--env K=V ...] [--argc N] [--builtin] -- PATH "
                    "[ARGV0 ARG ...]. --argc N: the N arguments after PATH are this hook's, and another group "
                    "follows; --builtin: one of cdishim-hook's own programs, run in this process.")
    wrapper.add_argument("--timeout", type=float, metavar="SECONDS")
    wrapper.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    wrapper.add_argument("--argc", type=int, metavar="N")
    wrapper.add_argument("--builtin", action="store_true")
    wrapper.add_argument("command", nargs=argparse.REMAINDER, metavar="-- PATH [ARGV0 ARG ...]")
    return parser


def dispatch(args: argparse.Namespace, state: HookState) -> int:
    """Run the hook *args* names, for the container of *state*."""
    from cdishim.oci.state import bundle_library_folders, bundle_net_devices, container_rootfs

    if args.hook == "netdev":
        from cdishim.hooks import netdev

        if args.from_config == bool(args.host_if or args.name) or (args.host_if is None) != (args.name is None):
            raise CdishimError("netdev: give --host-if IF --name NAME, or --from-config")
        pairs = bundle_net_devices(state) if args.from_config else [(args.host_if, args.name)]
        for host_if, name in pairs:
            netdev.move_interface(state.pid, host_if, name, skip_if_moved=args.from_config)
        return 0
    from cdishim.hooks.inroot import open_root

    rootfs = container_rootfs(state)
    root_fd = open_root(rootfs)
    try:
        if args.hook == "create-symlinks":
            from cdishim.hooks import symlinks

            symlinks.run(root_fd, args.link)
        elif args.hook == "update-ldcache":
            from cdishim.hooks import ldcache

            ldcache.run(root_fd, rootfs, bundle_library_folders(state) if args.from_config else args.folder)
        else:
            from cdishim.hooks import chmod

            chmod.run(root_fd, args.mode, args.path)
    finally:
        os.close(root_fd)
    return 0


def _asks_for_help(args: list[str]) -> bool:
    """``-h``/``--help`` among the options (before ``--``)."""
    options = args[:args.index("--")] if "--" in args else args
    return "-h" in options or "--help" in options


def main(argv: Sequence[str] | None = None, state: bytes | None = None) -> int:
    """Entry point of ``cdishim-hook``; returns the exit status.

    ``exec`` runs on every container start with a wrapped hook, so it is
    parsed by hand; the other hooks use argparse. A hook reads the OCI state
    from stdin, or from *state* when given (the wrapper has read stdin).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["exec"] and not _asks_for_help(args_list[1:]):
        from cdishim.hooks import wrapper

        try:
            return wrapper.run(wrapper.parse_args(args_list[1:]))
        except CdishimError as err:
            show_traceback_when_debugging()
            sys.stderr.write(f"cdishim-hook exec: {err}\n")
            return 1
    args = build_parser().parse_args(args_list)
    try:
        from cdishim.oci.state import read_state

        if state is None:
            return dispatch(args, read_state(sys.stdin.buffer))
        import io

        return dispatch(args, read_state(io.BytesIO(state)))
    except CdishimError as err:
        show_traceback_when_debugging()
        sys.stderr.write(f"cdishim-hook {args.hook}: {err}\n")
        return 1


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())

"""``cdishim-ctl generate``: write a CDI spec from a short description.

The spec is validated with the runtime's own parser before it is written, the
file is replaced atomically, and an existing file that would change is left
alone unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import sys

from cdishim.cdi.registry import spec_format
from cdishim.cdi.spec import parse_spec_document
from cdishim.ctl.filewrite import read_current, write_file
from cdishim.ctl.render import render
from cdishim.ctl.specbuilder import BIND_OPTIONS, NAME_STRATEGIES, SpecDescription, describe_host
from cdishim.errors import SpecError, UsageError, quote

EXAMPLE = """\
example:
  cdishim-ctl generate --kind mock.com/gpu --device-glob '/dev/mock/device_*' \\
      --device-mount '/mock/lib/{name}.so' \\
      --mount /mock/bin/list_device.sh:/usr/local/bin/list_device.sh \\
      --env MOCK_GPU_DRIVER=1.0 --all-device --output /etc/cdi/mock-gpu.yaml
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``generate`` subcommand."""
    parser = subparsers.add_parser(
        "generate", help="write a CDI spec for the device nodes matching a glob",
        description="Write a CDI spec with one device per device node matching --device-glob.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", required=True, metavar="VENDOR/CLASS", help="the kind of every device")
    parser.add_argument("--device-glob", required=True, metavar="GLOB",
                        help="absolute glob of host device nodes, one CDI device each")
    parser.add_argument("--name-strategy", choices=NAME_STRATEGIES, default="basename",
                        help="name devices after the node's basename (default) or by index 0, 1, ...")
    parser.add_argument("--device-mount", action="append", default=[], metavar="HOST[:CONTAINER]",
                        help="a mount for each device; {name} and {index} are replaced per device")
    parser.add_argument("--mount", action="append", default=[], metavar="HOST[:CONTAINER]",
                        help="a mount for any container that gets a device of this spec")
    parser.add_argument("--mount-options", default=",".join(BIND_OPTIONS), metavar="OPTS",
                        help="comma-separated options of every mount (default: %(default)s)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="an env var for any container that gets a device of this spec")
    parser.add_argument("--all-device", action="store_true", help="add a device named 'all' with every node")
    parser.add_argument("--format", choices=("yaml", "json"),
                        help="spec format (default: from the output file's extension, else yaml)")
    parser.add_argument("--output", "-o", default="-", metavar="FILE",
                        help="where to write the spec; - for stdout (default)")
    parser.add_argument("--force", action="store_true", help="replace an existing file that differs")
    parser.set_defaults(run=run)


def output_format(output: str, requested: str | None) -> str:
    """The format to write: as requested, else from *output*'s extension, else yaml."""
    by_extension = spec_format(output) if output != "-" else None
    if requested and by_extension == "json" and requested != "json":
        raise UsageError(f"--output {quote(output)}: a .json spec file must use --format json")
    if output != "-" and by_extension is None:
        sys.stderr.write(f"cdishim-ctl: note: {quote(output)} does not end in .yaml or .json, "
                         "so it will not be read from a spec dir\n")
    return requested or by_extension or "yaml"


def run(args: argparse.Namespace) -> int:
    """Generate, validate, then print or write the spec."""
    description = SpecDescription(
        kind=args.kind,
        device_glob=args.device_glob,
        name_strategy=args.name_strategy,
        device_mounts=tuple(args.device_mount),
        mounts=tuple(args.mount),
        env=tuple(args.env),
        mount_options=tuple(option for option in args.mount_options.split(",") if option),
        all_device=args.all_device,
    )
    fmt = output_format(args.output, args.format)
    data = render(describe_host(description), fmt).encode()
    try:
        parse_spec_document(data, args.output if args.output != "-" else "<stdout>", fmt=fmt)
    except SpecError as err:
        raise SpecError(f"generated spec is invalid: {err}") from None
    if args.output == "-":
        sys.stdout.write(data.decode())
        return 0
    current = read_current(args.output)
    if current == data:
        sys.stderr.write(f"{args.output}: unchanged\n")
        return 0
    if current is not None and not args.force:
        raise UsageError(f"{quote(args.output)} exists and would change; use --force to replace it")
    write_file(args.output, current, data)
    sys.stderr.write(f"wrote {args.output}\n")
    return 0

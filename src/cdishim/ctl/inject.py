"""``cdishim-ctl inject``: the runtime's injection as a dry run.

Prints the edited OCI config on stdout, exactly as the runtime would write
it (without the record annotation). Same parsing, registry and edits as the
runtime: this is the contract other tools and tests rely on.
"""

from __future__ import annotations

import argparse
import json
import sys

from cdishim.cdi.annotations import devices_from_annotations
from cdishim.cdi.inject import inject_devices
from cdishim.cdi.names import parse_qualified_name
from cdishim.cdi.registry import load_registry
from cdishim.config import load_config
from cdishim.ctl.locate import cdishim_program
from cdishim.errors import InvalidNameError, RequestError, quote
from cdishim.oci.bundle import load_config as load_oci_config
from cdishim.oci.runtime import find_runtime
from cdishim.shim.create import hook_planner


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inject`` subcommand."""
    parser = subparsers.add_parser(
        "inject", help="print an OCI config with CDI devices injected (dry run)",
        description="Print the OCI config the runtime would write for these devices; change nothing.",
        epilog="example:\n  cdishim-ctl inject --input bundle/config.json mock.com/gpu=device_0 mock.com/gpu=device_1\n"
               "  cdishim-ctl inject --input bundle/config.json --annotation cdi.k8s.io/demo=mock.com/gpu=device_0\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec-dir", action="append", default=[], metavar="DIR",
                        help="CDI spec dir; repeat, later ones win (default: the configured dirs)")
    parser.add_argument("--input", required=True, metavar="CONFIG.json", help="OCI config.json to edit")
    parser.add_argument("--annotation", action="append", default=[], metavar="KEY=VALUE",
                        help="request devices as the runtime reads them from annotations")
    parser.add_argument("devices", nargs="*", metavar="DEVICE", help="qualified device name vendor/class=name")
    parser.set_defaults(run=run)


def requested_devices(args: argparse.Namespace, prefixes: tuple[str, ...]) -> list[str]:
    """Devices from ``--annotation`` (runtime rules) then from the arguments, de-duplicated."""
    annotations = {}
    for item in args.annotation:
        key, sep, value = item.partition("=")
        if not sep:
            raise RequestError(f"--annotation {quote(item)}: expected KEY=VALUE")
        annotations[key] = value
    requested = dict.fromkeys(devices_from_annotations(annotations, prefixes))
    for device in args.devices:
        try:
            parse_qualified_name(device)
        except InvalidNameError as err:
            raise RequestError(str(err)) from None
        requested.setdefault(device, None)
    return list(requested)


def run(args: argparse.Namespace) -> int:
    """Inject and print; non-zero and nothing on stdout on any error."""
    config = load_config()
    registry = load_registry(args.spec_dir or config.spec_dirs, config.cache_dir, config.spec_trust())
    devices = requested_devices(args, config.annotation_prefixes)
    oci = load_oci_config(args.input)

    def locate() -> tuple[str, str]:
        cdishim = cdishim_program()
        return find_runtime(config.runtimes, cdishim), cdishim

    inject_devices(oci, registry, devices, hook_planner(config, locate))
    sys.stdout.write(json.dumps(oci, indent=2, ensure_ascii=False) + "\n")
    return 0

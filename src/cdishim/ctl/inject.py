"""``cdishim-ctl inject``: the runtime's injection as a dry run.

Prints the OCI config that ``cdishim create`` would write for the same
``config.json``, or fails with the same one-line error: it runs the same
pipeline (`cdishim.injection.pipeline`) under the same settings, so the
config's own ``cdi.k8s.io/`` annotations and ``CDI_DEVICES``, the env
policy, ``allowed-kinds``, the request limits and the record annotation
all count. ``--annotation`` and device arguments ask for more on top.
"""

from __future__ import annotations

import argparse
import json
import sys

from cdishim.cdi.names import parse_qualified_name
from cdishim.ctl.locate import cdishim_program
from cdishim.ctl.render import printable
from cdishim.errors import BundleError, InvalidNameError, RequestError, quote
from cdishim.injection.pipeline import inject
from cdishim.oci.bundle import encode_config_json, load_config_json
from cdishim.oci.runtime import RuntimeFacts
from cdishim.settings import load_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inject`` subcommand."""
    parser = subparsers.add_parser(
        "inject", help="print an OCI config with CDI devices injected (dry run)",
        description="Print the OCI config that `cdishim create` would write for CONFIG.json, "
                    "plus any devices asked for here; change nothing.",
        epilog="example:\n  cdishim-ctl inject --input bundle/config.json\n"
               "  cdishim-ctl inject --input bundle/config.json mock.com/gpu=device_0 mock.com/gpu=device_1\n"
               "  cdishim-ctl inject --input bundle/config.json --annotation cdi.k8s.io/demo=mock.com/gpu=device_0\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec-dir", action="append", default=[], metavar="DIR",
                        help="CDI spec dir; repeat, later ones win (default: the configured dirs)")
    parser.add_argument("--input", required=True, metavar="CONFIG.json", help="OCI config.json to edit")
    parser.add_argument("--annotation", action="append", default=[], metavar="KEY=VALUE",
                        help="add an annotation to the config first, as an engine would")
    parser.add_argument("devices", nargs="*", metavar="DEVICE", help="qualified device name vendor/class=name")
    parser.set_defaults(run=run)


def add_annotations(oci: dict[str, Any], items: list[str], source: str) -> None:
    """Add ``--annotation KEY=VALUE`` items to *oci*'s annotations, as an engine would set them."""
    if not items:
        return
    if oci.get("annotations") is None:
        oci["annotations"] = {}
    annotations = oci["annotations"]
    if not isinstance(annotations, dict):
        raise BundleError(f"{quote(source)}: annotations is not an object")
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RequestError(f"--annotation {quote(item)}: expected KEY=VALUE")
        annotations[key] = value


def checked_devices(names: list[str]) -> list[str]:
    """The device arguments, each a valid qualified name."""
    for name in names:
        try:
            parse_qualified_name(name)
        except InvalidNameError as err:
            raise RequestError(str(err)) from err
    return names


def run(args: argparse.Namespace) -> int:
    """Inject and print; non-zero and nothing on stdout on any error.

    What the runtime would log as a warning (a refused ``CDI_DEVICES``, an
    ignored spec file) is a note on stderr.
    """
    settings = load_settings()
    if args.spec_dir:
        settings = settings.replace(spec_dirs=tuple(args.spec_dir))
    oci = load_config_json(args.input)
    add_annotations(oci, args.annotation, args.input)
    facts = RuntimeFacts(settings.runtimes, cdishim_program)
    facts.runtime  # noqa: B018 - as `cdishim create`: no low-level runtime, no container

    def notify(level: str, event: str, **fields: Any) -> None:
        if level == "warning":
            details = "; ".join(str(value) for value in fields.values())
            sys.stderr.write(printable(f"cdishim-ctl: note: {event}: {details}") + "\n")

    inject(oci, settings, facts, source=args.input, extra=checked_devices(args.devices), notify=notify)
    encode_config_json(oci, args.input)  # what create would fail to write, the dry run fails to print
    sys.stdout.write(json.dumps(oci, indent=2, ensure_ascii=False) + "\n")
    return 0

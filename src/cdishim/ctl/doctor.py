"""``cdishim-ctl doctor``: check this node and say what to fix.

One line per check: OK, WARN or FAIL, what was found, and a hint. The exit
status is 1 when any check FAILs, so it can gate a node's readiness.
"""

from __future__ import annotations

import argparse
import sys

from cdishim.ctl import checks
from cdishim.ctl.engines import ENGINES
from cdishim.ctl.locate import cdishim_program
from cdishim.ctl.render import printable, to_json
from cdishim.errors import CdishimError, UsageError, quote

EXAMPLE = """\
examples:
  cdishim-ctl doctor
  cdishim-ctl doctor --engine-config containerd=/etc/containerd/config.toml -o json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``doctor`` subcommand."""
    parser = subparsers.add_parser(
        "doctor", help="check the node: runtime, spec files, host devices, engines",
        description="Check this node and print one line per check with OK, WARN or FAIL and a hint.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec-dir", action="append", default=[], metavar="DIR",
                        help="CDI spec dir to check; repeat (default: the configured dirs)")
    parser.add_argument("--engine-config", action="append", default=[], metavar="ENGINE=PATH",
                        help="check this engine's config file at PATH (default: the usual places)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")
    parser.set_defaults(run=run)


def engine_configs(items: list[str]) -> dict[str, str]:
    """``--engine-config ENGINE=PATH`` arguments as a dict."""
    configs = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or name not in ENGINES or not path:
            raise UsageError(f"--engine-config {quote(item)}: expected ENGINE=PATH with ENGINE one of "
                               + ", ".join(ENGINES))
        configs[name] = path
    return configs


def collect(spec_dirs: list[str], configs: dict[str, str]) -> list[checks.Finding]:
    """Run every check, in the order a person would fix things."""
    settings, findings = checks.check_settings()
    try:
        cdishim = cdishim_program()
    except CdishimError as err:
        findings.append(checks.Finding(status=checks.FAIL, check="cdishim", message=str(err),
                                       hint="install cdishim in PATH"))
        cdishim = ""
    if settings is not None:
        findings.extend(checks.check_runtime(settings, cdishim))
        findings.append(checks.check_hook_program(settings, cdishim))
    if settings is not None:
        findings.extend(checks.check_specs(spec_dirs or settings.spec_dirs, settings.spec_trust()))
    else:
        findings.extend(checks.check_specs(spec_dirs))
    findings.extend(checks.check_engines(cdishim, configs))
    return findings


def run(args: argparse.Namespace) -> int:
    """Print the findings; 1 if any FAIL."""
    findings = collect(args.spec_dir, engine_configs(args.engine_config))
    if args.output == "json":
        sys.stdout.write(to_json([{field: getattr(f, field) for field in f._fields} for f in findings]))
    else:
        for finding in findings:
            line = f"{finding.status:<5} {finding.check:<12} {finding.message}"
            sys.stdout.write(printable(line + (f"  (hint: {finding.hint})" if finding.hint else "")) + "\n")
    return 1 if any(finding.status == checks.FAIL for finding in findings) else 0

"""The node checks of ``cdishim-ctl doctor``: each yields `Finding` lines.

A check never raises for what it finds on the node: a broken file or a
missing program is a FAIL or WARN finding with a hint, so that one problem
does not hide the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from cdishim.cdi.hostdevices import host_device_info
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust
from cdishim.ctl.engines import ENGINES, Engine
from cdishim.ctl.inventory import take_inventory
from cdishim.errors import CdishimError
from cdishim.oci.features import applies_net_devices, runtime_features, runtime_version
from cdishim.oci.runtime import find_runtime
from cdishim.record import Record
from cdishim.settings import Settings, load_settings, settings_file

OK, WARN, FAIL = "OK", "WARN", "FAIL"


class Finding(Record):
    """One line of the doctor's report."""

    status: str  # OK, WARN or FAIL
    check: str  # which check: config, runtime, spec-dir, ...
    message: str
    hint: str = ""


def check_settings() -> tuple[Settings | None, list[Finding]]:
    """The cdishim config file parses (an absent file means defaults)."""
    path = settings_file()
    try:
        settings = load_settings()
    except CdishimError as err:
        return None, [Finding(status=FAIL, check="config", message=str(err), hint=f"fix {path}")]
    state = "valid" if os.path.exists(path) else "absent, using defaults"
    return settings, [Finding(status=OK, check="config", message=f"{path}: {state}")]


def check_runtime(settings: Settings, cdishim: str) -> Iterator[Finding]:
    """A low-level runtime is found; its version; whether it applies linux.netDevices."""
    try:
        runtime = find_runtime(settings.runtimes, cdishim)
    except CdishimError as err:
        yield Finding(status=FAIL, check="runtime", message=str(err),
                      hint="install runc (apt-get install runc) or set `runtimes` in the config")
        return
    version = runtime_version(runtime) or "version unknown"
    yield Finding(status=OK, check="runtime", message=f"{runtime}: {version}")
    if applies_net_devices(runtime_features(runtime)):
        yield Finding(status=OK, check="net-devices", message=f"{runtime} applies linux.netDevices itself")
    else:
        yield Finding(status=WARN, check="net-devices",
                      message=f"{runtime} does not apply linux.netDevices (needs runc >= 1.4 or crun >= 1.22)",
                      hint="specs with netDevices need cdishim-hook netdev to move the interfaces")


def check_hook_program(settings: Settings, cdishim: str) -> Finding:
    """cdishim-hook is where the runtime will look for it (CDI hooks are wrapped, netdev hooks added)."""
    from cdishim.injection.hookplan import default_hook_program

    program = settings.hook_program or (default_hook_program(cdishim) if cdishim else "")
    if program and os.access(program, os.X_OK):
        return Finding(status=OK, check="hook-program", message=f"{program}")
    return Finding(status=FAIL, check="hook-program",
                   message=f"cdishim-hook not found at {program or '(unknown: cdishim not found)'}",
                   hint="install cdishim-hook next to cdishim or set hook-program in the config; "
                        "containers whose specs have hooks or netDevices cannot start")


def check_specs(spec_dirs: Sequence[str], trust: SpecTrust = DEFAULT_TRUST) -> Iterator[Finding]:
    """Spec dirs, spec files, conflicts, and host paths the specs name."""
    inventory = take_inventory(spec_dirs, verbose=True, trust=trust)
    for directory in inventory["specDirs"]:
        path = directory["path"]
        if directory["errors"]:
            for error in directory["errors"]:
                yield Finding(status=FAIL, check="spec-dir", message=error,
                              hint=f"make {path} readable, owned by root and not group/world writable")
        elif not os.path.isdir(path):
            yield Finding(status=WARN, check="spec-dir", message=f"{path}: absent",
                          hint="device vendors' installers create it; cdishim-ctl generate writes specs there")
        else:
            count = sum(1 for spec in inventory["specs"] if spec["priority"] == directory["priority"])
            yield Finding(status=OK, check="spec-dir", message=f"{path}: {count} spec file(s)")
    for spec in inventory["specs"]:
        if spec["kind"] is None:
            yield Finding(status=FAIL, check="spec-file", message="; ".join(spec["errors"]),
                          hint=f"fix or remove {spec['path']} (cdishim-ctl validate {spec['path']})")
        else:
            yield Finding(status=OK, check="spec-file",
                          message=f"{spec['path']}: {spec['kind']}, {spec['devices']} device(s)")
            yield from _check_host_paths(spec["path"], spec)
    for conflict in inventory["conflicts"]:
        yield Finding(status=FAIL, check="conflict",
                      message=f"{conflict['device']} is defined by {' and '.join(conflict['specs'])}",
                      hint="remove the device from all but one file; it is unresolvable until then")
    for device in inventory["devices"]:
        yield from _check_host_paths(device["name"], device)


def _check_host_paths(owner: str, paths: dict) -> Iterator[Finding]:
    """Device nodes and mount sources of *owner* (a device or a spec file's spec-wide edits)."""
    for node in paths["deviceNodes"]:
        try:
            host_device_info(node)
        except CdishimError as err:
            yield Finding(status=FAIL, check="host-device", message=f"{owner}: {err}",
                          hint="the device or its driver is missing on this node; fix or regenerate the spec")
    for source in paths["mounts"]:
        if not os.path.lexists(source):
            yield Finding(status=FAIL, check="host-mount", message=f"{owner}: mount source {source} does not exist",
                          hint="install the vendor's files or regenerate the spec")


def check_engines(cdishim: str, configs: dict[str, str]) -> Iterator[Finding]:
    """cdishim is registered in every engine found on the node (or named in *configs*)."""
    found = False
    for engine in ENGINES.values():
        path = configs.get(engine.name, engine.default_config)
        installed = any(_in_path(program) for program in engine.programs)
        if engine.name not in configs and not installed and not os.path.exists(path):
            continue
        found = True
        yield _check_engine(engine, path, cdishim)
    if not found:
        yield Finding(status=WARN, check="engine", message="no container engine found (docker, containerd, podman, crio)",
                      hint="run cdishim by hand on a bundle, or install an engine and cdishim-ctl configure it")


def _check_engine(engine: Engine, path: str, cdishim: str) -> Finding:
    hint = f"cdishim-ctl configure --engine {engine.name}" + (f" --config {path}" if path != engine.default_config else "")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return Finding(status=WARN, check="engine", message=f"{engine.name}: {path} absent, cdishim not registered",
                       hint=hint)
    except OSError as err:
        return Finding(status=FAIL, check="engine", message=f"{engine.name}: cannot read {path}: {err.strerror}")
    try:
        runtimes = engine.registered_runtimes(text, path)
    except CdishimError as err:
        return Finding(status=FAIL, check="engine", message=f"{engine.name}: {err}", hint=f"fix {path}")
    ours = {name: program for name, program in runtimes.items() if _is_cdishim(program, cdishim)}
    if not ours:
        return Finding(status=WARN, check="engine", message=f"{engine.name}: cdishim not registered in {path}",
                       hint=hint)
    name, program = next(iter(ours.items()))
    if not os.access(program, os.X_OK):
        return Finding(status=FAIL, check="engine",
                       message=f"{engine.name}: runtime {name} points at {program}, which is not executable",
                       hint=hint)
    return Finding(status=OK, check="engine", message=f"{engine.name}: runtime {name} -> {program} in {path}")


def _is_cdishim(program: str, cdishim: str) -> bool:
    if os.path.basename(program) == "cdishim":
        return True
    try:
        return os.path.samefile(program, cdishim)
    except OSError:
        return False


def _in_path(program: str) -> bool:
    from shutil import which

    return which(program) is not None

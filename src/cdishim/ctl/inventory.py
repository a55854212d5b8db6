"""What the spec dirs hold, as plain data: the shared view of `list` and `doctor`.

Read fresh from disk (never from the registry cache), so that what an
operator sees is what is on the node now. The layout of the returned dict
is what ``cdishim-ctl list -o json`` prints: keep it stable.
"""

from __future__ import annotations

import os

from cdishim.cdi.registry import read_registry, scan_spec_dirs
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cdishim.cdi.model import ContainerEdits
    from cdishim.cdi.registry import Registry


def host_paths(edits: ContainerEdits) -> dict[str, Any]:
    """The host-facing parts of container edits: device nodes and mount sources."""
    return {
        "deviceNodes": [node.host_path or node.path for node in edits.device_nodes],
        "mounts": [mount.host_path for mount in edits.mounts],
    }


def take_inventory(spec_dirs: Sequence[str], verbose: bool = False, trust: SpecTrust = DEFAULT_TRUST) -> dict[str, Any]:
    """Spec dirs, resolvable devices, spec files with their errors, and conflicts."""
    files, errors = scan_spec_dirs(spec_dirs, trust)
    registry = read_registry(spec_dirs, files, errors, trust)
    return {
        "specDirs": [
            {"path": directory, "priority": priority, "errors": registry.errors.get(directory, [])}
            for priority, directory in enumerate(spec_dirs)
        ],
        "devices": _devices(registry, verbose),
        "specs": _specs(registry, files, verbose),
        "conflicts": [{"device": name, "specs": list(paths)} for name, paths in sorted(registry.conflicts.items())],
    }


def _devices(registry: Registry, verbose: bool) -> list[dict[str, Any]]:
    devices = []
    for name in registry.device_names:
        resolved = registry.resolve(name)
        assert resolved is not None  # every listed name resolves
        item: dict[str, Any] = {"name": name, "spec": resolved.spec.path, "priority": resolved.spec.priority}
        if verbose:
            item.update(host_paths(resolved.device.edits))
        devices.append(item)
    return devices


def _specs(registry: Registry, files: Sequence[tuple[str, int]], verbose: bool) -> list[dict[str, Any]]:
    """Each spec file; ``kind`` is null when the file could not be loaded.

    *verbose* adds the host paths of the spec-wide edits of loaded files.

    A loaded file's ``errors`` are its conflicts, also listed by device name
    in ``conflicts``; a file that failed to load has exactly its load error.
    """
    loaded = {spec.path: spec for spec in registry.specs()}
    specs = []
    for path, priority in files:
        item: dict[str, Any] = {"path": path, "priority": priority, "kind": None, "cdiVersion": None, "devices": 0}
        spec = loaded.get(os.path.normpath(path))
        if spec is not None:
            item.update(kind=spec.kind, cdiVersion=spec.version, devices=len(spec.devices))
            if verbose:
                item.update(host_paths(spec.edits))
        item["conflicts"] = sorted(name for name, paths in registry.conflicts.items() if path in paths)
        item["errors"] = registry.errors.get(path, [])
        specs.append(item)
    return specs

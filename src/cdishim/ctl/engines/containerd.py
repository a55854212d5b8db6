"""containerd: a CRI runtime entry in ``config.toml`` (schema versions 1, 2 and 3).

The entry uses the runc v2 shim with ``options.BinaryName`` pointing at
cdishim, and starts as a copy of the default runtime's entry so settings such
as ``SystemdCgroup`` carry over. Its ``container_annotations`` include
``cdi.k8s.io/*``: containerd's CRI drops container annotations that the
runtime entry does not allow, and those are how device plugins ask for devices.
"""

from __future__ import annotations

from typing import Any

from cdishim.ctl.engines.base import CDI_ANNOTATIONS, Engine, Registration
from cdishim.ctl.engines.tomledit import TomlEdit, lookup, parse_toml
from cdishim.errors import EngineConfigError, quote

RUNC_SHIM = "io.containerd.runc.v2"

#: config.toml ``version`` -> the table holding ``default_runtime_name`` and ``runtimes``
CRI_TABLES: dict[int, tuple[str, ...]] = {
    1: ("plugins", "cri", "containerd"),
    2: ("plugins", "io.containerd.grpc.v1.cri", "containerd"),
    3: ("plugins", "io.containerd.cri.v1.runtime", "containerd"),
}


def cri_table(data: dict[str, Any], path: str) -> tuple[str, ...]:
    """The CRI ``containerd`` table path for the file's schema version (1 when unset)."""
    version = data.get("version", 1)
    if version not in CRI_TABLES:
        raise EngineConfigError(f"{quote(path)}: unsupported containerd config version {version!r}")
    return CRI_TABLES[version]


def _runtime_entry(edit: TomlEdit, base: tuple[str, ...], registration: Registration) -> dict[str, Any]:
    """The entry cdishim's runtime should have: the existing one, else a copy of the default's."""
    runtimes = (*base, "runtimes")
    existing = lookup(edit.data, (*runtimes, registration.runtime_name))
    if isinstance(existing, dict):
        entry = dict(existing)
    else:
        default_name = lookup(edit.data, (*base, "default_runtime_name")) or "runc"
        entry = dict(lookup(edit.data, (*runtimes, default_name)) or {})
    entry["runtime_type"] = RUNC_SHIM
    annotations = list(entry.get("container_annotations") or [])
    if CDI_ANNOTATIONS not in annotations:
        annotations.append(CDI_ANNOTATIONS)
    entry["container_annotations"] = annotations
    entry["options"] = {**(entry.get("options") or {}), "BinaryName": registration.runtime_path}
    return entry


def register(text: str, path: str, registration: Registration) -> str:
    """Add or update the cdishim runtime entry; everything else is kept."""
    edit = TomlEdit(text or "version = 2\n", path)
    base = cri_table(edit.data, path)
    table = (*base, "runtimes", registration.runtime_name)
    entry = _runtime_entry(edit, base, registration)
    for key, value in entry.items():
        if key != "options":
            edit.set(table, key, value)
    for key, value in entry["options"].items():
        edit.set((*table, "options"), key, value)
    if registration.set_default:
        edit.set(base, "default_runtime_name", registration.runtime_name)
    return edit.render()


def unregister(text: str, path: str, runtime_name: str) -> str:
    """Remove the runtime entry; a default runtime that named it goes back to containerd's own, ``runc``."""
    edit = TomlEdit(text, path)
    base = cri_table(edit.data, path)
    edit.remove((*base, "runtimes"), runtime_name)
    if edit.get(base, "default_runtime_name") == runtime_name:
        edit.set(base, "default_runtime_name", "runc")
    return edit.render()


def registered_runtimes(text: str, path: str) -> dict[str, str]:
    """Runtime name -> ``options.BinaryName`` (``runc`` from PATH when unset)."""
    data = parse_toml(text, path)
    runtimes = lookup(data, (*cri_table(data, path), "runtimes")) or {}
    return {
        name: (entry.get("options") or {}).get("BinaryName") or "runc"
        for name, entry in runtimes.items()
        if isinstance(entry, dict)
    }


ENGINE = Engine(
    name="containerd",
    default_config="/etc/containerd/config.toml",
    programs=("containerd",),
    restart_hint="restart containerd (systemctl restart containerd); Kubernetes pods pick the runtime "
                 "with a RuntimeClass whose handler is {name}",
    register=register,
    unregister=unregister,
    registered_runtimes=registered_runtimes,
)

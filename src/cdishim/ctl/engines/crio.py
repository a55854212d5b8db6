"""CRI-O: a drop-in file with ``[crio.runtime.runtimes.<name>]``.

CRI-O copies a pod's container annotations into the OCI spec; its
``allowed_annotations`` setting only gates CRI-O's own experimental
``io.kubernetes.cri-o.*`` annotations, so no allow-list is needed for
``cdi.k8s.io/*`` here (unlike containerd's ``container_annotations``).
"""

from __future__ import annotations

from cdishim.ctl.engines.base import Engine, Registration
from cdishim.ctl.engines.tomledit import TomlEdit, lookup, parse_toml


def register(text: str, path: str, registration: Registration) -> str:
    """Add or update the runtime handler; everything else is kept."""
    edit = TomlEdit(text, path)
    table = ("crio", "runtime", "runtimes", registration.runtime_name)
    edit.set(table, "runtime_path", registration.runtime_path)
    edit.set(table, "runtime_type", "oci")
    if registration.set_default:
        edit.set(("crio", "runtime"), "default_runtime", registration.runtime_name)
    return edit.render()


def unregister(text: str, path: str, runtime_name: str) -> str:
    """Remove the runtime handler; a default runtime that named it goes back to CRI-O's own."""
    edit = TomlEdit(text, path)
    edit.remove(("crio", "runtime", "runtimes"), runtime_name)
    if edit.get(("crio", "runtime"), "default_runtime") == runtime_name:
        edit.remove(("crio", "runtime"), "default_runtime")
    return edit.render()


def registered_runtimes(text: str, path: str) -> dict[str, str]:
    """Runtime handler name -> ``runtime_path``."""
    runtimes = lookup(parse_toml(text, path), ("crio", "runtime", "runtimes")) or {}
    return {name: entry.get("runtime_path", "") for name, entry in runtimes.items() if isinstance(entry, dict)}


ENGINE = Engine(
    name="crio",
    default_config="/etc/crio/crio.conf.d/99-cdishim.conf",
    programs=("crio",),
    restart_hint="restart CRI-O (systemctl restart crio); Kubernetes pods pick the runtime "
                 "with a RuntimeClass whose handler is {name}",
    register=register,
    unregister=unregister,
    registered_runtimes=registered_runtimes,
)

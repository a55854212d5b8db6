"""podman: ``[engine.runtimes]`` (and ``engine.runtime``) in ``containers.conf``."""

from __future__ import annotations

from cdishim.ctl.engines.base import Engine, Registration
from cdishim.ctl.engines.tomledit import TomlEdit, lookup, parse_toml


def register(text: str, path: str, registration: Registration) -> str:
    """Put cdishim's path first in ``engine.runtimes.<name>``; everything else is kept."""
    edit = TomlEdit(text, path)
    paths = list(edit.get(("engine", "runtimes"), registration.runtime_name) or [])
    if registration.runtime_path in paths:
        paths.remove(registration.runtime_path)
    edit.set(("engine", "runtimes"), registration.runtime_name, [registration.runtime_path, *paths])
    if registration.set_default:
        edit.set(("engine",), "runtime", registration.runtime_name)
    return edit.render()


def unregister(text: str, path: str, runtime_name: str) -> str:
    """Remove ``engine.runtimes.<name>``; an ``engine.runtime`` that named it goes back to podman's default."""
    edit = TomlEdit(text, path)
    edit.remove(("engine", "runtimes"), runtime_name)
    if edit.get(("engine",), "runtime") == runtime_name:
        edit.remove(("engine",), "runtime")
    return edit.render()


def registered_runtimes(text: str, path: str) -> dict[str, str]:
    """Runtime name -> first program path of each ``engine.runtimes`` entry."""
    runtimes = lookup(parse_toml(text, path), ("engine", "runtimes")) or {}
    return {name: paths[0] for name, paths in runtimes.items() if isinstance(paths, list) and paths}


ENGINE = Engine(
    name="podman",
    default_config="/etc/containers/containers.conf",
    programs=("podman",),
    restart_hint="podman reads containers.conf on every command: podman run --runtime {name} ...",
    register=register,
    unregister=unregister,
    registered_runtimes=registered_runtimes,
)

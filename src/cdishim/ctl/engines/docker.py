"""Docker: ``/etc/docker/daemon.json``, ``runtimes.<name>.path`` and ``default-runtime``."""

from __future__ import annotations

import json
from typing import Any

from cdishim.ctl.engines.base import Engine, Registration
from cdishim.errors import EngineConfigError, quote


def _load(text: str, path: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise EngineConfigError(f"{quote(path)}: invalid JSON: {err}") from err
    if not isinstance(data, dict):
        raise EngineConfigError(f"{quote(path)}: expected a JSON object")
    return data


def _indent(text: str) -> int:
    """The indent the file already uses for its first nested line (4 if none)."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped and len(stripped) < len(line):
            return len(line) - len(stripped)
    return 4


def register(text: str, path: str, registration: Registration) -> str:
    """Add or update the runtime entry; other keys and their order are kept."""
    data = _load(text, path)
    original = json.loads(json.dumps(data))
    runtimes = data.setdefault("runtimes", {})
    if not isinstance(runtimes, dict):
        raise EngineConfigError(f"{quote(path)}: \"runtimes\" must be an object")
    entry = runtimes.setdefault(registration.runtime_name, {})
    if not isinstance(entry, dict):
        raise EngineConfigError(f"{quote(path)}: \"runtimes.{registration.runtime_name}\" must be an object")
    entry["path"] = registration.runtime_path
    if registration.set_default:
        data["default-runtime"] = registration.runtime_name
    if data == original:
        return text
    return json.dumps(data, indent=_indent(text), ensure_ascii=False) + "\n"


def unregister(text: str, path: str, runtime_name: str) -> str:
    """Remove ``runtimes.<name>`` (and ``runtimes`` if that empties it); a ``default-runtime`` naming it goes too."""
    data = _load(text, path)
    original = json.loads(json.dumps(data))
    runtimes = data.get("runtimes")
    if isinstance(runtimes, dict) and runtime_name in runtimes:
        del runtimes[runtime_name]
        if not runtimes:
            del data["runtimes"]
    if data.get("default-runtime") == runtime_name:
        del data["default-runtime"]
    if data == original:
        return text
    return json.dumps(data, indent=_indent(text), ensure_ascii=False) + "\n"


def registered_runtimes(text: str, path: str) -> dict[str, str]:
    """Runtime name -> program path for each entry of ``runtimes``."""
    runtimes = _load(text, path).get("runtimes") or {}
    return {name: entry.get("path", "") for name, entry in runtimes.items() if isinstance(entry, dict)}


ENGINE = Engine(
    name="docker",
    default_config="/etc/docker/daemon.json",
    programs=("dockerd",),
    restart_hint="restart dockerd (systemctl restart docker); then: docker run --runtime {name} ...",
    register=register,
    unregister=unregister,
    registered_runtimes=registered_runtimes,
)

"""The container engines cdishim can be registered in, by name."""

from __future__ import annotations

from cdishim.ctl.engines import containerd, crio, docker, podman
from cdishim.ctl.engines.base import Engine, Registration

ENGINES: dict[str, Engine] = {module.ENGINE.name: module.ENGINE for module in (docker, containerd, podman, crio)}

__all__ = ["ENGINES", "Engine", "Registration"]

"""Resolve requested device names against a registry and inject them."""

from __future__ import annotations

from typing import Sequence

from cdishim.cdi.edits import OciSpec, apply_edits, collect_edits
from cdishim.cdi.registry import Registry, ResolvedDevice
from cdishim.errors import ApplyError, ResolveError


def resolve_devices(registry: Registry, requested: Sequence[str]) -> list[ResolvedDevice]:
    """Look up every requested name, or raise `ResolveError` naming the missing ones.

    The reference's message lists every requested device; listing only the
    unresolvable ones (plus why, when a conflict is the reason) tells the
    user which request to fix.
    """
    found = [(name, registry.resolve(name)) for name in requested]
    missing = [name for name, resolved in found if resolved is None]
    if missing:
        reasons = [
            f"conflicting device {name} defined in {' and '.join(registry.conflicts[name])}"
            for name in missing
            if name in registry.conflicts
        ]
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        raise ResolveError(f"unresolvable CDI devices {', '.join(missing)}{detail}")
    return [resolved for _, resolved in found if resolved is not None]


def inject_devices(config: OciSpec, registry: Registry, requested: Sequence[str]) -> OciSpec:
    """Return *config* with the edits of every requested device applied."""
    devices = resolve_devices(registry, requested)
    try:
        return apply_edits(config, collect_edits(devices))
    except ApplyError as err:
        raise ApplyError(f"failed to inject devices: {err}") from None

"""Resolve requested device names against a registry, and gather their edits.

Order follows the reference (`pkg/cdi/cache.go` InjectDevices): for each
requested device, in request order, the first time its spec is seen that
spec's global edits, then the device's own edits; `cdishim.cdi.edits`
applies them all at once.
"""

from __future__ import annotations

from cdishim.cdi.edits import merge_edits
from cdishim.errors import ResolveError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from cdishim.cdi.model import ContainerEdits
    from cdishim.cdi.registry import Registry, ResolvedDevice


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


def collect_edits(devices: Iterable[ResolvedDevice]) -> ContainerEdits:
    """Merge the edits for *devices* in injection order."""
    parts: list[ContainerEdits] = []
    seen_specs: set[int] = set()
    for resolved in devices:
        if id(resolved.spec) not in seen_specs:
            seen_specs.add(id(resolved.spec))
            parts.append(resolved.spec.edits)
        parts.append(resolved.device.edits)
    return merge_edits(parts)

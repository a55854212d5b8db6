"""Builders of test documents."""

from __future__ import annotations

from typing import Any


def spec_doc(kind: str = "vendor.com/device", version: str = "0.6.0", **devices_edits: Any) -> dict[str, Any]:
    """A spec document with one device per keyword (name=containerEdits)."""
    return {
        "cdiVersion": version,
        "kind": kind,
        "devices": [{"name": name, "containerEdits": edits} for name, edits in devices_edits.items()],
    }


def inject_devices(config: dict[str, Any], registry: Any, requested: list[str]) -> None:
    """Apply to *config* the edits of *requested*, resolved in *registry* (no hook plan, no record)."""
    from cdishim.cdi.edits import apply_edits
    from cdishim.cdi.inject import collect_edits, resolve_devices

    apply_edits(config, collect_edits(resolve_devices(registry, requested)))

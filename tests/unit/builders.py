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

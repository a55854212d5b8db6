"""The CDI spec file a discovering resource keeps in the CDI dir, for as long as the plugin runs.

One JSON file per resource, ``cdishim-plugin_<vendor>_<class>.json``: JSON
because every CDI reader parses it fast, and one file so that a runtime reads
all of a resource's devices or none. It is written atomically, validated by
cdishim's own parser first, rewritten only when the devices changed, and
removed when the resource has no device or the plugin stops.
"""

from __future__ import annotations

import os

from cdishim.cdi.decode import decode_spec
from cdishim.cdi.spec import parse_spec_document
from cdishim.cdi.versions import LATEST, minimum_required_version
from cdishim.ctl.plugin.config import spec_file
from cdishim.ctl.plugin.discovery import FoundDevice
from cdishim.ctl.render import render
from cdishim.errors import SpecError
from cdishim.fsutil import replace_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

def spec_document(kind: str, devices: list[FoundDevice]) -> dict[str, Any]:
    """The spec for *devices* of *kind*: a device node entry per host node, with the lowest ``cdiVersion`` it needs."""
    document: dict[str, Any] = {
        "cdiVersion": LATEST,
        "kind": kind,
        "devices": [{"name": device.name, "containerEdits": {"deviceNodes": [{"path": node} for node in device.nodes]}}
                    for device in devices],
    }
    document["cdiVersion"] = minimum_required_version(decode_spec(document))
    return document


class GeneratedSpec:
    """The spec file of one resource's discovered devices."""

    def __init__(self, cdi_dir: str, kind: str) -> None:
        self.kind = kind
        self.path = os.path.join(cdi_dir, spec_file(kind))
        self.written: bytes | None = None

    def update(self, devices: list[FoundDevice]) -> bool:
        """Make the file hold *devices* (no file when there are none); True if it changed."""
        if not devices:
            return self.remove()
        data = render(spec_document(self.kind, devices), "json").encode()
        if data == self.written and os.path.exists(self.path):
            return False
        try:
            parse_spec_document(data, self.path, fmt="json")
        except SpecError as err:  # discovery produces only valid names; this is the last guard
            raise SpecError(f"generated spec is invalid: {err}") from None
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        replace_file(self.path, data, 0o644)
        self.written = data
        return True

    def remove(self) -> bool:
        """Remove the file if it is there; True if it was. `OSError` if it is there and cannot be removed."""
        self.written = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        return True

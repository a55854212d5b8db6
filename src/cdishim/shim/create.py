"""The create path: put the requested CDI devices into a bundle's config.json.

bundle dir -> config.json -> the injection pipeline -> atomic write. The file
is written only when the pipeline edited it, so a create that asks for no
device (or a retried one) leaves it byte for byte as it was.
"""

from __future__ import annotations

from cdishim import profile
from cdishim.injection.pipeline import inject
from cdishim.log import log_event
from cdishim.oci.bundle import config_json_path, load_config_json, save_config_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cdishim.oci.runtime import RuntimeFacts
    from cdishim.settings import Settings


def inject_into_bundle(bundle: str, settings: Settings, facts: RuntimeFacts) -> tuple[str, ...]:
    """Inject the devices requested in *bundle*'s config.json; return them."""
    path = config_json_path(bundle)
    oci = load_config_json(path)

    def notify(level: str, event: str, **fields: Any) -> None:
        log_event(settings, level, event, bundle=bundle, **fields)

    injection = inject(oci, settings, facts, source=path, notify=notify)
    if injection.edited:
        save_config_json(path, oci)
        profile.mark("write")
        notify("info", "injected CDI devices", devices=list(injection.devices))
    return injection.devices

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
    from cdishim.oci.runtime import RuntimeFacts
    from cdishim.settings import Settings


def inject_into_bundle(bundle: str, settings: Settings, facts: RuntimeFacts) -> tuple[str, ...]:
    """Inject the devices requested in *bundle*'s config.json; return them."""
    path = config_json_path(bundle)
    oci = load_config_json(path)
    injection = inject(oci, settings, facts, source=path)
    if injection.env_refusal:
        log_event(settings, "warning", "CDI_DEVICES ignored", bundle=bundle, reason=injection.env_refusal)
    for spec_path, errors in (injection.spec_errors or {}).items():
        for error in errors:
            log_event(settings, "warning", "spec file ignored", file=spec_path, error=error)
    if not injection.edited:
        if injection.devices:
            log_event(settings, "info", "already injected", bundle=bundle, devices=list(injection.devices))
        return injection.devices
    save_config_json(path, oci)
    profile.mark("write")
    log_event(settings, "info", "injected CDI devices", bundle=bundle, devices=list(injection.devices))
    return injection.devices

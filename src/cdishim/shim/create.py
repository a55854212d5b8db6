"""The create path: put the requested CDI devices into a bundle's config.json.

bundle dir -> config.json -> requests -> registry -> edits -> atomic write.
Nothing is written unless devices were requested and every one of them was
injected; an injection is recorded in an annotation so that a retried create
of the same bundle does not inject twice.
"""

from __future__ import annotations

from cdishim.cdi.inject import inject_devices
from cdishim.cdi.registry import load_registry
from cdishim.config import Config
from cdishim.errors import BundleError, quote
from cdishim.log import log_event
from cdishim.oci.bundle import config_path, load_config, save_config
from cdishim.shim import profile
from cdishim.shim.requests import gather_requests, remove_env_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from cdishim.cdi.model import ContainerEdits

INJECTED_ANNOTATION = "cdishim.injected-devices"


def inject_into_bundle(bundle: str, config: Config, runtime: str, cdishim_path: str) -> list[str]:
    """Inject the devices requested in *bundle*'s config.json; return them.

    *runtime* is the low-level runtime that will run the container and
    *cdishim_path* this program: together they decide the hooks to add.
    """
    path = config_path(bundle)
    oci = load_config(path)
    annotations = oci.get("annotations")
    if annotations is None:
        annotations = {}
    if not isinstance(annotations, dict):
        raise BundleError(f"{quote(path)}: annotations is not an object")
    requests = gather_requests(oci, annotations, config)
    if requests.env_refusal:
        log_event(config, "warning", "CDI_DEVICES ignored", bundle=bundle, reason=requests.env_refusal)
    requested = list(requests.devices)
    if not requested:
        return []
    recorded = annotations.get(INJECTED_ANNOTATION)
    if recorded is not None:
        # A retried create: CDI_DEVICES is gone from the env by now, so what
        # is still asked for must be part of what was injected.
        if set(requested) <= set(recorded.split(",")):
            log_event(config, "info", "already injected", bundle=bundle, devices=recorded)
            return requested
        raise BundleError(
            f"{quote(path)} already carries CDI devices {recorded}; refusing to inject {', '.join(requested)} on top"
        )
    registry = load_registry(config.spec_dirs, config.cache_dir, config.spec_trust())
    profile.mark("registry(cached)" if registry.from_cache else "registry")
    for spec_path, errors in registry.errors.items():
        for error in errors:
            log_event(config, "warning", "spec file ignored", file=spec_path, error=error)
    inject_devices(oci, registry, requested, hook_planner(config, lambda: (runtime, cdishim_path)))
    if requests.env_honoured:
        remove_env_request(oci)
    oci.setdefault("annotations", {})[INJECTED_ANNOTATION] = ",".join(requested)
    profile.mark("edits")
    save_config(path, oci)
    profile.mark("write")
    log_event(config, "info", "injected CDI devices", bundle=bundle, devices=requested)
    return requested


def hook_planner(config: Config, locate: Callable[[], tuple[str, str]]) -> Callable[[ContainerEdits], ContainerEdits]:
    """The edit adjustment of `cdishim.shim.hookplan` under *config*.

    *locate* returns (low-level runtime, cdishim program); it is called only
    when the edits have hooks or netDevices.
    """

    def plan(edits: ContainerEdits) -> ContainerEdits:
        if not edits.hooks and not edits.net_devices:
            return edits  # the common case: no import, no lookup, no `runc features`
        from cdishim.oci.features import applies_net_devices, runtime_features
        from cdishim.shim.hookplan import default_hook_program, plan_hooks

        runtime, cdishim_path = locate()
        program = config.hook_program or default_hook_program(cdishim_path)
        return plan_hooks(edits, program, config.wrap_hooks, lambda: applies_net_devices(runtime_features(runtime)))

    return plan

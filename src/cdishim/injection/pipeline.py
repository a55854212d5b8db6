"""The one injection pipeline, run by `cdishim create` and by `cdishim-ctl inject`.

    settings + runtime facts + the bundle's OCI spec
      -> requests: annotations, CDI_DEVICES under the env policy, limits, allowed kinds
      -> resolve them in the registry
      -> their edits, in the reference's injection order
      -> the hook plan: wrapped hooks, netdev hooks for runtimes that need them
      -> apply to the OCI spec
      -> record what was injected

Nothing is edited unless devices were requested and every one of them
resolved; the record (an annotation) makes a retried create of the same
bundle a no-op instead of a second injection. Errors are `CdishimError`s
with one-line messages; the caller decides where they go.
"""

from __future__ import annotations

from cdishim import profile
from cdishim.cdi.cache import load_registry
from cdishim.cdi.edits import apply_edits
from cdishim.cdi.inject import collect_edits, resolve_devices
from cdishim.errors import ApplyError, BundleError, quote
from cdishim.injection.hookplan import plan_hooks
from cdishim.injection.requests import gather_requests, remove_env_request
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from cdishim.oci.runtime import RuntimeFacts
    from cdishim.settings import Settings

INJECTED_ANNOTATION = "cdishim.injected-devices"


class Injection(Record):
    """What an injection did, for the caller to write, print and log."""

    devices: tuple[str, ...] = ()  # the requested devices, injected now or by an earlier create
    edited: bool = False  # the OCI spec was edited in place and must be written
    env_refusal: str = ""  # why a CDI_DEVICES in the env was not honoured
    spec_errors: Mapping[str, list[str]] | None = None  # the registry's errors, when it was read


def inject(
    oci: dict[str, Any], settings: Settings, facts: RuntimeFacts, *, source: str, extra: Sequence[str] = ()
) -> Injection:
    """Inject into *oci* (a decoded config.json, edited in place) the devices it asks for.

    *source* names the file *oci* came from in errors. *extra* are qualified
    names asked for besides the spec's own requests (the dry run's arguments).
    After an error *oci* may be half edited and must be discarded.
    """
    annotations = oci.get("annotations")
    if annotations is None:
        annotations = {}
    if not isinstance(annotations, dict):
        raise BundleError(f"{quote(source)}: annotations is not an object")
    requests = gather_requests(oci, annotations, settings, extra)
    requested = list(requests.devices)
    if not requested:
        return Injection(env_refusal=requests.env_refusal)
    recorded = annotations.get(INJECTED_ANNOTATION)
    if recorded is not None:
        return _already_injected(source, recorded, requested, requests.env_refusal)
    registry = load_registry(settings.spec_dirs, settings.cache_dir, settings.spec_trust())
    profile.mark("registry(cached)" if registry.from_cache else "registry")
    edits = plan_hooks(collect_edits(resolve_devices(registry, requested)), settings, facts)
    try:
        apply_edits(oci, edits)
    except ApplyError as err:
        raise ApplyError(f"failed to inject devices: {err}") from err
    if requests.env_honoured:
        remove_env_request(oci)
    oci.setdefault("annotations", {})[INJECTED_ANNOTATION] = ",".join(requested)
    profile.mark("edits")
    return Injection(devices=tuple(requested), edited=True, env_refusal=requests.env_refusal,
                     spec_errors=registry.errors)


def _already_injected(source: str, recorded: Any, requested: list[str], env_refusal: str) -> Injection:
    """A retried create: what is still asked for must be part of what was injected.

    CDI_DEVICES is gone from the env by then, so a subset is the expected case.
    """
    if not isinstance(recorded, str):
        raise BundleError(f"{quote(source)}: annotation {quote(INJECTED_ANNOTATION)} is not a string")
    if set(requested) <= set(recorded.split(",")):
        return Injection(devices=tuple(requested), env_refusal=env_refusal)
    raise BundleError(
        f"{quote(source)} already carries CDI devices {recorded}; refusing to inject {', '.join(requested)} on top")

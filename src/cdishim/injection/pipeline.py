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
with one-line messages; the caller decides where they go. What the caller
may want to log (a refused ``CDI_DEVICES``, spec files that were ignored)
is handed to its *notify* function as it happens, so it is told even when
the injection then fails.
"""

from __future__ import annotations

from cdishim import profile
from cdishim.cdi.cache import load_registry
from cdishim.cdi.edits import apply_edits
from cdishim.cdi.inject import collect_edits, resolve_devices
from cdishim.errors import ApplyError, BundleError, quote
from cdishim.injection.requests import gather_requests, remove_env_request
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Protocol

    from cdishim.cdi.registry import Registry
    from cdishim.oci.runtime import RuntimeFacts
    from cdishim.settings import Settings

    class Notify(Protocol):
        """Told what the caller may log: a level, an event, and its fields."""

        def __call__(self, level: str, event: str, **fields: Any) -> None: ...


INJECTED_ANNOTATION = "cdishim.injected-devices"


class Injection(Record):
    """What an injection did, for the caller to write and print."""

    devices: tuple[str, ...] = ()  # the requested devices, injected now or by an earlier create
    edited: bool = False  # the OCI spec was edited in place and must be written


def _ignore(level: str, event: str, **fields: Any) -> None:
    """The *notify* of a caller with nothing to log."""


def inject(
    oci: dict[str, Any], settings: Settings, facts: RuntimeFacts, *, source: str, extra: Sequence[str] = (),
    notify: Notify = _ignore, registry: Callable[[], Registry] | None = None,
) -> Injection:
    """Inject into *oci* (a decoded config.json, edited in place) the devices it asks for.

    *source* names the file *oci* came from in errors. *extra* are qualified
    names asked for besides the spec's own requests (the dry run's arguments).
    *registry* gives the registry when devices are asked for (default: read
    the spec dirs of *settings*, through the cache; the resident injector
    keeps one in memory). After an error *oci* may be half edited and must be
    discarded.
    """
    annotations = oci.get("annotations")
    if annotations is None:
        annotations = {}
    if not isinstance(annotations, dict):
        raise BundleError(f"{quote(source)}: annotations is not an object")
    requests = gather_requests(oci, annotations, settings, extra)
    if requests.env_refusal:
        notify("warning", "CDI_DEVICES ignored", reason=requests.env_refusal)
    requested = list(requests.devices)
    if not requested:
        return Injection()
    recorded = annotations.get(INJECTED_ANNOTATION)
    if recorded is not None:
        _check_already_injected(source, recorded, requested)
        notify("info", "already injected", devices=recorded)
        return Injection(devices=tuple(requested))
    devices = registry() if registry else load_registry(settings.spec_dirs, settings.cache_dir, settings.spec_trust())
    profile.mark("registry(cached)" if devices.from_cache else "registry")
    for spec_path, errors in devices.errors.items():
        for error in errors:
            notify("warning", "spec file ignored", file=spec_path, error=error)
    edits = collect_edits(resolve_devices(devices, requested))
    if edits.hooks or edits.net_devices:  # most devices have neither: no import, no lookup
        from cdishim.injection.hookplan import plan_hooks

        edits = plan_hooks(edits, settings, facts)
    try:
        apply_edits(oci, edits)
    except ApplyError as err:
        raise ApplyError(f"failed to inject devices: {err}") from err
    if requests.env_honoured:
        remove_env_request(oci)
    annotations[INJECTED_ANNOTATION] = ",".join(requested)
    oci["annotations"] = annotations
    profile.mark("edits")
    return Injection(devices=tuple(requested), edited=True)


def _check_already_injected(source: str, recorded: Any, requested: list[str]) -> None:
    """A retried create: what is still asked for must be part of what was injected.

    CDI_DEVICES is gone from the env by then, so a subset is the expected case.
    """
    if not isinstance(recorded, str):
        raise BundleError(f"{quote(source)}: annotation {quote(INJECTED_ANNOTATION)} is not a string")
    if not set(requested) <= set(recorded.split(",")):
        raise BundleError(
            f"{quote(source)} already carries CDI devices {recorded}; refusing to inject {', '.join(requested)} on top")

"""Which CDI devices a container asks for, and whether it may have them.

Two sources, in this order:

- ``cdi.k8s.io/*`` annotations: always read. Kubernetes device plugins and
  engines that can set annotations (``ctr run --annotation``, ``podman run
  --annotation``) use them.
- ``CDI_DEVICES=vendor/class=name[,...]`` in the container's env: for Docker
  before 25, which cannot set OCI annotations. The ``env-requests`` policy
  decides when it is honoured. Under ``auto`` (the default) it is refused for
  Kubernetes containers, so a pod author cannot bypass the device plugin by
  setting an env var; the refusal is logged and the container starts without
  those devices. An honoured ``CDI_DEVICES`` is removed from the container's env.

``allowed-kinds`` (globs) restricts the kinds either source may request; a
request outside it fails the create.
"""

from __future__ import annotations

from cdishim.cdi.annotations import device_list, devices_from_annotations
from cdishim.errors import RequestError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cdishim.settings import Settings

ENV_REQUEST = "CDI_DEVICES"

#: Annotations the CRI implementations put on every Kubernetes container. Exact
#: keys: podman also sets io.kubernetes.cri-o.Created/TTY on its own containers.
KUBERNETES_ANNOTATIONS = (
    "io.kubernetes.cri.sandbox-id",  # containerd
    "io.kubernetes.cri.container-type",  # containerd
    "io.kubernetes.cri-o.SandboxID",  # CRI-O
)


class Requests(Record):
    """The devices to inject, and why env requests were not honoured (if so)."""

    devices: tuple[str, ...] = ()
    env_honoured: bool = False  # CDI_DEVICES was read and must be removed from the env
    env_refusal: str = ""  # why a CDI_DEVICES present in the env was not read


def is_kubernetes_container(annotations: dict[str, Any]) -> bool:
    """True when a CRI implementation (containerd, CRI-O) made this container."""
    return any(key in annotations for key in KUBERNETES_ANNOTATIONS)


def env_request(oci: dict[str, Any]) -> str | None:
    """The value of ``CDI_DEVICES`` in the process env (the last one wins), or ``None``."""
    process = oci.get("process")
    env = process.get("env") if isinstance(process, dict) else None
    value = None
    for entry in env if isinstance(env, list) else ():
        if isinstance(entry, str) and entry.startswith(ENV_REQUEST + "="):
            value = entry[len(ENV_REQUEST) + 1:]
    return value


def devices_from_env(value: str) -> list[str]:
    """The qualified names in a ``CDI_DEVICES`` value; an empty value asks for nothing."""
    return list(dict.fromkeys(device_list(value, f"env {ENV_REQUEST}"))) if value else []


def check_allowed_kinds(devices: list[str], allowed: tuple[str, ...] | None) -> None:
    """Raise `RequestError` for a device whose kind matches none of the *allowed* globs."""
    if allowed is None:
        return
    from fnmatch import fnmatchcase  # imports re: only when the setting is used

    refused = [d for d in devices if not any(fnmatchcase(d.partition("=")[0], glob) for glob in allowed)]
    if refused:
        raise RequestError(f"CDI devices {', '.join(refused)} not allowed: allowed-kinds is {', '.join(allowed) or 'empty'}")


def check_sizes(annotations: dict[str, Any], env_value: str | None, settings: Settings) -> None:
    """Refuse request values above ``max-annotation-bytes`` before parsing them."""
    limit = settings.max_annotation_bytes
    for key, value in annotations.items():
        if isinstance(key, str) and key.startswith(settings.annotation_prefixes) and isinstance(value, str) \
                and len(value.encode()) > limit:
            raise RequestError(f"annotation {quote(key)}: value is larger than max-annotation-bytes ({limit})")
    if env_value is not None and len(env_value.encode()) > limit:
        raise RequestError(f"env {ENV_REQUEST}: value is larger than max-annotation-bytes ({limit})")


def gather_requests(
    oci: dict[str, Any], annotations: dict[str, Any], settings: Settings, extra: Sequence[str] = ()
) -> Requests:
    """The devices *oci* asks for, under *settings*' policies and limits.

    *extra* are qualified names asked for besides the OCI spec's own requests
    (the dry run's command-line names); they come last and obey the same
    limits and ``allowed-kinds``.
    """
    value = env_request(oci)
    check_sizes(annotations, value, settings)
    devices = devices_from_annotations(annotations, settings.annotation_prefixes)
    honoured, refusal = False, ""
    if value is not None:
        if settings.env_requests == "never":
            refusal = "env-requests is never"
        elif settings.env_requests == "auto" and is_kubernetes_container(annotations):
            refusal = "a Kubernetes container asks for devices through the device plugin, not the env"
        else:
            honoured = True
            devices.extend(d for d in devices_from_env(value) if d not in devices)
    devices.extend(d for d in dict.fromkeys(extra) if d not in devices)
    if len(devices) > settings.max_devices_per_request:
        raise RequestError(f"{len(devices)} CDI devices requested; max-devices-per-request is "
                           f"{settings.max_devices_per_request}")
    check_allowed_kinds(devices, settings.allowed_kinds)
    return Requests(devices=tuple(devices), env_honoured=honoured, env_refusal=refusal)


def remove_env_request(oci: dict[str, Any]) -> None:
    """Drop every ``CDI_DEVICES=`` entry from the process env."""
    process = oci.get("process")
    env = process.get("env") if isinstance(process, dict) else None
    if isinstance(env, list):
        process["env"] = [e for e in env if not (isinstance(e, str) and e.startswith(ENV_REQUEST + "="))]

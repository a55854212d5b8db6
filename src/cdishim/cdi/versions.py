"""CDI spec versions: which are known, and which a spec's fields require.

Mirrors `specs-go/version.go` of the reference library, extended to 1.1.0.
"""

from __future__ import annotations

from cdishim.cdi.model import ContainerEdits, Spec
from cdishim.errors import SpecError, quote

KNOWN_VERSIONS: tuple[str, ...] = (
    "0.3.0",
    "0.4.0",
    "0.5.0",
    "0.6.0",
    "0.7.0",
    "0.8.0",
    "1.0.0",
    "1.1.0",
)
EARLIEST = KNOWN_VERSIONS[0]
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
LATEST = KNOWN_VERSIONS[-1]


def normalize(version: str) -> str:
    """Strip the optional leading ``v``."""
    return version.removeprefix("v")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in normalize(version).split("."))


def _all_edits(spec: Spec) -> list[ContainerEdits]:
    return [spec.edits, *(device.edits for device in spec.devices)]


def minimum_required_version(spec: Spec) -> str:
    """The lowest spec version that has every field *spec* uses."""
    edits = _all_edits(spec)
    if any(e.net_devices for e in edits) or any(
        e.intel_rdt is not None and (e.intel_rdt.schemata or e.intel_rdt.enable_monitoring) for e in edits
    ):
        return "1.1.0"
    if any(e.intel_rdt is not None or e.additional_gids for e in edits):
        return "0.7.0"
    if spec.annotations or any(d.annotations for d in spec.devices) or "." in spec.class_:
        return "0.6.0"
    if any(d.name and d.name[0] not in _ASCII_LETTERS for d in spec.devices):
        return "0.5.0"
    if any(node.host_path for e in edits for node in e.device_nodes):
        return "0.5.0"
    if any(mount.type for e in edits for mount in e.mounts):
        return "0.4.0"
    return EARLIEST


def validate_version(spec: Spec) -> None:
    """Raise `SpecError` for an unknown version or one too low for the fields used."""
    if normalize(spec.version) not in KNOWN_VERSIONS:
        raise SpecError(f"invalid version {quote(spec.version)}")
    required = minimum_required_version(spec)
    if _key(required) > _key(spec.version):
        raise SpecError(f"the spec version must be at least v{required}")

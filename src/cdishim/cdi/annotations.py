"""CDI device requests carried in OCI annotations (``cdi.k8s.io/*``)."""

from __future__ import annotations

from cdishim import defaults
from cdishim.cdi.names import parse_qualified_name
from cdishim.errors import InvalidNameError, RequestError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

ANNOTATION_PREFIX = defaults.ANNOTATION_PREFIX


def devices_from_annotations(
    annotations: Mapping[str, Any], prefixes: Iterable[str] = (ANNOTATION_PREFIX,)
) -> list[str]:
    """Requested devices, de-duplicated, sorted by key then in value order.

    A value is a comma-separated list of qualified names with no trimming;
    an empty or malformed element is an error naming the annotation key.
    """
    prefixes = tuple(prefixes)
    requested: dict[str, None] = {}
    for key in sorted(k for k in annotations if isinstance(k, str) and k.startswith(prefixes)):
        value = annotations[key]
        if not isinstance(value, str):
            raise RequestError(f"annotation {quote(key)}: value is not a string")
        for device in device_list(value, f"annotation {quote(key)}"):
            requested.setdefault(device, None)
    return list(requested)


def device_list(value: str, source: str) -> list[str]:
    """The qualified names in a comma-separated *value*, each checked; errors name *source*.

    No trimming: an empty element (a trailing comma) or a space is an error.
    """
    devices = value.split(",")
    for device in devices:
        try:
            parse_qualified_name(device)
        except InvalidNameError as err:
            raise RequestError(f"{source}: invalid CDI device name {quote(device)}: {err}") from None
    return devices

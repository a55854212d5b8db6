"""The device plugin's config file: which resources to advertise, found how, shared how.

    resources:
    - name: example.com/serial      # extended resource name = CDI kind of the generated devices
      devices:                      # each match of each entry is one device
      - path: /dev/ttyUSB*
      - usb: {vendor: "0403", product: "6001", serial: "A10K"}
      replicas: 1
      failRequestsGreaterThanOne: false
    - name: mock.com/gpu
      cdiKind: mock.com/gpu         # serve the existing CDI specs of this kind

Every mistake is one `UsageError` naming the file, the resource and the
field; nothing is served from a config with any mistake in it.
"""

from __future__ import annotations

import os
import re

from cdishim.cdi.names import validate_kind
from cdishim.errors import CdishimError, InvalidNameError, UsageError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAX_REPLICAS = 10_000  # kubelet holds every advertised ID in memory; beyond this is a typo
MAX_CONFIG_BYTES = 1 << 20
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# kubelet's rules for an extended resource name: a DNS subdomain, "/", a qualified name
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class PathMatch(Record):
    """Device nodes matched by an absolute glob."""

    glob: str


class UsbMatch(Record):
    """USB devices matched by their sysfs ids (lower-case hex) and, optionally, serial."""

    vendor: str
    product: str
    serial: str | None = None


class ResourceConfig(Record):
    """One extended resource: where its devices come from and how many pods may share each."""

    name: str
    cdi_kind: str | None = None  # serve existing specs of this kind; None: discover devices
    matches: tuple[PathMatch | UsbMatch, ...] = ()
    replicas: int = 1
    fail_requests_greater_than_one: bool = False

    @property
    def kind(self) -> str:
        """The CDI kind of the resource's devices."""
        return self.cdi_kind or self.name

    @property
    def discovered(self) -> bool:
        """Whether the plugin finds the devices itself (and writes their spec)."""
        return self.cdi_kind is None


def _fail(where: str, message: str) -> CdishimError:
    return UsageError(f"{where}: {message}")


def _keys(value: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "must be a mapping")
    for key in value:
        if key not in allowed:
            raise _fail(where, f"unknown field {quote(str(key))} (known: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            raise _fail(where, f"missing field {quote(key)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        hint = " (quote it)" if isinstance(value, (int, float)) else ""
        raise _fail(where, f"must be a string{hint}")
    return value


def _name(value: Any, where: str, validate: Callable[[str], object], what: str) -> str:
    name = _string(value, where)
    try:
        validate(name)
    except InvalidNameError as err:
        raise _fail(where, f"{quote(name)} is not a valid {what} ({err})") from None
    return name


def _kind(value: Any, where: str) -> str:
    return _name(value, where, validate_kind, "CDI kind")


def validate_resource_name(name: str) -> None:
    """Raise `InvalidNameError` unless kubelet accepts *name* as an extended resource (a CDI kind, further limited)."""
    validate_kind(name)
    domain, _, short = name.partition("/")
    if len(domain) > 253 or not _DNS_SUBDOMAIN.fullmatch(domain):
        raise InvalidNameError(f"{quote(domain)} is not a DNS subdomain (lower-case letters, digits, '-' and '.'), "
                               "which kubelet requires of a resource name")
    if len(short) > 63 or not _QUALIFIED_NAME.fullmatch(short):
        raise InvalidNameError(f"{quote(short)} is longer than 63 characters or holds characters kubelet refuses")


def _resource_name(value: Any, where: str) -> str:
    return _name(_kind(value, where), where, validate_resource_name, "resource name")


def socket_file(resource_name: str) -> str:
    """The file name of the plugin's socket for *resource_name* in kubelet's device-plugins dir."""
    return "cdishim-" + _FILE_UNSAFE.sub("-", resource_name.replace("/", "-")) + ".sock"


def spec_file(kind: str) -> str:
    """The file name of the spec a discovering resource of *kind* writes in the CDI dir."""
    return "cdishim-plugin_" + kind.replace("/", "_") + ".json"


def _usb_id(value: Any, where: str) -> str:
    text = _string(value, where)
    if len(text) != 4 or not set(text) <= _HEX_DIGITS:
        raise _fail(where, f"{quote(text)} is not a 4-digit hex USB id")
    return text.lower()


def _match(value: Any, where: str) -> PathMatch | UsbMatch:
    entry = _keys(value, where, ("path", "usb"))
    if ("path" in entry) == ("usb" in entry):
        raise _fail(where, "give exactly one of \"path\" and \"usb\"")
    if "path" in entry:
        pattern = _string(entry["path"], f"{where}.path")
        if not os.path.isabs(pattern):
            raise _fail(f"{where}.path", f"{quote(pattern)} must be an absolute glob")
        return PathMatch(glob=os.path.normpath(pattern))
    usb = _keys(entry["usb"], f"{where}.usb", ("vendor", "product", "serial"), ("vendor", "product"))
    serial = _string(usb["serial"], f"{where}.usb.serial") if "serial" in usb else None
    return UsbMatch(vendor=_usb_id(usb["vendor"], f"{where}.usb.vendor"),
                    product=_usb_id(usb["product"], f"{where}.usb.product"), serial=serial)


def _resource(value: Any, where: str) -> ResourceConfig:
    entry = _keys(value, where, ("name", "cdiKind", "devices", "replicas", "failRequestsGreaterThanOne"),
                  ("name",))
    name = _resource_name(entry["name"], f"{where}.name")
    where = f"resource {quote(name)}"
    if ("cdiKind" in entry) == ("devices" in entry):
        raise _fail(where, "give exactly one of \"devices\" (discover) and \"cdiKind\" (existing specs)")
    cdi_kind = _kind(entry["cdiKind"], f"{where}.cdiKind") if "cdiKind" in entry else None
    matches: tuple[PathMatch | UsbMatch, ...] = ()
    if "devices" in entry:
        devices = entry["devices"]
        if not isinstance(devices, list) or not devices:
            raise _fail(f"{where}.devices", "must be a non-empty list")
        matches = tuple(_match(item, f"{where}.devices[{index}]") for index, item in enumerate(devices))
    replicas = entry.get("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= MAX_REPLICAS:
        raise _fail(f"{where}.replicas", f"must be an integer from 1 to {MAX_REPLICAS}, not {replicas!r}")
    fail_greater = entry.get("failRequestsGreaterThanOne", False)
    if not isinstance(fail_greater, bool):
        raise _fail(f"{where}.failRequestsGreaterThanOne", "must be true or false")
    return ResourceConfig(name=name, cdi_kind=cdi_kind, matches=matches, replicas=replicas,
                          fail_requests_greater_than_one=fail_greater)


def parse_config(document: Any) -> tuple[ResourceConfig, ...]:
    """The resources of a decoded config document; `UsageError` naming the field otherwise."""
    top = _keys(document, "config", ("resources",), ("resources",))
    items = top["resources"]
    if not isinstance(items, list) or not items:
        raise _fail("resources", "must be a non-empty list")
    resources = tuple(_resource(item, f"resources[{index}]") for index, item in enumerate(items))
    check_unique(resources)
    return resources


def check_unique(resources: tuple[ResourceConfig, ...]) -> None:
    """Refuse two resources with one name, one socket file or one spec file: one would undo the other."""
    for what, key in (("name", lambda r: r.name), ("socket file", lambda r: socket_file(r.name)),
                      ("spec file", lambda r: spec_file(r.kind) if r.discovered else None)):
        seen: dict[str, str] = {}
        for resource in resources:
            value = key(resource)
            if value is None:
                continue
            if value in seen:
                if seen[value] == resource.name:
                    raise _fail(f"resource {quote(resource.name)}", "defined twice")
                raise _fail(f"resources {quote(seen[value])} and {quote(resource.name)}",
                            f"would share the {what} {quote(value)}; rename one")
            seen[value] = resource.name


def load_config(path: str) -> tuple[ResourceConfig, ...]:
    """Read and parse the config file at *path* (YAML or JSON); errors name the file."""
    from cdishim.cdi.decode import load_document

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise UsageError(f"--config {quote(path)}: {err.strerror or err}") from err
    if len(data) > MAX_CONFIG_BYTES:
        raise UsageError(f"--config {quote(path)}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return parse_config(load_document(data, "json" if path.endswith(".json") else "yaml"))
    except CdishimError as err:
        raise UsageError(f"--config {quote(path)}: {err}") from None


def kind_shorthand(kinds: list[str]) -> tuple[ResourceConfig, ...]:
    """What ``--kind K`` means: resource K serving the existing CDI specs of kind K."""
    resources = []
    for kind in dict.fromkeys(kinds):
        try:
            validate_resource_name(kind)
        except InvalidNameError as err:
            raise UsageError(f"--kind {kind}: {err}") from None
        resources.append(ResourceConfig(name=kind, cdi_kind=kind))
    return tuple(resources)

"""Decode CDI spec files into the data model, strictly.

Strict as the reference's ``yaml.UnmarshalStrict``: unknown fields, duplicate
keys and values of the wrong type are errors. Stricter in one way: ``null``
is refused wherever the published JSON schema requires a value (the Go
decoder reads it as "empty"), so every accepted spec also passes the schema. Every error names the field by
its JSON path (``devices[1].containerEdits.mounts[0].hostPath``).

JSON files are decoded with the standard library; YAML is imported only when
a ``.yaml`` file is actually read.
"""

from __future__ import annotations

from cdishim import defaults, jsonfast
from cdishim.cdi.model import (
    ContainerEdits,
    Device,
    DeviceNode,
    Hook,
    IntelRdt,
    Mount,
    NetDevice,
    Spec,
)
from cdishim.errors import SpecError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    # Checks one JSON value at a JSON path and returns the model value.
    Reader = Callable[[Any, str], Any]

_INT64 = (-(2**63), 2**63 - 1)
_UINT32 = (0, 2**32 - 1)


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"duplicate key {quote(key)}")
        result[key] = value
    return result


def load_document(data: bytes, fmt: str) -> Any:
    """Decode *data* as ``json`` or ``yaml``, rejecting duplicate keys and deep nesting."""
    if fmt == "json":
        check_json_depth(data)
        try:
            return jsonfast.loads(data, object_pairs_hook=_reject_duplicates)
        except _DuplicateKey as err:
            raise SpecError(str(err)) from None
        except (ValueError, UnicodeDecodeError) as err:
            raise SpecError(f"malformed JSON: {err}") from err
        except RecursionError as err:  # not reached below MAX_SPEC_DEPTH; kept as the last word
            raise SpecError(f"malformed JSON: nested more than {defaults.MAX_SPEC_DEPTH} levels deep") from err
    from cdishim.cdi.yamlstrict import load_yaml

    return load_yaml(data)


def check_json_depth(data: bytes) -> None:
    """Refuse JSON nested deeper than `defaults.MAX_SPEC_DEPTH`, before decoding it.

    The C decoder's own limit is the interpreter's recursion limit, which
    differs between versions and call stacks; this one is the same everywhere.
    Only a document with that many brackets can be that deep, so most files
    are not scanned at all.
    """
    limit = defaults.MAX_SPEC_DEPTH
    if data.count(b"[") + data.count(b"{") <= limit:
        return
    import re  # the cold path: spec validation imports it anyway

    outside_strings = re.sub(rb'"(?:[^"\\]|\\.)*"', b"", data)
    depth = 0
    for bracket in outside_strings.translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            raise SpecError(f"malformed JSON: nested more than {limit} levels deep")


_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


# --- typed field readers -------------------------------------------------------



def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{where}: expected a string, got {_type_name(value)}")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a "\ud800" escape: no UTF-8 text can carry it into config.json
            raise SpecError(f"{where}: invalid Unicode (a lone surrogate) in {quote(value)}") from None
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{where}: expected a boolean, got {_type_name(value)}")
    return value


def _int_in(bounds: tuple[int, int]) -> Reader:
    low, high = bounds

    def read(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where}: expected an integer, got {_type_name(value)}")
        if not low <= value <= high:
            raise SpecError(f"{where}: {value} is out of range [{low}, {high}]")
        return value

    return read


_int64 = _int_in(_INT64)
_uint32 = _int_in(_UINT32)


def _list_of(item: Reader) -> Reader:
    def read(value: Any, where: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list, got {_type_name(value)}")
        return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))

    return read


def _str_map(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping, got {_type_name(value)}")
    for key, item in value.items():
        _str(key, f"{where} key")
        _str(item, f"{where}[{quote(key)}]")
    return dict(value)


def _type_name(value: Any) -> str:
    return {
        type(None): "null",
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _object(value: Any, where: str, fields: dict[str, tuple[str, Reader]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a JSON object into keyword arguments, by a field table.

    *fields* maps JSON key -> (keyword, reader). Unknown keys are an error.
    """
    if not isinstance(value, dict):
        raise SpecError(f"{where or 'document'}: expected a mapping, got {_type_name(value)}")
    prefix = f"{where}." if where else ""
    for key in required:
        if key not in value:
            raise SpecError(f"{prefix}{key}: required field missing")
    kwargs: dict[str, Any] = {}
    for key, raw in value.items():
        if key not in fields:
            raise SpecError(f"{prefix}{key}: unknown field")
        keyword, reader = fields[key]
        kwargs[keyword] = reader(raw, f"{prefix}{key}")
    return kwargs


def _model(cls: type, fields: dict[str, tuple[str, Reader]], required: tuple[str, ...] = ()) -> Reader:
    def read(value: Any, where: str) -> Any:
        return cls(**_object(value, where, fields, required))

    return read


_device_node = _model(
    DeviceNode,
    {
        "path": ("path", _str),
        "hostPath": ("host_path", _str),
        "type": ("type", _str),
        "major": ("major", _int64),
        "minor": ("minor", _int64),
        "fileMode": ("file_mode", _uint32),
        "permissions": ("permissions", _str),
        "uid": ("uid", _uint32),
        "gid": ("gid", _uint32),
    },
    required=("path",),
)

_mount = _model(
    Mount,
    {
        "hostPath": ("host_path", _str),
        "containerPath": ("container_path", _str),
        "options": ("options", _list_of(_str)),
        "type": ("type", _str),
    },
    required=("hostPath", "containerPath"),
)

_hook = _model(
    Hook,
    {
        "hookName": ("hook_name", _str),
        "path": ("path", _str),
        "args": ("args", _list_of(_str)),
        "env": ("env", _list_of(_str)),
        "timeout": ("timeout", _int_in((-(2**31), 2**31 - 1))),
    },
    required=("hookName", "path"),
)

_intel_rdt = _model(
    IntelRdt,
    {
        "closID": ("clos_id", _str),
        "l3CacheSchema": ("l3_cache_schema", _str),
        "memBwSchema": ("mem_bw_schema", _str),
        "schemata": ("schemata", _list_of(_str)),
        "enableMonitoring": ("enable_monitoring", _bool),
    },
)

_net_device = _model(
    NetDevice,
    {
        "hostInterfaceName": ("host_interface_name", _str),
        "name": ("name", _str),
    },
    required=("hostInterfaceName", "name"),
)


def _edits(value: Any, where: str) -> ContainerEdits:
    return ContainerEdits(
        **_object(
            value,
            where,
            {
                "env": ("env", _list_of(_str)),
                "deviceNodes": ("device_nodes", _list_of(_device_node)),
                "hooks": ("hooks", _list_of(_hook)),
                "mounts": ("mounts", _list_of(_mount)),
                "intelRdt": ("intel_rdt", _intel_rdt),
                "additionalGids": ("additional_gids", _list_of(_uint32)),
                "netDevices": ("net_devices", _list_of(_net_device)),
            },
        )
    )


_device = _model(
    Device,
    {
        "name": ("name", _str),
        "annotations": ("annotations", _str_map),
        "containerEdits": ("edits", _edits),
    },
    required=("name", "containerEdits"),
)


def decode_spec(document: Any, path: str = "", priority: int = 0) -> Spec:
    """Turn a decoded JSON/YAML document into a `Spec`, checking every field."""
    kwargs = _object(
        document,
        "",
        {
            "cdiVersion": ("version", _str),
            "kind": ("kind", _str),
            "annotations": ("annotations", _str_map),
            "devices": ("devices", _list_of(_device)),
            "containerEdits": ("edits", _edits),
        },
        required=("cdiVersion", "kind", "devices"),
    )
    return Spec(path=path, priority=priority, **kwargs)

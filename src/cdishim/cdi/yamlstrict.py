"""A YAML loader for spec files that rejects duplicate keys.

PyYAML silently keeps the last of duplicate keys; the reference decoder
refuses them, so this loader does too. Imported only for ``.yaml`` files.
"""

from __future__ import annotations

import yaml

from cdishim.errors import SpecError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            raise SpecError(f"line {key_node.start_mark.line + 1}: mapping key {key!r} is not a string")
        if key in result:
            raise SpecError(f"line {key_node.start_mark.line + 1}: duplicate key {quote(key)}")
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


MAX_FLOW_DEPTH = 1000


def check_flow_depth(data: bytes) -> None:
    """Refuse ``[[[...`` nested deeper than `MAX_FLOW_DEPTH`.

    libyaml composes recursively in C: tens of thousands of nested flow
    collections crash the process instead of raising. A CDI spec never nests
    more than a few levels, so only files with very many brackets are scanned.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_FLOW_DEPTH:
        return
    depth, quote_char, escaped = 0, 0, False
    for byte in data:
        if quote_char:
            if escaped:
                escaped = False
            elif byte == 0x5C and quote_char == 0x22:  # backslash inside "..."
                escaped = True
            elif byte == quote_char:
                quote_char = 0
        elif byte in (0x22, 0x27):  # " or '
            quote_char = byte
        elif byte in (0x5B, 0x7B):  # [ or {
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                raise SpecError("malformed YAML: nested too deeply")
        elif byte in (0x5D, 0x7D) and depth:  # ] or }
            depth -= 1


def load_yaml(data: bytes) -> Any:
    """Decode one YAML document, rejecting duplicate and non-string keys."""
    check_flow_depth(data)
    try:
        return yaml.load(data, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        raise SpecError(f"malformed YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise SpecError("malformed YAML: nested too deeply") from None

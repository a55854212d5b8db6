"""A YAML loader for spec files that rejects duplicate keys.

PyYAML silently keeps the last of duplicate keys; the reference decoder
refuses them, so this loader does too. What a file may cost (depth,
expansion) is bounded by `cdishim.cdi.yamlbounds`. Imported only for
``.yaml`` files.
"""

from __future__ import annotations

import yaml

from cdishim.cdi.yamlbounds import check_expansion, check_nesting, expansion_budget, spend, to_utf8
from cdishim.errors import SpecError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing duplicate keys and paying for merge keys up front."""

    budget = 0  # set per document by `load_yaml`

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Merge ``<<`` keys (as PyYAML does), once their size fits the budget.

        PyYAML copies every merged pair into the merging mapping; the size of
        each merged mapping is spent before anything is copied.
        """
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in merged:
                if isinstance(source, yaml.MappingNode):
                    self.budget = spend(self.budget, len(source.value))
                    self.flatten_mapping(source)
                    self.budget = spend(self.budget, len(source.value))
        super().flatten_mapping(node)


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


def load_yaml(data: bytes) -> Any:
    """Decode one YAML document, rejecting duplicate and non-string keys.

    Every failure is a one-line `SpecError`: PyYAML's constructors raise
    plain exceptions for values they cannot build (an integer of 5,000
    digits, a timestamp past year 9999), and those are named in it.
    """
    data = to_utf8(data)
    check_nesting(data)
    loader = _StrictLoader(data)
    loader.budget = expansion_budget(data)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as err:
        raise SpecError(f"malformed YAML: {' '.join(str(err).split())}") from err
    except RecursionError:
        raise SpecError("malformed YAML: nested too deeply") from None
    except (SpecError, MemoryError):
        raise
    except Exception as err:
        raise SpecError(f"malformed YAML: {type(err).__name__}: {' '.join(str(err).split())}") from err
    finally:
        loader.dispose()
    check_expansion(document, data)
    return document

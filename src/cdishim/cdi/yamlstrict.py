"""A YAML loader for spec files: strict, and bounded in what one file may cost.

Strict as the reference's decoder: duplicate keys are refused (PyYAML keeps
the last one silently), mapping keys must be strings, and ``1:30`` is the
string it is in Go's YAML decoder, not a base-60 integer.

Bounded, because a spec file comes from whoever can write into a spec dir
and must never cost more than its own devices:

- **Depth.** libyaml scans and parses without recursion, but composing nodes
  recurses. Here libyaml only parses; PyYAML's Python composer builds the
  nodes, and refuses more than `MAX_DEPTH` levels (a CDI spec nests about
  seven), always at the same depth, whatever the caller's stack. (libyaml's
  own composer crashes the process at some ten thousand levels.)
- **Expansion.** Aliases share a node and merge keys copy mappings, so a few
  kilobytes can describe gigabytes. Merges are paid for before they are
  copied, and the loaded document is walked, under one budget
  (`cdishim.cdi.yamlbounds`).
- **Values.** Integers longer than any CDI field could hold are refused before
  they are converted (conversion time grows with the square of the length).

Imported only for ``.yaml`` files.
"""

from __future__ import annotations

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from cdishim import defaults
from cdishim.cdi.yamlbounds import check_expansion, expansion_budget, spend
from cdishim.errors import SpecError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_DEPTH = defaults.MAX_SPEC_DEPTH
MAX_INT_DIGITS = 40  # uint64 has 20 digits; room for underscores and a 0x/0b prefix
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_TOO_DEEP = f"malformed YAML: nested more than {MAX_DEPTH} levels deep"

try:  # libyaml scans and parses in C; PyYAML's Python parser is the same state machine
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - Debian's and PyPI's PyYAML both have libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: bytes) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


class _SpecLoader(_Parser, SafeConstructor, Resolver):  # type: ignore[misc, valid-type]
    """libyaml's events, composed in Python under a depth limit, constructed safely."""

    # The Python composer, in place of libyaml's recursive one.
    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def __init__(self, data: bytes) -> None:
        _Parser.__init__(self, data)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.anchors: dict[str, Any] = {}
        self.depth = 0
        self.budget = expansion_budget(data)

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing to go deeper than `MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SpecError(_TOO_DEEP)
        try:
            node = Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1
        # A second merge key is refused now, before the rest of a large mapping is composed.
        if index is None and node.tag == _MERGE_TAG and isinstance(parent, MappingNode) \
                and any(key.tag == _MERGE_TAG for key, _ in parent.value):
            raise SpecError(f"line {node.start_mark.line + 1}: duplicate key {quote('<<')}")
        return node

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        """As YAML 1.1, except that ``1:30`` is a string (Go's decoder has no base-60 numbers)."""
        tag = Resolver.resolve(self, kind, value, implicit)
        if kind is ScalarNode and tag in _NUMBER_TAGS and ":" in value:
            return _STR_TAG
        return tag

    def flatten_mapping(self, node: MappingNode) -> None:
        """Merge the ``<<`` key (one per mapping), paying for what it copies first.

        Keys given in the mapping itself override merged ones; a mapping's
        pairs are laid out as PyYAML does (merged first), and how many were
        merged is noted for `_construct_mapping`.
        """
        merge_keys = [value for key, value in node.value if key.tag == _MERGE_TAG]
        if not merge_keys:
            return
        if len(merge_keys) > 1:
            raise SpecError(f"line {node.start_mark.line + 1}: duplicate key {quote('<<')}")
        sources = merge_keys[0].value if isinstance(merge_keys[0], SequenceNode) else [merge_keys[0]]
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SpecError(f"malformed YAML: merge keys nested more than {MAX_DEPTH} levels deep")
        try:
            for source in sources:
                self.budget = spend(self.budget, 1)
                if isinstance(source, MappingNode):
                    self.flatten_mapping(source)
                    self.budget = spend(self.budget, len(source.value))
        finally:
            self.depth -= 1
        own = len(node.value) - 1
        SafeConstructor.flatten_mapping(self, node)
        node.merged_pairs = len(node.value) - own


def _construct_mapping(loader: _SpecLoader, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    merged = getattr(node, "merged_pairs", 0)
    result: dict[Any, Any] = {}
    own_keys: set[str] = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:57] + "..."
            raise SpecError(f"line {key_node.start_mark.line + 1}: mapping key {shown} is not a string")
        if position >= merged:  # the mapping's own keys: unique, and they override merged ones
            if key in own_keys:
                raise SpecError(f"line {key_node.start_mark.line + 1}: duplicate key {quote(key)}")
            own_keys.add(key)
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


def _construct_int(loader: _SpecLoader, node: ScalarNode) -> int:
    text = node.value
    if ":" in text:
        raise SpecError(f"line {node.start_mark.line + 1}: base-60 integer {quote(text[:40])} is not supported")
    if len(text) > MAX_INT_DIGITS:
        raise SpecError(f"line {node.start_mark.line + 1}: integer of {len(text)} characters is out of range")
    return SafeConstructor.construct_yaml_int(loader, node)


_SpecLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_SpecLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(data: bytes) -> Any:
    """Decode one YAML document, strictly and within bounds.

    Every failure is a one-line `SpecError`: PyYAML's constructors raise
    plain exceptions for values they cannot build (a timestamp past year
    9999, a malformed ``!!binary``), and those are named in it.
    """
    loader = _SpecLoader(data)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as err:
        if "exceeded maximum nesting depth" in str(err):  # libyaml >= 0.2.5 stops flow nesting at 1,000
            raise SpecError(_TOO_DEEP) from err
        raise SpecError(f"malformed YAML: {' '.join(str(err).split())}") from err
    except (SpecError, MemoryError):
        raise
    except Exception as err:
        raise SpecError(f"malformed YAML: {type(err).__name__}: {' '.join(str(err).split())}") from err
    finally:
        loader.dispose()
    check_expansion(document, data)
    return document

"""Bounds on what one YAML spec file may cost to load: depth, expansion, encoding.

A spec file comes from whoever can write into a spec dir, and one file must
never cost more than its own devices. Two YAML features could cost a node:

- **Depth.** libyaml composes nested collections recursively in C, so tens
  of thousands of levels (``[[[[...`` or ``- - - - ...``) crash the process
  instead of raising. `check_nesting` bounds the depth from the bytes, before
  libyaml sees them. A CDI spec nests a few levels; the bound is 1,000.
- **Expansion.** An alias (``*name``) re-uses a node without copying it, so a
  small file can describe a document whose walk never ends (each of 20,000
  devices an alias of one with 20,000 env entries), and merge keys
  (``<<: [*a, *a, ...]``) copy what they merge, so a few lines can ask for
  gigabytes. Both are held to an `expansion_budget` proportional to the
  file's size: merges are paid for before they are copied (the loader calls
  `spend`), and `check_expansion` walks the loaded document under the same
  budget. Past it the file is refused as Go's YAML decoder refuses it:
  "excessive aliasing".

`to_utf8` first turns UTF-16 input (which YAML allows, with a byte order
mark) into UTF-8, so that both checks read the bytes libyaml will parse.
"""

from __future__ import annotations

from cdishim.errors import SpecError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_DEPTH = 1000
# Nodes a document may expand to: twice its bytes (no alias-free document
# has more nodes than bytes), plus room for a few merge keys in a small file.
_EXPANSION_PER_BYTE = 2
_EXPANSION_SLACK = 10_000
# Besides \n, \r and \r\n, YAML 1.1 (and libyaml) breaks lines at NEL, LS and PS.
_OTHER_LINE_BREAKS = ("\x85".encode(), "\u2028".encode(), "\u2029".encode())
# Indicators that open a block collection where a line starts, and what must follow them.
_INDICATORS = (b"-", b"?", b":")
_SEPARATORS = (b" ", b"\t")


def to_utf8(data: bytes) -> bytes:
    """*data* as UTF-8: UTF-16 with a byte order mark is transcoded, the rest kept."""
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        return data
    try:
        return data.decode("utf-16").encode()
    except UnicodeError as err:
        raise SpecError(f"malformed YAML: {err}") from err


def check_nesting(data: bytes) -> None:
    """Refuse UTF-8 YAML *data* that could nest deeper than `MAX_DEPTH`."""
    if _flow_depth(data) > MAX_DEPTH or _block_depth_bound(data) > MAX_DEPTH:
        raise SpecError("malformed YAML: nested too deeply")


def _flow_depth(data: bytes) -> int:
    """The deepest ``[``/``{`` nesting outside quotes; only counted when it could matter."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return 0
    depth, deepest, quote_char, escaped = 0, 0, 0, False
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
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        elif byte in (0x5D, 0x7D) and depth:  # ] or }
            depth -= 1
    return deepest


def _block_depth_bound(data: bytes) -> int:
    """An upper bound of the block-collection depth of any node.

    A nested block collection is indented further than its parent, except a
    sequence under a mapping key, which then needs the key; collections can
    also open at the start of a line (``- - x``, ``? - x``), and one implicit
    key (``- a: b``) may follow. Block collections never open inside flow
    ones, nor after content. So a node's depth is at most twice its line's
    indentation plus the indicators that open the line, plus one: at most
    twice the line's length plus one. Only lines long enough to matter are read.
    """
    for other in _OTHER_LINE_BREAKS:
        if other in data:
            data = data.replace(other, b"\n")
    deepest = 0
    for line in data.splitlines():
        if 2 * len(line) + 1 > MAX_DEPTH:
            deepest = max(deepest, _line_depth_bound(line))
    return deepest


def _line_depth_bound(line: bytes) -> int:
    position = len(line) - len(line.lstrip(b" "))
    depth = 2 * position + 1
    while depth <= MAX_DEPTH and line[position:position + 1] in _INDICATORS \
            and line[position + 1:position + 2] in _SEPARATORS:
        depth += 1
        position += 2
        while line[position:position + 1] in _SEPARATORS:
            position += 1
    return depth


def expansion_budget(data: bytes) -> int:
    """How many nodes (or merged pairs) a document loaded from *data* may expand to."""
    return _EXPANSION_PER_BYTE * len(data) + _EXPANSION_SLACK


def spend(budget: int, cost: int) -> int:
    """*budget* less *cost*; refuse the document once it is spent."""
    budget -= cost
    if budget < 0:
        raise SpecError("malformed YAML: document contains excessive aliasing")
    return budget


def check_expansion(document: Any, data: bytes) -> None:
    """Refuse a *document* loaded from *data* whose aliases expand it beyond its size."""
    if b"*" not in data:
        return  # no alias, nothing to expand
    budget = expansion_budget(data)
    pending = [document]
    while pending:
        node = pending.pop()
        budget = spend(budget, 1)
        if isinstance(node, dict):
            pending.extend(node)
            pending.extend(node.values())
        elif isinstance(node, (list, tuple, set, frozenset)):
            pending.extend(node)

"""How much a YAML spec file may expand to when loaded: a budget in nodes and characters.

An alias (``*name``) re-uses a node without copying it, and a merge key
(``<<: [*a, *a]``) copies the mappings it merges, so a few kilobytes of YAML
can describe a document of gigabytes: 20,000 devices that are each an alias
of one device with 20,000 env entries, or one long string aliased a million
times. Reading and validating such a document would stall every create.

So a document may expand to no more than its `expansion_budget`: twice its
size in bytes, and at least `MIN_BUDGET`, so that specs sharing a few
anchors (mounts common to many devices) stay well inside it. The loader
`spend`s from it for every pair a merge key copies, before copying, and
`check_expansion` walks the loaded document, spending one unit per node and
one per character of every string. Past the budget, the file is refused
with the words of Go's YAML decoder: "excessive aliasing".
"""

from __future__ import annotations

from cdishim import defaults
from cdishim.errors import SpecError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_UNITS_PER_BYTE = 2  # without aliases, a document has fewer nodes and characters than bytes
MIN_BUDGET = defaults.MAX_SPEC_BYTES


def expansion_budget(data: bytes) -> int:
    """The units (nodes, characters, merged pairs) a document loaded from *data* may expand to."""
    return max(_UNITS_PER_BYTE * len(data), MIN_BUDGET)


def spend(budget: int, cost: int) -> int:
    """*budget* less *cost*; refuse the document once it is spent."""
    budget -= cost
    if budget < 0:
        raise SpecError("malformed YAML: document contains excessive aliasing")
    return budget


def check_expansion(document: Any, data: bytes) -> None:
    """Refuse a *document* loaded from *data* whose aliases expand it beyond its budget."""
    if b"*" not in data:
        return  # no alias: the document is no larger than its bytes
    budget = expansion_budget(data)
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            budget = spend(budget, 1 + len(node))
        elif isinstance(node, dict):
            budget = spend(budget, 1)
            pending.extend(node)
            pending.extend(node.values())
        elif isinstance(node, (list, tuple, set, frozenset)):
            budget = spend(budget, 1)
            pending.extend(node)
        else:
            budget = spend(budget, 1)

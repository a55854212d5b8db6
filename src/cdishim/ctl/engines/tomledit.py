"""Edit a TOML file and keep everything else in it: comments, order, layout.

Values of tables that the file already defines are changed in place with
tomlkit, a style-preserving TOML library. Tables the file does not define
are appended as new ``[dotted.header]`` blocks at the end, which TOML allows
and which reads well in a diff. The result is re-parsed with ``tomllib`` (`cdishim.tomlread`) and
compared with the intended data, so an edit that tomlkit would get wrong is
refused instead of written.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

from cdishim.errors import EngineConfigError, quote
from cdishim.tomlread import TOMLDecodeError, loads

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def parse_toml(text: str, path: str) -> dict[str, Any]:
    """Plain data of TOML *text*; errors name *path*."""
    try:
        return loads(text)
    except TOMLDecodeError as err:
        raise EngineConfigError(f"{quote(path)}: invalid TOML: {err}") from err


def lookup(data: dict[str, Any], path: Sequence[str]) -> Any:
    """The value at *path* in plain *data*, or ``None``."""
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def format_key(path: Sequence[str]) -> str:
    """A dotted TOML key, quoting the parts that are not bare keys."""
    return ".".join(part if _BARE_KEY.match(part) else json.dumps(part) for part in path)


class TomlEdit:
    """A TOML document and the changes to make to it."""

    def __init__(self, text: str, path: str) -> None:
        import tomlkit

        self.path = path
        self.original = text
        self.data = parse_toml(text, path)
        self._doc = tomlkit.parse(text)
        self._expected = copy.deepcopy(self.data)
        self._appended: dict[tuple[str, ...], dict[str, Any]] = {}
        self._removed = False

    def get(self, table: Sequence[str], key: str) -> Any:
        """The current value of *key* in *table* (changes included), or ``None``."""
        return lookup(self._expected, (*table, key))

    def set(self, table: Sequence[str], key: str, value: Any) -> None:
        """Make *key* in *table* equal *value*; nothing changes if it already does."""
        if self.get(table, key) == value:
            return
        node = self._expected
        for part in table:
            node = node.setdefault(part, {})
        node[key] = copy.deepcopy(value)
        existing = self._defined_table(table)
        if existing is not None:
            existing[key] = value
        else:
            self._appended.setdefault(tuple(table), {})[key] = value

    def remove(self, table: Sequence[str], key: str) -> None:
        """Remove *key* (a value or a whole table) from *table*; nothing changes if it is not there.

        Tables that this leaves empty are removed too, so that removing what
        `set` added to a file gives the file back.
        """
        parent = lookup(self._expected, table)
        if not isinstance(parent, dict) or key not in parent:
            return
        path = (*table, key)
        while len(path) > 1 and len(lookup(self._expected, path[:-1])) == 1:
            path = path[:-1]  # the table holds nothing else: it goes too
        del lookup(self._expected, path[:-1])[path[-1]]
        node: Any = self._doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
        self._removed = True

    def _defined_table(self, table: Sequence[str]) -> Any:
        """The tomlkit table at *table* if the file defines it with a header of its own."""
        from tomlkit.container import OutOfOrderTableProxy
        from tomlkit.items import Table

        node: Any = self._doc
        for part in table:
            if part not in node:
                return None
            node = node[part]
        if isinstance(node, Table) and not node.is_super_table():
            return node
        if isinstance(node, OutOfOrderTableProxy):  # a table whose sub-tables come later in the file
            return node
        return None

    def render(self) -> str:
        """The edited text; the original text when nothing changed."""
        if self._expected == self.data:
            return self.original
        import tomlkit

        text = tomlkit.dumps(self._doc)
        if self._removed and text.strip():  # a removed table leaves its blank line behind at the end
            text = text.rstrip("\n") + "\n"
        for table, values in self._appended.items():
            text = text.rstrip("\n") + "\n\n" if text.strip() else ""
            text += f"[{format_key(table)}]\n"
            text += "".join(f"  {format_key([key])} = {tomlkit.item(value).as_string()}\n" for key, value in values.items())
        if parse_toml(text, self.path) != self._expected:
            raise EngineConfigError(f"{quote(self.path)}: cannot edit this file safely; make the change by hand")
        return text

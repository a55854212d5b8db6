"""Render plain data (dicts, lists, scalars) as JSON or YAML for people and scripts.

JSON is indented and keeps key order, so ``-o json`` output is stable. YAML
indents block sequences under their key (as people write CDI specs by hand)
and writes lists of scalars in flow style (``options: [ro, nosuid]``).
"""

from __future__ import annotations

import json
from typing import Any

from cdishim.errors import escape_unprintable


def printable(text: str) -> str:
    """*text* with what would break a line or a terminal escaped.

    Control characters and separators become ``\\n``, ``\\x1b``,
    ``\\u2028`` and the like; bytes of a file name that are not UTF-8
    become ``\\xNN``.
    """
    return text if text.isprintable() else escape_unprintable(text)


def to_json(data: Any) -> str:
    """*data* as indented JSON with a final newline.

    Non-ASCII text is kept as is, unless it holds bytes that are not UTF-8
    (from a file name): then everything non-ASCII is escaped, so the output
    is always valid UTF-8.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2)
    return text + "\n"


def to_yaml(data: Any) -> str:
    """*data* as block-style YAML, key order kept."""
    import yaml

    class IndentedDumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

    def represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
        flow = bool(items) and not any(isinstance(item, (dict, list)) for item in items)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)

    IndentedDumper.add_representer(list, represent_list)
    return yaml.dump(
        data, Dumper=IndentedDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000
    )


def render(data: Any, fmt: str) -> str:
    """*data* in *fmt* (``json`` or ``yaml``)."""
    return to_json(data) if fmt == "json" else to_yaml(data)

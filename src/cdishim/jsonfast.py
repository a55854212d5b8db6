"""JSON in and out through CPython's C accelerator, without importing ``json``.

``json.decoder`` and ``json.encoder`` compile regular expressions when they
are imported, which imports ``re``: about 9 ms per process on a small node,
paid on every container start just to read config.json. The C scanner and
encoder those modules wrap (``_json``) do the same work without them.

Results are the same as ``json.loads`` / ``json.dumps(..., ensure_ascii=False,
separators=(",", ":"))``; a property test holds the two together. Where
``_json`` is missing (another Python implementation), ``json`` is used.
Errors come from ``json``: bad input is decoded again by it, so the message
is the usual one.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _ScannerContext:
    """The attributes ``_json.make_scanner`` reads (as ``json.JSONDecoder`` has them)."""

    strict = True
    object_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_CONSTANTS.__getitem__)

    def __init__(self, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None) -> None:
        self.object_pairs_hook = object_pairs_hook


def loads(data: bytes | str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Decode one JSON document (bytes are UTF-8). Raises ``ValueError``."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    if _json is not None:
        try:
            return _scan_document(text, object_pairs_hook)
        except Exception:  # noqa: BLE001 - json below reports it properly
            # The C scanner raises its errors through json.decoder, which it
            # only finds when already imported; bad input pays for the import.
            pass
    import json

    return json.loads(text, object_pairs_hook=object_pairs_hook)


def _scan_document(text: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None) -> Any:
    scan = _json.make_scanner(_ScannerContext(object_pairs_hook))
    start = len(text) - len(text.lstrip(_WHITESPACE))
    value, end = scan(text, start)  # StopIteration: no value at start
    if text[end:].strip(_WHITESPACE):
        raise ValueError("extra data")
    return value


def _unsupported(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Compact JSON (``,`` and ``:``), non-ASCII kept as is."""
    if _json is None:
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    encode = _json.make_encoder({}, _unsupported, _json.encode_basestring, None, ":", ",", False, False, True)
    return "".join(encode(value, 0))

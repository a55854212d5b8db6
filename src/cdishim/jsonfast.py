"""JSON in and out through CPython's C accelerator, without importing ``json``.

``json.decoder`` and ``json.encoder`` compile regular expressions when they
are imported, which imports ``re``: about 9 ms per process on a small node,
paid on every container start just to read config.json. The C scanner and
encoder those modules wrap (``_json``) do the same work without them.

Results are the same as ``json.loads`` / ``json.dumps(..., ensure_ascii=False,
separators=(",", ":"))``; a property test holds the two together on every
supported interpreter. ``_json`` is an internal module, so it is used only
on the CPython versions where that test ran (`PROVEN_VERSIONS`); anywhere
else ``json`` is used instead, rather than a guess.

Errors come from ``json``: input the scanner refuses is decoded again by
``json`` (without the object hook), so the message is the usual one and an
object hook runs exactly once per object on every path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    PairsHook = Callable[[list[tuple[str, Any]]], Any]

import sys

# The C accelerator is an internal module: it is used only on the CPython
# versions whose behaviour the property tests prove equal to json's (make
# test-matrix runs them on each); anywhere else, json does the work.
PROVEN_VERSIONS = ((3, 9), (3, 13))
_json = None
if sys.implementation.name == "cpython" and PROVEN_VERSIONS[0] <= sys.version_info[:2] <= PROVEN_VERSIONS[1]:
    try:
        import _json
    except ImportError:  # pragma: no cover - a CPython built without it
        _json = None

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _ScannerContext:
    """The attributes ``_json.make_scanner`` reads (as ``json.JSONDecoder`` has them)."""

    strict = True
    object_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_CONSTANTS.__getitem__)

    def __init__(self, object_pairs_hook: PairsHook | None) -> None:
        self.object_pairs_hook = object_pairs_hook


class _HookFailed(Exception):
    """Carries an exception raised by the caller's object hook through the scanner."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def loads(data: bytes | str, object_pairs_hook: PairsHook | None = None) -> Any:
    """Decode one JSON document (bytes are UTF-8). Raises ``ValueError``.

    An exception raised by *object_pairs_hook* propagates as it is.
    """
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    if _json is None:
        import json

        return json.loads(text, object_pairs_hook=object_pairs_hook)
    try:
        return _scan_document(text, _guarded(object_pairs_hook) if object_pairs_hook else None)
    except _HookFailed as failed:
        raise failed.error from None
    except Exception as err:
        # The C scanner raises through json.decoder, which it imports itself:
        # only bad input pays for the import. The hook does not run again.
        import json

        json.loads(text)
        raise ValueError(f"JSON decoders disagree on this document ({type(err).__name__})") from err


def _guarded(hook: PairsHook) -> PairsHook:
    def call(pairs: list[tuple[str, Any]]) -> Any:
        try:
            return hook(pairs)
        except Exception as err:
            raise _HookFailed(err) from err

    return call


def _scan_document(text: str, object_pairs_hook: PairsHook | None) -> Any:
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

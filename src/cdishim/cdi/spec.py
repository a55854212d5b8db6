"""Read one CDI spec file: bytes -> document -> `Spec` -> validated `Spec`."""

from __future__ import annotations

import os

from cdishim.cdi.decode import decode_spec, load_document
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust, check_spec_file
from cdishim.errors import SpecError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cdishim.cdi.model import Spec

SPEC_EXTENSIONS = {".json": "json", ".yaml": "yaml"}


def spec_format(path: str) -> str | None:
    """``json`` or ``yaml`` for a spec file name, ``None`` for anything else."""
    return SPEC_EXTENSIONS.get(os.path.splitext(path)[1])


def parse_spec_document(data: bytes, path: str, priority: int = 0, fmt: str | None = None) -> tuple[Any, Spec]:
    """Decode and validate spec *data*; return the plain document and the `Spec`.

    Error texts follow the reference: ``failed to parse CDI Spec "path": ...``
    for what cannot be decoded, ``invalid CDI Spec "path": ...`` for the rest.
    The plain document is what the registry cache keeps.
    """
    from cdishim.cdi.validate import validate_spec  # cold path only: imports re

    fmt = fmt or spec_format(path) or "yaml"
    try:
        document = load_document(data, fmt)
        spec = decode_spec(document, os.path.normpath(path), priority)
    except SpecError as err:
        raise SpecError(f"failed to parse CDI Spec {quote(path)}: {err}") from None
    try:
        validate_spec(spec)
    except SpecError as err:
        raise SpecError(f"invalid CDI Spec {quote(path)}: {err}") from None
    return document, spec


def parse_spec(data: bytes, path: str, priority: int = 0, fmt: str | None = None) -> Spec:
    """Decode and validate spec *data*; errors name *path*."""
    return parse_spec_document(data, path, priority, fmt)[1]


def read_spec_document(path: str, priority: int = 0, trust: SpecTrust = DEFAULT_TRUST) -> tuple[Any, Spec]:
    """Read, decode and validate the spec file at *path*: (document, `Spec`).

    The *trust* checks (owner, mode, size) run on the opened file, so a
    symlink is judged by its target and a swap after the check is not read.
    """
    try:
        with open(path, "rb") as handle:
            check_spec_file(path, os.fstat(handle.fileno()), trust)
            data = handle.read(trust.max_bytes + 1)
    except OSError as err:
        raise SpecError(f"failed to read CDI Spec {quote(path)}: {err.strerror or err}") from None
    if len(data) > trust.max_bytes:
        raise SpecError(f"CDI Spec {quote(path)} is too large: the limit is {trust.max_bytes} bytes")
    return parse_spec_document(data, path, priority)


def read_spec(path: str, priority: int = 0, trust: SpecTrust = DEFAULT_TRUST) -> Spec:
    """Read, decode and validate the spec file at *path*."""
    return read_spec_document(path, priority, trust)[1]

"""Read one CDI spec file: bytes -> document -> `Spec` -> validated `Spec`."""

from __future__ import annotations

import os

from cdishim.cdi.decode import decode_spec, load_document
from cdishim.cdi.model import Spec
from cdishim.cdi.validate import validate_spec
from cdishim.errors import SpecError, quote

SPEC_EXTENSIONS = {".json": "json", ".yaml": "yaml"}


def spec_format(path: str) -> str | None:
    """``json`` or ``yaml`` for a spec file name, ``None`` for anything else."""
    return SPEC_EXTENSIONS.get(os.path.splitext(path)[1])


def parse_spec(data: bytes, path: str, priority: int = 0, fmt: str | None = None) -> Spec:
    """Decode and validate spec *data*; errors name *path*.

    Error texts follow the reference: ``failed to parse CDI Spec "path": ...``
    for what cannot be decoded, ``invalid CDI Spec "path": ...`` for the rest.
    """
    fmt = fmt or spec_format(path) or "yaml"
    try:
        spec = decode_spec(load_document(data, fmt), os.path.normpath(path), priority)
    except SpecError as err:
        raise SpecError(f"failed to parse CDI Spec {quote(path)}: {err}") from None
    try:
        validate_spec(spec)
    except SpecError as err:
        raise SpecError(f"invalid CDI Spec {quote(path)}: {err}") from None
    return spec


def read_spec(path: str, priority: int = 0) -> Spec:
    """Read, decode and validate the spec file at *path*."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise SpecError(f"failed to read CDI Spec {quote(path)}: {err.strerror or err}") from None
    return parse_spec(data, path, priority)

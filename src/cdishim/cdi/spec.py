"""Read one CDI spec file: bytes -> document -> `Spec` -> validated `Spec`.

Whatever is wrong with one file is that file's one-line `SpecError`: a file
that is not a regular file, one that cannot be opened or read, one a decoder
chokes on in any way. Reading never blocks: non-regular files are refused
before they are opened, and the open itself does not wait (``O_NONBLOCK``),
so a FIFO swapped in at the last moment is refused too.
"""

from __future__ import annotations

import os
import stat

from cdishim.cdi.decode import decode_spec, load_document
from cdishim.cdi.registry import spec_format
from cdishim.cdi.trust import DEFAULT_TRUST, SpecTrust, check_spec_file
from cdishim.errors import SpecError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cdishim.cdi.model import Spec

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_FILE_TYPES = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class SpecReadError(SpecError):
    """A spec file could not be read for a reason that may pass (I/O, resources).

    Unlike every other `SpecError`, it is not a property of the file's
    content and stat, so a registry holding one is not cached.
    """


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
    except Exception as err:  # the last resort: a decoder's surprise costs only this file
        raise unexpected_error(f"failed to parse CDI Spec {quote(path)}", err) from err
    try:
        validate_spec(spec)
    except SpecError as err:
        raise SpecError(f"invalid CDI Spec {quote(path)}: {err}") from None
    except Exception as err:
        raise unexpected_error(f"invalid CDI Spec {quote(path)}", err) from err
    return document, spec


def unexpected_error(context: str, err: Exception) -> SpecError:
    """The one-line error of one file for an exception nobody planned for, named.

    Out of memory may pass, so it is a `SpecReadError` (not cached); any other
    surprise follows from the file's content and is reported like bad content.
    """
    message = " ".join(f"{context}: unexpected {type(err).__name__}: {err}".split())
    return SpecReadError(message) if isinstance(err, MemoryError) else SpecError(message)


def parse_spec(data: bytes, path: str, priority: int = 0, fmt: str | None = None) -> Spec:
    """Decode and validate spec *data*; errors name *path*."""
    return parse_spec_document(data, path, priority, fmt)[1]


def read_spec_document(path: str, priority: int = 0, trust: SpecTrust = DEFAULT_TRUST) -> tuple[Any, Spec]:
    """Read, decode and validate the spec file at *path*: (document, `Spec`).

    The *trust* checks (owner, mode, size) run on the opened file, so a
    symlink is judged by its target and a swap after the check is not read.
    Whatever goes wrong is a `SpecError` naming *path*.
    """
    try:
        data = read_spec_bytes(path, trust)
    except SpecError:
        raise
    except Exception as err:  # the last resort at the per-file boundary: one file costs only itself
        raise unexpected_error(f"failed to read CDI Spec {quote(path)}", err) from err
    return parse_spec_document(data, path, priority)


def read_spec_bytes(path: str, trust: SpecTrust = DEFAULT_TRUST) -> bytes:
    """The content of the regular file at *path*, after the *trust* checks."""
    try:
        _check_regular(path, os.stat(path))
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as err:
        raise _read_error(path, err) from err
    try:
        info = os.fstat(fd)
        _check_regular(path, info)  # swapped since the stat
        check_spec_file(path, info, trust)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(trust.max_bytes + 1)
    except OSError as err:
        raise _read_error(path, err) from err
    finally:
        os.close(fd)
    if data is None:  # a special "regular" file (in /proc, say) with nothing to read now
        raise SpecReadError(f"failed to read CDI Spec {quote(path)}: reading would block")
    if len(data) > trust.max_bytes:
        raise SpecError(f"CDI Spec {quote(path)} is too large: the limit is {trust.max_bytes} bytes")
    return data


def _check_regular(path: str, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = _FILE_TYPES.get(stat.S_IFMT(info.st_mode), f"a file of type {stat.S_IFMT(info.st_mode):o}")
        raise SpecError(f"failed to read CDI Spec {quote(path)}: not a regular file but {kind}")


# Errors that follow from the file's stat (the cache key) rather than from the moment.
_LASTING_ERRNOS = frozenset(("ENOENT", "ENOTDIR", "ELOOP", "EACCES", "EPERM", "EISDIR", "ENAMETOOLONG", "ENXIO"))


def _read_error(path: str, err: OSError) -> SpecError:
    import errno

    lasting = errno.errorcode.get(err.errno or 0) in _LASTING_ERRNOS
    return (SpecError if lasting else SpecReadError)(
        f"failed to read CDI Spec {quote(path)}: {err.strerror or err}")


def read_spec(path: str, priority: int = 0, trust: SpecTrust = DEFAULT_TRUST) -> Spec:
    """Read, decode and validate the spec file at *path*."""
    return read_spec_document(path, priority, trust)[1]

"""Load and atomically save an OCI bundle's ``config.json``.

The file is replaced with write-to-temp, fsync, rename (`fsutil.replace_file_at`):
a reader (runc, or a crash at any point) sees either the old file or the new
one, never half of one. Mode and ownership of the original are kept. A temp
file left by a writer that was killed is removed by the next save.

A bundle is named by its path (the runtime), or by an open directory (the
resident injector, handed one by the launcher): the ``*_at`` functions read
and write exactly the same way through the directory, and refuse a
``config.json`` that is not a regular file.
"""

from __future__ import annotations

import os
import stat

from cdishim import jsonfast
from cdishim.errors import BundleError, quote
from cdishim.fsutil import open_directory, remove_stale_temps_at, replace_file_at

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CONFIG_NAME = "config.json"
MAX_CONFIG_BYTES = 64 * 1024 * 1024


def config_json_path(bundle: str) -> str:
    """Path of the bundle's ``config.json``."""
    return os.path.join(bundle, CONFIG_NAME)


def load_config_json(path: str) -> dict[str, Any]:
    """Decode ``config.json``; it must be a JSON object."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise BundleError(f"cannot read {quote(path)}: {err.strerror or err}") from err
    return _decode(data, path)


def load_config_json_at(dir_fd: int, source: str) -> dict[str, Any]:
    """Decode ``config.json`` in the bundle directory *dir_fd*; *source* names it in errors."""
    try:
        fd = os.open(CONFIG_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as err:
        raise BundleError(f"cannot read {quote(source)}: {err.strerror or err}") from err
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BundleError(f"cannot read {quote(source)}: not a regular file")
        data = handle.read(MAX_CONFIG_BYTES + 1)
    return _decode(data, source)


def _decode(data: bytes, source: str) -> dict[str, Any]:
    if len(data) > MAX_CONFIG_BYTES:
        raise BundleError(f"{quote(source)} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        config = jsonfast.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{quote(source)} is not valid JSON: {err}") from err
    except RecursionError:
        raise BundleError(f"{quote(source)} is not valid JSON: nested too deeply") from None
    if not isinstance(config, dict):
        raise BundleError(f"{quote(source)} is not a JSON object")
    return config


def encode_config_json(config: dict[str, Any], path: str) -> bytes:
    """*config* as the compact UTF-8 JSON that `save_config_json` writes.

    A string decoded from a ``\\ud800`` escape cannot be written as UTF-8:
    that is the file's error, not a crash.
    """
    try:
        return jsonfast.dumps(config).encode()
    except UnicodeEncodeError as err:
        bad = quote(err.object[err.start:err.end])
        raise BundleError(f"{quote(path)}: a string holds {bad}, a lone surrogate, which UTF-8 cannot carry") from err


def save_config_json(path: str, config: dict[str, Any]) -> None:
    """Atomically and durably replace *path* with *config*, keeping its mode and owner."""
    try:
        dir_fd = open_directory(os.path.dirname(path))
    except OSError as err:
        raise BundleError(f"cannot write {quote(path)}: {err.strerror or err}") from err
    try:
        save_config_json_at(dir_fd, config, path, os.path.basename(path))
    finally:
        os.close(dir_fd)


def save_config_json_at(dir_fd: int, config: dict[str, Any], source: str, name: str = CONFIG_NAME) -> None:
    """`save_config_json` for the file *name* in the bundle directory *dir_fd*."""
    data = encode_config_json(config, source)
    remove_stale_temps_at(dir_fd, name)
    try:
        original = os.stat(name, dir_fd=dir_fd)
        replace_file_at(dir_fd, name, data, original.st_mode & 0o7777, (original.st_uid, original.st_gid), durable=True)
    except OSError as err:
        raise BundleError(f"cannot write {quote(source)}: {err.strerror or err}") from err

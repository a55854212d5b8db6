"""cdishim's configuration: ``/etc/cdishim/config.toml``.

A missing file means defaults. ``CDISHIM_CONFIG`` names another file,
``CDI_SPEC_DIRS`` (colon-separated) overrides ``spec-dirs`` and
``CDISHIM_CACHE_DIR`` overrides ``cache-dir``. Unknown keys are
an error, so that a typo never silently changes nothing.

Parsing TOML imports ``tomllib`` and with it ``re``: ~16 ms on a small node,
on every container start. So the parsed values are cached in
``$CDISHIM_CACHE_DIR/config.marshal`` (default ``/run/cdishim``), keyed on
the file's path and ``(dev, inode, size, mtime_ns, ctime_ns)``, and trusted
only when private to the effective user. These are the same rules as the
registry cache (`cdishim.cdi.cache`).
"""

from __future__ import annotations

import marshal
import os

from cdishim.errors import ConfigError, quote
from cdishim.fsutil import is_racy, private_directory, read_private_file, replace_file
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cdishim.cdi.trust import SpecTrust

DEFAULT_CONFIG_PATH = "/etc/cdishim/config.toml"
DEFAULT_CACHE_DIR = "/run/cdishim"
_CACHE_NAME = "config.marshal"
_CACHE_FORMAT = 4
LOG_LEVELS = ("debug", "info", "warning", "error")
ENV_REQUEST_POLICIES = ("auto", "always", "never")


class Config(Record):
    """Settings of the runtime shim and the tools."""

    runtimes: tuple[str, ...] = ("runc", "crun")
    spec_dirs: tuple[str, ...] = ("/etc/cdi", "/var/run/cdi")
    log_file: str = ""
    log_level: str = "warning"
    annotation_prefixes: tuple[str, ...] = ("cdi.k8s.io/",)
    cache_dir: str = DEFAULT_CACHE_DIR
    env_requests: str = "auto"  # when CDI_DEVICES in the container's env is honoured
    allowed_kinds: tuple[str, ...] | None = None  # globs of requestable kinds; None: any, (): none
    wrap_hooks: bool = True  # run CDI hooks through `cdishim-hook exec`
    hook_program: str = ""  # cdishim-hook; empty: the one installed next to cdishim
    trust_spec_files: str = "root-owned"  # or "any" (see cdishim.cdi.trust)
    max_spec_bytes: int = 4 * 1024 * 1024
    max_devices_per_request: int = 128
    max_annotation_bytes: int = 16 * 1024

    def spec_trust(self) -> SpecTrust:
        """The trust policy for spec files and dirs."""
        from cdishim.cdi.trust import SpecTrust

        return SpecTrust(policy=self.trust_spec_files, max_bytes=self.max_spec_bytes)


# TOML key -> (Config field, value type: str, list (of non-empty strings) or bool)
_KEYS: dict[str, tuple[str, type]] = {
    "runtimes": ("runtimes", list),
    "spec-dirs": ("spec_dirs", list),
    "log-file": ("log_file", str),
    "log-level": ("log_level", str),
    "annotation-prefixes": ("annotation_prefixes", list),
    "cache-dir": ("cache_dir", str),
    "env-requests": ("env_requests", str),
    "allowed-kinds": ("allowed_kinds", list),
    "wrap-hooks": ("wrap_hooks", bool),
    "hook-program": ("hook_program", str),
    "trust-spec-files": ("trust_spec_files", str),
    "max-spec-bytes": ("max_spec_bytes", int),
    "max-devices-per-request": ("max_devices_per_request", int),
    "max-annotation-bytes": ("max_annotation_bytes", int),
}
_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "a positive integer"}


def config_path() -> str:
    """The configuration file in effect."""
    return os.environ.get("CDISHIM_CONFIG") or DEFAULT_CONFIG_PATH


def load_config(path: str | None = None) -> Config:
    """Read the configuration, applying environment overrides."""
    path = path or config_path()
    values = _read_values(path)
    spec_dirs = os.environ.get("CDI_SPEC_DIRS")
    if spec_dirs:
        values["spec_dirs"] = tuple(d for d in spec_dirs.split(":") if d)
    cache_dir = os.environ.get("CDISHIM_CACHE_DIR")
    if cache_dir is not None:
        values["cache_dir"] = cache_dir
    return Config(**values)


def _read_values(path: str) -> dict[str, Any]:
    """The file's settings: from the cache when the file is unchanged, else parsed."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"cannot read config {quote(path)}: {err.strerror or err}") from None
    with handle:
        info = os.fstat(handle.fileno())
        key = (_CACHE_FORMAT, path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        cache_dir = os.environ.get("CDISHIM_CACHE_DIR", DEFAULT_CACHE_DIR)
        cached = _cached_values(cache_dir, key)
        if cached is not None:
            return cached
        try:
            data = handle.read()
        except OSError as err:
            raise ConfigError(f"cannot read config {quote(path)}: {err.strerror or err}") from None
    values = _parse(path, data)
    if cache_dir and not is_racy(info.st_mtime_ns, info.st_ctime_ns) and private_directory(cache_dir):
        try:
            replace_file(os.path.join(cache_dir, _CACHE_NAME), marshal.dumps((key, values)), 0o600)
        except OSError:
            pass
    return values


def _cached_values(cache_dir: str, key: tuple[Any, ...]) -> dict[str, Any] | None:
    data = read_private_file(cache_dir, os.path.join(cache_dir, _CACHE_NAME)) if cache_dir else None
    if data is None:
        return None
    try:
        cached_key, values = marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return None
    return values if cached_key == key and isinstance(values, dict) else None


def _parse(path: str, data: bytes) -> dict[str, Any]:
    import tomllib

    try:
        document = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config {quote(path)}: {err}") from None
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key not in _KEYS:
            raise ConfigError(f"config {quote(path)}: unknown key {quote(key)}")
        field, kind = _KEYS[key]
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise ConfigError(f"config {quote(path)}: {key} must be a list of non-empty strings")
            value = tuple(value)
        elif not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value <= 0)):
            raise ConfigError(f"config {quote(path)}: {key} must be {_TYPE_NAMES[kind]}")
        values[field] = value
    level = values.get("log_level", Config.log_level)
    if level not in LOG_LEVELS:
        raise ConfigError(f"config {quote(path)}: log-level must be one of {', '.join(LOG_LEVELS)}")
    if values.get("trust_spec_files", Config.trust_spec_files) not in ("root-owned", "any"):
        raise ConfigError(f"config {quote(path)}: trust-spec-files must be one of root-owned, any")
    if values.get("env_requests", Config.env_requests) not in ENV_REQUEST_POLICIES:
        raise ConfigError(f"config {quote(path)}: env-requests must be one of {', '.join(ENV_REQUEST_POLICIES)}")
    return values

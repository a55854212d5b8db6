"""cdishim's configuration: ``/etc/cdishim/config.toml``.

A missing file means defaults. ``CDISHIM_CONFIG`` names another file,
``CDI_SPEC_DIRS`` (colon-separated) overrides ``spec-dirs`` and
``CDISHIM_CACHE_DIR`` overrides ``cache-dir``. Unknown keys are
an error, so that a typo never silently changes nothing.

Parsing TOML imports ``tomllib`` (or ``tomli``) and with it ``re``: ~16 ms on a small node,
on every container start. So the parsed values are cached in
``$CDISHIM_CACHE_DIR/config.marshal`` (default ``/run/cdishim``), keyed on
the code, the file's path and its stamp (`cdishim.statcache`).
"""

from __future__ import annotations

import os

from cdishim import defaults, statcache
from cdishim.errors import SettingsError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cdishim.cdi.trust import SpecTrust

_CACHE_NAME = "config.marshal"
LOG_LEVELS = ("debug", "info", "warning", "error")
ENV_REQUEST_POLICIES = ("auto", "always", "never")


class Settings(Record):
    """Settings of the runtime shim and the tools."""

    runtimes: tuple[str, ...] = ("runc", "crun")
    spec_dirs: tuple[str, ...] = defaults.SPEC_DIRS
    log_file: str = ""
    log_level: str = "warning"
    annotation_prefixes: tuple[str, ...] = (defaults.ANNOTATION_PREFIX,)
    cache_dir: str = defaults.CACHE_DIR
    env_requests: str = "auto"  # when CDI_DEVICES in the container's env is honoured
    allowed_kinds: tuple[str, ...] | None = None  # globs of requestable kinds; None: any, (): none
    wrap_hooks: bool = True  # run CDI hooks through `cdishim-hook exec`
    hook_program: str = ""  # cdishim-hook; empty: the one installed next to cdishim
    trust_spec_files: str = defaults.TRUST_POLICY  # or "any" (see cdishim.cdi.trust)
    max_spec_bytes: int = defaults.MAX_SPEC_BYTES
    max_devices_per_request: int = 128
    max_annotation_bytes: int = 16 * 1024
    injector_socket: str = defaults.INJECTOR_SOCKET  # the resident injector's; empty: never ask one

    def spec_trust(self) -> SpecTrust:
        """The trust policy for spec files and dirs."""
        from cdishim.cdi.trust import SpecTrust

        return SpecTrust(policy=self.trust_spec_files, max_bytes=self.max_spec_bytes)


# TOML key -> (Settings field, value type: str, list (of non-empty strings) or bool)
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
    "injector-socket": ("injector_socket", str),
}
_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "a positive integer"}


def settings_file() -> str:
    """The configuration file in effect."""
    return os.environ.get("CDISHIM_CONFIG") or defaults.SETTINGS_FILE


def load_settings(path: str | None = None) -> Settings:
    """Read the configuration, applying environment overrides."""
    path = path or settings_file()
    values = _read_values(path)
    spec_dirs = os.environ.get("CDI_SPEC_DIRS")
    if spec_dirs:
        values["spec_dirs"] = tuple(d for d in spec_dirs.split(":") if d)
    cache_dir = os.environ.get("CDISHIM_CACHE_DIR")
    if cache_dir is not None:
        values["cache_dir"] = cache_dir
    return Settings(**values)


def _read_values(path: str) -> dict[str, Any]:
    """The file's settings: from the cache when the file and the code are unchanged, else parsed."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise SettingsError(f"cannot read config {quote(path)}: {err.strerror or err}") from err
    with handle:
        file_stamp = statcache.stamp(path, os.fstat(handle.fileno()))
        key = statcache.make_key(settings_file=path, stamp=file_stamp)
        cache_dir = os.environ.get("CDISHIM_CACHE_DIR", defaults.CACHE_DIR)
        cached = statcache.load_value(cache_dir, _CACHE_NAME, key)
        if isinstance(cached, dict):
            return cached
        try:
            data = handle.read()
        except OSError as err:
            raise SettingsError(f"cannot read config {quote(path)}: {err.strerror or err}") from err
    values = _parse(path, data)
    statcache.store_value(cache_dir, _CACHE_NAME, key, values, [file_stamp])
    return values


def _parse(path: str, data: bytes) -> dict[str, Any]:
    from cdishim.tomlread import TOMLDecodeError, loads

    try:
        document = loads(data.decode())
    except (TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError(f"config {quote(path)}: {err}") from err
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key not in _KEYS:
            raise SettingsError(f"config {quote(path)}: unknown key {quote(key)}")
        field, kind = _KEYS[key]
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise SettingsError(f"config {quote(path)}: {key} must be a list of non-empty strings")
            value = tuple(value)
        elif not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value <= 0)):
            raise SettingsError(f"config {quote(path)}: {key} must be {_TYPE_NAMES[kind]}")
        values[field] = value
    level = values.get("log_level", Settings.log_level)
    if level not in LOG_LEVELS:
        raise SettingsError(f"config {quote(path)}: log-level must be one of {', '.join(LOG_LEVELS)}")
    if values.get("trust_spec_files", Settings.trust_spec_files) not in ("root-owned", "any"):
        raise SettingsError(f"config {quote(path)}: trust-spec-files must be one of root-owned, any")
    if values.get("env_requests", Settings.env_requests) not in ENV_REQUEST_POLICIES:
        raise SettingsError(f"config {quote(path)}: env-requests must be one of {', '.join(ENV_REQUEST_POLICIES)}")
    return values

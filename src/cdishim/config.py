"""cdishim's configuration: ``/etc/cdishim/config.toml``.

A missing file means defaults. ``CDISHIM_CONFIG`` names another file,
``CDI_SPEC_DIRS`` (colon-separated) overrides ``spec-dirs`` and
``CDISHIM_CACHE_DIR`` overrides ``cache-dir``. Unknown keys are
an error, so that a typo never silently changes nothing.
"""

from __future__ import annotations

import os
from cdishim.errors import ConfigError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_CONFIG_PATH = "/etc/cdishim/config.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")


class Config(Record):
    """Settings of the runtime shim and the tools."""

    runtimes: tuple[str, ...] = ("runc", "crun")
    spec_dirs: tuple[str, ...] = ("/etc/cdi", "/var/run/cdi")
    log_file: str = ""
    log_level: str = "warning"
    annotation_prefixes: tuple[str, ...] = ("cdi.k8s.io/",)
    cache_dir: str = "/run/cdishim"


# TOML key -> (Config field, whether the value is a list of strings)
_KEYS: dict[str, tuple[str, bool]] = {
    "runtimes": ("runtimes", True),
    "spec-dirs": ("spec_dirs", True),
    "log-file": ("log_file", False),
    "log-level": ("log_level", False),
    "annotation-prefixes": ("annotation_prefixes", True),
    "cache-dir": ("cache_dir", False),
}


def config_path() -> str:
    """The configuration file in effect."""
    return os.environ.get("CDISHIM_CONFIG") or DEFAULT_CONFIG_PATH


def load_config(path: str | None = None) -> Config:
    """Read the configuration, applying environment overrides."""
    path = path or config_path()
    values: dict[str, Any] = {}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        data = None
    except OSError as err:
        raise ConfigError(f"cannot read config {quote(path)}: {err.strerror or err}") from None
    if data is not None:
        values = _parse(path, data)
    spec_dirs = os.environ.get("CDI_SPEC_DIRS")
    if spec_dirs:
        values["spec_dirs"] = tuple(d for d in spec_dirs.split(":") if d)
    cache_dir = os.environ.get("CDISHIM_CACHE_DIR")
    if cache_dir is not None:
        values["cache_dir"] = cache_dir
    return Config(**values)


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
        field, is_list = _KEYS[key]
        if is_list:
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise ConfigError(f"config {quote(path)}: {key} must be a list of non-empty strings")
            value = tuple(value)
        elif not isinstance(value, str):
            raise ConfigError(f"config {quote(path)}: {key} must be a string")
        values[field] = value
    level = values.get("log_level", Config.log_level)
    if level not in LOG_LEVELS:
        raise ConfigError(f"config {quote(path)}: log-level must be one of {', '.join(LOG_LEVELS)}")
    return values

"""Reading TOML: the standard library's ``tomllib`` (3.11+), else ``tomli`` (3.9, 3.10).

``tomli`` is the project ``tomllib`` was taken from, with the same API and
errors; pip installs it on older Pythons (a ``python_version < "3.11"``
dependency) and Debian ships it as python3-tomli. Import this module only
where TOML is parsed: both import ``re``.
"""

from __future__ import annotations

try:
    from tomllib import TOMLDecodeError, loads
except ImportError:  # Python < 3.11
    from tomli import TOMLDecodeError, loads

__all__ = ["TOMLDecodeError", "loads"]

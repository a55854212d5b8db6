"""Structured log records for the shim, with structlog imported on demand.

The level check happens before any import, so a create that logs nothing
(the default ``warning`` level on a good day) never loads structlog.
"""

from __future__ import annotations

import os

from cdishim.settings import LOG_LEVELS, Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_configured_for: str | None = None


def enabled(settings: Settings, level: str) -> bool:
    """Whether a record at *level* would be written."""
    return bool(settings.log_file) and LOG_LEVELS.index(level) >= LOG_LEVELS.index(settings.log_level)


def log_event(settings: Settings, level: str, event: str, **fields: Any) -> None:
    """Append one JSON record to the configured log file; never raises."""
    if not enabled(settings, level):
        return
    try:
        logger = _logger(settings.log_file)
        getattr(logger, level)(event, **fields)
    except Exception:  # noqa: BLE001 - logging must never break a container start
        pass


def _logger(path: str) -> Any:
    global _configured_for
    import structlog

    if _configured_for != path:
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(),
            ],
            logger_factory=structlog.WriteLoggerFactory(file=open(path, "a", encoding="utf-8")),
            cache_logger_on_first_use=False,
        )
        _configured_for = path
    return structlog.get_logger("cdishim").bind(pid=os.getpid())

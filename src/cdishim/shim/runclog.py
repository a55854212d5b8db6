"""Report a failure the way runc does, so engines show it to the user.

Engines read a runtime's error from the ``--log`` file, not from stderr:
containerd and Docker parse the last ``{"level":"error","msg":...}`` line
when ``--log-format json``; the text format is logrus'
``time="..." level=error msg="..."``.
"""

from __future__ import annotations

import os
import sys
import time

from cdishim import jsonfast
from cdishim.errors import quote


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"


def format_runc_log_line(message: str, log_format: str) -> str:
    """One error record in runc's ``--log-format`` (``json`` or ``text``)."""
    stamp = _timestamp()
    if log_format == "json":
        return jsonfast.dumps({"level": "error", "msg": message, "time": stamp})
    return f"time={quote(stamp)} level=error msg={quote(message)}"


def report_failure(message: str, log_path: str | None, log_format: str | None) -> None:
    """Write *message* to stderr and, when runc was given ``--log``, to that file."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()
    if not log_path:
        return
    line = format_runc_log_line(message, log_format or "text") + "\n"
    try:
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError as err:
        sys.stderr.write(f"cdishim: cannot write runc log {quote(log_path)}: {err.strerror or err}\n")

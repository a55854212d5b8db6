"""``CDISHIM_PROFILE=1``: where the create path spends its time.

Prints one line on stderr at the end of a create, e.g.::

    cdishim profile: imports=4.1ms config=0.3ms runtime=0.2ms registry(cached)=1.2ms edits=0.6ms write=0.5ms total=6.9ms

Interpreter start-up happens before any of this and is not included; compare
``bench/`` figures against bare runc for the whole cost.
"""

from __future__ import annotations

import os
import sys
import time

ENABLED = bool(os.environ.get("CDISHIM_PROFILE"))
_phases: list[tuple[str, float]] = []
_start = _last = time.perf_counter()


def mark(phase: str) -> None:
    """End the current phase, naming it *phase*."""
    global _last
    if ENABLED:
        now = time.perf_counter()
        _phases.append((phase, now - _last))
        _last = now


def report() -> None:
    """Print the phases on stderr (only when profiling is on)."""
    if ENABLED and _phases:
        parts = " ".join(f"{phase}={seconds * 1000:.1f}ms" for phase, seconds in _phases)
        sys.stderr.write(f"cdishim profile: {parts} total={(_last - _start) * 1000:.1f}ms\n")
        sys.stderr.flush()

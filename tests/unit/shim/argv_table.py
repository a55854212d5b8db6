"""The shared table of runc command lines (tests/runc_argv_cases.json)."""

from __future__ import annotations

import json
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "runc_argv_cases.json"
CASES = json.loads(TABLE.read_text())["cases"]
IDS = [" ".join(case["argv"]) or "(empty)" for case in CASES]

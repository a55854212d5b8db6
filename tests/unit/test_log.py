"""Structured logging: records only above the level, structlog only when needed."""

from __future__ import annotations

import json
import subprocess
import sys

from cdishim.log import enabled, log_event
from cdishim.settings import Settings


def test_records_are_json_lines(tmp_path):
    path = tmp_path / "cdishim.log"
    config = Settings(log_file=str(path), log_level="info")
    log_event(config, "info", "injected CDI devices", devices=["v.com/d=1"])
    log_event(config, "debug", "not written")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 1
    assert records[0]["event"] == "injected CDI devices" and records[0]["level"] == "info"
    assert records[0]["devices"] == ["v.com/d=1"] and "timestamp" in records[0]


def test_levels_and_disabled_log():
    assert enabled(Settings(log_file="/x", log_level="warning"), "error")
    assert not enabled(Settings(log_file="/x", log_level="warning"), "info")
    assert not enabled(Settings(log_file="", log_level="debug"), "error")


def test_structlog_is_imported_only_when_a_record_is_written(tmp_path):
    code = f"""
import sys
from cdishim.settings import Settings
from cdishim.log import log_event
config = Settings(log_file={str(tmp_path / 'x.log')!r}, log_level="warning")
log_event(config, "info", "below the level")
print("structlog" in sys.modules)
log_event(config, "error", "written")
print("structlog" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_an_unwritable_log_never_raises(tmp_path):
    log_event(Settings(log_file=str(tmp_path / "no" / "dir" / "x.log"), log_level="debug"), "error", "lost")

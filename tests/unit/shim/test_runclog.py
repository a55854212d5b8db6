"""Failure reports in runc's --log formats."""

from __future__ import annotations

import json
import re

from cdishim.shim.runclog import format_runc_log_line, report_failure


def test_json_line():
    record = json.loads(format_runc_log_line('bad "device"', "json"))
    assert record["level"] == "error" and record["msg"] == 'bad "device"'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", record["time"])


def test_text_line_is_logfmt():
    line = format_runc_log_line('bad "device"', "text")
    assert re.fullmatch(r'time="[^"]+" level=error msg="bad \\"device\\""', line)


def test_report_appends_to_the_log_and_writes_stderr(tmp_path, capsys):
    log = tmp_path / "log.json"
    log.write_text('{"level":"info","msg":"earlier"}\n')
    report_failure("cdishim: boom", str(log), "json")
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["msg"] == "cdishim: boom"
    assert capsys.readouterr().err == "cdishim: boom\n"


def test_unwritable_log_is_reported_not_raised(tmp_path, capsys):
    report_failure("cdishim: boom", str(tmp_path / "no" / "such" / "dir.json"), "json")
    assert "cannot write runc log" in capsys.readouterr().err

"""What cdishim-ctl prints stays one line per item and valid text, whatever the file names hold."""

from __future__ import annotations

import json
import os

import pytest

from cdishim.ctl import main as ctl_main
from cdishim.ctl.render import printable, to_json
from cdishim.ctl.table import format_table

NOT_UTF8 = os.fsdecode(b"/etc/cdi/\xff.json")


@pytest.mark.parametrize(
    "text, shown",
    [
        ("plain ü text", "plain ü text"),
        ("bad\nname.json", "bad\\nname.json"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("c1\x85\x9b and separators\u2028\u202e", "c1\\u0085\\u009b and separators\\u2028\\u202e"),
        (NOT_UTF8, "/etc/cdi/\\xff.json"),
    ],
)
def test_printable_escapes_what_breaks_a_line(text, shown):
    assert printable(text) == shown


def test_table_cells_cannot_break_rows():
    table = format_table(["PATH", "STATUS"], [["a\nb.json", "ok"], [NOT_UTF8, "bad"]])
    assert table.splitlines() == ["PATH                STATUS", "a\\nb.json           ok",
                                  "/etc/cdi/\\xff.json  bad"]


def test_json_output_is_valid_utf8_even_for_undecodable_names():
    text = to_json({"path": NOT_UTF8, "kind": "ü"})
    text.encode()  # raises if a lone surrogate got through
    assert json.loads(text) == {"path": NOT_UTF8, "kind": "ü"}
    assert to_json({"kind": "ü"}) == '{\n  "kind": "ü"\n}\n'


def test_an_internal_error_is_one_line_without_traceback(monkeypatch, capsys):
    from cdishim.ctl import validate

    def broken(args):
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr(validate, "run", broken)
    monkeypatch.delenv("CDISHIM_DEBUG", raising=False)
    assert ctl_main.main(["validate", "x.yaml"]) == 1
    assert capsys.readouterr().err == "cdishim-ctl: internal error: ValueError: first line second line\n"
    monkeypatch.setenv("CDISHIM_DEBUG", "1")
    with pytest.raises(ValueError):
        ctl_main.main(["validate", "x.yaml"])

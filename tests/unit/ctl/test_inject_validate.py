"""cdishim-ctl inject and validate."""

from __future__ import annotations

import json

import pytest

from cdishim.ctl.main import main
from tests.unit.builders import spec_doc


@pytest.fixture
def spec_dir(tmp_path, write_spec, monkeypatch):
    monkeypatch.setenv("CDISHIM_CONFIG", str(tmp_path / "absent.toml"))
    directory = tmp_path / "cdi"
    write_spec("v.json", {**spec_doc(a={"env": ["A=1"]}, b={"env": ["B=1"]}), "containerEdits": {"env": ["G=1"]}}, directory)
    return directory


@pytest.fixture
def oci_config(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"ociVersion": "1.0.2", "process": {"env": ["PATH=/bin"]}}))
    return path


def test_inject_prints_the_edited_config(spec_dir, oci_config, capsys):
    status = main([
        "inject", "--spec-dir", str(spec_dir), "--input", str(oci_config),
        "--annotation", "cdi.k8s.io/x=vendor.com/device=b", "vendor.com/device=a",
    ])
    out = capsys.readouterr()
    assert status == 0 and out.err == ""
    assert json.loads(out.out)["process"]["env"] == ["PATH=/bin", "G=1", "B=1", "A=1"]
    assert json.loads(oci_config.read_text())["process"]["env"] == ["PATH=/bin"]


def test_inject_annotation_on_a_config_whose_annotations_are_null(spec_dir, tmp_path, capsys):
    config = tmp_path / "null.json"
    config.write_text(json.dumps({"ociVersion": "1.0.2", "annotations": None}))
    assert main(["inject", "--spec-dir", str(spec_dir), "--input", str(config),
                 "--annotation", "cdi.k8s.io/x=vendor.com/device=a"]) == 0
    assert json.loads(capsys.readouterr().out)["process"]["env"] == ["G=1", "A=1"]


def test_inject_later_spec_dir_wins(spec_dir, oci_config, write_spec, tmp_path, capsys):
    later = tmp_path / "later"
    write_spec("v.json", spec_doc(a={"env": ["A=later"]}), later)
    assert main(["inject", "--spec-dir", str(spec_dir), "--spec-dir", str(later), "--input", str(oci_config), "vendor.com/device=a"]) == 0
    assert json.loads(capsys.readouterr().out)["process"]["env"] == ["PATH=/bin", "A=later"]


def test_inject_uses_configured_dirs_without_spec_dir(spec_dir, oci_config, monkeypatch, capsys):
    monkeypatch.setenv("CDI_SPEC_DIRS", str(spec_dir))
    assert main(["inject", "--input", str(oci_config), "vendor.com/device=a"]) == 0
    assert json.loads(capsys.readouterr().out)["process"]["env"] == ["PATH=/bin", "G=1", "A=1"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["vendor.com/device=zzz"], "cdishim-ctl: unresolvable CDI devices vendor.com/device=zzz\n"),
        (["notqualified"], 'cdishim-ctl: unqualified device "notqualified", missing vendor\n'),
        (["--annotation", "cdi.k8s.io/x=bad"], 'cdishim-ctl: annotation "cdi.k8s.io/x": invalid CDI device name "bad"'),
        (["--annotation", "novalue"], 'cdishim-ctl: --annotation "novalue": expected KEY=VALUE\n'),
    ],
)
def test_inject_errors_print_nothing_on_stdout(spec_dir, oci_config, capsys, extra, message):
    assert main(["inject", "--spec-dir", str(spec_dir), "--input", str(oci_config), *extra]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith(message)


def test_inject_bad_input_file(spec_dir, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    assert main(["inject", "--spec-dir", str(spec_dir), "--input", str(bad), "vendor.com/device=a"]) == 1
    assert "is not a JSON object" in capsys.readouterr().err


def test_validate(write_spec, tmp_path, capsys):
    good = write_spec("good.json", spec_doc(a={"env": ["A=1"]}))
    bad1 = write_spec("bad1.json", spec_doc(a={}))
    bad2 = write_spec("bad2.yaml", "cdiVersion: 0.6.0\n")
    assert main(["validate", good]) == 0
    assert capsys.readouterr().err == ""
    assert main(["validate", good, bad1, bad2]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f'invalid CDI Spec "{bad1}": invalid device "a": empty container edits')
    assert lines[1].startswith(f'failed to parse CDI Spec "{bad2}": kind: required field missing')

"""cdishim-ctl doctor on a temp node: spec dirs, host devices, engine configs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from cdishim.ctl.main import main
from tests.unit.builders import spec_doc


@pytest.fixture
def node(tmp_path, dev_dir, write_spec, monkeypatch):
    """Spec dirs with a good file, a broken one, a conflict and a missing host device."""
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    monkeypatch.setenv("CDISHIM_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # the cdishim under test
    (tmp_path / "config.toml").write_text('runtimes = ["runc"]\n')
    os.mknod(dev_dir / "gpu0", 0o666 | 0o020000, os.makedev(89, 1))
    (tmp_path / "lib.so").write_text("")
    good = tmp_path / "etc"
    write_spec("good.json", spec_doc(gpu0={"deviceNodes": [{"path": str(dev_dir / "gpu0")}],
                                           "mounts": [{"hostPath": str(tmp_path / "lib.so"), "containerPath": "/l"}]}),
               good)
    bad = tmp_path / "run"
    write_spec("broken.yaml", "kind: [\n", bad)
    write_spec("a.json", spec_doc(kind="x.com/nic", dup={"env": ["A=1"]}), bad)
    write_spec("b.json", spec_doc(kind="x.com/nic", dup={"env": ["B=1"]}), bad)
    gone = {**spec_doc(kind="y.com/fpga", f0={"deviceNodes": [{"path": str(dev_dir / "absent-node")}]}),
            "containerEdits": {"mounts": [{"hostPath": str(tmp_path / "absent.so"), "containerPath": "/a"}]}}
    write_spec("gone.json", gone, bad)
    daemon = tmp_path / "daemon.json"
    daemon.write_text(json.dumps({"runtimes": {"cdishim": {"path": shutil.which("runc")}}}))
    return tmp_path, good, bad


def doctor(capsys, *args: str) -> tuple[int, list[dict]]:
    status = main(["doctor", "-o", "json", *args])
    return status, json.loads(capsys.readouterr().out)


def lines(findings, check):
    return [(f["status"], f["message"]) for f in findings if f["check"] == check]


def test_reports_each_problem_and_fails(node, dev_dir, capsys):
    root, good, bad = node
    status, findings = doctor(capsys, "--spec-dir", str(good), "--spec-dir", str(bad), "--spec-dir", str(root / "nodir"))
    assert status == 1
    assert lines(findings, "config") == [("OK", f"{root}/config.toml: valid")]
    assert lines(findings, "runtime")[0][0] == "OK" and "runc" in lines(findings, "runtime")[0][1]
    assert lines(findings, "hook-program") == [("OK", str(Path(sys.executable).parent / "cdishim-hook"))]
    assert lines(findings, "spec-dir") == [
        ("OK", f"{good}: 1 spec file(s)"), ("OK", f"{bad}: 4 spec file(s)"), ("WARN", f"{root}/nodir: absent")]
    spec_files = lines(findings, "spec-file")
    assert [status for status, _ in spec_files] == ["OK", "OK", "OK", "FAIL", "OK"]
    assert f'failed to parse CDI Spec "{bad}/broken.yaml"' in spec_files[3][1]
    assert lines(findings, "conflict") == [("FAIL", f"x.com/nic=dup is defined by {bad}/a.json and {bad}/b.json")]
    assert lines(findings, "host-device") == [
        ("FAIL", f'y.com/fpga=f0: failed to stat CDI host device "{dev_dir}/absent-node": No such file or directory')]
    assert lines(findings, "host-mount") == [("FAIL", f"{bad}/gone.json: mount source {root}/absent.so does not exist")]
    assert all(f["hint"] for f in findings if f["status"] != "OK")


def test_healthy_node_passes(node, capsys):
    root, good, _ = node
    runtime = root / "bin" / "cdishim"
    runtime.parent.mkdir()
    runtime.write_text("#!/bin/sh\n")
    runtime.chmod(0o755)
    assert main(["configure", "--engine", "docker", "--config", str(root / "d.json"), "--runtime-path", str(runtime)]) == 0
    status, findings = doctor(capsys, "--spec-dir", str(good), "--engine-config", f"docker={root}/d.json")
    assert status == 0, findings
    assert ("OK", f"docker: runtime cdishim -> {runtime} in {root}/d.json") in lines(findings, "engine")


def test_engine_not_registered_is_a_warning_with_the_command(node, capsys):
    root, good, _ = node
    config = root / "containers.conf"
    config.write_text("[engine]\n")
    status, findings = doctor(capsys, "--spec-dir", str(good), "--engine-config", f"podman={config}")
    assert status == 0
    podman = [f for f in findings if f["check"] == "engine" and f["message"].startswith("podman")]
    assert podman == [{"status": "WARN", "check": "engine", "message": f"podman: cdishim not registered in {config}",
                       "hint": f"cdishim-ctl configure --engine podman --config {config}"}]


def test_broken_engine_config_and_config_file_fail(node, capsys, monkeypatch):
    root, good, _ = node
    (root / "config.toml").write_text("runtimes = 3\n")
    (root / "bad.toml").write_text("version = [\n")
    status, findings = doctor(capsys, "--spec-dir", str(good), "--engine-config", f"containerd={root}/bad.toml")
    assert status == 1
    assert lines(findings, "config")[0][0] == "FAIL"
    assert not lines(findings, "runtime")
    assert [s for s, m in lines(findings, "engine") if m.startswith("containerd")] == ["FAIL"]


def test_missing_hook_program_fails(node, capsys):
    root, good, _ = node
    (root / "config.toml").write_text(f'hook-program = "{root}/nowhere/cdishim-hook"\n')
    status, findings = doctor(capsys, "--spec-dir", str(good))
    assert status == 1
    assert lines(findings, "hook-program") == [("FAIL", f"cdishim-hook not found at {root}/nowhere/cdishim-hook")]


def test_text_output_is_one_line_per_check(node, capsys):
    _, good, _ = node
    main(["doctor", "--spec-dir", str(good)])
    for line in capsys.readouterr().out.splitlines():
        assert line.split()[0] in ("OK", "WARN", "FAIL")


def test_bad_engine_config_argument(capsys):
    assert main(["doctor", "--engine-config", "nerdctl=/x"]) == 1
    assert "expected ENGINE=PATH" in capsys.readouterr().err

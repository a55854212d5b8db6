"""cdishim-ctl configure: round trips on sample engine config files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cdishim import tomlread as tomllib
from cdishim.ctl.main import main

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "engines"
CDISHIM = "/usr/bin/cdishim"


def load(path: Path) -> dict[str, Any]:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)


def dig(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        data = data[key]
    return data


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#") or " # " in line]


def configure(capsys, engine: str, config: Path, *extra: str) -> tuple[int, str, str]:
    status = main(["configure", "--engine", engine, "--config", str(config), "--runtime-path", CDISHIM, *extra])
    out = capsys.readouterr()
    return status, out.out, out.err


# engine, sample, path of the runtime entry, key holding the program, path of the default setting
CASES = [
    ("docker", "daemon.json", ("runtimes", "cdishim"), ("path",), ("default-runtime",)),
    ("containerd", "containerd-v1.toml", ("plugins", "cri", "containerd", "runtimes", "cdishim"),
     ("options", "BinaryName"), ("plugins", "cri", "containerd", "default_runtime_name")),
    ("containerd", "containerd-v2.toml",
     ("plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "cdishim"), ("options", "BinaryName"),
     ("plugins", "io.containerd.grpc.v1.cri", "containerd", "default_runtime_name")),
    ("containerd", "containerd-v3.toml",
     ("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "cdishim"), ("options", "BinaryName"),
     ("plugins", "io.containerd.cri.v1.runtime", "containerd", "default_runtime_name")),
    ("podman", "containers.conf", ("engine", "runtimes"), ("cdishim", 0), ("engine", "runtime")),
    ("crio", "crio.conf", ("crio", "runtime", "runtimes", "cdishim"), ("runtime_path",),
     ("crio", "runtime", "default_runtime")),
]


@pytest.fixture(params=CASES, ids=[case[1] for case in CASES])
def case(request, tmp_path):
    engine, sample, entry, program, default = request.param
    config = tmp_path / sample
    shutil.copy(SAMPLES / sample, config)
    return engine, config, entry, program, default


def test_registers_and_keeps_everything_else(case, capsys):
    engine, config, entry, program, default = case
    original_text = config.read_text()
    status, out, err = configure(capsys, engine, config, "--set-default")
    assert status == 0 and out == ""
    edited = load(config)
    value = dig(edited, *entry)
    assert (value[program[0]][program[1]] if len(program) == 2 else value[program[0]]) == CDISHIM
    assert dig(edited, *default) == "cdishim"
    new_text = config.read_text()
    assert comments(original_text) == [c for c in comments(new_text) if c in comments(original_text)]
    assert set(comments(original_text)) <= set(comments(new_text))
    backups = list(config.parent.glob(config.name + ".bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == original_text
    assert f"wrote {config} (backup: {backups[0]})" in err


def test_other_settings_survive(case, capsys):
    engine, config, entry, _, _ = case
    before = load(config)
    assert configure(capsys, engine, config)[0] == 0
    after = load(config)

    def strip(data: dict[str, Any]) -> dict[str, Any]:
        data = json.loads(json.dumps(data))
        parent = dig(data, *entry[:-1])
        if engine == "podman":
            parent[entry[-1]].pop("cdishim", None)
        else:
            parent.pop(entry[-1], None)
        return data

    assert strip(after) == strip(before)


def test_second_run_changes_nothing(case, capsys):
    engine, config, *_ = case
    assert configure(capsys, engine, config, "--set-default")[0] == 0
    text, inode = config.read_text(), config.stat().st_ino
    status, _, err = configure(capsys, engine, config, "--set-default")
    assert status == 0 and "already registered; nothing to do" in err
    assert config.read_text() == text and config.stat().st_ino == inode
    assert len(list(config.parent.glob(config.name + ".bak-*"))) == 1


def test_dry_run_prints_a_diff_and_writes_nothing(case, capsys):
    engine, config, *_ = case
    original = config.read_text()
    status, out, _ = configure(capsys, engine, config, "--dry-run")
    assert status == 0
    assert out.startswith(f"--- {config}\n+++ {config}\n@@ ")
    assert "\n+" in out and CDISHIM in out
    assert config.read_text() == original
    assert not list(config.parent.glob(config.name + ".bak-*"))


def test_containerd_copies_the_default_runtime(tmp_path, capsys):
    config = tmp_path / "config.toml"
    shutil.copy(SAMPLES / "containerd-v3.toml", config)
    assert configure(capsys, "containerd", config)[0] == 0
    runtimes = dig(load(config), "plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes")
    assert runtimes["cdishim"] == {
        "runtime_type": "io.containerd.runc.v2",
        "container_annotations": ["example.com/*", "cdi.k8s.io/*"],
        "options": {"BinaryName": CDISHIM, "SystemdCgroup": False, "NoPivotRoot": True},
    }
    assert runtimes["fast"]["options"]["BinaryName"] == "/usr/bin/crun"


def test_containerd_keeps_an_existing_entry_and_fixes_what_it_needs(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cdishim]\n'
        '  runtime_type = "io.containerd.runc.v1"  # old shim\n  privileged_without_host_devices = true\n'
    )
    assert configure(capsys, "containerd", config)[0] == 0
    entry = dig(load(config), "plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "cdishim")
    assert entry == {"runtime_type": "io.containerd.runc.v2", "privileged_without_host_devices": True,
                     "container_annotations": ["cdi.k8s.io/*"], "options": {"BinaryName": CDISHIM}}


@pytest.mark.parametrize("engine, expected", [
    ("docker", {"runtimes": {"cdishim": {"path": CDISHIM}}}),
    ("containerd", {"version": 2, "plugins": {"io.containerd.grpc.v1.cri": {"containerd": {"runtimes": {"cdishim": {
        "runtime_type": "io.containerd.runc.v2", "container_annotations": ["cdi.k8s.io/*"],
        "options": {"BinaryName": CDISHIM}}}}}}}),
    ("podman", {"engine": {"runtimes": {"cdishim": [CDISHIM]}}}),
    ("crio", {"crio": {"runtime": {"runtimes": {"cdishim": {"runtime_path": CDISHIM, "runtime_type": "oci"}}}}}),
])
def test_missing_file_is_created(tmp_path, capsys, engine, expected):
    config = tmp_path / "sub" / ("daemon.json" if engine == "docker" else "config.toml")
    status, _, err = configure(capsys, engine, config)
    assert status == 0 and "backup" not in err
    assert load(config) == expected


@pytest.mark.parametrize("engine, content, message", [
    ("docker", "{not json", "invalid JSON"),
    ("docker", "[]", "expected a JSON object"),
    ("docker", '{"runtimes": []}', '"runtimes" must be an object'),
    ("containerd", "version = [", "invalid TOML"),
    ("containerd", "version = 9\n", "unsupported containerd config version 9"),
    ("podman", "[engine\n", "invalid TOML"),
])
def test_bad_file_is_a_one_line_error_and_left_alone(tmp_path, capsys, engine, content, message):
    config = tmp_path / "config"
    config.write_text(content)
    status, out, err = configure(capsys, engine, config)
    assert status == 1 and out == ""
    assert message in err and err.count("\n") == 1 and str(config) in err
    assert config.read_text() == content
    assert not list(tmp_path.glob("config.bak-*"))


def test_relative_runtime_path_is_refused(tmp_path, capsys):
    status = main(["configure", "--engine", "docker", "--config", str(tmp_path / "d.json"), "--runtime-path", "cdishim"])
    assert status == 1 and "must be an absolute path" in capsys.readouterr().err

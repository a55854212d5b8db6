"""The dry run shows what the runtime does: `cdishim-ctl inject --input config.json` prints exactly
the config.json that `cdishim create` writes, or fails with the same one-line error.

A table of bundles runs both real programs (the runtime with a stand-in for
runc, since only the file it leaves behind matters here); a hypothesis
property runs both entry points in-process over generated bundles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BIN = Path(sys.executable).parent
K8S = {"io.kubernetes.cri.sandbox-id": "abc"}
SPECS = {
    "gpu.json": {
        "cdiVersion": "1.1.0", "kind": "vendor.com/gpu", "containerEdits": {"env": ["GPU_DRIVER=1"]},
        "devices": [
            {"name": "d0", "containerEdits": {"env": ["D=0"], "deviceNodes": [{"path": "/dev/null"}],
                                              "mounts": [{"hostPath": "/etc/hostname", "containerPath": "/gpu/0"}]}},
            {"name": "d1", "containerEdits": {"env": ["D=1"], "deviceNodes": [{"path": "/dev/zero", "type": "c"}]}},
            {"name": "hooked", "containerEdits": {"hooks": [
                {"hookName": "createContainer", "path": "/usr/bin/vendor-hook", "args": ["vendor-hook", "-v"],
                 "env": ["A=1"], "timeout": 5}]}},
            {"name": "net", "containerEdits": {"netDevices": [{"hostInterfaceName": "eth9", "name": "net0"}]}},
        ],
    },
    "nic.yaml": 'cdiVersion: "0.6.0"\nkind: other.com/nic\ndevices:\n- name: n0\n  containerEdits:\n    env: [NIC=0]\n',
}


def base_config(annotations=None, env=()) -> dict:
    config = {"ociVersion": "1.0.2", "process": {"env": ["PATH=/bin", *env], "user": {"uid": 1000, "gid": 1000}},
              "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]}
    if annotations is not None:
        config["annotations"] = annotations
    return config


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A spec dir, a stand-in runc, and a settings file naming both."""
    root = tmp_path_factory.mktemp("parity")
    spec_dir = root / "cdi"
    spec_dir.mkdir()
    for name, content in SPECS.items():
        (spec_dir / name).write_text(content if isinstance(content, str) else json.dumps(content))
    runc = root / "runc"
    runc.write_text("#!/bin/sh\nexit 0\n")
    runc.chmod(0o755)
    return root, spec_dir, runc


def write_settings(root: Path, spec_dir: Path, runc: Path, extra: str = "") -> Path:
    path = root / f"config-{abs(hash(extra)):x}.toml"
    runtimes = "" if extra.startswith("runtimes =") else f'runtimes = ["{runc}"]\n'
    path.write_text(f'{runtimes}spec-dirs = ["{spec_dir}"]\ncache-dir = "{root / "cache"}"\n{extra}')
    return path


CASES = {
    "annotations": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d1,vendor.com/gpu=d0"}), ""),
    "annotations-and-env": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d0"}, ["CDI_DEVICES=other.com/nic=n0"]), ""),
    "env-auto": (base_config(None, ["CDI_DEVICES=vendor.com/gpu=d0"]), ""),
    "env-auto-kubernetes": (base_config(K8S, ["CDI_DEVICES=vendor.com/gpu=d0"]), ""),
    "env-never": (base_config({}, ["CDI_DEVICES=vendor.com/gpu=d0"]), 'env-requests = "never"\n'),
    "env-always-kubernetes": (base_config(K8S, ["CDI_DEVICES=vendor.com/gpu=d1"]), 'env-requests = "always"\n'),
    "kind-refused": (base_config({"cdi.k8s.io/a": "other.com/nic=n0"}), 'allowed-kinds = ["vendor.com/*"]\n'),
    "env-kind-refused": (base_config({}, ["CDI_DEVICES=other.com/nic=n0"]), 'allowed-kinds = ["vendor.com/*"]\n'),
    "too-many-devices": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d0,vendor.com/gpu=d1"}),
                         "max-devices-per-request = 1\n"),
    "hooks": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=hooked"}), ""),
    "hooks-unwrapped": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=hooked"}), "wrap-hooks = false\n"),
    "net-devices": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=net"}), ""),
    "nothing-asked": (base_config({"other": "x"}), ""),
    "already-injected": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d0", "cdishim.injected-devices": "vendor.com/gpu=d0"}), ""),
    "injected-other-devices": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d1",
                                            "cdishim.injected-devices": "vendor.com/gpu=d0"}), ""),
    "unresolvable": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d7"}), ""),
    "bad-name": (base_config({"cdi.k8s.io/a": "vendor.com/gpu"}), ""),
    "annotations-not-an-object": (dict(base_config(), annotations=["x"]), ""),
    "annotations-null-env-honoured": (dict(base_config(None, ["CDI_DEVICES=vendor.com/gpu=d0"]), annotations=None), ""),
    "no-low-level-runtime": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d0"}), 'runtimes = ["/nonexistent/runc"]\n'),
    "lone-surrogate-in-config": (base_config({"cdi.k8s.io/a": "vendor.com/gpu=d0"}, ["X=\ud800"]), ""),
}


def outcome_of_create(config_json: Path, env: dict) -> tuple[int, str]:
    result = subprocess.run([str(BIN / "cdishim"), "create", "--bundle", str(config_json.parent), "parity"],
                            env=env, capture_output=True, text=True, timeout=60)
    return result.returncode, result.stderr.removeprefix("cdishim: ")


def outcome_of_dry_run(config_json: Path, env: dict) -> tuple[int, str, str]:
    result = subprocess.run([str(BIN / "cdishim-ctl"), "inject", "--input", str(config_json)],
                            env=env, capture_output=True, text=True, timeout=60)
    errors = [line for line in result.stderr.splitlines(keepends=True) if not line.startswith("cdishim-ctl: note: ")]
    return result.returncode, "".join(errors).removeprefix("cdishim-ctl: "), result.stdout


def in_order(text: str) -> str:
    """A JSON document with its key order kept and its layout normalised."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_dry_run_prints_what_create_writes(case, node, tmp_path):
    root, spec_dir, runc = node
    config, extra_settings = CASES[case]
    env = {**os.environ, "CDISHIM_CONFIG": str(write_settings(root, spec_dir, runc, extra_settings))}
    for name in ("CDI_SPEC_DIRS", "CDISHIM_CACHE_DIR", "CDISHIM_HANDED_OVER_TO", "CDISHIM_DEBUG"):
        env.pop(name, None)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    config_json = bundle / "config.json"
    config_json.write_text(json.dumps(config))  # ASCII: a lone surrogate travels as its \\ud800 escape
    original = config_json.read_text()
    dry_status, dry_error, printed = outcome_of_dry_run(config_json, env)
    assert config_json.read_text() == original  # the dry run changes nothing
    status, error = outcome_of_create(config_json, env)
    assert (dry_status, dry_error) == (status, error)
    if status == 0:
        assert in_order(printed) == in_order(config_json.read_text())
    else:
        assert error.count("\n") == 1 and config_json.read_text() == original


# --- the same, in-process, over generated bundles ------------------------------------------------

names = st.sampled_from(["vendor.com/gpu=d0", "vendor.com/gpu=d1", "vendor.com/gpu=hooked", "vendor.com/gpu=net",
                         "other.com/nic=n0", "vendor.com/gpu=missing", "not-qualified"])
device_lists = st.lists(names, min_size=1, max_size=3).map(",".join)
annotations = st.dictionaries(st.sampled_from(["cdi.k8s.io/a", "cdi.k8s.io/b", "io.kubernetes.cri.sandbox-id",
                                               "cdishim.injected-devices", "other"]), device_lists, max_size=3)
env_entries = st.lists(st.one_of(device_lists.map(lambda value: f"CDI_DEVICES={value}"), st.just("A=1")), max_size=2)
settings_lines = st.tuples(
    st.sampled_from(["", 'env-requests = "never"\n', 'env-requests = "always"\n']),
    st.sampled_from(["", 'allowed-kinds = ["vendor.com/*"]\n']),
    st.sampled_from(["", "max-devices-per-request = 2\n"]),
    st.sampled_from(["", "wrap-hooks = false\n"]),
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(annotations=st.one_of(st.none(), annotations), env=env_entries, extra_settings=settings_lines)
def test_dry_run_and_create_agree_on_generated_bundles(node, monkeypatch, capsys, annotations, env, extra_settings):
    from cdishim.ctl.main import main as ctl_main
    from cdishim.errors import CdishimError
    from cdishim.oci.runtime import RuntimeFacts
    from cdishim.settings import load_settings
    from cdishim.shim.create import inject_into_bundle

    root, spec_dir, runc = node
    monkeypatch.setenv("CDISHIM_CONFIG", str(write_settings(root, spec_dir, runc, extra_settings)))
    for name in ("CDI_SPEC_DIRS", "CDISHIM_CACHE_DIR", "CDISHIM_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "argv", [str(BIN / "cdishim-ctl")])  # where the dry run looks for cdishim
    bundle = root / "bundle"
    bundle.mkdir(exist_ok=True)
    config_json = bundle / "config.json"
    config_json.write_text(json.dumps(base_config(annotations, env)))

    capsys.readouterr()
    dry_status = ctl_main(["inject", "--input", str(config_json)])
    printed, dry_stderr = capsys.readouterr()
    dry_error = "".join(line for line in dry_stderr.splitlines(keepends=True) if " note: " not in line)

    loaded = load_settings()
    try:
        inject_into_bundle(str(bundle), loaded, RuntimeFacts(loaded.runtimes, str(BIN / "cdishim"), str(runc)))
    except CdishimError as err:
        assert (dry_status, dry_error) == (1, f"cdishim-ctl: {err}\n")
    else:
        assert dry_status == 0 and dry_error == ""
        assert in_order(printed) == in_order(config_json.read_text())

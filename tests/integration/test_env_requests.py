"""CDI_DEVICES requests and their policy, through cdishim and real runc."""

from __future__ import annotations

import json
import os

GPUS = "mock.com/gpu=device_1,mock.com/gpu=device_2"
SHOW = "ls /dev/mock; env | grep -c '^CDI_DEVICES=' || true"


def with_env(bundle, *env: str, annotations: dict[str, str] | None = None):
    path = bundle / "config.json"
    config = json.loads(path.read_text())
    config["process"]["env"] += list(env)
    config["annotations"].update(annotations or {})
    path.write_text(json.dumps(config))
    return bundle


def test_env_request_gets_devices_and_is_removed_from_env(runtime, make_bundle):
    bundle = with_env(make_bundle({}, SHOW), f"CDI_DEVICES={GPUS}")
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"env-{os.getpid()}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["device_1", "device_2", "0"]


def test_kubernetes_container_env_request_is_refused_and_logged(runtime, make_bundle, tmp_path):
    log = tmp_path / "cdishim.log"
    (tmp_path / "cdishim.toml").write_text(f'log-file = "{log}"\nlog-level = "info"\n')
    bundle = with_env(make_bundle({}, SHOW), f"CDI_DEVICES={GPUS}",
                      annotations={"io.kubernetes.cri.sandbox-id": "0123", "io.kubernetes.cri.container-type": "container"})
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"pod-{os.getpid()}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]  # no devices; the env var is left as it was
    assert "CDI_DEVICES ignored" in log.read_text() and "Kubernetes container" in log.read_text()


def test_allowed_kinds_refusal_fails_the_create(runtime, make_bundle, tmp_path):
    (tmp_path / "cdishim.toml").write_text('allowed-kinds = ["other.com/*"]\n')
    bundle = with_env(make_bundle({}, SHOW), f"CDI_DEVICES={GPUS}")
    before = (bundle / "config.json").read_bytes()
    result = runtime.cdishim_cmd("run", "--bundle", str(bundle), f"refused-{os.getpid()}")
    assert result.returncode == 1
    assert "not allowed: allowed-kinds is other.com/*" in result.stderr
    assert (bundle / "config.json").read_bytes() == before


def test_retried_create_with_env_request(runtime, make_bundle):
    bundle = with_env(make_bundle({}, "true"), f"CDI_DEVICES={GPUS}")
    for _ in range(2):
        result = runtime.cdishim_cmd("create", "--bundle", str(bundle), "env-retry", capture_output=False,
                                     stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
        assert result.returncode == 0
        assert runtime.cdishim_cmd("delete", "--force", "env-retry").returncode == 0
    config = json.loads((bundle / "config.json").read_text())
    assert [d["path"] for d in config["linux"]["devices"]].count("/dev/mock/device_1") == 1

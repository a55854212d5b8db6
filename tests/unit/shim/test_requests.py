"""Device requests from annotations and CDI_DEVICES, under the env-request policy."""

from __future__ import annotations

import pytest

from cdishim.config import Config
from cdishim.errors import RequestError
from cdishim.shim.requests import gather_requests, remove_env_request

GPU0, GPU1, NIC = "mock.com/gpu=device_0", "mock.com/gpu=device_1", "x.com/nic=eth"
CONTAINERD_POD = {"io.kubernetes.cri.sandbox-id": "abc", "io.kubernetes.cri.container-type": "container"}
CRIO_POD = {"io.kubernetes.cri-o.SandboxID": "abc"}
PODMAN = {"io.kubernetes.cri-o.Created": "2026-01-01", "io.kubernetes.cri-o.TTY": "false"}


def oci(*env: str) -> dict:
    return {"process": {"env": ["PATH=/bin", *env]}}


@pytest.mark.parametrize("policy, annotations, env, devices, honoured, refused", [
    ("auto", {}, f"CDI_DEVICES={GPU0},{GPU1}", (GPU0, GPU1), True, False),
    ("auto", CONTAINERD_POD, f"CDI_DEVICES={GPU0}", (), False, True),
    ("auto", CRIO_POD, f"CDI_DEVICES={GPU0}", (), False, True),
    ("auto", PODMAN, f"CDI_DEVICES={GPU0}", (GPU0,), True, False),  # podman is not Kubernetes
    ("always", CONTAINERD_POD, f"CDI_DEVICES={GPU0}", (GPU0,), True, False),
    ("never", {}, f"CDI_DEVICES={GPU0}", (), False, True),
    ("auto", {"cdi.k8s.io/a": GPU1}, f"CDI_DEVICES={GPU0},{GPU1}", (GPU1, GPU0), True, False),
    ("auto", {**CONTAINERD_POD, "cdi.k8s.io/a": GPU1}, f"CDI_DEVICES={GPU0}", (GPU1,), False, True),
    ("auto", {}, "CDI_DEVICES=", (), True, False),
    ("auto", {}, "cdi_devices=" + GPU0, (), False, False),  # env names are case-sensitive
    ("auto", {}, "XCDI_DEVICES=" + GPU0, (), False, False),
])
def test_policy_table(policy, annotations, env, devices, honoured, refused):
    requests = gather_requests(oci(env), annotations, Config(env_requests=policy))
    assert requests.devices == devices
    assert requests.env_honoured is honoured
    assert bool(requests.env_refusal) is refused


def test_last_cdi_devices_wins():
    requests = gather_requests(oci(f"CDI_DEVICES={GPU0}", f"CDI_DEVICES={GPU1}"), {}, Config())
    assert requests.devices == (GPU1,)


@pytest.mark.parametrize("value", [f"{GPU0},", f" {GPU0}", "gpu0", f"{GPU0},,{GPU1}"])
def test_malformed_env_request_names_the_variable(value):
    with pytest.raises(RequestError, match=r"^env CDI_DEVICES: invalid CDI device name"):
        gather_requests(oci(f"CDI_DEVICES={value}"), {}, Config())


@pytest.mark.parametrize("allowed, devices, ok", [
    (None, [GPU0, NIC], True),
    (("mock.com/*",), [GPU0, GPU1], True),
    (("mock.com/*",), [GPU0, NIC], False),
    (("mock.com/gpu",), [GPU0], True),
    (("MOCK.com/*",), [GPU0], False),  # kinds are matched case-sensitively
    ((), [GPU0], False),
])
def test_allowed_kinds(allowed, devices, ok):
    annotations = {"cdi.k8s.io/a": ",".join(devices)}
    if ok:
        assert gather_requests(oci(), annotations, Config(allowed_kinds=allowed)).devices == tuple(devices)
    else:
        with pytest.raises(RequestError, match=r"not allowed: allowed-kinds is"):
            gather_requests(oci(), annotations, Config(allowed_kinds=allowed))


def test_allowed_kinds_applies_to_env_requests_too():
    with pytest.raises(RequestError, match=NIC):
        gather_requests(oci(f"CDI_DEVICES={NIC}"), {}, Config(allowed_kinds=("mock.com/*",)))


def test_remove_env_request_keeps_the_rest():
    config = oci(f"CDI_DEVICES={GPU0}", "A=1", f"CDI_DEVICES={GPU1}")
    remove_env_request(config)
    assert config["process"]["env"] == ["PATH=/bin", "A=1"]

"""Device requests from annotations and CDI_DEVICES, under the env-request policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdishim.cdi.names import parse_qualified_name
from cdishim.errors import RequestError
from cdishim.injection.requests import gather_requests, remove_env_request
from cdishim.settings import Settings

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
    requests = gather_requests(oci(env), annotations, Settings(env_requests=policy))
    assert requests.devices == devices
    assert requests.env_honoured is honoured
    assert bool(requests.env_refusal) is refused


def test_last_cdi_devices_wins():
    requests = gather_requests(oci(f"CDI_DEVICES={GPU0}", f"CDI_DEVICES={GPU1}"), {}, Settings())
    assert requests.devices == (GPU1,)


@pytest.mark.parametrize("value", [f"{GPU0},", f" {GPU0}", "gpu0", f"{GPU0},,{GPU1}"])
def test_malformed_env_request_names_the_variable(value):
    with pytest.raises(RequestError, match=r"^env CDI_DEVICES: invalid CDI device name"):
        gather_requests(oci(f"CDI_DEVICES={value}"), {}, Settings())


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
        assert gather_requests(oci(), annotations, Settings(allowed_kinds=allowed)).devices == tuple(devices)
    else:
        with pytest.raises(RequestError, match=r"not allowed: allowed-kinds is"):
            gather_requests(oci(), annotations, Settings(allowed_kinds=allowed))


def test_allowed_kinds_applies_to_env_requests_too():
    with pytest.raises(RequestError, match=NIC):
        gather_requests(oci(f"CDI_DEVICES={NIC}"), {}, Settings(allowed_kinds=("mock.com/*",)))


def test_remove_env_request_keeps_the_rest():
    config = oci(f"CDI_DEVICES={GPU0}", "A=1", f"CDI_DEVICES={GPU1}")
    remove_env_request(config)
    assert config["process"]["env"] == ["PATH=/bin", "A=1"]


def test_annotation_value_size_limit_names_the_key():
    value = ",".join(f"mock.com/gpu=device_{n}" for n in range(20))
    with pytest.raises(RequestError, match=r'^annotation "cdi.k8s.io/big": value is larger than max-annotation-bytes \(64\)$'):
        gather_requests(oci(), {"cdi.k8s.io/big": value}, Settings(max_annotation_bytes=64))
    assert len(gather_requests(oci(), {"cdi.k8s.io/big": value}, Settings()).devices) == 20


def test_env_value_size_limit():
    with pytest.raises(RequestError, match=r"^env CDI_DEVICES: value is larger than max-annotation-bytes"):
        gather_requests(oci(f"CDI_DEVICES={GPU0},{GPU1}"), {}, Settings(max_annotation_bytes=20))


def test_device_count_limit_counts_unique_devices_from_both_sources():
    annotations = {"cdi.k8s.io/a": f"{GPU0},{GPU1}", "cdi.k8s.io/b": GPU0}
    assert len(gather_requests(oci(f"CDI_DEVICES={GPU1}"), annotations, Settings(max_devices_per_request=2)).devices) == 2
    with pytest.raises(RequestError, match=r"^3 CDI devices requested; max-devices-per-request is 2$"):
        gather_requests(oci(f"CDI_DEVICES={NIC}"), annotations, Settings(max_devices_per_request=2))


# Spelling tricks must not turn an env request into an honoured one, nor let a kind past allowed-kinds.
@pytest.mark.parametrize("entry", [
    f"cdi_devices={GPU0}", f"Cdi_Devices={GPU0}", f" CDI_DEVICES={GPU0}", f"CDI_DEVICES ={GPU0}",
    f"CDI_DEVICES\t={GPU0}", f"CDI\u200b_DEVICES={GPU0}", f"\u0421DI_DEVICES={GPU0}",  # zero-width space, Cyrillic C
])
def test_env_name_look_alikes_request_nothing(entry):
    requests = gather_requests(oci(entry), {}, Settings(env_requests="always"))
    assert requests.devices == () and not requests.env_honoured


@pytest.mark.parametrize("annotations", [
    {"io.kubernetes.cri.sandbox-id": "x"},
    {"io.kubernetes.cri.container-type": "container"},
    {"io.kubernetes.cri-o.SandboxID": "x"},
])
def test_kubernetes_marker_alone_is_enough_to_refuse(annotations):
    requests = gather_requests(oci(f"CDI_DEVICES={GPU0}"), annotations, Settings())
    assert requests.devices == () and requests.env_refusal


@pytest.mark.parametrize("device", [
    "MOCK.com/gpu=device_0",  # case: a different kind, outside the glob
    "mock.com/gpu =device_0",  # whitespace: not a valid name
    "m\u043eck.com/gpu=device_0",  # Cyrillic o: not a valid name
    "other.com/gpu=all",  # `all` is just a device of its kind
])
def test_allowed_kinds_cannot_be_sidestepped(device):
    with pytest.raises(RequestError):
        gather_requests(oci(), {"cdi.k8s.io/a": device}, Settings(allowed_kinds=("mock.com/*",)))
    with pytest.raises(RequestError):
        gather_requests(oci(f"CDI_DEVICES={device}"), {}, Settings(allowed_kinds=("mock.com/*",)))


def test_duplicate_keys_in_config_json_cannot_smuggle_a_request(tmp_path):
    """Two "annotations" objects: JSON decoding keeps the last, and so does runc."""
    from cdishim.oci.bundle import load_config_json

    path = tmp_path / "config.json"
    path.write_text(f'{{"annotations": {{"cdi.k8s.io/a": "other.com/x=y"}}, "annotations": {{"cdi.k8s.io/a": "{GPU0}"}}}}')
    config = load_config_json(str(path))
    assert gather_requests(config, config["annotations"], Settings(allowed_kinds=("mock.com/*",))).devices == (GPU0,)

request_text = st.text(alphabet="mock.com/gpu=device_01,é =\t", max_size=30)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["cdi.k8s.io/a", "cdi.k8s.io/b", "CDI.k8s.io/c", "other", "io.kubernetes.cri.sandbox-id"]),
                       st.one_of(request_text, st.integers(), st.none()), max_size=4),
       st.lists(st.one_of(st.builds("CDI_DEVICES={}".format, request_text), st.sampled_from(["A=1", "CDI_DEVICES"]),
                          st.integers()), max_size=3),
       st.sampled_from(["auto", "always", "never"]),
       st.one_of(st.none(), st.lists(st.sampled_from(["mock.com/*", "x.com/y", "*"]), max_size=2).map(tuple)))
def test_requests_are_valid_names_or_a_request_error(annotations, env, policy, allowed):
    config = Settings(env_requests=policy, allowed_kinds=allowed)
    try:
        requests = gather_requests({"process": {"env": env}}, annotations, config)
    except RequestError as err:
        assert "\n" not in str(err)
        return
    for device in requests.devices:
        parse_qualified_name(device)
    assert len(set(requests.devices)) == len(requests.devices)

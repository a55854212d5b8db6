"""Property tests of the edit applier: random specs on random (often broken) OCI configs.

Applying either raises a one-line `ApplyError`, or leaves a config that is
valid JSON with the shapes runc expects where cdishim wrote; and applying the
same edits to an equal config always gives an equal result.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from cdishim import jsonfast
from cdishim.cdi.edits import apply_edits
from cdishim.cdi.inject import collect_edits
from cdishim.cdi.registry import ResolvedDevice
from cdishim.cdi.spec import parse_spec
from cdishim.errors import ApplyError, SpecError
from tests.unit.cdi.test_spec_properties import valid_documents

HOOK_NAMES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(alphabet="ab=/", max_size=4))
users = st.fixed_dictionaries({}, optional={"uid": st.one_of(st.integers(0, 2000), scalars),
                                            "gid": st.one_of(st.integers(0, 2000), scalars)})
processes = st.fixed_dictionaries({}, optional={
    "env": st.one_of(st.lists(st.one_of(st.sampled_from(["PATH=/bin", "A=0", "B"]), scalars), max_size=4), scalars),
    "user": st.one_of(users, scalars),
})
linuxes = st.fixed_dictionaries({}, optional={
    "devices": st.one_of(st.lists(st.one_of(st.fixed_dictionaries({"path": st.sampled_from(["/dev/null", "/dev/x"])}),
                                            scalars), max_size=2), scalars),
    "namespaces": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["user", "mount", "network"])}), max_size=2),
    "resources": st.one_of(st.fixed_dictionaries({}, optional={"devices": st.one_of(st.lists(st.just({}), max_size=1),
                                                                                      scalars)}), scalars),
})
mount_lists = st.lists(st.one_of(
    st.fixed_dictionaries({"destination": st.sampled_from(["/proc", "/usr/lib/libx.so", "/a/b", "/dev/card0"]),
                           "source": st.just("src")}), scalars), max_size=3)
oci_configs = st.fixed_dictionaries({}, optional={
    "ociVersion": st.just("1.0.2"),
    "process": st.one_of(processes, scalars),
    "linux": st.one_of(linuxes, scalars),
    "mounts": st.one_of(mount_lists, scalars),
    "hooks": st.one_of(st.dictionaries(st.sampled_from(HOOK_NAMES), st.one_of(
        st.lists(st.fixed_dictionaries({"path": st.just("/bin/true")}), max_size=2), scalars), max_size=2), scalars),
    "annotations": st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
})


def all_edits(document):
    try:
        spec = parse_spec(json.dumps(document).encode(), "/spec.json", fmt="json")
    except SpecError:
        assume(False)
    return collect_edits(ResolvedDevice(qualified_name=f"{spec.kind}={d.name}", device=d, spec=spec)
                         for d in spec.devices)


def check_shapes(config, edits) -> None:
    """Where cdishim wrote, the config has the types runc decodes."""
    if edits.env:
        assert all(isinstance(entry, str) for entry in config["process"]["env"])
    if edits.device_nodes:
        for device in config["linux"]["devices"]:
            assert isinstance(device, dict)
        for device in config["linux"]["devices"][-len(edits.device_nodes):]:
            assert isinstance(device["path"], str) and device["type"] in "bcup"
            assert isinstance(device["major"], int) and isinstance(device["minor"], int)
    if edits.mounts:
        assert all(isinstance(m, dict) for m in config["mounts"])
        destinations = [m.get("destination") for m in config["mounts"]]
        assert all(mount.container_path in destinations for mount in edits.mounts)
    for hook in edits.hooks:
        assert any(h["path"] == hook.path for h in config["hooks"][hook.hook_name])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(valid_documents, oci_configs)
def test_apply_raises_apply_error_or_writes_valid_deterministic_json(document, config):
    edits = all_edits(document)
    first, second = copy.deepcopy(config), copy.deepcopy(config)
    try:
        apply_edits(first, edits)
    except ApplyError as err:
        event("ApplyError")
        assert "\n" not in str(err)
        with pytest.raises(ApplyError) as again:
            apply_edits(second, edits)
        assert str(again.value) == str(err)
        return
    event("applied")
    apply_edits(second, edits)
    assert first == second
    assert jsonfast.loads(jsonfast.dumps(first)) == first
    check_shapes(first, edits)

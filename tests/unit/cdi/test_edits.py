"""Applying container edits to an OCI spec.

The first table reproduces the reference library's documented results
(`pkg/cdi/container-edits_test.go`, TestApplyContainerEdits). A device
node's missing fileMode is filled from the host node (0666 for /dev/null),
as the reference does since it began filling file modes.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from cdishim.cdi.decode import _edits
from cdishim.cdi.edits import apply_edits, merge_edits
from cdishim.cdi.inject import collect_edits
from cdishim.cdi.registry import ResolvedDevice
from cdishim.cdi.spec import parse_spec
from cdishim.errors import ApplyError
from tests.unit.builders import spec_doc

DEV_NULL_MODE = stat.S_IMODE(os.stat("/dev/null").st_mode)
NULL_RULE = {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}


def applied(config, container_edits):
    """*config* after applying *container_edits* in place."""
    apply_edits(config, container_edits)
    return config


def edits(**raw):
    """ContainerEdits from JSON-style keyword arguments."""
    return _edits(raw, "containerEdits")


ALL_HOOKS = [
    {"hookName": "prestart", "path": "/usr/local/bin/prestart-vendor-hook", "args": ["--verbose"], "env": ["VENDOR_ENV1=value1"]},
    {"hookName": "createRuntime", "path": "/usr/local/bin/cr-vendor-hook", "args": ["--debug"], "env": ["VENDOR_ENV2=value2"]},
    {"hookName": "createContainer", "path": "/usr/local/bin/cc-vendor-hook", "args": ["--create"], "env": ["VENDOR_ENV3=value3"]},
    {"hookName": "startContainer", "path": "/usr/local/bin/sc-vendor-hook", "args": ["--start"], "env": ["VENDOR_ENV4=value4"]},
    {"hookName": "poststart", "path": "/usr/local/bin/poststart-vendor-hook", "env": ["VENDOR_ENV5=value5"]},
    {"hookName": "poststop", "path": "/usr/local/bin/poststop-vendor-hook"},
]

REFERENCE_CASES = [
    ("empty spec, empty edits", {}, {}, {}),
    ("empty spec, env var", {}, {"env": ["BAR=BARVALUE1"]}, {"process": {"env": ["BAR=BARVALUE1"]}}),
    (
        "empty spec, device",
        {},
        {"deviceNodes": [{"path": "/dev/null"}]},
        {
            "linux": {
                "devices": [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": DEV_NULL_MODE}],
                "resources": {"devices": [NULL_RULE]},
            }
        },
    ),
    (
        "empty spec, device, env var",
        {},
        {"env": ["FOO=BAR"], "deviceNodes": [{"path": "/dev/null", "type": "c"}]},
        {
            "process": {"env": ["FOO=BAR"]},
            "linux": {
                "devices": [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": DEV_NULL_MODE}],
                "resources": {"devices": [NULL_RULE]},
            },
        },
    ),
    (
        "empty spec, mount",
        {},
        {"mounts": [{"hostPath": "/dev/host-vendorctl", "containerPath": "/dev/cntr-vendorctl"}]},
        {"mounts": [{"destination": "/dev/cntr-vendorctl", "source": "/dev/host-vendorctl"}]},
    ),
    (
        "empty spec, hooks",
        {},
        {"hooks": ALL_HOOKS},
        {
            "hooks": {
                hook["hookName"]: [{key: value for key, value in hook.items() if key != "hookName"}]
                for hook in ALL_HOOKS
            }
        },
    ),
    (
        "empty spec, rdt",
        {},
        {"intelRdt": {"closID": "clos-1", "l3CacheSchema": "L3:0=ff;1=ff", "memBwSchema": "MB:0=50;1=50", "enableMonitoring": True}},
        {"linux": {"intelRdt": {"closID": "clos-1", "l3CacheSchema": "L3:0=ff;1=ff", "memBwSchema": "MB:0=50;1=50", "enableMonitoring": True}}},
    ),
    (
        "non-empty spec, overriding rdt",
        {"linux": {"intelRdt": {"closID": "clos-1", "l3CacheSchema": "L3:0=ff", "memBwSchema": "MB:0=100", "enableMonitoring": True}}},
        {"intelRdt": {"closID": "clos-2", "l3CacheSchema": "L3:0=f"}},
        {"linux": {"intelRdt": {"closID": "clos-2", "l3CacheSchema": "L3:0=f"}}},
    ),
    ("additional GIDs are applied", {}, {"additionalGids": [4, 5, 6]}, {"process": {"user": {"additionalGids": [4, 5, 6]}}}),
    ("duplicate GIDs are ignored", {}, {"additionalGids": [4, 5, 6, 5, 6, 4]}, {"process": {"user": {"additionalGids": [4, 5, 6]}}}),
    ("additional GID 0 is skipped", {}, {"additionalGids": [0]}, {}),
]


@pytest.mark.parametrize("name, spec, raw_edits, expected", REFERENCE_CASES, ids=[case[0] for case in REFERENCE_CASES])
def test_reference_apply_results(name, spec, raw_edits, expected):
    assert applied(spec, edits(**raw_edits)) == expected


# --- env ---------------------------------------------------------------------


def test_env_replaces_existing_keys_in_place_and_appends_new_ones():
    config = {"process": {"env": ["PATH=/bin", "A=1", "B=2"]}}
    result = applied(config, edits(env=["A=x", "C=3", "C=4", "PATH=/usr/bin"]))
    assert result["process"]["env"] == ["PATH=/usr/bin", "A=x", "B=2", "C=4"]


# --- device nodes --------------------------------------------------------------


def test_existing_device_with_same_path_is_replaced_and_moves_last():
    config = {"linux": {"devices": [{"path": "/dev/null", "type": "c", "major": 9, "minor": 9}, {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5}]}}
    result = applied(config, edits(deviceNodes=[{"path": "/dev/null"}]))
    assert [d["path"] for d in result["linux"]["devices"]] == ["/dev/zero", "/dev/null"]
    assert result["linux"]["devices"][1]["major"] == 1


def test_host_path_is_read_but_never_written():
    result = applied({}, edits(deviceNodes=[{"path": "/dev/mydev", "hostPath": "/dev/null"}]))
    device = result["linux"]["devices"][0]
    assert device["path"] == "/dev/mydev" and (device["major"], device["minor"]) == (1, 3)
    assert "hostPath" not in json.dumps(result)


@pytest.mark.parametrize(
    "user, node, expected",
    [
        ({"uid": 1000, "gid": 2000}, {}, {"uid": 1000, "gid": 2000}),
        ({"uid": 0, "gid": 0}, {}, {}),
        ({"uid": 1000, "gid": 2000}, {"uid": 5, "gid": 0}, {"uid": 5, "gid": 0}),
        ({}, {"uid": 7}, {"uid": 7}),
    ],
)
def test_device_owner_defaults_to_the_process_user(user, node, expected):
    result = applied({"process": {"user": user}}, edits(deviceNodes=[{"path": "/dev/null", **node}]))
    device = result["linux"]["devices"][0]
    assert {k: device[k] for k in ("uid", "gid") if k in device} == expected


@pytest.mark.parametrize("permissions, access", [("", "rwm"), ("r", "r"), ("rw", "rw"), ("none", "")])
def test_cgroup_rule_access(permissions, access):
    result = applied({}, edits(deviceNodes=[{"path": "/dev/null", "permissions": permissions}]))
    assert result["linux"]["resources"]["devices"] == [{**NULL_RULE, "access": access}]


def test_declared_attributes_skip_the_host_lookup():
    node = {"path": "/dev/nonexistent", "type": "c", "major": 10, "minor": 200, "fileMode": 0o600}
    result = applied({}, edits(deviceNodes=[node]))
    assert result["linux"]["devices"] == [{"path": "/dev/nonexistent", "type": "c", "major": 10, "minor": 200, "fileMode": 0o600}]


@pytest.mark.parametrize(
    "node, expected",
    [
        # Type and major given: they stay as given, only the missing fileMode comes from the host.
        ({"path": "/dev/null", "type": "c", "major": 10, "minor": 200},
         {"path": "/dev/null", "type": "c", "major": 10, "minor": 200, "fileMode": DEV_NULL_MODE}),
        ({"path": "/dev/vnull", "hostPath": "/dev/null", "type": "b", "major": 7},
         {"path": "/dev/vnull", "type": "b", "major": 7, "minor": 0, "fileMode": DEV_NULL_MODE}),
        # A declared fileMode wins over the host's.
        ({"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600},
         {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600}),
        # No host node, or one that is not a device node: nothing to fill, and no error.
        ({"path": "/dev/nonexistent", "type": "c", "major": 10, "minor": 200},
         {"path": "/dev/nonexistent", "type": "c", "major": 10, "minor": 200}),
        ({"path": "/dev/x", "hostPath": "/etc/hostname", "type": "c", "major": 10},
         {"path": "/dev/x", "type": "c", "major": 10, "minor": 0}),
    ],
)
def test_minimally_specified_nodes_take_only_the_file_mode_from_the_host(node, expected):
    result = applied({}, edits(deviceNodes=[node]))
    assert result["linux"]["devices"] == [expected]


def test_fifo_needs_no_major(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o620)
    for node in ({"path": "/dev/fifo", "hostPath": str(fifo)}, {"path": "/dev/fifo", "hostPath": str(fifo), "type": "p"}):
        result = applied({}, edits(deviceNodes=[node]))
        assert result["linux"]["devices"] == [{"path": "/dev/fifo", "type": "p", "major": 0, "minor": 0, "fileMode": 0o620}]
        assert "resources" not in result["linux"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a block device needs root")
def test_block_device_from_host(tmp_path):
    node = tmp_path / "blk"
    os.mknod(node, 0o640 | stat.S_IFBLK, os.makedev(7, 42))
    result = applied({}, edits(deviceNodes=[{"path": "/dev/blk", "hostPath": str(node)}]))
    assert result["linux"]["devices"] == [{"path": "/dev/blk", "type": "b", "major": 7, "minor": 42, "fileMode": 0o640}]
    assert result["linux"]["resources"]["devices"] == [{"allow": True, "type": "b", "major": 7, "minor": 42, "access": "rwm"}]


@pytest.mark.parametrize(
    "node, message",
    [
        ({"path": "/dev/null", "type": "b"}, 'CDI device ("/dev/null", "/dev/null"), host type mismatch (b, c)'),
        ({"path": "/dev/nope-cdishim"}, 'failed to stat CDI host device "/dev/nope-cdishim": No such file or directory'),
        ({"path": "/dev/x", "hostPath": "/etc/hostname"}, 'failed to stat CDI host device "/etc/hostname": not a device node'),
    ],
)
def test_device_node_errors(node, message):
    with pytest.raises(ApplyError) as err:
        apply_edits({}, edits(deviceNodes=[node]))
    assert str(err.value) == message


def test_symlink_to_a_device_is_not_a_device_node(tmp_path):
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    with pytest.raises(ApplyError, match="not a device node"):
        apply_edits({}, edits(deviceNodes=[{"path": "/dev/null", "hostPath": str(link)}]))


# --- mounts --------------------------------------------------------------------


def test_mounts_replace_same_destination_then_stable_sort_by_depth():
    config = {
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts"},
            {"destination": "/usr/lib/x", "source": "/old"},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs"},
        ]
    }
    result = applied(
        config,
        edits(mounts=[
            {"hostPath": "/new", "containerPath": "/usr/lib/x", "options": ["ro", "bind"]},
            {"hostPath": "/a", "containerPath": "/a/", "type": "bind"},
            {"hostPath": "/b", "containerPath": "/b/c/../d"},
        ]),
    )
    assert [m["destination"] for m in result["mounts"]] == [
        "/proc", "/dev", "/sys", "/a/", "/dev/pts", "/b/c/../d", "/usr/lib/x",
    ]
    assert result["mounts"][-1] == {"destination": "/usr/lib/x", "source": "/new", "options": ["ro", "bind"]}
    assert result["mounts"][3] == {"destination": "/a/", "type": "bind", "source": "/a"}


@pytest.mark.parametrize(
    "mount, options",
    [
        ({"options": ["ro", "bind"]}, ["ro", "bind", "idmap"]),
        ({"options": ["rbind"]}, ["rbind", "ridmap"]),
        ({"type": "bind"}, ["idmap"]),
        ({"options": ["bind", "idmap"]}, ["bind", "idmap"]),
        ({"type": "tmpfs", "options": ["nosuid"]}, ["nosuid"]),
    ],
)
def test_bind_mounts_are_idmapped_in_a_user_namespace(mount, options):
    config = {"linux": {"namespaces": [{"type": "mount"}, {"type": "user"}]}}
    result = applied(config, edits(mounts=[{"hostPath": "/h", "containerPath": "/c", **mount}]))
    assert result["mounts"][0].get("options", []) == options


def test_bind_mounts_are_not_idmapped_without_a_user_namespace():
    result = applied({"linux": {"namespaces": [{"type": "mount"}]}}, edits(mounts=[{"hostPath": "/h", "containerPath": "/c", "options": ["bind"]}]))
    assert result["mounts"][0]["options"] == ["bind"]


# --- hooks, netDevices, rdt --------------------------------------------------------


def test_hooks_append_to_existing_stage():
    config = {"hooks": {"prestart": [{"path": "/engine-hook"}]}}
    result = applied(config, edits(hooks=[{"hookName": "prestart", "path": "/h", "timeout": 5}]))
    assert result["hooks"]["prestart"] == [{"path": "/engine-hook"}, {"path": "/h", "timeout": 5}]


def test_net_devices_are_keyed_by_host_interface():
    config = {"linux": {"netDevices": {"eth9": {"name": "keep"}}}}
    result = applied(config, edits(netDevices=[{"hostInterfaceName": "veth1", "name": "eth1"}]))
    assert result["linux"]["netDevices"] == {"eth9": {"name": "keep"}, "veth1": {"name": "eth1"}}


def test_schemata_are_written():
    result = applied({}, edits(intelRdt={"closID": "c", "schemata": ["L3:0=f", "MB:0=50"]}))
    assert result["linux"]["intelRdt"] == {"closID": "c", "schemata": ["L3:0=f", "MB:0=50"]}


def test_additional_gids_skip_those_already_present():
    result = applied({"process": {"user": {"additionalGids": [5]}}}, edits(additionalGids=[5, 6]))
    assert result["process"]["user"]["additionalGids"] == [5, 6]


# --- wrong shapes in config.json --------------------------------------------------


@pytest.mark.parametrize(
    "config, raw_edits, message",
    [
        ({"process": []}, {"env": ["A=1"]}, "OCI spec field process is not an object"),
        ({"process": {"env": "A=1"}}, {"env": ["A=1"]}, "OCI spec field process.env is not a list"),
        ({"process": {"env": [1]}}, {"env": ["A=1"]}, "OCI spec field process.env[0] is not a string"),
        ({"linux": {"devices": {}}}, {"deviceNodes": [{"path": "/dev/null"}]}, "OCI spec field linux.devices is not a list"),
        ({"mounts": {}}, {"mounts": [{"hostPath": "/a", "containerPath": "/a"}]}, "OCI spec field mounts is not a list"),
        ({"hooks": {"prestart": {}}}, {"hooks": [{"hookName": "prestart", "path": "/h"}]}, "OCI spec field hooks.prestart is not a list"),
        ({"linux": {"netDevices": []}}, {"netDevices": [{"hostInterfaceName": "a", "name": "b"}]}, "OCI spec field linux.netDevices is not an object"),
    ],
)
def test_wrong_shapes_are_errors(config, raw_edits, message):
    with pytest.raises(ApplyError) as err:
        apply_edits(config, edits(**raw_edits))
    assert str(err.value) == message


# --- collecting edits for several devices -----------------------------------------


def resolved(document, path):
    spec = parse_spec(json.dumps(document).encode(), path)
    return {f"{spec.kind}={d.name}": ResolvedDevice(qualified_name=f"{spec.kind}={d.name}", device=d, spec=spec) for d in spec.devices}


def test_spec_edits_come_once_before_the_first_device_of_that_spec():
    first = resolved({**spec_doc(a={"env": ["A=1"]}, b={"env": ["B=1"]}), "containerEdits": {"env": ["SPEC1=1"]}}, "/s1.json")
    second = resolved({**spec_doc(kind="other.com/x", c={"env": ["C=1"]}), "containerEdits": {"env": ["SPEC2=1"]}}, "/s2.json")
    order = [first["vendor.com/device=b"], second["other.com/x=c"], first["vendor.com/device=a"]]
    assert collect_edits(order).env == ("SPEC1=1", "B=1", "SPEC2=1", "C=1", "A=1")


def test_merge_keeps_the_last_rdt():
    merged = merge_edits([edits(intelRdt={"closID": "one"}), edits(env=["A=1"]), edits(intelRdt={"closID": "two"})])
    assert merged.intel_rdt.clos_id == "two"
    assert merged.env == ("A=1",)

"""Spec versions: known versions and the minimum each field requires."""

from __future__ import annotations

import json

import pytest

from cdishim.cdi.decode import decode_spec
from cdishim.cdi.spec import parse_spec
from cdishim.cdi.versions import KNOWN_VERSIONS, minimum_required_version
from cdishim.errors import SpecError
from tests.unit.builders import spec_doc


def minimum(document):
    return minimum_required_version(decode_spec(document))


@pytest.mark.parametrize(
    "document, version",
    [
        (spec_doc(d={"env": ["A=1"]}), "0.3.0"),
        (spec_doc(d={"mounts": [{"hostPath": "/a", "containerPath": "/b", "type": "bind"}]}), "0.4.0"),
        (spec_doc(**{"0": {"env": ["A=1"]}}), "0.5.0"),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/a", "hostPath": "/dev/b"}]}), "0.5.0"),
        ({**spec_doc(d={"env": ["A=1"]}), "containerEdits": {"deviceNodes": [{"path": "/a", "hostPath": "/b"}]}}, "0.5.0"),
        ({**spec_doc(d={"env": ["A=1"]}), "annotations": {"a": "b"}}, "0.6.0"),
        ({**spec_doc(), "devices": [{"name": "d", "annotations": {"a": "b"}, "containerEdits": {"env": ["A=1"]}}]}, "0.6.0"),
        (spec_doc(kind="vendor.com/class.sub", d={"env": ["A=1"]}), "0.6.0"),
        (spec_doc(d={"intelRdt": {"closID": "c"}}), "0.7.0"),
        ({**spec_doc(d={"env": ["A=1"]}), "containerEdits": {"additionalGids": [5]}}, "0.7.0"),
        (spec_doc(d={"intelRdt": {"schemata": ["L3:0=f"]}}), "1.1.0"),
        (spec_doc(d={"intelRdt": {"enableMonitoring": True}}), "1.1.0"),
        (spec_doc(d={"netDevices": [{"hostInterfaceName": "h", "name": "n"}]}), "1.1.0"),
    ],
)
def test_minimum_required_version(document, version):
    assert minimum(document) == version


@pytest.mark.parametrize("declared", KNOWN_VERSIONS)
def test_declared_version_below_minimum_is_an_error(declared):
    document = spec_doc(version=declared, d={"intelRdt": {"closID": "c"}})
    data = json.dumps(document).encode()
    if declared < "0.7.0":
        with pytest.raises(SpecError, match="the spec version must be at least v0.7.0"):
            parse_spec(data, "x.json")
    else:
        parse_spec(data, "x.json")


@pytest.mark.parametrize("bad", ["0.1.0", "0.2.0", "0.9.0", "1.2.0", "1.0", "", "latest", "vv1.0.0"])
def test_unknown_versions(bad):
    with pytest.raises(SpecError, match="invalid version"):
        parse_spec(json.dumps(spec_doc(version=bad, d={"env": ["A=1"]})).encode(), "x.json")

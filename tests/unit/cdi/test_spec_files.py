"""Reading spec files: strict decoding, validation, and the valid-spec corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdishim.cdi.decode import load_document
from cdishim.cdi.spec import parse_spec, read_spec
from cdishim.cdi.trust import SpecTrust
from cdishim.errors import SpecError
from tests.spec_schema import spec_schema_validator
from tests.unit.builders import spec_doc

# Valid specs, each with a comment naming the published rule it checks.
VALID_CASES = sorted((Path(__file__).resolve().parents[2] / "corpus" / "valid").glob("*.yaml"))


def test_the_valid_corpus_is_there():
    assert len(VALID_CASES) >= 12


@pytest.mark.parametrize("path", VALID_CASES, ids=lambda path: path.name)
def test_valid_spec_is_accepted_and_passes_the_schema(path):
    spec = read_spec(str(path), trust=SpecTrust(policy="any"))  # whatever the checkout's umask made the modes
    assert spec.devices
    spec_schema_validator().validate(load_document(path.read_bytes(), "yaml"))


@pytest.mark.parametrize(
    "document",
    [
        b"",  # an empty file: no document at all
        b"{}",  # an empty document: cdiVersion, kind and devices are required
        json.dumps(spec_doc()).encode(),  # no device: a spec defines at least one
    ],
)
def test_empty_specs_are_refused_by_parser_and_schema(document):
    import jsonschema

    with pytest.raises(SpecError, match='"/etc/cdi/x.json"'):
        parse_spec(document, "/etc/cdi/x.json")
    if document:
        with pytest.raises(jsonschema.ValidationError):
            spec_schema_validator().validate(json.loads(document))


def test_json_and_yaml_decode_to_the_same_spec(write_spec):
    yaml_path = write_spec(
        "s.yaml",
        """
        cdiVersion: "0.6.0"
        kind: vendor.com/device
        devices:
          - name: dev0
            containerEdits:
              env: [A=1]
              deviceNodes:
                - path: /dev/card0
                  type: c
                  major: 226
                  fileMode: 0660  # YAML 1.1 octal, as the reference decoder reads it
        """,
    )
    json_path = write_spec(
        "s.json",
        spec_doc(dev0={"env": ["A=1"], "deviceNodes": [{"path": "/dev/card0", "type": "c", "major": 226, "fileMode": 0o660}]}),
    )
    assert read_spec(yaml_path).devices == read_spec(json_path).devices


@pytest.mark.parametrize(
    "document, message",
    [
        ({"cdiVersion": "0.6.0", "kind": "v.com/d", "devices": [], "extra": 1}, "extra: unknown field"),
        ({"kind": "v.com/d", "devices": []}, "cdiVersion: required field missing"),
        (spec_doc(d={"env": "A=1"}), "devices[0].containerEdits.env: expected a list, got string"),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/x", "major": "1"}]}), "devices[0].containerEdits.deviceNodes[0].major: expected an integer"),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/x", "uid": -1}]}), "deviceNodes[0].uid: -1 is out of range"),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/x", "gid": True}]}), "deviceNodes[0].gid: expected an integer, got boolean"),
        (spec_doc(d={"mounts": [{"hostPath": "/a"}]}), "mounts[0].containerPath: required field missing"),
        (spec_doc(d={"hooks": [{"hookName": "prestart", "path": "/h", "when": {}}]}), "hooks[0].when: unknown field"),
        (spec_doc(d={"intelRdt": {"enableMonitoring": "yes"}}), "intelRdt.enableMonitoring: expected a boolean"),
        (spec_doc(d={"netDevices": [{"name": "eth1"}]}), "netDevices[0].hostInterfaceName: required field missing"),
        ({"cdiVersion": "0.6.0", "kind": "v.com/d", "devices": [{"name": "d"}]}, "devices[0].containerEdits: required field missing"),
        ([], "document: expected a mapping, got list"),
    ],
)
def test_decoding_is_strict_and_names_the_field(document, message):
    with pytest.raises(SpecError) as err:
        parse_spec(json.dumps(document).encode(), "/etc/cdi/x.json")
    assert str(err.value).startswith('failed to parse CDI Spec "/etc/cdi/x.json": ')
    assert message in str(err.value)


def test_duplicate_keys_are_rejected_in_json():
    data = b'{"cdiVersion": "0.6.0", "cdiVersion": "0.5.0", "kind": "v.com/d", "devices": []}'
    with pytest.raises(SpecError, match='duplicate key "cdiVersion"'):
        parse_spec(data, "x.json")


def test_duplicate_keys_are_rejected_in_yaml():
    data = b"cdiVersion: 0.6.0\nkind: v.com/d\nkind: v.com/e\ndevices: []\n"
    with pytest.raises(SpecError, match='line 3: duplicate key "kind"'):
        parse_spec(data, "x.yaml")


@pytest.mark.parametrize(
    "data, fmt, message",
    [
        (b"{", "x.json", "malformed JSON"),
        (b"\xff\xfe", "x.json", "malformed JSON"),
        (b"a: [", "x.yaml", "malformed YAML"),
        (b"? [a]\n: 1\n", "x.yaml", "is not a string"),
    ],
)
def test_malformed_files_are_one_line_errors(data, fmt, message):
    with pytest.raises(SpecError) as err:
        parse_spec(data, fmt)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(SpecError, match='failed to read CDI Spec ".*missing.json": No such file'):
        read_spec(str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    "document, message",
    [
        ({"cdiVersion": "0.2.0", "kind": "v.com/d", "devices": [{"name": "d", "containerEdits": {"env": ["A=1"]}}]}, 'invalid version "0.2.0"'),
        (spec_doc(kind="vendor.com"), 'invalid vendor. empty name'),
        (spec_doc(kind="1v.com/d", d={"env": ["A=1"]}), 'invalid vendor. "1v.com", should start with letter'),
        (spec_doc(kind="v.com/d-", d={"env": ["A=1"]}), 'invalid class. "d-", should end with a letter or digit'),
        (spec_doc(), "invalid spec, no devices"),
        ({**spec_doc(d={"env": ["A=1"]}), "devices": [{"name": "d", "containerEdits": {"env": ["A=1"]}}] * 2}, 'invalid spec, multiple device "d"'),
        (spec_doc(d={}), 'invalid device "d": empty container edits'),
        (spec_doc(**{"-d": {"env": ["A=1"]}}), 'invalid device "-d": invalid name "-d"'),
        (spec_doc(d={"env": ["=1"]}), 'invalid device "d": invalid container edits: invalid environment variable "=1"'),
        (spec_doc(d={"env": ["NOVALUE"]}), 'invalid environment variable "NOVALUE"'),
        (spec_doc(d={"deviceNodes": [{"path": ""}]}), "invalid (empty) device path"),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/x", "type": "f"}]}), 'device "/dev/x": invalid type "f"'),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/x", "major": -1}]}), 'device "/dev/x": invalid (negative) device number -1:0'),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/x", "type": "c", "major": 1, "minor": -1}]}),
         'device "/dev/x": invalid (negative) device number 1:-1'),
        (spec_doc(d={"deviceNodes": [{"path": "/dev/x", "permissions": "to land"}]}), 'device "/dev/x": invalid permissions "to land"'),
        (spec_doc(d={"mounts": [{"hostPath": "", "containerPath": "/x"}]}), "invalid mount, empty host path"),
        (spec_doc(d={"mounts": [{"hostPath": "/x", "containerPath": ""}]}), "invalid mount, empty container path"),
        (spec_doc(d={"hooks": [{"hookName": "misCreateRuntime", "path": "/h"}]}), 'invalid hook name "misCreateRuntime"'),
        (spec_doc(d={"hooks": [{"hookName": "prestart", "path": ""}]}), 'invalid hook "prestart" with empty path'),
        (spec_doc(d={"hooks": [{"hookName": "poststart", "path": "/h", "env": ["=v"]}]}), 'invalid hook "poststart": invalid environment variable "=v"'),
        (spec_doc(d={"hooks": [{"hookName": "poststart", "path": "/h", "timeout": 0}]}), "timeout must be greater than zero"),
        (spec_doc(version="0.7.0", d={"intelRdt": {"closID": "foo/bar"}}), "invalid ClosID"),
        (spec_doc(version="0.7.0", d={"intelRdt": {"closID": ".."}}), "invalid ClosID"),
        (spec_doc(version="0.7.0", d={"intelRdt": {"closID": "a\nb"}}), "invalid ClosID"),
        (spec_doc(version="0.7.0", d={"intelRdt": {"closID": "//"}}), "invalid ClosID"),
        ({**spec_doc(version="0.7.0", d={"env": ["A=1"]}), "containerEdits": {"intelRdt": {"closID": "/a"}}}, "invalid ClosID"),
        (spec_doc(version="1.1.0", d={"netDevices": [{"hostInterfaceName": "eth0", "name": ""}]}), 'invalid network device name ""'),
        (spec_doc(version="1.1.0", d={"netDevices": [{"hostInterfaceName": "a" * 16, "name": "eth0"}]}), "invalid network device hostInterfaceName"),
        (
            spec_doc(version="1.1.0", d={"netDevices": [{"hostInterfaceName": "h0", "name": "e"}, {"hostInterfaceName": "h0", "name": "f"}]}),
            'duplicate hostInterfaceName "h0"',
        ),
        ({**spec_doc(d={"env": ["A=1"]}), "annotations": {"bad key!": "x"}}, 'vendor.com/device.annotations: invalid annotation key "bad key!"'),
    ],
)
def test_semantic_errors(document, message):
    with pytest.raises(SpecError) as err:
        parse_spec(json.dumps(document).encode(), "/etc/cdi/x.json")
    assert str(err.value).startswith('invalid CDI Spec "/etc/cdi/x.json": ')
    assert message in str(err.value)


@pytest.mark.parametrize(
    "edits",
    [
        {"env": ["BAR=BARVALUE1"]},
        {"env": ["EMPTY="]},
        {"deviceNodes": [{"path": "/dev/null"}]},
        {"deviceNodes": [{"path": "/dev/null", "type": "c"}]},
        {"deviceNodes": [{"path": "/dev/null", "type": "b", "permissions": "rwm"}]},
        {"deviceNodes": [{"path": "/dev/null", "type": "u", "permissions": "none"}]},
        {"mounts": [{"hostPath": "/dev/vendorctl", "containerPath": "/dev/vendorctl"}]},
        {"intelRdt": {"closID": "/"}},  # the root class of service
        {"intelRdt": {"closID": "clos-1"}},
        {"hooks": [{"hookName": name, "path": "/h"} for name in
                   ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")]},
    ],
)
def test_valid_edits(edits):
    as_device_edits = spec_doc(version="1.1.0", d=edits)
    as_spec_edits = {**spec_doc(version="1.1.0", d={"env": ["A=1"]}), "containerEdits": edits}
    for document in (as_device_edits, as_spec_edits):
        parse_spec(json.dumps(document).encode(), "x.json")


def test_leading_v_in_version_is_accepted():
    spec = parse_spec(json.dumps(spec_doc(version="v1.0.0", d={"env": ["A=1"]})).encode(), "x.json")
    assert spec.version == "v1.0.0"


def test_valid_annotations():
    document = {**spec_doc(d={"env": ["A=1"]}), "annotations": {"example.com/key": "v", "plain": "w"}}
    spec = parse_spec(json.dumps(document).encode(), "x.json")
    assert spec.annotations == {"example.com/key": "v", "plain": "w"}


@pytest.mark.parametrize("field", ["annotations", "containerEdits", "devices"])
def test_null_is_refused_where_the_schema_wants_a_value(field):
    document = {**spec_doc(d={"env": ["A=1"]}), field: None}
    with pytest.raises(SpecError, match=f"{field}: expected a (mapping|list), got null"):
        parse_spec(json.dumps(document).encode(), "x.json")


def test_yaml_key_without_value_is_null():
    data = b"cdiVersion: 0.6.0\nkind: v.com/d\ndevices:\n  - name: d\n    containerEdits:\n      env:\n"
    with pytest.raises(SpecError, match=r"devices\[0\].containerEdits.env: expected a list, got null"):
        parse_spec(data, "x.yaml")

"""Property tests of the spec parser.

Random documents built from the spec's own vocabulary, some valid and some
not: the parser either accepts a document or raises a one-line `SpecError`,
never anything else; and every document it accepts also passes the JSON
schema in ``tests/data/schema/``, written from the published field rules
rather than from the parser (a cross-check from outside the parser).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdishim.cdi.spec import parse_spec
from cdishim.errors import SpecError
from tests.spec_schema import spec_schema_validator

# Building blocks that are valid on their own ...
abs_paths = st.sampled_from(["/dev/card0", "/dev/null", "/usr/lib/libx.so", "/a/b/../c"])
short = st.text(alphabet="abcAB01_-.:/= ", max_size=8)
env_entries = st.sampled_from(["A=1", "B=", "PATH=/bin", "X=a=b"])
device_nodes = st.fixed_dictionaries(
    {"path": st.sampled_from(["/dev/null", "/dev/zero", "/dev/x"])},
    optional={
        "hostPath": abs_paths,
        "type": st.sampled_from(["", "b", "c", "u", "p"]),
        "major": st.integers(0, 300),
        "minor": st.integers(0, 300),
        "fileMode": st.integers(0, 0o7777),
        "permissions": st.sampled_from(["", "r", "rw", "rwm", "none"]),
        "uid": st.integers(0, 70000),
        "gid": st.integers(0, 70000),
    },
)
mounts = st.fixed_dictionaries(
    {"hostPath": abs_paths, "containerPath": abs_paths},
    optional={"options": st.lists(st.sampled_from(["ro", "bind", "rbind", "nosuid"]), max_size=3), "type": st.sampled_from(["", "bind", "tmpfs"])},
)
hooks = st.fixed_dictionaries(
    {"hookName": st.sampled_from(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]), "path": abs_paths},
    optional={"args": st.lists(short, max_size=2), "env": st.lists(env_entries, max_size=2), "timeout": st.integers(1, 30)},
)
edits = st.fixed_dictionaries(
    {"env": st.lists(env_entries, min_size=1, max_size=3)},
    optional={
        "deviceNodes": st.lists(device_nodes, max_size=2),
        "mounts": st.lists(mounts, max_size=2),
        "hooks": st.lists(hooks, max_size=2),
        "intelRdt": st.fixed_dictionaries({}, optional={"closID": st.sampled_from(["c1", "clos.2", "/"]), "schemata": st.lists(short, max_size=2), "enableMonitoring": st.booleans()}),
        "additionalGids": st.lists(st.integers(0, 10), max_size=3),
        "netDevices": st.lists(st.fixed_dictionaries({"hostInterfaceName": st.sampled_from(["eth0", "veth1"]), "name": st.sampled_from(["eth1", "net0"])}), max_size=1),
    },
)
devices = st.fixed_dictionaries(
    {"name": st.sampled_from(["dev0", "0", "gpu-1", "a:b", "Z"]), "containerEdits": edits},
    optional={"annotations": st.dictionaries(st.sampled_from(["a", "x.com/b"]), short, max_size=2)},
)
valid_documents = st.fixed_dictionaries(
    {
        "cdiVersion": st.sampled_from(["1.1.0", "v1.1.0", "1.0.0", "0.6.0"]),
        "kind": st.sampled_from(["vendor.com/device", "vendor.com/class.sub", "v/c"]),
        "devices": st.lists(devices, min_size=1, max_size=3, unique_by=lambda d: d["name"]),
    },
    optional={"containerEdits": edits, "annotations": st.dictionaries(st.sampled_from(["a", "x.com/b"]), short, max_size=2)},
)

# ... and single mutations that may break them.
BAD_VALUES = ["", "relative", "=x", "NOEQ", -1, 2**40, None, True, [], {}, "bogus", "a" * 16, "..", "0.2.0"]


@st.composite
def mutated(draw, base):
    document = draw(base)
    node = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
            node[key] = draw(st.sampled_from(BAD_VALUES))
            break
        node = child
    return document


documents = st.one_of(valid_documents, mutated(valid_documents))


VALIDATOR = spec_schema_validator()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_parser_accepts_or_explains_in_one_line(document):
    try:
        spec = parse_spec(json.dumps(document).encode(), "/etc/cdi/x.json")
    except SpecError as err:
        assert "\n" not in str(err)
        assert '"/etc/cdi/x.json"' in str(err)
        return
    assert spec.kind == document["kind"]
    VALIDATOR.validate(document)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_parser(data):
    for name in ("x.json", "x.yaml"):
        try:
            parse_spec(data, name)
        except SpecError:
            pass

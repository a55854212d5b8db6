"""The create path logs what an operator needs, also when the injection then fails."""

from __future__ import annotations

import json

import pytest

from cdishim.errors import ResolveError
from cdishim.oci.runtime import RuntimeFacts
from cdishim.settings import Settings
from cdishim.shim.create import inject_into_bundle
from tests.unit.builders import spec_doc


@pytest.fixture
def node(tmp_path, write_spec):
    spec_dir = tmp_path / "cdi"
    write_spec("good.json", spec_doc(d0={"env": ["D=0"]}), spec_dir)
    write_spec("broken.json", "{", spec_dir)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    settings = Settings(spec_dirs=(str(spec_dir),), cache_dir="", log_file=str(tmp_path / "log.jsonl"), log_level="info")
    return bundle, settings, tmp_path / "log.jsonl"


def write_config(bundle, annotations, env=()):
    (bundle / "config.json").write_text(json.dumps({"process": {"env": list(env)}, "annotations": annotations}))


def logged(log):
    return [(record["level"], record["event"]) for record in map(json.loads, log.read_text().splitlines())]


def test_a_failed_create_still_logs_the_refused_env_request_and_the_ignored_spec(node):
    bundle, settings, log = node
    write_config(bundle, {"io.kubernetes.cri.sandbox-id": "x", "cdi.k8s.io/a": "vendor.com/device=nope"},
                 ["CDI_DEVICES=vendor.com/device=d0"])
    with pytest.raises(ResolveError):
        inject_into_bundle(str(bundle), settings, RuntimeFacts(("runc",), "/usr/bin/cdishim", "/usr/sbin/runc"))
    assert logged(log) == [("warning", "CDI_DEVICES ignored"), ("warning", "spec file ignored")]


def test_a_create_logs_the_injection_and_a_retry_what_was_recorded(node):
    bundle, settings, log = node
    write_config(bundle, {"cdi.k8s.io/a": "vendor.com/device=d0"})
    facts = RuntimeFacts(("runc",), "/usr/bin/cdishim", "/usr/sbin/runc")
    assert inject_into_bundle(str(bundle), settings, facts) == ("vendor.com/device=d0",)
    assert inject_into_bundle(str(bundle), settings, facts) == ("vendor.com/device=d0",)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["level"], r["event"]) for r in records] == [
        ("warning", "spec file ignored"), ("info", "injected CDI devices"), ("info", "already injected")]
    assert records[-1]["devices"] == "vendor.com/device=d0"

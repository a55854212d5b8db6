"""One bad entry in a spec dir costs only its own devices: never the dir, the registry or the cache.

Every case of `tests.hostile_specdir` sits beside one good spec. Reading the
dir must give the good device, report the entry as valid or as a one-line
error, never block and never raise; and a registry restored from the cache
must report exactly what the cold read did. A hypothesis property does the
same for arbitrary bytes in a ``*.yaml`` or ``*.json`` file.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdishim import statcache
from cdishim.cdi.cache import load_registry
from tests.hostile_specdir import CASES, GOOD_DEVICE, GOOD_ENV, make_spec_dir

NEEDS_ROOT = {"char-device", "block-device", "foreign-owner"}


DEADLINE_S = 60


def within_deadline(check, *args) -> None:
    """Run *check* in a thread: a read that blocks fails the test instead of hanging the suite."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            check(*args)
        except BaseException as err:  # noqa: BLE001 - handed to the test below
            outcome.append(err)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(DEADLINE_S)
    assert outcome, f"reading the spec dir did not finish within {DEADLINE_S} s"
    if outcome[0] is not None:
        raise outcome[0]


def all_errors(registry) -> dict[str, list[str]]:
    return {path: list(messages) for path, messages in registry.errors.items()}


def check_costs_only_itself(spec_dir: Path, cache_dir: Path) -> None:
    """The good device resolves, every error is one printable line, and the cache agrees with a cold read."""
    cold = load_registry([str(spec_dir)])
    good = cold.resolve(GOOD_DEVICE)
    assert good is not None, cold.errors
    assert good.device.edits.env == (GOOD_ENV,)
    for path, messages in cold.errors.items():
        for message in messages:
            assert message.isprintable(), (path, message)  # one line, nothing that breaks a terminal
    with mock.patch.object(statcache, "RACY_NS", 0):  # the files were just written: cache them anyway
        first = load_registry([str(spec_dir)], str(cache_dir))
        cached = load_registry([str(spec_dir)], str(cache_dir))
    assert cached.from_cache
    for registry in (first, cached):
        assert all_errors(registry) == all_errors(cold)
        assert registry.device_names == cold.device_names
        assert registry.resolve(GOOD_DEVICE) == good


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_hostile_entry_costs_only_itself(case, tmp_path):
    if case in NEEDS_ROOT and os.geteuid() != 0:
        pytest.skip("needs root")
    spec_dir = make_spec_dir(tmp_path / "cdi", case)
    within_deadline(check_costs_only_itself, spec_dir, tmp_path / "cache")


@pytest.mark.parametrize(
    "case, expected",
    [
        ("fifo-json", "not a regular file but a FIFO"),
        ("socket", "not a regular file but a socket"),
        ("char-device", "not a regular file but a character device"),
        ("symlink-to-fifo", "not a regular file but a FIFO"),
        ("symlink-to-directory", "not a regular file but a directory"),
        ("symlink-to-itself", "Too many levels of symbolic links"),
        ("int-5000-digits", "line 2: integer of 5000 characters is out of range"),
        ("float-not-a-number", "malformed YAML: ValueError: could not convert string to float"),
        ("timestamp-year-99999", "malformed YAML: AttributeError"),
        ("timestamp-bad-day", "malformed YAML: ValueError: day is out of range"),
        ("bool-unknown", "malformed YAML: KeyError"),
        ("yaml-block-sequences-300k", "malformed YAML: nested more than 100 levels deep"),
        ("brackets-after-an-apostrophe", "malformed YAML: nested more than 100 levels deep"),
        ("merge-key-twice", 'duplicate key "<<"'),
        ("yaml-aliased-long-string", "malformed YAML: document contains excessive aliasing"),
        ("sexagesimal-explicit-int", "base-60 integer"),
        ("yaml-alias-multiplied", "malformed YAML: document contains excessive aliasing"),
        ("yaml-merge-multiplied", "malformed YAML: document contains excessive aliasing"),
        ("lone-surrogate-json", "invalid Unicode (a lone surrogate)"),
        ("name-not-utf8", 'cdi/\\xff\\xfe-case.json": malformed JSON'),
    ],
)
def test_the_error_says_what_is_wrong(case, expected, tmp_path):
    if case in NEEDS_ROOT and os.geteuid() != 0:
        pytest.skip("needs root")
    registry = load_registry([str(make_spec_dir(tmp_path / "cdi", case))])
    messages = [message for path, found in registry.errors.items() for message in found]
    assert len(messages) == 1 and expected in messages[0], messages


def test_a_subdirectory_is_skipped_as_by_the_reference(tmp_path):
    registry = load_registry([str(make_spec_dir(tmp_path / "cdi", "directory-named-json"))])
    assert registry.errors == {}


@pytest.mark.parametrize("case", ["utf8-bom-yaml", "utf16le-bom-yaml", "utf16be-bom-yaml", "symlink-to-valid-spec",
                                  "shared-anchored-mounts", "merge-key-overridden"])
def test_unusual_but_valid_files_are_read(case, tmp_path):
    registry = load_registry([str(make_spec_dir(tmp_path / "cdi", case))])
    assert registry.errors == {}
    assert GOOD_DEVICE in registry.device_names
    assert any(name.startswith("other.example/dev=") for name in registry.device_names)


def test_a_merged_key_given_again_is_overridden(tmp_path):
    registry = load_registry([str(make_spec_dir(tmp_path / "cdi", "merge-key-overridden"))])
    mounts = registry.resolve("other.example/dev=x").device.edits.mounts
    assert [(mount.host_path, mount.container_path) for mount in mounts] == [("/a", "/a"), ("/b", "/b")]


def test_a_nonblocking_regular_file_with_nothing_to_read_is_an_error_that_may_pass(tmp_path, monkeypatch):
    """Some /proc files are "regular" yet honour O_NONBLOCK: an empty read is not a spec, nor a crash."""
    import stat as stat_module

    from cdishim.cdi import spec as spec_module
    from cdishim.cdi.spec import SpecReadError, read_spec

    fifo = tmp_path / "special.yaml"
    os.mkfifo(fifo)
    keeper = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that never writes: reads would block
    real_stat, real_fstat = os.stat, os.fstat

    def as_regular(info):
        values = list(info)
        values[0] = stat_module.S_IFREG | 0o644
        return os.stat_result(values)

    monkeypatch.setattr(spec_module.os, "stat", lambda path: as_regular(real_stat(path)))
    monkeypatch.setattr(spec_module.os, "fstat", lambda fd: as_regular(real_fstat(fd)))
    try:
        with pytest.raises(SpecReadError, match="reading would block"):
            read_spec(str(fifo))
    finally:
        os.close(keeper)


def test_an_error_that_may_pass_is_never_cached(tmp_path, monkeypatch):
    """An I/O error is reported, but the next read tries the file again."""
    from cdishim.cdi import spec as spec_module

    spec_dir = make_spec_dir(tmp_path / "cdi", "empty-json")
    real_open = os.open

    def failing_open(path, *args, **kwargs):
        if str(path).endswith("case.json"):
            raise OSError(5, "Input/output error")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(statcache, "RACY_NS", 0)
    with mock.patch.object(spec_module.os, "open", failing_open):
        failed = load_registry([str(spec_dir)], str(tmp_path / "cache"))
    assert failed.errors[str(spec_dir / "case.json")] == [
        f'failed to read CDI Spec "{spec_dir / "case.json"}": Input/output error']
    again = load_registry([str(spec_dir)], str(tmp_path / "cache"))
    assert not again.from_cache
    assert "malformed JSON" in again.errors[str(spec_dir / "case.json")][0]


# Bytes that look like YAML often enough to reach the loader's corners.
yaml_like = st.text(alphabet="-?:[]{}*&!<>|'\"\n\t #,.0123456789aefilnrstuvx=\\%@`", max_size=300).map(str.encode)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.one_of(st.binary(max_size=400), yaml_like), name=st.sampled_from(["case.yaml", "case.json"]))
def test_arbitrary_bytes_beside_a_good_spec_cost_only_their_own_file(content, name):
    with tempfile.TemporaryDirectory() as work:
        spec_dir = make_spec_dir(Path(work) / "cdi", "empty-json")
        (spec_dir / "case.json").unlink()
        (spec_dir / name).write_bytes(content)
        check_costs_only_itself(spec_dir, Path(work) / "cache")

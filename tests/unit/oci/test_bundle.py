"""config.json load and atomic save."""

from __future__ import annotations

import json
import os

import pytest

from cdishim.errors import BundleError
from cdishim.oci.bundle import load_config_json, save_config_json


def test_save_keeps_mode_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"ociVersion": "1.0.2"}')
    os.chmod(path, 0o600)
    save_config_json(str(path), {"ociVersion": "1.0.2", "annotations": {"k": "ü"}})
    assert json.loads(path.read_text()) == {"ociVersion": "1.0.2", "annotations": {"k": "ü"}}
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["config.json"]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_save_keeps_owner(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{}")
    os.chown(path, 1234, 5678)
    save_config_json(str(path), {"a": 1})
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (1234, 5678)


def test_a_failed_save_leaves_the_original(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"old": true}')
    with pytest.raises(TypeError):
        save_config_json(str(path), {"bad": object()})
    assert path.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["config.json"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is not valid JSON"),
        ("{", "is not valid JSON"),
        ("[]", "is not a JSON object"),
        ('"x"', "is not a JSON object"),
        (b"\xff", "is not valid JSON"),
    ],
)
def test_bad_config_json(tmp_path, content, message):
    path = tmp_path / "config.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(BundleError, match=message):
        load_config_json(str(path))


def test_missing_config_json(tmp_path):
    with pytest.raises(BundleError, match='cannot read ".*config.json": No such file or directory'):
        load_config_json(str(tmp_path / "config.json"))

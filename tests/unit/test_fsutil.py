"""Atomic file replacement and private directories."""

from __future__ import annotations

import os

import pytest

from cdishim.fsutil import private_directory, replace_file


def test_replace_file_writes_everything_with_the_mode(tmp_path):
    path = tmp_path / "f"
    path.write_text("old")
    data = os.urandom(3 * 1024 * 1024)
    replace_file(str(path), data, 0o640, durable=True)
    assert path.read_bytes() == data
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["f"]


def test_a_failed_replace_removes_its_temp_file(tmp_path):
    target = tmp_path / "f"
    target.mkdir()  # a file cannot be renamed over a directory, even by root
    (target / "keep").write_text("x")
    with pytest.raises(IsADirectoryError):
        replace_file(str(target), b"new", 0o644)
    assert sorted(os.listdir(tmp_path)) == ["f"]
    assert os.listdir(target) == ["keep"]


def test_private_directory(tmp_path):
    target = tmp_path / "cache"
    assert private_directory(str(target))
    assert os.stat(target).st_mode & 0o777 == 0o700
    os.chmod(target, 0o777)
    assert not private_directory(str(target))
    link = tmp_path / "link"
    link.symlink_to(target)
    os.chmod(target, 0o700)
    assert not private_directory(str(link))


def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    import subprocess

    from cdishim.fsutil import remove_stale_temps

    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is now free: a writer that is gone
    names = [f".config.json.{dead.pid}.abc.tmp", f".config.json.{os.getpid()}.def.tmp", ".other.json.1.x.tmp",
             "config.json"]
    for name in names:
        (tmp_path / name).write_text("")
    remove_stale_temps(str(tmp_path), "config.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])

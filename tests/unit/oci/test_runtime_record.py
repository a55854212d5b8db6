"""The runtime record Python writes for the launcher."""

from __future__ import annotations

import os
import sys
import time

from cdishim import statcache
from cdishim.oci.runtime_record import code_line, interpreter_lines, record_path, record_text, remember_runtime
from cdishim.statcache import code_identity


def test_written_once_then_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    cache = tmp_path / "cache"
    launcher = tmp_path / "bin" / "cdishim"
    remember_runtime(str(cache), str(tmp_path / "none.toml"), "/usr/sbin/runc", str(launcher))
    path = record_path(str(cache))
    assert open(path).read() == (f"code={code_line()}\nconfig={tmp_path / 'none.toml'}\n"
                                 f"path=/usr/bin:/bin\nruntime=/usr/sbin/runc\ninjector=\n"
                                 f"launcher={launcher}\npython={sys.executable}\n"
                                 f"syspath={':'.join(entry for entry in sys.path if entry)}\n")
    assert code_line().startswith(f"{code_identity()[0]} ")
    assert os.stat(path).st_mode & 0o777 == 0o644 and os.stat(cache).st_mode & 0o777 == 0o700
    inode = os.stat(path).st_ino
    remember_runtime(str(cache), str(tmp_path / "none.toml"), "/usr/sbin/runc", str(launcher))
    assert os.stat(path).st_ino == inode


def test_rewritten_when_the_config_is_newer(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/bin")
    cache, config = tmp_path / "cache", tmp_path / "config.toml"
    config.write_text("")
    remember_runtime(str(cache), str(config), "/usr/sbin/runc")
    path = record_path(str(cache))
    past = time.time() - 100
    os.utime(path, (past, past))  # the config was edited after the record
    remember_runtime(str(cache), str(config), "/usr/sbin/runc")
    assert os.stat(path).st_mtime > os.stat(config).st_mtime - 1


def test_no_interpreter_lines_without_a_launcher_or_with_a_path_entry_that_holds_a_colon(monkeypatch):
    assert interpreter_lines("") == ""
    monkeypatch.setattr(sys, "path", ["/usr/lib/python3.11", "/odd:dir"])
    assert interpreter_lines("/usr/bin/cdishim") == ""
    monkeypatch.setattr(sys, "path", ["", "/usr/lib/python3.11"])  # a script's dir: not recorded
    assert interpreter_lines("/usr/bin/cdishim").endswith("\nsyspath=/usr/lib/python3.11\n")


def test_values_with_newlines_are_never_recorded(tmp_path):
    assert record_text("/etc/x\n", "/bin", "/runc") is None
    remember_runtime(str(tmp_path / "cache"), "/etc/x\nruntime=/tmp/evil", "/usr/sbin/runc")
    assert not os.path.exists(record_path(str(tmp_path / "cache")))


def test_an_untrusted_cache_dir_is_not_written(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    remember_runtime(str(cache), "/etc/cdishim/config.toml", "/usr/sbin/runc")
    assert not os.path.exists(record_path(str(cache)))


def test_rewritten_by_other_code(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/bin")
    cache = tmp_path / "cache"
    remember_runtime(str(cache), str(tmp_path / "none.toml"), "/usr/sbin/runc")
    monkeypatch.setattr(statcache, "_code_identity", ("9.9.9", ()))
    remember_runtime(str(cache), str(tmp_path / "none.toml"), "/usr/sbin/runc")
    assert open(record_path(str(cache))).read().startswith("code=9.9.9 ")


def test_rewritten_when_older_than_the_launcher(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/bin")
    cache, launcher = tmp_path / "cache", tmp_path / "cdishim"
    launcher.write_text("")
    remember_runtime(str(cache), str(tmp_path / "none.toml"), "/usr/sbin/runc", str(launcher))
    path = record_path(str(cache))
    past = time.time() - 100
    os.utime(path, (past, past))  # then the launcher was upgraded
    remember_runtime(str(cache), str(tmp_path / "none.toml"), "/usr/sbin/runc", str(launcher))
    assert os.stat(path).st_mtime > os.stat(launcher).st_mtime - 1

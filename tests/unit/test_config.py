"""The configuration file and its environment overrides."""

from __future__ import annotations

import pytest

from cdishim.config import Config, load_config
from cdishim.errors import ConfigError


def test_missing_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("CDI_SPEC_DIRS", raising=False)
    assert load_config(str(tmp_path / "none.toml")) == Config()
    assert Config().spec_dirs == ("/etc/cdi", "/var/run/cdi")


def test_all_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("CDI_SPEC_DIRS", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        '# comment\nruntimes = ["/usr/sbin/runc"]\nspec-dirs = ["/a", "/b"]\nlog-file = "/var/log/x.log"\n'
        'log-level = "debug"\nannotation-prefixes = ["cdi.k8s.io/", "example.org/"]\n'
    )
    assert load_config(str(path)) == Config(
        runtimes=("/usr/sbin/runc",),
        spec_dirs=("/a", "/b"),
        log_file="/var/log/x.log",
        log_level="debug",
        annotation_prefixes=("cdi.k8s.io/", "example.org/"),
    )


def test_cdi_spec_dirs_overrides(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('spec-dirs = ["/a"]\n')
    monkeypatch.setenv("CDI_SPEC_DIRS", "/x::/y")
    assert load_config(str(path)).spec_dirs == ("/x", "/y")


def test_cdishim_config_env_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('log-level = "error"\n')
    monkeypatch.setenv("CDISHIM_CONFIG", str(path))
    assert load_config().log_level == "error"


@pytest.mark.parametrize(
    "content, message",
    [
        ("runtime = ['runc']", 'unknown key "runtime"'),
        ("runtimes = 'runc'", "runtimes must be a list of non-empty strings"),
        ("runtimes = ['']", "runtimes must be a list of non-empty strings"),
        ("log-file = 3", "log-file must be a string"),
        ("log-level = 'loud'", "log-level must be one of debug, info, warning, error"),
        ("runtimes = [", "config"),
    ],
)
def test_bad_config(tmp_path, content, message):
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert message in str(err.value) and str(path) in str(err.value)


def test_parsed_config_is_cached_and_reparsed_when_the_file_changes(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    from cdishim import fsutil

    monkeypatch.setattr(fsutil, "RACY_NS", 0)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CDISHIM_CACHE_DIR", str(cache))
    monkeypatch.delenv("CDI_SPEC_DIRS", raising=False)
    path = tmp_path / "config.toml"
    path.write_text('log-level = "error"\n')
    assert load_config(str(path)).log_level == "error"
    assert (cache / "config.marshal").exists()
    # A fresh process reads the cache without importing tomllib.
    code = f"import sys; from cdishim.config import load_config; c = load_config({str(path)!r}); print(c.log_level, 'tomllib' in sys.modules)"
    env = {**os.environ, "CDISHIM_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["error", "False"]
    # Same size, edited in place: the key changes, the file is parsed again.
    path.write_text('log-level = "debug"\n')
    assert load_config(str(path)).log_level == "debug"


def test_an_untrusted_config_cache_is_ignored(tmp_path, monkeypatch):
    import marshal
    import os

    from cdishim.config import _CACHE_FORMAT

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv("CDISHIM_CACHE_DIR", str(cache))
    path = tmp_path / "config.toml"
    path.write_text('log-level = "error"\n')
    info = os.stat(path)
    key = (_CACHE_FORMAT, str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    planted = cache / "config.marshal"
    planted.write_bytes(marshal.dumps((key, {"log_level": "debug"})))
    os.chmod(planted, 0o600)
    assert load_config(str(path)).log_level == "debug"  # a matching, private cache is used
    os.chmod(planted, 0o666)
    assert load_config(str(path)).log_level == "error"


def test_request_policy_keys(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('env-requests = "never"\nallowed-kinds = ["mock.com/*"]\n')
    config = load_config(str(path))
    assert (config.env_requests, config.allowed_kinds) == ("never", ("mock.com/*",))
    path.write_text("allowed-kinds = []\n")
    assert load_config(str(path)).allowed_kinds == ()
    assert load_config(str(tmp_path / "absent.toml")).allowed_kinds is None


def test_bad_env_requests_value(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('env-requests = "sometimes"\n')
    with pytest.raises(ConfigError, match="env-requests must be one of auto, always, never"):
        load_config(str(path))

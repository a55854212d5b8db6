"""The configuration file and its environment overrides."""

from __future__ import annotations

import pytest

from cdishim.errors import SettingsError
from cdishim.settings import Settings, load_settings


def test_missing_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("CDI_SPEC_DIRS", raising=False)
    assert load_settings(str(tmp_path / "none.toml")) == Settings()
    assert Settings().spec_dirs == ("/etc/cdi", "/var/run/cdi")


def test_all_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("CDI_SPEC_DIRS", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        '# comment\nruntimes = ["/usr/sbin/runc"]\nspec-dirs = ["/a", "/b"]\nlog-file = "/var/log/x.log"\n'
        'log-level = "debug"\nannotation-prefixes = ["cdi.k8s.io/", "example.org/"]\n'
    )
    assert load_settings(str(path)) == Settings(
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
    assert load_settings(str(path)).spec_dirs == ("/x", "/y")


def test_cdishim_config_env_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('log-level = "error"\n')
    monkeypatch.setenv("CDISHIM_CONFIG", str(path))
    assert load_settings().log_level == "error"


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
    with pytest.raises(SettingsError) as err:
        load_settings(str(path))
    assert message in str(err.value) and str(path) in str(err.value)


def test_parsed_config_is_cached_and_reparsed_when_the_file_changes(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    from cdishim import statcache

    monkeypatch.setattr(statcache, "RACY_NS", 0)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CDISHIM_CACHE_DIR", str(cache))
    monkeypatch.delenv("CDI_SPEC_DIRS", raising=False)
    path = tmp_path / "config.toml"
    path.write_text('log-level = "error"\n')
    assert load_settings(str(path)).log_level == "error"
    assert (cache / "config.marshal").exists()
    # A fresh process reads the cache without importing tomllib.
    code = (f"import sys; from cdishim.settings import load_settings; c = load_settings({str(path)!r}); "
            "print(c.log_level, 'cdishim.tomlread' in sys.modules)")
    env = {**os.environ, "CDISHIM_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["error", "False"]
    # Same size, edited in place: the key changes, the file is parsed again.
    path.write_text('log-level = "debug"\n')
    assert load_settings(str(path)).log_level == "debug"


def test_an_untrusted_config_cache_is_ignored(tmp_path, monkeypatch):
    import marshal
    import os

    from cdishim import statcache

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv("CDISHIM_CACHE_DIR", str(cache))
    path = tmp_path / "config.toml"
    path.write_text('log-level = "error"\n')
    key = statcache.make_key(settings_file=str(path), stamp=statcache.stamp(str(path)))
    planted = cache / "config.marshal"
    planted.write_bytes(marshal.dumps((key, {"log_level": "debug"})))
    os.chmod(planted, 0o600)
    assert load_settings(str(path)).log_level == "debug"  # a matching, private cache is used
    os.chmod(planted, 0o666)
    assert load_settings(str(path)).log_level == "error"


def test_parsed_settings_of_other_code_are_parsed_again(tmp_path, monkeypatch):
    from cdishim import statcache

    monkeypatch.setattr(statcache, "RACY_NS", 0)
    monkeypatch.setenv("CDISHIM_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "config.toml"
    path.write_text('log-level = "error"\n')
    load_settings(str(path))
    parses = []
    monkeypatch.setattr("cdishim.settings._parse", lambda *args: parses.append(args) or {"log_level": "info"})
    assert load_settings(str(path)).log_level == "error"  # from the cache
    monkeypatch.setattr(statcache, "_code_identity", ("9.9.9", 0))
    assert load_settings(str(path)).log_level == "info" and len(parses) == 1  # parsed again


def test_request_policy_keys(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('env-requests = "never"\nallowed-kinds = ["mock.com/*"]\n')
    config = load_settings(str(path))
    assert (config.env_requests, config.allowed_kinds) == ("never", ("mock.com/*",))
    path.write_text("allowed-kinds = []\n")
    assert load_settings(str(path)).allowed_kinds == ()
    assert load_settings(str(tmp_path / "absent.toml")).allowed_kinds is None


def test_bad_env_requests_value(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('env-requests = "sometimes"\n')
    with pytest.raises(SettingsError, match="env-requests must be one of auto, always, never"):
        load_settings(str(path))


def test_every_key_is_documented_with_its_default():
    """The shipped config file and README's block show each key, and the README block holds the defaults."""
    from pathlib import Path

    from cdishim import settings

    repo = Path(__file__).resolve().parents[2]
    shipped = (repo / "packaging" / "config.toml").read_text()
    readme = (repo / "README.md").read_text()
    block = readme[readme.index("```toml\n", readme.index("## Configuration")):]
    block = block[:block.index("```\n", 8)]
    from cdishim.tomlread import loads

    shown = loads(block.split("\n", 1)[1])
    for key, (field, _) in settings._KEYS.items():
        assert f"\n# {key} = " in shipped, key
        assert key in shown or f"\n# {key} = " in block, key
        if key in shown:
            assert shown[key] == (list(getattr(Settings(), field)) if isinstance(shown[key], list)
                                  else getattr(Settings(), field)), key

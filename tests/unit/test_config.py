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

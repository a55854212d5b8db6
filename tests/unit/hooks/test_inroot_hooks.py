"""create-symlinks, chmod and update-ldcache against hostile rootfs trees."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.native import build_shared_library
from tests.unit.hooks.conftest import escape_forms

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hooks run as root (chroot)")


def test_create_symlinks_makes_parents_and_replaces(bundle, monkeypatch, capsys):
    (bundle.rootfs / "usr").mkdir()
    (bundle.rootfs / "usr" / "lib").mkdir()
    os.symlink("old", bundle.rootfs / "usr" / "lib" / "libmock.so")
    status, err = bundle.hook(monkeypatch, capsys, "create-symlinks", "--link", "libmock.so.1::/usr/lib/libmock.so",
                              "--link", "/mock/bin/tool::/opt/vendor/bin/tool")
    assert (status, err) == (0, "")
    assert os.readlink(bundle.rootfs / "usr" / "lib" / "libmock.so") == "libmock.so.1"
    assert os.readlink(bundle.rootfs / "opt" / "vendor" / "bin" / "tool") == "/mock/bin/tool"
    assert not [p for p in (bundle.rootfs / "usr" / "lib").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("form", ["absolute", "dotdot"])
def test_create_symlinks_through_a_parent_symlink_stays_inside(bundle, monkeypatch, capsys, form):
    (bundle.rootfs / "usr").mkdir()
    os.symlink(escape_forms(bundle, bundle.host / "lib")[form], bundle.rootfs / "usr" / "lib")
    status, _ = bundle.hook(monkeypatch, capsys, "create-symlinks", "--link", "x::/usr/lib/libmock.so")
    assert status == 0
    assert bundle.host_untouched()
    inside = [os.path.join(d, "libmock.so") for d, dirs, files in os.walk(bundle.rootfs) if "libmock.so" in files]
    assert len(inside) == 1 and os.readlink(inside[0]) == "x"


@pytest.mark.parametrize("link, inside", [("/../../../../host/lib/evil", "host/lib/evil"),
                                          ("/usr/../../../../lib/evil", "lib/evil")])
def test_create_symlinks_dotdot_in_the_link_stays_inside(bundle, monkeypatch, capsys, link, inside):
    status, _ = bundle.hook(monkeypatch, capsys, "create-symlinks", "--link", f"x::{link}")
    assert status == 0
    assert bundle.host_untouched()
    assert os.readlink(bundle.rootfs / inside) == "x"


def test_chmod_sets_the_mode_inside(bundle, monkeypatch, capsys):
    (bundle.rootfs / "bin").mkdir()
    (bundle.rootfs / "bin" / "tool").write_text("")
    status, _ = bundle.hook(monkeypatch, capsys, "chmod", "--mode", "0751", "--path", "/bin/tool")
    assert status == 0
    assert (bundle.rootfs / "bin" / "tool").stat().st_mode & 0o777 == 0o751


@pytest.mark.parametrize("form", ["absolute", "dotdot"])
def test_chmod_refuses_a_symlinked_target(bundle, monkeypatch, capsys, form):
    os.symlink(escape_forms(bundle, bundle.canary)[form], bundle.rootfs / "tool")
    status, err = bundle.hook(monkeypatch, capsys, "chmod", "--mode", "0777", "--path", "/tool")
    assert status == 1
    assert err == 'cdishim-hook chmod: chmod "/tool": is a symbolic link; refusing to follow it\n'
    assert bundle.host_untouched()


@pytest.mark.parametrize("form", ["absolute", "dotdot"])
def test_chmod_through_a_symlinked_parent_stays_inside(bundle, monkeypatch, capsys, form):
    os.symlink(escape_forms(bundle, bundle.host)[form], bundle.rootfs / "opt")
    status, err = bundle.hook(monkeypatch, capsys, "chmod", "--mode", "0777", "--path", "/opt/canary")
    assert status == 1 and "no such file or directory in the rootfs" in err
    assert bundle.host_untouched()


@pytest.mark.parametrize("mode", ["4755", "rwx", "1000"])
def test_chmod_bad_modes(bundle, monkeypatch, capsys, mode):
    status, err = bundle.hook(monkeypatch, capsys, "chmod", "--mode", mode, "--path", "/x")
    assert status == 1 and err.startswith(f'cdishim-hook chmod: --mode "{mode}"')


@pytest.fixture
def shared_library(tmp_path):
    """A real shared library built with gcc."""
    return build_shared_library(tmp_path / "built")


def cache_listing(rootfs) -> str:
    return subprocess.run(["ldconfig", "-p", "-C", str(rootfs / "etc" / "ld.so.cache")],
                          capture_output=True, text=True, check=True).stdout


def test_update_ldcache_finds_the_library(bundle, monkeypatch, capsys, shared_library):
    (bundle.rootfs / "mock" / "lib").mkdir(parents=True)
    shutil.copy(shared_library, bundle.rootfs / "mock" / "lib")
    status, err = bundle.hook(monkeypatch, capsys, "update-ldcache", "--folder", "/mock/lib")
    assert (status, err) == (0, "")
    assert "libmockgpu.so.1 (libc6,x86-64) => /mock/lib/libmockgpu.so.1" in cache_listing(bundle.rootfs)
    assert bundle.host_untouched()
    assert (bundle.rootfs / "etc" / "ld.so.conf.d" / "000-cdishim.conf").read_text() == "/mock/lib\n"


@pytest.mark.parametrize("what", ["etc", "etc/ld.so.conf.d"])
@pytest.mark.parametrize("form", ["absolute", "dotdot"])
def test_update_ldcache_through_symlinked_etc_stays_inside(bundle, monkeypatch, capsys, shared_library, what, form):
    (bundle.rootfs / "lib").mkdir()
    shutil.copy(shared_library, bundle.rootfs / "lib")
    if what == "etc/ld.so.conf.d":
        (bundle.rootfs / "etc").mkdir()
    os.symlink(escape_forms(bundle, bundle.host / what)[form], bundle.rootfs / what)
    status, err = bundle.hook(monkeypatch, capsys, "update-ldcache", "--folder", "/lib")
    assert status == 0, err
    assert bundle.host_untouched()
    assert [d for d, _, files in os.walk(bundle.rootfs) if "000-cdishim.conf" in files]


def test_update_ldcache_never_runs_the_image_ldconfig(bundle, monkeypatch, capsys, shared_library):
    for directory in ("sbin", "bin", "usr/sbin", "lib"):
        (bundle.rootfs / directory).mkdir(parents=True)
    shutil.copy("/bin/busybox", bundle.rootfs / "bin" / "sh")
    for fake in ("sbin/ldconfig", "usr/sbin/ldconfig"):
        (bundle.rootfs / fake).write_text("#!/bin/sh\necho pwned > /pwned\n")
        os.chmod(bundle.rootfs / fake, 0o755)
    shutil.copy(shared_library, bundle.rootfs / "lib")
    status, err = bundle.hook(monkeypatch, capsys, "update-ldcache", "--folder", "/lib")
    assert status == 0, err
    assert not (bundle.rootfs / "pwned").exists()
    assert bundle.host_untouched()
    assert "libmockgpu.so.1" in cache_listing(bundle.rootfs)


@pytest.mark.parametrize("folder", ["relative/lib", "/lib/../../etc", "/lib\n/etc"])
def test_update_ldcache_refuses_bad_folders(bundle, monkeypatch, capsys, folder):
    status, err = bundle.hook(monkeypatch, capsys, "update-ldcache", "--folder", folder)
    assert status == 1 and "must be an absolute path without .." in err
    assert not (bundle.rootfs / "etc").exists()


def test_bad_state_is_a_one_line_error(bundle, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"bundle": "relative"}')))
    from cdishim.hooks.main import main

    assert main(["chmod", "--mode", "0755", "--path", "/x"]) == 1
    assert capsys.readouterr().err == ("cdishim-hook chmod: invalid OCI state on stdin: "
                                       "bundle must be an absolute path\n")


def test_own_hooks_run_inside_the_stage_wrapper(bundle, monkeypatch, capfd):
    """create-symlinks and chmod as --builtin groups: no new interpreter, same confinement of paths."""
    (bundle.rootfs / "tool").write_text("#!/bin/sh\n")
    status, err = bundle.hook(
        monkeypatch, capfd, "exec",
        "--argc", "3", "--builtin", "--", "/usr/bin/cdishim-hook", "cdishim-hook", "create-symlinks",
        "--link=/tool::/usr/bin/tool",
        "--argc", "6", "--builtin", "--", "/usr/bin/cdishim-hook", "cdishim-hook", "chmod", "--mode", "0750",
        "--path", "/tool")
    assert (status, err) == (0, "")
    assert os.readlink(bundle.rootfs / "usr" / "bin" / "tool") == "/tool"
    assert (bundle.rootfs / "tool").stat().st_mode & 0o777 == 0o750
    assert bundle.host_untouched()


def test_a_failing_own_hook_stops_the_stage_with_its_reason(bundle, monkeypatch, capfd, tmp_path):
    """The same two lines as when the hook was its own wrapped process: its reason, then the wrapper's."""
    marker = tmp_path / "after"
    chmod = ["cdishim-hook", "chmod", "--mode", "0755", "--path", "/missing"]
    status, err = bundle.hook(monkeypatch, capfd, "exec", "--argc", "6", "--builtin", "--", "/usr/bin/cdishim-hook",
                              *chmod, "--argc", "3", "--", "/bin/sh", "sh", "-c", f"touch {marker}")
    own_status, own_err = bundle.hook(monkeypatch, capfd, *chmod[1:])  # cdishim-hook chmod on its own
    assert (status, own_status) == (1, 1) and own_err.startswith("cdishim-hook chmod: ")
    assert err == f'{own_err}cdishim-hook exec: hook "/usr/bin/cdishim-hook" exited with status 1\n'
    assert not marker.exists()


def test_an_own_hook_past_its_timeout_is_killed_like_any_hook(monkeypatch, capfd, tmp_path):
    """A builtin keeps its own timeout: here its bundle's config.json is a FIFO nobody writes."""
    import io
    import json
    import time

    bundle = tmp_path / "stuck-bundle"
    bundle.mkdir()
    os.mkfifo(bundle / "config.json")
    state = json.dumps({"ociVersion": "1.0.2", "id": "c1", "pid": 0, "bundle": str(bundle)}).encode()
    monkeypatch.setenv("CDISHIM_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(state)))
    from cdishim.hooks.main import main

    started = time.monotonic()
    status = main(["exec", "--timeout", "0.5", "--builtin", "--", "/usr/bin/cdishim-hook", "cdishim-hook", "chmod",
                   "--mode", "0755", "--path", "/x"])
    assert status == 1 and time.monotonic() - started < 5
    assert capfd.readouterr().err == 'cdishim-hook exec: hook "/usr/bin/cdishim-hook" timed out after 0.5s\n'

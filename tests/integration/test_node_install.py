"""`cdishim-ctl node install|uninstall` on a host root in a temp dir, and the tree it installs, run for real.

The installed tree is run as the host would run it: in a private mount
namespace where the temp host's /opt/cdishim is at /opt/cdishim (the paths
written into the tree are host paths) and every Python of the machine is
hidden (/usr/bin/python3* and /usr/lib/python3* masked), so it runs on its
own interpreter, libraries, loader and libc or not at all.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import gpu_request, require_program
from tests.integration.daemons import private_containerd_config
from tests.integration.test_kubernetes_node import Container, allocate_four, base_containerd_config, run_pod

BIN = Path(sys.executable).parent
CTL = str(BIN / "cdishim-ctl")
INSTALLED = "/opt/cdishim/current/bin/cdishim"
# The host's view for the installed tree: its /opt/cdishim in place, no Python of this machine.
HOST_VIEW = """set -e
mount -t tmpfs -o mode=0755 cdishim-test-opt /opt
mkdir /opt/cdishim
mount --bind "$CDISHIM_TEST_HOST/opt/cdishim" /opt/cdishim
for python in /usr/bin/python3* /usr/local/bin/python3*; do
    if [ -e "$python" ]; then mount --bind /dev/null "$python"; fi
done
for lib in /usr/lib/python3* /usr/local/lib/python3*; do
    if [ -d "$lib" ]; then mount -t tmpfs -o mode=0755 cdishim-test-hidden "$lib"; fi
done
exec "$@"
"""
VERSION = subprocess.run([CTL, "--version"], capture_output=True, text=True).stdout.split()[-1]


def host_view(host: Path) -> list[str]:
    """The argv prefix that runs a program in the host's view (see HOST_VIEW); needs CDISHIM_TEST_HOST."""
    return ["env", f"CDISHIM_TEST_HOST={host}", "unshare", "--mount", "--propagation", "private",
            "sh", "-c", HOST_VIEW, "sh"]


@pytest.fixture
def host(tmp_path) -> Path:
    """A host root whose containerd has `containerd config default` (state under the temp dir)."""
    root = tmp_path / "host"
    for top in ("opt", "run", "usr/share"):  # as on any host
        (root / top).mkdir(parents=True)
    (root / "etc/containerd").mkdir(parents=True)
    (root / "etc/containerd/config.toml").write_text(private_containerd_config(tmp_path))
    return root


def node(action: str, host: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([CTL, "node", action, "--host-root", str(host), *args], capture_output=True, text=True,
                            timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under *root*: (inode, mtime_ns, size), to show that nothing was written."""
    entries = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        entries[str(path.relative_to(root))] = (info.st_ino, info.st_mtime_ns, info.st_size)
    return entries


def launcher_variant(tmp_path: Path, number: int) -> Path:
    """A cdishim-ctl + cdishim pair whose launcher differs by one trailing byte: a new tree to install."""
    directory = tmp_path / f"variant{number}"
    directory.mkdir()
    launcher = directory / "cdishim"
    shutil.copyfile(BIN / "cdishim", launcher)
    with open(launcher, "ab") as handle:
        handle.write(bytes([number]))
    launcher.chmod(0o755)
    (directory / "cdishim-ctl").symlink_to(BIN / "cdishim-ctl")  # locate: the cdishim next to argv[0]
    return directory


def trees(host: Path) -> list[str]:
    return sorted(entry.name for entry in (host / "opt/cdishim").iterdir() if entry.name != "current")


def test_install_writes_host_paths_and_a_second_install_writes_nothing(host):
    config = host / "etc/containerd/config.toml"
    before = config.read_text()
    said = node("install", host).stdout.splitlines()
    [tree] = trees(host)
    assert tree.startswith(f"{VERSION}-") and os.readlink(host / "opt/cdishim/current") == tree
    assert said[0] == f"installed /opt/cdishim/{tree}" and said[-1] == "wrote /run/cdishim/installed"
    text = config.read_text()
    assert f'BinaryName = "{INSTALLED}"' in text and str(host) not in text
    assert before in text.replace(text[len(before.rstrip("\n")):], "\n")  # the rest of the file is as it was
    assert not (host / "usr/share/containers/oci/hooks.d").exists()  # containerd runs no hooks.d
    assert (host / "run/cdishim/installed").read_text() == f"{tree}\n"
    assert (host / "etc/cdishim/config.toml").read_text().startswith("# cdishim's settings")
    tree_dir = host / "opt/cdishim" / tree
    assert (tree_dir / "bin/cdishim-hook").read_text().startswith(f"#!/opt/cdishim/{tree}/bin/python3 -I\n")
    interpreter = subprocess.run(["patchelf", "--print-interpreter", str(tree_dir / "bin/python3")],
                                 capture_output=True, text=True, check=True).stdout.strip()
    assert interpreter.startswith(f"/opt/cdishim/{tree}/lib/ld-") and (tree_dir / "lib" / Path(interpreter).name).exists()

    unchanged = snapshot(host)
    again = node("install", host)
    assert again.stdout == f"nothing to do: /opt/cdishim/{tree} is installed and registered with containerd\n"
    assert snapshot(host) == unchanged  # no file written, no backup made


def test_for_podman_the_hooks_d_files_run_the_installed_hook_program(tmp_path):
    root = tmp_path / "podman-host"
    for top in ("opt", "run", "usr/share", "etc/containers"):
        (root / top).mkdir(parents=True)
    (root / "etc/containers/containers.conf").write_text('[engine]\ncgroup_manager = "cgroupfs"\n')
    node("install", root)
    assert '"/opt/cdishim/current/bin/cdishim"' in (root / "etc/containers/containers.conf").read_text()
    hooks = root / "usr/share/containers/oci/hooks.d"
    assert sorted(path.name for path in hooks.iterdir()) == ["cdishim-ldcache.json", "cdishim-netdev.json"]
    assert '"path": "/opt/cdishim/current/bin/cdishim-hook"' in (hooks / "cdishim-ldcache.json").read_text()
    node("uninstall", root)
    node("uninstall", root)  # --restart none: the tree goes on the second run
    assert not list(hooks.iterdir()) and not (root / "opt/cdishim").exists()


def test_the_tree_needs_nothing_of_the_host_but_the_kernel(host, tmp_path):
    """In a root holding only the tree (no /lib, no /usr, no /bin/sh), cdishim's Python imports all of cdishim."""
    node("install", host)
    empty = tmp_path / "empty-root"
    (empty / "opt/cdishim").mkdir(parents=True)
    script = ('mount --bind "$CDISHIM_TEST_HOST/opt/cdishim" "$0/opt/cdishim" && exec chroot "$0" '
              '/opt/cdishim/current/bin/python3 -I -c "$1"')
    check = ("import cdishim.ctl.main, cdishim.shim.main, cdishim.hooks.main, cdishim.injector.main, yaml, "
             "structlog, pyroute2, prctl, tomlkit, hashlib, ssl, ctypes, json; assert yaml.__with_libyaml__; "
             "print(sorted(__import__('os').listdir('/')))")
    result = subprocess.run(["env", f"CDISHIM_TEST_HOST={host}", "unshare", "--mount", "--propagation", "private",
                             "sh", "-c", script, str(empty), check], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['opt']\n"
    ctl = subprocess.run(["env", f"CDISHIM_TEST_HOST={host}", "unshare", "--mount", "--propagation", "private",
                          "sh", "-c", ('mount --bind "$CDISHIM_TEST_HOST/opt/cdishim" "$0/opt/cdishim" && '
                                       'exec chroot "$0" /opt/cdishim/current/bin/cdishim-ctl --version'), str(empty)],
                         capture_output=True, text=True, timeout=60)
    assert ctl.stdout == f"cdishim-ctl {VERSION}\n", ctl.stderr


def test_the_installed_tree_runs_without_any_python_of_the_host(host, runtime, make_bundle):
    node("install", host)
    view = host_view(host)
    hidden = subprocess.run([*view, "/usr/bin/python3", "-c", "pass"], capture_output=True, text=True)
    assert hidden.returncode != 0  # the machine's Python really is out of reach
    version = subprocess.run([*view, INSTALLED, "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith(f"cdishim version {VERSION}\nrunc version "), version.stderr
    bundle = make_bundle(gpu_request(0, 2), "ls /dev/mock; ls /mock/lib")
    result = subprocess.run([*view, INSTALLED, "--root", str(runtime.root), "run", "--bundle", str(bundle), "tree-run"],
                            env=runtime.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["device_0", "device_2", "device_0.so", "device_2.so"]


def test_an_upgrade_switches_current_keeps_the_previous_tree_once_and_leaves_the_engine_alone(host, tmp_path):
    node("install", host)
    [first] = trees(host)
    config = host / "etc/containerd/config.toml"
    registered = config.read_text()
    said = []
    for number in (1, 2):
        variant = launcher_variant(tmp_path, number)
        said.append(subprocess.run([str(variant / "cdishim-ctl"), "node", "install", "--host-root", str(host)],
                                   capture_output=True, text=True, check=True).stdout.splitlines())
        current = os.readlink(host / "opt/cdishim/current")
        assert said[-1][:2] == [f"installed /opt/cdishim/{current}", f"/opt/cdishim/current -> {current}"]
    second = set(trees(host)) - {os.readlink(host / "opt/cdishim/current")}
    assert len(trees(host)) == 2 and first not in trees(host)  # the one before the previous is gone
    assert f"removed /opt/cdishim/{first}" in said[1] and len(second) == 1
    assert config.read_text() == registered and not any("restart" in line for lines in said for line in lines)
    assert len(list((host / "etc/containerd").glob("config.toml.bak-*"))) == 1  # only the first install's


def test_sigkill_at_any_point_of_an_upgrade_leaves_a_working_runtime(host, tmp_path):
    node("install", host)
    view = host_view(host)
    seed = int(os.environ.get("CDISHIM_TEST_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    for number in range(1, 7):
        variant = launcher_variant(tmp_path, number)
        process = subprocess.Popen([str(variant / "cdishim-ctl"), "node", "install", "--host-root", str(host)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        current = host / "opt/cdishim/current"
        assert (current / "bin/python3").exists() and (current / "bin/cdishim-hook").exists()
        version = subprocess.run([*view, INSTALLED, "--version"], capture_output=True, text=True, timeout=60)
        assert version.stdout.startswith(f"cdishim version {VERSION}\n"), (seed, number, version.stderr)
        assert f'BinaryName = "{INSTALLED}"' in (host / "etc/containerd/config.toml").read_text()
    node("install", host)  # completes; leftovers of killed runs go
    assert len(trees(host)) <= 2 and not list((host / "opt/cdishim").glob("*.partial-*"))


def test_uninstall_restores_the_engine_config_and_removes_the_tree_once_the_engine_restarted(host):
    config = host / "etc/containerd/config.toml"
    before = config.read_bytes()
    node("install", host)
    said = node("uninstall", host).stdout.splitlines()
    assert said[0].startswith("wrote /etc/containerd/config.toml (backup: ")
    assert said[1:] == ["restart containerd for the change to take effect",
                        ("/opt/cdishim stays until then: "
                         "run `cdishim-ctl node uninstall` again once it has restarted")]
    assert config.read_bytes() == before
    assert (host / "opt/cdishim/current/bin/cdishim").exists()  # the running engine may still start it
    said = node("uninstall", host).stdout.splitlines()
    assert said[0] == "removed /run/cdishim/installed" and "removed /opt/cdishim/current" in said
    assert not (host / "opt/cdishim").exists() and not (host / "run/cdishim/installed").exists()
    assert (host / "etc/cdishim/config.toml").exists()  # the operator's settings stay
    assert config.read_bytes() == before
    assert node("uninstall", host).stdout == "nothing to do: cdishim is not installed under /opt/cdishim\n"


def test_a_symlinked_engine_config_is_edited_at_its_target_on_the_host(host):
    config = host / "etc/containerd/config.toml"
    (host / "srv").mkdir()
    config.rename(host / "srv/containerd.toml")
    config.symlink_to("/srv/containerd.toml")  # absolute: the host's /srv, not this machine's
    node("install", host)
    assert config.is_symlink() and f'BinaryName = "{INSTALLED}"' in (host / "srv/containerd.toml").read_text()


def test_the_backup_keeps_the_engine_config_byte_for_byte_even_when_not_utf8(host):
    config = host / "etc/containerd/config.toml"
    before = b"# r\xe9glages du n\x9cud\n" + config.read_bytes()
    config.write_bytes(before)
    node("install", host)
    [backup] = (host / "etc/containerd").glob("config.toml.bak-*")
    assert backup.read_bytes() == before


def test_docker_s_own_containerd_is_not_taken_for_the_engine(host):
    config = host / "etc/containerd/config.toml"
    config.write_text('disabled_plugins = ["cri"]\n')
    (host / "etc/docker").mkdir()
    (host / "etc/docker/daemon.json").write_text("{}\n")
    said = node("install", host).stdout
    assert "wrote /etc/docker/daemon.json" in said and config.read_text() == 'disabled_plugins = ["cri"]\n'


@pytest.mark.parametrize("breakage, message", [
    ("unparsable", 'cdishim-ctl: "/etc/containerd/config.toml": invalid TOML: '),
    ("read-only", 'cdishim-ctl: host path "/opt/cdishim/'),
    ("no-engine", "cdishim-ctl: no engine config found on the host (looked for /etc/containerd/config.toml, "),
    ("outside", 'cdishim-ctl: host path "/srv/cdishim/'),
    ("not-a-dir", 'cdishim-ctl: --host-root "'),
])
def test_bad_input_is_one_line_and_changes_nothing(host, breakage, message):
    config = host / "etc/containerd/config.toml"
    argv = [CTL, "node", "install", "--host-root", str(host)]
    if breakage == "unparsable":
        config.write_text(config.read_text() + "\n[plugins\n")
    elif breakage == "no-engine":
        config.unlink()
    elif breakage == "outside":
        argv += ["--prefix", "/srv/cdishim"]  # /srv is not under the host root: it would land beside it
    elif breakage == "not-a-dir":
        argv[4] = str(config)
    else:
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', str(host / "opt"), *argv]
    unchanged = snapshot(host)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert snapshot(host) == unchanged


def test_containerd_on_the_installed_config_runs_a_pod_through_the_installed_tree(work, host, spec_dir):
    """The node path of test_kubernetes_node, with cdishim from the installed tree and no Python of the host."""
    require_program("containerd")
    config = host / "etc/containerd/config.toml"
    config.write_text(base_containerd_config(work))
    node("install", host)
    annotations = allocate_four(work, spec_dir)
    [allocated] = [sorted(name.partition("=")[2] for name in value.split(",")) for value in annotations.values()]
    command = ["/bin/sh", "-c", "ls /dev/mock"]
    logs = run_pod(work, [spec_dir], [Container(name="app", command=command, annotations=annotations)],
                   config=config, wrapper=host_view(host))
    assert logs["app"] == allocated

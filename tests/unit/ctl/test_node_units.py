"""The node installer's pieces that need no host: engine unregister, hooks.d files, names through `current`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdishim.ctl.engines import ENGINES, Registration
from cdishim.ctl.node.hookfiles import hook_files
from cdishim.injection.hookplan import through_current_link

REPO = Path(__file__).resolve().parents[3]
CONTAINERD_V2 = """version = 2
# kept
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = true
"""
SAMPLES = {
    "containerd": CONTAINERD_V2,
    "docker": '{\n  "log-level": "info",\n  "runtimes": {\n    "nvidia": {\n      "path": "/usr/bin/nvidia"\n    }\n  }\n}\n',
    "podman": '[engine]\n# the cgroup manager\ncgroup_manager = "cgroupfs"\n',
    "crio": "",
}


@pytest.mark.parametrize("engine", sorted(SAMPLES))
@pytest.mark.parametrize("set_default", [False, True])
def test_unregister_gives_back_the_file_register_was_given(engine, set_default):
    before = SAMPLES[engine]
    registration = Registration(runtime_path="/opt/cdishim/current/bin/cdishim", set_default=set_default)
    registered = ENGINES[engine].register(before, "config", registration)
    assert registered != before
    assert ENGINES[engine].unregister(registered, "config", "cdishim") == before
    assert ENGINES[engine].unregister(before, "config", "cdishim") == before  # nothing to remove: unchanged


def test_hooks_d_files_in_the_source_tree_are_the_installers_for_usr_bin():
    for name, data in hook_files("/usr/bin/cdishim-hook").items():
        assert (REPO / "hooks/oci/hooks.d" / name).read_bytes() == data


def test_a_launcher_in_a_node_installed_tree_is_named_through_current(tmp_path):
    tree = tmp_path / "opt/cdishim/0.1.0-0123456789ab"
    (tree / "bin").mkdir(parents=True)
    launcher = str(tree / "bin/cdishim")
    assert through_current_link(launcher) == launcher  # no `current` yet
    os.symlink(tree.name, tmp_path / "opt/cdishim/current")
    assert through_current_link(launcher) == str(tmp_path / "opt/cdishim/current/bin/cdishim")
    os.unlink(tmp_path / "opt/cdishim/current")
    os.symlink("0.2.0-ba9876543210", tmp_path / "opt/cdishim/current")  # switched during the create
    assert through_current_link(launcher) == str(tmp_path / "opt/cdishim/current/bin/cdishim")
    assert through_current_link("/usr/bin/cdishim") == "/usr/bin/cdishim"


def test_a_pending_restart_names_its_boot_and_is_dropped_after_a_reboot(tmp_path):
    from cdishim.ctl.node.hostroot import HostRoot
    from cdishim.ctl.node.install import PendingRestart

    (tmp_path / "opt/cdishim").mkdir(parents=True)
    pending = PendingRestart(HostRoot(str(tmp_path)), "/opt/cdishim")
    assert pending.engines() == []
    pending.add("containerd")
    pending.add("containerd")
    assert pending.engines() == ["containerd"]
    marker = tmp_path / "opt/cdishim/.restart-pending"
    marker.write_text("an-earlier-boot\ncontainerd\n")
    assert pending.engines() == []  # the engine started after that reboot, on the new config


def test_waiting_for_the_engine_ends_when_its_socket_answers_or_says_which_did_not(tmp_path):
    import socket
    import threading

    from cdishim.ctl.node.hostroot import HostRoot
    from cdishim.ctl.node.restart import EngineService, RestartError, wait_for_answer

    (tmp_path / "run").mkdir()
    host = HostRoot(str(tmp_path))
    service = EngineService(unit="containerd.service", socket="/run/engine.sock")
    with pytest.raises(RestartError, match=r"^containerd did not come back within 2 s: no answer on \"/run/engine.sock\"$"):
        wait_for_answer(host, service, "containerd", timeout_s=2)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def listen_later() -> None:
        server.bind(str(tmp_path / "run/engine.sock"))
        server.listen()

    timer = threading.Timer(0.5, listen_later)
    timer.start()
    try:
        wait_for_answer(host, service, "containerd", timeout_s=10)
    finally:
        timer.join()
        server.close()

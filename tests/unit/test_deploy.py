"""The deployment files: the DaemonSet and the systemd unit run the plugin as documented."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import yaml

from cdishim.ctl.main import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_daemonset_mounts_sockets_and_spec_dirs_and_is_node_critical():
    daemonset = yaml.safe_load((DEPLOY / "kubernetes" / "device-plugin.yaml").read_text())
    assert daemonset["kind"] == "DaemonSet"
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-node-critical"
    volumes = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    [container] = pod["containers"]
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert mounts["/var/lib/kubelet/device-plugins"] == "/var/lib/kubelet/device-plugins"
    assert mounts["/etc/cdi"] == "/etc/cdi" and mounts["/var/run/cdi"] == "/var/run/cdi"
    args = build_parser().parse_args(container["command"][1:])  # the command line cdishim-ctl accepts
    assert args.kind == ["mock.com/gpu"] and args.spec_dir == ["/etc/cdi", "/var/run/cdi"]
    assert args.socket_dir == "/var/lib/kubelet/device-plugins"


def test_systemd_unit_runs_the_plugin():
    unit = configparser.ConfigParser(interpolation=None)
    unit.read(DEPLOY / "systemd" / "cdishim-device-plugin.service")
    command = shlex.split(unit["Service"]["ExecStart"])
    assert command[:3] == ["/usr/bin/cdishim-ctl", "device-plugin", "$CDISHIM_DEVICE_PLUGIN_ARGS"]
    assert unit["Service"]["Restart"] == "always"
    args = build_parser().parse_args(["device-plugin", "--kind", "mock.com/gpu"])
    assert args.socket_dir == "/var/lib/kubelet/device-plugins"

"""The deployment files: the DaemonSet and the systemd unit run the plugin as documented."""

from __future__ import annotations

import configparser
import os
import shlex
from pathlib import Path

import yaml

from cdishim.ctl.device_plugin import resources_from
from cdishim.ctl.main import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_daemonset_mounts_sockets_spec_dirs_and_its_config_and_is_node_critical(tmp_path):
    daemonset = yaml.safe_load((DEPLOY / "kubernetes" / "device-plugin.yaml").read_text())
    assert daemonset["kind"] == "DaemonSet"
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-node-critical"
    assert not pod.get("hostNetwork")  # kernel uevents reach pods' network namespaces too
    volumes = {v["name"]: v for v in pod["volumes"]}
    [container] = pod["containers"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    host = {path: volumes[m["name"]].get("hostPath", {}).get("path") for path, m in mounts.items()}
    assert host["/var/lib/kubelet/device-plugins"] == "/var/lib/kubelet/device-plugins"
    assert host["/etc/cdi"] == "/etc/cdi" and host["/var/run/cdi"] == "/var/run/cdi"
    assert not mounts["/var/run/cdi"].get("readOnly")  # discovered devices' specs are written there
    args = build_parser().parse_args(container["command"][1:])  # the command line cdishim-ctl accepts
    assert args.spec_dir == ["/etc/cdi", "/var/run/cdi"] and args.cdi_dir == "/var/run/cdi"
    assert args.socket_dir == "/var/lib/kubelet/device-plugins"

    config_dir = os.path.dirname(args.config)
    config_map = yaml.safe_load((DEPLOY / "kubernetes" / "device-plugin-config.yaml").read_text())
    assert volumes[mounts[config_dir]["name"]]["configMap"]["name"] == config_map["metadata"]["name"]
    assert config_map["metadata"]["namespace"] == daemonset["metadata"]["namespace"]
    config = tmp_path / os.path.basename(args.config)
    config.write_text(config_map["data"][os.path.basename(args.config)])
    args.config = str(config)
    assert [r.name for r in resources_from(args)] == ["mock.com/gpu", "example.com/fuse", "example.com/serial"]


def test_systemd_unit_runs_the_plugin():
    unit = configparser.ConfigParser(interpolation=None)
    unit.read(DEPLOY / "systemd" / "cdishim-device-plugin.service")
    command = shlex.split(unit["Service"]["ExecStart"])
    assert command[:3] == ["/usr/bin/cdishim-ctl", "device-plugin", "$CDISHIM_DEVICE_PLUGIN_ARGS"]
    assert unit["Service"]["Restart"] == "always"
    args = build_parser().parse_args(["device-plugin", "--kind", "mock.com/gpu"])
    writable = unit["Service"]["ReadWritePaths"].split()  # ProtectSystem=strict: all else is read-only
    assert args.socket_dir in writable
    assert args.cdi_dir.replace("/var/run/", "/run/", 1) in writable  # where discovered devices' specs go

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


KUBERNETES = DEPLOY / "kubernetes"


def manifests() -> dict[str, dict]:
    """Every Kubernetes manifest under deploy/kubernetes, by path relative to it."""
    documents = {}
    for path in sorted(KUBERNETES.rglob("*.yaml")):
        [document] = list(yaml.safe_load_all(path.read_text()))
        documents[str(path.relative_to(KUBERNETES))] = document
    return documents


def pod_specs() -> dict[str, dict]:
    return {name: document["spec"]["template"]["spec"] for name, document in manifests().items()
            if document["kind"] == "DaemonSet"}


def containers(pod: dict) -> list[dict]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_every_manifest_parses_and_the_kustomization_applies_all_but_the_uninstaller():
    documents = manifests()
    assert {document["kind"] for document in documents.values()} >= {"DaemonSet", "ConfigMap", "RuntimeClass",
                                                                      "Kustomization"}
    kustomization = documents["kustomization.yaml"]
    assert sorted(kustomization["resources"]) == sorted(
        name for name in documents if name != "kustomization.yaml" and not name.startswith("uninstall/"))


def test_every_image_is_the_one_make_image_tags():
    from cdishim import __version__

    [override] = manifests()["kustomization.yaml"]["images"]
    assert override == {"name": "cdishim", "newTag": __version__}
    images = {container["image"] for pod in pod_specs().values() for container in containers(pod)}
    assert images == {f"cdishim:{__version__}"}


def test_every_volume_mount_names_a_defined_volume():
    for name, pod in pod_specs().items():
        volumes = {volume["name"] for volume in pod["volumes"]}
        for container in containers(pod):
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{name}: {container['name']} mounts undefined {mount['name']}"


def test_the_runtime_class_handler_is_the_runtime_the_installer_registers_on_the_installers_nodes():
    from cdishim.ctl.node.install import RUNTIME_NAME

    documents = manifests()
    runtime_class = documents["runtimeclass.yaml"]
    assert runtime_class["handler"] == RUNTIME_NAME
    selector = runtime_class["scheduling"]["nodeSelector"]
    for name in ("node-installer.yaml", "uninstall/node-uninstaller.yaml", "device-plugin.yaml"):
        assert documents[name]["spec"]["template"]["spec"]["nodeSelector"] == selector


def installer_args(pod: dict, action: str):
    """The installer container's cdishim-ctl arguments, as cdishim-ctl parses them, with its env expanded."""
    [container] = pod["containers"]
    assert container["command"][:2] == ["sh", "-c"]
    env = {entry["name"]: entry["value"] for entry in container.get("env", [])}
    line = container["command"][2].split(" && ")[0].replace('"$CDISHIM_RESTART"', env["CDISHIM_RESTART"])
    words = shlex.split(line)
    assert words[:3] == ["cdishim-ctl", "node", action]
    return container, build_parser().parse_args(words[1:])


def test_the_installer_mounts_each_host_path_at_the_same_path_under_its_host_root():
    pods = pod_specs()
    container, args = installer_args(pods["node-installer.yaml"], "install")
    assert args.restart == "systemd" and pods["node-installer.yaml"]["hostPID"] is True
    volumes = {volume["name"]: volume["hostPath"]["path"] for volume in pods["node-installer.yaml"]["volumes"]}
    for mount in container["volumeMounts"]:
        assert mount["mountPath"] == args.host_root + volumes[mount["name"]]
    mounted = [volumes[mount["name"]] for mount in container["volumeMounts"]]
    from cdishim.ctl.node.hookfiles import HOOKS_DIR
    from cdishim.ctl.node.install import CONFIG_FILE, ENGINE_MARKERS, READY_FILE

    needed = [args.prefix, READY_FILE, CONFIG_FILE, HOOKS_DIR, *(m for markers in ENGINE_MARKERS.values() for m in markers)]
    for path in needed:
        assert any(path == host or path.startswith(host.rstrip("/") + "/") for host in mounted), path


def test_the_uninstaller_is_the_installer_with_uninstall_for_install():
    pods = pod_specs()
    installer, uninstaller = pods["node-installer.yaml"], pods["uninstall/node-uninstaller.yaml"]
    _, install_args = installer_args(installer, "install")
    _, uninstall_args = installer_args(uninstaller, "uninstall")
    assert (install_args.host_root, install_args.prefix) == (uninstall_args.host_root, uninstall_args.prefix)

    def without_names(pod: dict) -> dict:
        copy = yaml.safe_load(yaml.safe_dump(pod))
        for container in copy["containers"]:
            container.pop("name")
            container["command"][2] = container["command"][2].replace("node uninstall", "node install")
        return copy

    assert without_names(uninstaller) == without_names(installer)


def test_the_device_plugin_waits_for_the_installers_readiness_file():
    from cdishim.ctl.node.install import READY_FILE

    pod = pod_specs()["device-plugin.yaml"]
    [wait] = pod["initContainers"]
    assert f"[ -e {READY_FILE} ]" in wait["command"][2]
    volumes = {volume["name"]: volume["hostPath"]["path"] for volume in pod["volumes"] if "hostPath" in volume}
    [mount] = wait["volumeMounts"]
    assert READY_FILE.startswith(mount["mountPath"] + "/") and volumes[mount["name"]] == mount["mountPath"]

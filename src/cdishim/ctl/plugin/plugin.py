"""Run one device plugin per resource against kubelet, and keep them registered.

Each plugin serves its own socket in the device-plugins dir and registers
with ``kubelet.sock`` there. The loop wakes on changes of the spec dirs and
of the socket dir (inotify), on kernel uevents (a device came or went), a
second after a uevent (udev has made the node by then), and at least every
*interval* seconds:

- discovering resources scan the host and rewrite their spec file first, so
  that a device is in a spec before kubelet can allocate it;
- then it re-reads the registry and the devices' health, and the
  ListAndWatch streams re-send when a list changed;
- when kubelet restarted (it wipes the dir and creates a new kubelet.sock),
  each plugin serves a fresh socket and registers again;
- when kubelet is not there yet, registration is simply retried.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures

import grpc

from cdishim.cdi.cache import load_registry
from cdishim.cdi.registry import Registry
from cdishim.cdi.trust import SpecTrust
from cdishim.ctl.plugin.config import ResourceConfig, socket_file
from cdishim.ctl.plugin.devices import (
    HEALTHY,
    UNHEALTHY,
    PluginDevice,
    Remembered,
    found_devices,
    kind_devices,
    with_replicas,
)
from cdishim.ctl.plugin.discovery import DeviceFinder
from cdishim.ctl.plugin.service import DeviceList, DevicePluginService
from cdishim.ctl.plugin.specfile import GeneratedSpec
from cdishim.ctl.plugin.uevents import UDEV_SETTLE_S, UeventListener
from cdishim.ctl.plugin.v1beta1 import api_pb2, api_pb2_grpc
from cdishim.errors import CdishimError
from cdishim.inotify import DirectoryWatch

API_VERSION = "v1beta1"
KUBELET_SOCKET = "kubelet.sock"
REGISTER_TIMEOUT_S = 5


def say(message: str) -> None:
    """One log line on stderr (the journal or the pod log)."""
    sys.stderr.write(f"cdishim device-plugin: {message}\n")
    sys.stderr.flush()


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_ctime_ns


class Discovery:
    """A discovering resource's devices: found on the host, written to its spec file, remembered when gone."""

    def __init__(self, resource: ResourceConfig, cdi_dir: str, sysfs_root: str) -> None:
        self.resource = resource
        self.finder = DeviceFinder(resource, sysfs_root)
        self.spec = GeneratedSpec(cdi_dir, resource.kind)
        self.remembered: dict[str, Remembered] = {}
        self.latest: list[PluginDevice] = []  # the devices as of the last scan
        self.failing = ""
        self.skipped: list[str] = []

    def scan(self, publish: Callable[[list[PluginDevice]], None]) -> None:
        """Find the devices and bring the spec file up to date; all are unhealthy while it cannot be written.

        Devices that went away are *publish*ed unhealthy before the spec
        loses them, and new ones are published (by the caller) only after
        the spec has them: kubelet never allocates a device that is in no spec.
        """
        found, skipped = self.finder.find()
        for line in skipped:
            if line not in self.skipped:
                say(f"{self.resource.name}: {line}")
        self.skipped = skipped
        devices = found_devices(found, self.remembered, time.monotonic())
        before = {device.device for device in self.latest if device.health == HEALTHY}
        publish([device for device in devices if device.health != HEALTHY or device.device in before])
        try:
            self.spec.update(found)
        except (OSError, CdishimError) as err:
            message = f"cannot write {self.spec.path}: {getattr(err, 'strerror', None) or err}"
            if message != self.failing:
                say(f"{self.resource.name}: {message}; devices are unhealthy until it can")
                self.failing = message
            devices = [device.replace(health=UNHEALTHY) for device in devices]
        else:
            self.failing = ""
        self.latest = devices

    def close(self) -> None:
        """Remove the spec file: the devices are no longer looked after."""
        self.spec.remove()


class ResourcePlugin:
    """The gRPC server and kubelet registration of one resource."""

    def __init__(self, resource: ResourceConfig, strategy: str, socket_dir: str, discovery: Discovery | None) -> None:
        self.resource = resource
        self.discovery = discovery
        self.devices = DeviceList()
        self.service = DevicePluginService(resource, strategy, self.devices)
        self.endpoint = socket_file(resource.name)
        self.path = os.path.join(socket_dir, self.endpoint)
        self.kubelet = os.path.join(socket_dir, KUBELET_SOCKET)
        self.server: grpc.Server | None = None
        self.served: tuple[int, int] | None = None  # identity of the socket file we serve
        self.registered_with: tuple[int, int] | None = None  # identity of the kubelet.sock we registered with

    def serve(self) -> None:
        """(Re)start the server on a fresh socket file."""
        self.stop_server()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        api_pb2_grpc.add_DevicePluginServicer_to_server(self.service, self.server)
        self.server.add_insecure_port(f"unix://{self.path}")
        self.server.start()
        self.served = _identity(self.path)
        self.registered_with = None
        say(f"{self.resource.name}: serving {self.path}")

    def stop_server(self) -> None:
        """Stop serving (streams end) and remove the socket file if it is ours."""
        if self.server is not None:
            self.server.stop(grace=1).wait()
            self.server = None
            if _identity(self.path) == self.served:
                os.unlink(self.path)

    def register(self) -> None:
        """Register with kubelet unless already registered with this kubelet.sock."""
        kubelet = _identity(self.kubelet)
        if kubelet is None or kubelet == self.registered_with:
            return
        request = api_pb2.RegisterRequest(
            version=API_VERSION, endpoint=self.endpoint, resource_name=self.resource.name,
            options=api_pb2.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True))
        try:
            with grpc.insecure_channel(f"unix://{self.kubelet}") as channel:
                api_pb2_grpc.RegistrationStub(channel).Register(request, timeout=REGISTER_TIMEOUT_S)
        except grpc.RpcError as err:
            say(f"{self.resource.name}: registration with {self.kubelet} failed ({err.code().name}: {err.details()}); will retry")
            return
        self.registered_with = kubelet
        say(f"{self.resource.name}: registered with kubelet as {self.resource.name}")

    def keep_up(self) -> None:
        """Serve again if kubelet wiped our socket; register if not registered with the current kubelet."""
        if self.server is None or _identity(self.path) != self.served:
            self.serve()
        self.register()

    def publish(self, devices: list[PluginDevice]) -> None:
        """Advertise *devices*, each once per replica; the streams re-send if that changed the list."""
        if self.devices.update(with_replicas(devices, self.resource.replicas)):
            say(f"{self.resource.name}: {len(devices)} device(s), {len(self.devices.current())} advertised")

    def scan(self) -> None:
        """Discover the devices and update the spec file (discovering resources only)."""
        if self.discovery is not None:
            self.discovery.scan(self.publish)

    def refresh(self, registry: Registry, sysfs_root: str) -> None:
        """Update the advertised list from the registry (a CDI kind) or from the last scan (discovery)."""
        if self.discovery is None:
            self.publish(kind_devices(registry, self.resource.kind, sysfs_root))
        else:
            self.publish(self.discovery.latest)

    def shutdown(self) -> None:
        """End the streams, stop serving, and take a discovered resource's spec file away."""
        self.devices.stop()
        try:
            self.stop_server()
        finally:
            if self.discovery is not None:
                self.discovery.close()


def _open_uevents() -> UeventListener | None:
    try:
        return UeventListener()
    except OSError as err:
        say(f"kernel uevents unavailable ({err.strerror or err}); discovering by polling only")
        return None


def run_plugins(resources: tuple[ResourceConfig, ...], spec_dirs: list[str], socket_dir: str, strategy: str,
                trust: SpecTrust, interval_s: float, stop: threading.Event, cdi_dir: str, sysfs_root: str,
                wake_fd: int | None = None) -> None:
    """Serve every resource until *stop* is set; a byte on *wake_fd* (a signal's wakeup fd) ends a wait early."""
    os.makedirs(socket_dir, exist_ok=True)
    plugins = [
        ResourcePlugin(resource, strategy, socket_dir,
                       Discovery(resource, cdi_dir, sysfs_root) if resource.discovered else None)
        for resource in resources
    ]
    uevents = _open_uevents() if any(plugin.discovery for plugin in plugins) else None
    watch = DirectoryWatch([*spec_dirs, socket_dir])
    settle_at: float | None = None  # when to scan again after a uevent
    try:
        while not stop.is_set():
            for plugin in plugins:
                plugin.scan()
            registry = load_registry(spec_dirs, "", trust)
            for plugin in plugins:
                plugin.refresh(registry, sysfs_root)
                plugin.keep_up()
            timeout = interval_s if settle_at is None else max(0.0, min(interval_s, settle_at - time.monotonic()))
            waited_on = [watch.fd, *([uevents] if uevents else []), *([wake_fd] if wake_fd is not None else [])]
            readable, _, _ = select.select(waited_on, [], [], timeout)
            if uevents is not None and uevents in readable and uevents.drain():
                settle_at = time.monotonic() + UDEV_SETTLE_S
            elif settle_at is not None and time.monotonic() >= settle_at:
                settle_at = None
            watch.drain()
            watch.rearm()
    finally:
        watch.close()
        if uevents is not None:
            uevents.close()
        for plugin in plugins:
            try:
                plugin.shutdown()
            except OSError as err:  # the others still stop and clean up
                say(f"{plugin.resource.name}: cannot clean up: {err.strerror or err}")

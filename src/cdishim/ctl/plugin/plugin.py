"""Run one device plugin per CDI kind against kubelet, and keep them registered.

Each plugin serves its own socket in the device-plugins dir and registers
with ``kubelet.sock`` there. The loop wakes on changes of the spec dirs and
of the socket dir (inotify), and at least every *interval* seconds:

- it re-reads the registry and the devices' health, and the ListAndWatch
  streams re-send when a list changed;
- when kubelet restarted (it wipes the dir and creates a new kubelet.sock),
  each plugin serves a fresh socket and registers again;
- when kubelet is not there yet, registration is simply retried.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from concurrent import futures

import grpc

from cdishim.cdi.cache import load_registry
from cdishim.cdi.trust import SpecTrust
from cdishim.ctl.plugin.devices import kind_devices
from cdishim.ctl.plugin.service import DeviceList, DevicePluginService
from cdishim.ctl.plugin.v1beta1 import api_pb2, api_pb2_grpc
from cdishim.inotify import DirectoryWatch

API_VERSION = "v1beta1"
KUBELET_SOCKET = "kubelet.sock"
REGISTER_TIMEOUT_S = 5


def say(message: str) -> None:
    """One log line on stderr (the journal or the pod log)."""
    sys.stderr.write(f"cdishim device-plugin: {message}\n")
    sys.stderr.flush()


def socket_name(kind: str) -> str:
    """The plugin's socket file name for *kind*."""
    return "cdishim-" + re.sub(r"[^A-Za-z0-9_.-]", "-", kind) + ".sock"


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_ctime_ns


class KindPlugin:
    """The gRPC server and kubelet registration of one kind."""

    def __init__(self, kind: str, strategy: str, socket_dir: str) -> None:
        self.kind = kind
        self.devices = DeviceList()
        self.service = DevicePluginService(kind, strategy, self.devices)
        self.endpoint = socket_name(kind)
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
        say(f"{self.kind}: serving {self.path}")

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
            version=API_VERSION, endpoint=self.endpoint, resource_name=self.kind,
            options=api_pb2.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True))
        try:
            with grpc.insecure_channel(f"unix://{self.kubelet}") as channel:
                api_pb2_grpc.RegistrationStub(channel).Register(request, timeout=REGISTER_TIMEOUT_S)
        except grpc.RpcError as err:
            say(f"{self.kind}: registration with {self.kubelet} failed ({err.code().name}: {err.details()}); will retry")
            return
        self.registered_with = kubelet
        say(f"{self.kind}: registered with kubelet as {self.kind}")

    def keep_up(self) -> None:
        """Serve again if kubelet wiped our socket; register if not registered with the current kubelet."""
        if self.server is None or _identity(self.path) != self.served:
            self.serve()
        self.register()

    def shutdown(self) -> None:
        """End the streams and stop serving."""
        self.devices.stop()
        self.stop_server()


def run_plugins(kinds: list[str], spec_dirs: list[str], socket_dir: str, strategy: str, trust: SpecTrust,
                interval_s: float, stop: threading.Event) -> None:
    """Serve every kind until *stop* is set."""
    os.makedirs(socket_dir, exist_ok=True)
    plugins = [KindPlugin(kind, strategy, socket_dir) for kind in kinds]
    watch = DirectoryWatch([*spec_dirs, socket_dir])
    try:
        while not stop.is_set():
            registry = load_registry(spec_dirs, "", trust)
            for plugin in plugins:
                if plugin.devices.update(kind_devices(registry, plugin.kind)):
                    say(f"{plugin.kind}: {len(plugin.devices.current())} device(s)")
                plugin.keep_up()
            watch.wait(interval_s)
            watch.rearm()
    finally:
        watch.close()
        for plugin in plugins:
            plugin.shutdown()

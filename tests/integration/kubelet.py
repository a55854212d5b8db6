"""A fake kubelet for device plugin tests: its Registration service, and a ListAndWatch reader.

Built on the same v1beta1 proto as the plugin, over real unix sockets.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc

from cdishim.ctl.plugin.v1beta1 import api_pb2, api_pb2_grpc


class FakeKubelet(api_pb2_grpc.RegistrationServicer):
    """kubelet's Registration service on ``<dir>/kubelet.sock``, recording each request."""

    def __init__(self, socket_dir: Path) -> None:
        self.registrations: queue.Queue = queue.Queue()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        api_pb2_grpc.add_RegistrationServicer_to_server(self, self.server)
        self.server.add_insecure_port(f"unix://{socket_dir}/kubelet.sock")
        self.server.start()

    def Register(self, request, context):
        self.registrations.put(request)
        return api_pb2.Empty()

    def next_registration(self, timeout_s: float = 10) -> api_pb2.RegisterRequest:
        return self.registrations.get(timeout=timeout_s)

    def stop(self) -> None:
        self.server.stop(0).wait()


class Stream:
    """A ListAndWatch stream read in the background, so that a test can wait with a timeout."""

    def __init__(self, stub) -> None:
        self.call = stub.ListAndWatch(api_pb2.Empty())
        self.lists: queue.Queue = queue.Queue()
        self.last: api_pb2.ListAndWatchResponse | None = None  # the latest response, topology and all
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for response in self.call:
                self.last = response
                self.lists.put({device.ID: device.health for device in response.devices})
        except grpc.RpcError:
            pass

    def until(self, predicate, timeout_s: float = 10) -> dict[str, str]:
        """The first list that satisfies *predicate*."""
        deadline = time.monotonic() + timeout_s
        while True:
            devices = self.lists.get(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(devices):
                return devices

    def close(self) -> None:
        self.call.cancel()

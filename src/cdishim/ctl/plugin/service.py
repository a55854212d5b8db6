"""The DevicePlugin gRPC service of one resource, over a shared, changing device list."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from cdishim.ctl.plugin.config import ResourceConfig
from cdishim.ctl.plugin.devices import PluginDevice, allocate, preferred
from cdishim.ctl.plugin.v1beta1 import api_pb2, api_pb2_grpc
from cdishim.errors import CdishimError

STREAM_POLL_S = 0.5  # how often an idle ListAndWatch stream checks that it is still wanted


class DeviceList:
    """The current devices of a resource, with a version that moves on each change."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._devices: list[PluginDevice] = []
        self.version = 0
        self.stopped = False

    def update(self, devices: list[PluginDevice]) -> bool:
        """Replace the list; wake the streams when it changed. True if it did."""
        with self._changed:
            if devices == self._devices and self.version:
                return False
            self._devices = list(devices)
            self.version += 1
            self._changed.notify_all()
            return True

    def current(self) -> list[PluginDevice]:
        """The devices now."""
        with self._changed:
            return list(self._devices)

    def wait_newer(self, seen: int, timeout_s: float) -> tuple[list[PluginDevice] | None, int]:
        """The list once its version is past *seen* (or ``None`` after *timeout_s*)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > seen or self.stopped, timeout_s)
            if self.version > seen and not self.stopped:
                return list(self._devices), self.version
            return None, seen

    def stop(self) -> None:
        """End every stream."""
        with self._changed:
            self.stopped = True
            self._changed.notify_all()


def _device_message(device: PluginDevice) -> api_pb2.Device:
    """The v1beta1 Device of *device*, with its NUMA node for the Topology Manager when known."""
    topology = None
    if device.numa_node is not None:
        topology = api_pb2.TopologyInfo(nodes=[api_pb2.NUMANode(ID=device.numa_node)])
    return api_pb2.Device(ID=device.id, health=device.health, topology=topology)


class DevicePluginService(api_pb2_grpc.DevicePluginServicer):
    """kubelet's view of one resource: list, watch, allocate."""

    def __init__(self, resource: ResourceConfig, strategy: str, devices: DeviceList) -> None:
        self.resource = resource
        self.strategy = strategy
        self.devices = devices

    def GetDevicePluginOptions(self, request: api_pb2.Empty, context: grpc.ServicerContext) -> api_pb2.DevicePluginOptions:
        """No PreStartContainer needed; preferred allocations offered."""
        return api_pb2.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True)

    def ListAndWatch(self, request: api_pb2.Empty, context: grpc.ServicerContext) -> Iterator[api_pb2.ListAndWatchResponse]:
        """The device list now, then again after every change, until kubelet or the plugin goes away."""
        seen = 0
        while context.is_active() and not self.devices.stopped:
            devices, seen = self.devices.wait_newer(seen, STREAM_POLL_S)
            if devices is not None:
                yield api_pb2.ListAndWatchResponse(devices=[_device_message(device) for device in devices])

    def GetPreferredAllocation(self, request: api_pb2.PreferredAllocationRequest, context: grpc.ServicerContext) -> api_pb2.PreferredAllocationResponse:
        """Must-include devices first, then spread over distinct devices before replicas of one are stacked."""
        current = self.devices.current()
        return api_pb2.PreferredAllocationResponse(container_responses=[
            api_pb2.ContainerPreferredAllocationResponse(deviceIDs=preferred(
                current, list(container.available_deviceIDs), list(container.must_include_deviceIDs), container.allocation_size))
            for container in request.container_requests
        ])

    def Allocate(self, request: api_pb2.AllocateRequest, context: grpc.ServicerContext) -> api_pb2.AllocateResponse:
        """CDI device names and/or cdi.k8s.io/ annotations per container; INVALID_ARGUMENT for bad IDs."""
        current = self.devices.current()
        responses = []
        for container in request.container_requests:
            try:
                allocation = allocate(self.resource, current, list(container.devices_ids), self.strategy)
            except CdishimError as err:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            responses.append(api_pb2.ContainerAllocateResponse(
                annotations=allocation.annotations,
                cdi_devices=[api_pb2.CDIDevice(name=name) for name in allocation.cdi_devices]))
        return api_pb2.AllocateResponse(container_responses=responses)

    def PreStartContainer(self, request: api_pb2.PreStartContainerRequest, context: grpc.ServicerContext) -> api_pb2.PreStartContainerResponse:
        """Nothing to do before a container starts."""
        return api_pb2.PreStartContainerResponse()

"""The compiled device plugin API carries kubelet's wire contract: names, numbers, methods."""

from __future__ import annotations

import pytest

pytest.importorskip("grpc")

from cdishim.ctl.plugin.v1beta1 import api_pb2

# message -> {field: number}, from the published kubelet v1beta1 API
FIELDS = {
    "RegisterRequest": {"version": 1, "endpoint": 2, "resource_name": 3, "options": 4},
    "DevicePluginOptions": {"pre_start_required": 1, "get_preferred_allocation_available": 2},
    "ListAndWatchResponse": {"devices": 1},
    "Device": {"ID": 1, "health": 2, "topology": 3},
    "AllocateRequest": {"container_requests": 1},
    "ContainerAllocateRequest": {"devices_ids": 1},
    "ContainerAllocateResponse": {"envs": 1, "mounts": 2, "devices": 3, "annotations": 4, "cdi_devices": 5},
    "CDIDevice": {"name": 1},
    "ContainerPreferredAllocationRequest": {"available_deviceIDs": 1, "must_include_deviceIDs": 2,
                                            "allocation_size": 3},
    "PreStartContainerRequest": {"devices_ids": 1},
}
METHODS = {
    "Registration": ["Register"],
    "DevicePlugin": ["GetDevicePluginOptions", "ListAndWatch", "GetPreferredAllocation", "Allocate",
                     "PreStartContainer"],
}


@pytest.mark.parametrize("message", sorted(FIELDS))
def test_field_numbers(message):
    descriptor = api_pb2.DESCRIPTOR.message_types_by_name[message]
    assert {field.name: field.number for field in descriptor.fields} == FIELDS[message]


def test_services_and_package():
    assert api_pb2.DESCRIPTOR.package == "v1beta1"
    for service, methods in METHODS.items():
        descriptor = api_pb2.DESCRIPTOR.services_by_name[service]
        assert [method.name for method in descriptor.methods] == methods
    list_and_watch = api_pb2.DESCRIPTOR.services_by_name["DevicePlugin"].methods_by_name["ListAndWatch"]
    assert list_and_watch.server_streaming and not list_and_watch.client_streaming

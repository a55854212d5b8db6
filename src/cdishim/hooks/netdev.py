"""``netdev --host-if IF --name NAME``: move a host interface into the container.

runtime-spec ``linux.netDevices`` semantics, for runtimes that do not apply
them (runc < 1.4, crun < 1.22): the interface moves into the network
namespace of the container's init (the state's pid), is renamed, gets back
its permanent global addresses (a namespace move drops them), and is set up.
The runtime shim adds this as a createRuntime hook when it is needed.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from cdishim.errors import HookError, quote

CLONE_NEWNET = 0x40000000
IFA_F_PERMANENT = 0x80
RT_SCOPE_UNIVERSE = 0


def _permanent_global_addresses(ip: Any, index: int) -> list[tuple[str, int]]:
    addresses = []
    for message in ip.get_addr(index=index):
        flags = message.get_attr("IFA_FLAGS") or message["flags"]
        address = message.get_attr("IFA_ADDRESS")
        if message["scope"] == RT_SCOPE_UNIVERSE and flags & IFA_F_PERMANENT and address:
            addresses.append((address, message["prefixlen"]))
    return addresses


def _present_in(netns_fd: int, name: str) -> bool:
    """Whether the namespace at *netns_fd* has an interface *name* (looked up from a child)."""
    pid = os.fork()
    if pid == 0:
        try:
            from pyroute2 import IPRoute

            _enter_netns(netns_fd)
            with IPRoute() as ip:
                os._exit(0 if ip.link_lookup(ifname=name) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _enter_netns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise HookError(f"cannot enter the container's network namespace: {os.strerror(errno)}")


def move_interface(pid: int, host_if: str, name: str, skip_if_moved: bool = False) -> None:
    """Move *host_if* into the netns of *pid* as *name*, with its addresses, up.

    With *skip_if_moved*, an interface already gone from the host and present
    in the container as *name* is left alone: the runtime applied
    ``linux.netDevices`` itself (how the hooks.d hook meets a new runc).
    """
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    if pid <= 0:
        raise HookError("netdev needs the container's pid in the OCI state (run it as a createRuntime hook)")
    try:
        netns_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise HookError(f"cannot open the network namespace of pid {pid}: {err.strerror}") from err
    try:
        with IPRoute() as ip:
            found = ip.link_lookup(ifname=host_if)
            if not found and skip_if_moved and _present_in(netns_fd, name):
                return
            if not found:
                raise HookError(f"host interface {quote(host_if)} not found")
            addresses = _permanent_global_addresses(ip, found[0])
            try:
                ip.link("set", index=found[0], net_ns_fd=netns_fd)
            except NetlinkError as err:
                raise HookError(f"cannot move {quote(host_if)} into the container: {err.args[-1]}") from err
        _enter_netns(netns_fd)
        with IPRoute() as ip:
            index = ip.link_lookup(ifname=host_if)[0]
            try:
                ip.link("set", index=index, ifname=name)
                for address, prefixlen in addresses:
                    ip.addr("add", index=index, address=address, prefixlen=prefixlen)
                ip.link("set", index=index, state="up")
            except NetlinkError as err:
                raise HookError(f"cannot set up {quote(name)} in the container: {err.args[-1]}") from err
    finally:
        os.close(netns_fd)

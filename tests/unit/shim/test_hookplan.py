"""The hook plan: CDI hooks wrapped, netdev hooks added only when the runtime needs them."""

from __future__ import annotations

import pytest

from cdishim.cdi.model import ContainerEdits, Hook, NetDevice
from cdishim.errors import ApplyError
from cdishim.shim.hookplan import WRAPPER_ENV, default_hook_program, plan_hooks

PROGRAM = "/bin/true"  # any executable stands in for cdishim-hook here
VENDOR = Hook(hook_name="createContainer", path="/usr/bin/vendor-hook", args=("vendor-hook", "--flag"),
              env=("A=1", "LD_PRELOAD=/x.so"), timeout=5)
NET = NetDevice(host_interface_name="eth1", name="net0")


def test_vendor_hook_is_wrapped_with_env_as_arguments():
    edits = plan_hooks(ContainerEdits(hooks=(VENDOR,)), PROGRAM, wrap=True, runtime_applies_net_devices=lambda: True)
    assert edits.hooks == (Hook(
        hook_name="createContainer", path=PROGRAM, env=WRAPPER_ENV, timeout=7,
        args=(PROGRAM, "exec", "--timeout", "5", "--env", "A=1", "--env", "LD_PRELOAD=/x.so", "--",
              "/usr/bin/vendor-hook", "vendor-hook", "--flag")),)


def test_no_wrapping_when_disabled():
    edits = ContainerEdits(hooks=(VENDOR,))
    assert plan_hooks(edits, "/nonexistent", wrap=False, runtime_applies_net_devices=lambda: True) is edits


@pytest.mark.parametrize("applies, expected", [(True, ()), (False, (
    Hook(hook_name="createRuntime", path=PROGRAM, env=WRAPPER_ENV,
         args=(PROGRAM, "netdev", "--host-if", "eth1", "--name", "net0")),))])
def test_netdev_hook_only_for_runtimes_that_need_it(applies, expected):
    edits = plan_hooks(ContainerEdits(net_devices=(NET,)), PROGRAM, wrap=True, runtime_applies_net_devices=lambda: applies)
    assert edits.hooks == expected
    assert edits.net_devices == (NET,)


def test_runtime_features_are_not_asked_without_net_devices():
    def fail() -> bool:
        raise AssertionError("runc features should not run")

    plan_hooks(ContainerEdits(hooks=(VENDOR,)), PROGRAM, wrap=True, runtime_applies_net_devices=fail)


def test_missing_hook_program_is_an_error():
    with pytest.raises(ApplyError, match='hook program "/nonexistent/cdishim-hook" is not executable'):
        plan_hooks(ContainerEdits(hooks=(VENDOR,)), "/nonexistent/cdishim-hook", wrap=True,
                   runtime_applies_net_devices=lambda: True)


def test_default_hook_program_is_next_to_cdishim():
    assert default_hook_program("/usr/bin/cdishim") == "/usr/bin/cdishim-hook"

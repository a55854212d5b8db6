"""Adjust the hooks of the edits about to be injected: wrap them, add netdev hooks.

- With ``wrap-hooks = true`` (the default), every hook that comes from a CDI
  spec runs through ``cdishim-hook exec``, which gives it exactly the env the
  spec declared (passed as arguments; the wrapper itself gets only ``PATH``),
  cwd ``/``, no_new_privs and its timeout. The outer timeout gets a little
  grace so the wrapper, not the runtime, reports a hook that ran too long.
  Hooks the engine put in the config are not CDI edits and are never touched.
- When the low-level runtime does not apply ``linux.netDevices`` itself
  (runc < 1.4, crun < 1.22, as ``runc features`` says), each CDI netDevice
  also gets a createRuntime hook ``cdishim-hook netdev``. ``linux.netDevices``
  stays in the config as the record of what was asked.
"""

from __future__ import annotations

import os

from cdishim import defaults
from cdishim.cdi.model import ContainerEdits, Hook, NetDevice
from cdishim.errors import ApplyError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cdishim.oci.runtime import RuntimeFacts
    from cdishim.settings import Settings

WRAPPER_ENV = (f"PATH={defaults.SAFE_PATH}",)
TIMEOUT_GRACE_S = 2
HOOK_PROGRAM_NAME = "cdishim-hook"


def default_hook_program(cdishim_path: str) -> str:
    """``cdishim-hook`` next to the ``cdishim`` program at *cdishim_path*."""
    return os.path.join(os.path.dirname(os.path.abspath(cdishim_path)), HOOK_PROGRAM_NAME)


def wrap_hook(hook: Hook, program: str) -> Hook:
    """*hook* run through ``cdishim-hook exec``."""
    args = [program, "exec"]
    if hook.timeout is not None:
        args += ["--timeout", str(hook.timeout)]
    for entry in hook.env:
        args += ["--env", entry]
    args += ["--", hook.path, *hook.args]
    timeout = hook.timeout + TIMEOUT_GRACE_S if hook.timeout is not None else None
    return Hook(hook_name=hook.hook_name, path=program, args=tuple(args), env=WRAPPER_ENV, timeout=timeout)


def netdev_hook(device: NetDevice, program: str) -> Hook:
    """The createRuntime hook that moves *device* into the container."""
    return Hook(hook_name="createRuntime", path=program, env=WRAPPER_ENV,
                args=(program, "netdev", "--host-if", device.host_interface_name, "--name", device.name))


def plan_hooks(edits: ContainerEdits, settings: Settings, facts: RuntimeFacts) -> ContainerEdits:
    """*edits* with wrapped hooks and, when the runtime needs them, netdev hooks.

    Edits without hooks or netDevices (the common case) come back as they
    are, with nothing looked up.
    """
    if not edits.hooks and not edits.net_devices:
        return edits
    program = settings.hook_program or default_hook_program(facts.cdishim_program)
    hooks = tuple(wrap_hook(hook, program) for hook in edits.hooks) if settings.wrap_hooks else edits.hooks
    if edits.net_devices and not facts.applies_net_devices():
        hooks += tuple(netdev_hook(device, program) for device in edits.net_devices)
    if hooks == edits.hooks:
        return edits
    if not os.access(program, os.X_OK):
        raise ApplyError(f"hook program {quote(program)} is not executable; "
                         "set hook-program in the cdishim config (or wrap-hooks = false)")
    return edits.replace(hooks=hooks)

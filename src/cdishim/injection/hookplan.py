"""Adjust the hooks of the edits about to be injected: wrap them, add netdev hooks.

- With ``wrap-hooks = true`` (the default), every hook that comes from a CDI
  spec runs through ``cdishim-hook exec``, which gives it exactly the env the
  spec declared (passed as arguments; the wrapper itself gets only ``PATH``),
  cwd ``/``, no_new_privs and its timeout. The CDI hooks of one stage (they
  come after the engine's, in spec order) share one wrapper process, which
  runs them in order and stops at the first that fails; cdishim-hook's own
  programs among them run in that process. The outer timeout is the sum of
  the hooks' plus a little grace, so the wrapper, not the runtime, reports a
  hook that ran too long. Hooks the engine put in the config are not CDI
  edits and are never touched.
- When cdishim is the compiled launcher, the entries it writes run it by the
  name ``cdishim-hook`` (``path`` the launcher, ``args[0]`` cdishim-hook):
  it starts the same Python code with ``-S`` and the recorded ``sys.path``,
  which saves the site import on every stage. The sh launcher cannot see
  ``args[0]``, so with it the entries run ``cdishim-hook`` itself.
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
    from collections.abc import Sequence

    from cdishim.oci.runtime import RuntimeFacts
    from cdishim.settings import Settings

WRAPPER_ENV = (f"PATH={defaults.SAFE_PATH}",)
TIMEOUT_GRACE_S = 2
HOOK_PROGRAM_NAME = "cdishim-hook"
# cdishim-hook's own programs that can run inside the wrapper: netdev is not one,
# as it enters the container's network namespace.
BUILTIN_HOOKS = ("create-symlinks", "update-ldcache", "chmod")
# The compiled launcher is an ELF program; the sh launcher is not.
ELF_MAGIC = b"\x7fELF"


def default_hook_program(cdishim_path: str) -> str:
    """``cdishim-hook`` next to the ``cdishim`` program at *cdishim_path*."""
    return os.path.join(os.path.dirname(os.path.abspath(cdishim_path)), HOOK_PROGRAM_NAME)


def through_current_link(launcher: str) -> str:
    """*launcher* named through the ``current`` link of its tree, when a node-installed tree has one.

    ``cdishim-ctl node install`` puts each version in ``<prefix>/<version>-<digest>``
    and points ``<prefix>/current`` at it; the launcher knows itself by its
    real path. Hooks run long after create (poststop at the end of the
    container), so they must name ``current``, which outlives an upgrade
    and the removal of the old tree.
    """
    tree = os.path.dirname(os.path.dirname(launcher))
    current = os.path.join(os.path.dirname(tree), "current")
    try:
        os.readlink(current)  # whichever tree it names now: its hook programs take the same arguments
    except OSError:
        return launcher  # no such link: an ordinary installation
    return os.path.join(current, os.path.relpath(launcher, tree))


def hook_entry_path(program: str, launcher: str) -> str:
    """What hook entries run for *program*, the cdishim-hook beside *launcher*.

    The compiled *launcher* (run by cdishim-hook's name, it starts the hook
    wrapper with ``-S``), else *program* itself.
    """
    try:
        with open(launcher, "rb") as handle:
            compiled = handle.read(len(ELF_MAGIC)) == ELF_MAGIC
    except OSError:
        compiled = False
    return launcher if compiled else program


def wrap_stage(hooks: Sequence[Hook], program: str, entry_path: str) -> Hook:
    """The CDI *hooks* of one stage as one ``cdishim-hook exec`` entry that runs them in order.

    *entry_path* is the program the entry runs, *program* or `hook_entry_path`'s launcher.
    """
    args = [program, "exec"]
    for hook in hooks:
        args += _group(hook, program, counted=len(hooks) > 1)
    timeouts = [hook.timeout for hook in hooks]
    timeout = sum(timeouts) + TIMEOUT_GRACE_S if None not in timeouts else None  # type: ignore[arg-type]
    return Hook(hook_name=hooks[0].hook_name, path=entry_path, args=tuple(args), env=WRAPPER_ENV, timeout=timeout)


def _group(hook: Hook, program: str, counted: bool) -> list[str]:
    """The wrapper's arguments for *hook*; *counted* when more groups follow it or precede it."""
    group = []
    if hook.timeout is not None:
        group += ["--timeout", str(hook.timeout)]
    for entry in hook.env:
        group += ["--env", entry]
    if counted:
        group += ["--argc", str(len(hook.args))]
    if is_builtin(hook, program):
        group.append("--builtin")
    return [*group, "--", hook.path, *hook.args]


def is_builtin(hook: Hook, program: str) -> bool:
    """Whether *hook* runs one of *program*'s own hook programs (``cdishim-hook create-symlinks ...``)."""
    return (len(hook.args) >= 2 and hook.args[1] in BUILTIN_HOOKS
            and os.path.realpath(hook.path) == os.path.realpath(program))


def netdev_hook(device: NetDevice, program: str, entry_path: str) -> Hook:
    """The createRuntime hook that moves *device* into the container (*entry_path* as in `wrap_stage`)."""
    return Hook(hook_name="createRuntime", path=entry_path, env=WRAPPER_ENV,
                args=(program, "netdev", "--host-if", device.host_interface_name, "--name", device.name))


def plan_hooks(edits: ContainerEdits, settings: Settings, facts: RuntimeFacts) -> ContainerEdits:
    """*edits* with wrapped hooks and, when the runtime needs them, netdev hooks.

    Edits without hooks or netDevices (the common case) come back as they
    are, with nothing looked up.
    """
    if not edits.hooks and not edits.net_devices:
        return edits
    if settings.hook_program:
        program = entry_path = settings.hook_program
    else:
        launcher = through_current_link(facts.cdishim_program)
        program = default_hook_program(launcher)
        entry_path = hook_entry_path(program, launcher)
    hooks = edits.hooks
    if settings.wrap_hooks and hooks:
        stages: dict[str, list[Hook]] = {}
        for hook in hooks:
            stages.setdefault(hook.hook_name, []).append(hook)
        hooks = tuple(wrap_stage(stage, program, entry_path) for stage in stages.values())
    if edits.net_devices and not facts.applies_net_devices():
        hooks += tuple(netdev_hook(device, program, entry_path) for device in edits.net_devices)
    if hooks == edits.hooks:
        return edits
    if not os.access(program, os.X_OK):
        raise ApplyError(f"hook program {quote(program)} is not executable; "
                         "set hook-program in the cdishim config (or wrap-hooks = false)")
    return edits.replace(hooks=hooks)

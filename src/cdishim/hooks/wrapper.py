"""``exec GROUP [GROUP ...]``: run the CDI hooks of one stage, in order, each confined.

``GROUP`` is ``[--timeout S] [--env K=V ...] [--argc N] [--builtin] -- PATH
[ARGV0 ARG ...]``. The runtime shim rewrites the hooks it injects from CDI
specs to run through this wrapper (``wrap-hooks = true``): the consecutive
hooks of one stage become one wrapper process, each hook a group. Each vendor
hook then runs:

- with exactly the env its spec declared (passed as ``--env``, not inherited
  from anywhere), minus any ``LD_*`` variable;
- with cwd ``/``, no_new_privs, and SIGKILL if the wrapper dies;
- under its own timeout: when it runs past it, its whole process group is
  killed and the hook fails with a message saying so;
- with the OCI state forwarded on stdin, and its outcome logged.

The first hook that fails stops the stage: the hooks after it do not run,
as when each was a hook of its own. cdishim-hook's own programs
(create-symlinks, update-ldcache, chmod), marked ``--builtin``, run in a
forked child of the wrapper instead of a new interpreter: the same
confinement, env, stdin, timeout and messages as when they were started on
their own, without the interpreter's start-up.
"""

from __future__ import annotations

import os
import sys
import time

from cdishim import defaults
from cdishim.errors import HookError, quote
from cdishim.hooks import sandbox
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def hook_env(entries: list[str]) -> dict[str, str]:
    """The declared env as a dict, without ``LD_*`` (the loader's variables)."""
    env = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep or not key:
            raise HookError(f"--env {quote(entry)}: expected KEY=VALUE")
        if not key.startswith("LD_"):
            env[key] = value
    return env


class HookCall(Record):
    """One hook of a stage, as the wrapper runs it."""

    path: str
    argv: tuple[str, ...]
    env: tuple[str, ...] = ()
    timeout: float | None = None
    builtin: bool = False  # one of cdishim-hook's own programs: run in a forked child, no new interpreter


def run_hook(call: HookCall, state: bytes) -> int:
    """Run the hook of *call*; return its exit status or raise `HookError`."""
    path, argv, env, timeout_s = call.path, list(call.argv), hook_env(list(call.env)), call.timeout
    if not os.path.isabs(path):
        raise HookError(f"hook path {quote(path)} must be absolute")
    program: str | Callable[[], int] = path
    if call.builtin:
        from cdishim.hooks.main import main

        def program() -> int:  # cdishim-hook's main, in the forked child
            return main(argv[1:], state)
    try:
        status, _ = sandbox.run_confined(program, argv or [path], env, stdin=b"" if call.builtin else state,
                                         timeout_s=timeout_s)
    except OSError as err:
        raise HookError(f"cannot run hook {quote(path)}: {err.strerror}") from err
    if status is None:
        raise HookError(f"hook {quote(path)} timed out after {timeout_s:g}s")
    return status


def run(calls: list[HookCall]) -> int:
    """Run *calls* in order with the state from stdin; stop at the first that fails."""
    from cdishim.log import log_event
    from cdishim.settings import load_settings

    state = sys.stdin.buffer.read(defaults.MAX_STATE_BYTES + 1)
    settings = load_settings()
    for call in calls:
        started = time.monotonic()
        try:
            status = run_hook(call, state)
        except HookError as err:
            log_event(settings, "error", "hook failed", hook=call.path, error=str(err))
            raise
        level = "info" if status == 0 else "error"
        log_event(settings, level, "hook finished", hook=call.path, status=status,
                  seconds=round(time.monotonic() - started, 3))
        if status != 0:
            raise HookError(f"hook {quote(call.path)} exited with status {status}")
    return 0


USAGE = "usage: exec GROUP [GROUP ...]; GROUP: [--timeout S] [--env K=V ...] [--argc N] [--builtin] -- PATH [ARGV0 ARG ...]"


def parse_args(args: list[str]) -> list[HookCall]:
    """The hooks an ``exec`` command line names, without argparse (start-up cost).

    A group's ``--argc N`` says how many arguments after PATH are its own;
    the last group may leave it out and take the rest. `HookError` for
    anything else.
    """
    calls: list[HookCall] = []
    position = 0
    while True:
        options: dict[str, Any] = {"env": [], "timeout": None, "argc": None, "builtin": False}
        while position < len(args) and args[position] != "--":
            position = _parse_option(args, position, options)
        command = args[position + 1:]
        if not command:
            raise HookError(f"exec: missing -- PATH [ARGV0 ARG ...]; {USAGE}")
        argc = len(command) - 1 if options["argc"] is None else options["argc"]
        if argc > len(command) - 1:
            raise HookError(f"exec: --argc {argc}: only {len(command) - 1} arguments follow {quote(command[0])}")
        calls.append(HookCall(path=command[0], argv=tuple(command[1:1 + argc]), env=tuple(options["env"]),
                              timeout=options["timeout"], builtin=options["builtin"]))
        position += 2 + argc
        if options["argc"] is None or position >= len(args):
            return calls


def _parse_option(args: list[str], position: int, options: dict[str, Any]) -> int:
    """Read the option at *position* into *options*; the position after it."""
    option, sep, inline = args[position].partition("=")
    if option == "--builtin" and not sep:
        options["builtin"] = True
        return position + 1
    if option not in ("--timeout", "--env", "--argc"):
        raise HookError(f"exec: unknown option {quote(args[position])}; {USAGE}")
    if not sep:
        position += 1
        if position >= len(args):
            raise HookError(f"exec: {option} needs a value")
        inline = args[position]
    if option == "--env":
        options["env"].append(inline)
    elif option == "--timeout":
        try:
            options["timeout"] = float(inline)
        except ValueError:
            raise HookError(f"exec: --timeout {quote(inline)}: expected seconds") from None
    else:
        if not inline.isdigit():
            raise HookError(f"exec: --argc {quote(inline)}: expected a count")
        options["argc"] = int(inline)
    return position + 1

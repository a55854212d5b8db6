"""``exec [--timeout S] [--env K=V ...] -- PATH [ARGV0 ARG ...]``: run a vendor hook safely.

The runtime shim rewrites each hook it injects from a CDI spec to run
through this wrapper (``wrap-hooks = true``). The vendor hook then runs:

- with exactly the env its spec declared (passed as ``--env``, not inherited
  from anywhere), minus any ``LD_*`` variable;
- with cwd ``/``, no_new_privs, and SIGKILL if the wrapper dies;
- under its own timeout: when it runs past it, its whole process group is
  killed and the hook fails with a message saying so;
- with the OCI state forwarded on stdin, and its outcome logged.
"""

from __future__ import annotations

import os
import sys
import time

from cdishim import defaults
from cdishim.errors import HookError, quote
from cdishim.hooks import sandbox


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


def run_hook(path: str, argv: list[str], env: dict[str, str], timeout_s: float | None, state: bytes) -> int:
    """Run the vendor hook; return its exit status or raise `HookError`."""
    if not os.path.isabs(path):
        raise HookError(f"hook path {quote(path)} must be absolute")
    try:
        status, _ = sandbox.run_confined(path, argv or [path], env, stdin=state, timeout_s=timeout_s)
    except OSError as err:
        raise HookError(f"cannot run hook {quote(path)}: {err.strerror}") from err
    if status is None:
        raise HookError(f"hook {quote(path)} timed out after {timeout_s:g}s")
    return status


def run(path: str, argv: list[str], env_entries: list[str], timeout_s: float | None) -> int:
    """Forward stdin to the hook, log the outcome, return the hook's status."""
    from cdishim.log import log_event
    from cdishim.settings import load_settings

    state = sys.stdin.buffer.read(defaults.MAX_STATE_BYTES + 1)
    env = hook_env(env_entries)
    settings = load_settings()
    started = time.monotonic()
    try:
        status = run_hook(path, argv, env, timeout_s, state)
    except HookError as err:
        log_event(settings, "error", "hook failed", hook=path, error=str(err))
        raise
    level = "info" if status == 0 else "error"
    log_event(settings, level, "hook finished", hook=path, status=status,
              seconds=round(time.monotonic() - started, 3))
    if status != 0:
        raise HookError(f"hook {quote(path)} exited with status {status}")
    return 0


def parse_args(args: list[str]) -> tuple[str, list[str], list[str], float | None]:
    """``[--timeout S] [--env K=V ...] -- PATH [ARGV0 ARG ...]`` without argparse (start-up cost).

    Returns (path, argv, env entries, timeout); `HookError` for anything else.
    """
    env: list[str] = []
    timeout: float | None = None
    position = 0
    while position < len(args) and args[position] != "--":
        option, _, inline = args[position].partition("=")
        if option not in ("--timeout", "--env"):
            raise HookError(f"exec: unknown option {quote(args[position])}; usage: exec [--timeout S] "
                            "[--env K=V ...] -- PATH [ARGV0 ARG ...]")
        if not inline:
            position += 1
            if position >= len(args):
                raise HookError(f"exec: {option} needs a value")
            inline = args[position]
        if option == "--env":
            env.append(inline)
        else:
            try:
                timeout = float(inline)
            except ValueError:
                raise HookError(f"exec: --timeout {quote(inline)}: expected seconds") from None
        position += 1
    command = args[position + 1:]
    if not command:
        raise HookError("exec: missing -- PATH [ARGV0 ARG ...]")
    return command[0], command[1:], env, timeout

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
import signal
import subprocess
import sys
import time

from cdishim.errors import quote
from cdishim.hooks import sandbox
from cdishim.oci.state import MAX_STATE_BYTES, HookError


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
        process = subprocess.Popen(argv or [path], executable=path, env=env, cwd="/", stdin=subprocess.PIPE,
                                   preexec_fn=sandbox.confine)
    except OSError as err:
        raise HookError(f"cannot run hook {quote(path)}: {err.strerror}") from None
    try:
        process.communicate(state, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise HookError(f"hook {quote(path)} timed out after {timeout_s:g}s") from None
    return process.returncode


def run(path: str, argv: list[str], env_entries: list[str], timeout_s: float | None) -> int:
    """Forward stdin to the hook, log the outcome, return the hook's status."""
    from cdishim.config import load_config
    from cdishim.log import log_event

    state = sys.stdin.buffer.read(MAX_STATE_BYTES + 1)
    config = load_config()
    started = time.monotonic()
    try:
        status = run_hook(path, argv, hook_env(env_entries), timeout_s, state)
    except HookError as err:
        log_event(config, "error", "hook failed", hook=path, error=str(err))
        raise
    level = "info" if status == 0 else "error"
    log_event(config, level, "hook finished", hook=path, status=status,
              seconds=round(time.monotonic() - started, 3))
    if status != 0:
        raise HookError(f"hook {quote(path)} exited with status {status}")
    return 0

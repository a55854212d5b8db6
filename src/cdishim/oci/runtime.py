"""Find the low-level OCI runtime (runc, crun) and hand over to it.

Names are looked up in PATH and then the usual sbin/bin dirs; an absolute
path is used as is. Whatever resolves to cdishim itself is skipped, and an
environment marker catches loops through wrappers that symlink-checking
cannot see (a script named runc that calls cdishim again).
"""

from __future__ import annotations

import os

from cdishim.errors import RuntimeLookupError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

EXTRA_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
LOOP_MARKER = "CDISHIM_HANDED_OVER_TO"


def _candidates(name: str) -> list[str]:
    if os.path.isabs(name):
        return [name]
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    return [os.path.join(d, name) for d in dict.fromkeys([*dirs, *EXTRA_DIRS])]


def find_runtime(names: Sequence[str], self_path: str) -> str:
    """The first executable runtime among *names* that is not *self_path*."""
    me = os.path.realpath(self_path)
    for name in names:
        for candidate in _candidates(name):
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and os.path.realpath(candidate) != me:
                return candidate
    raise RuntimeLookupError(f"no low-level OCI runtime found (looked for {', '.join(names)})")


def check_not_looping() -> None:
    """Raise if this process was started by a runtime cdishim handed over to."""
    runtime = os.environ.get(LOOP_MARKER)
    if runtime:
        raise RuntimeLookupError(
            f"low-level runtime {quote(runtime)} called cdishim again; set `runtimes` in the cdishim config to the real runc"
        )


def exec_runtime(runtime: str, args: Sequence[str]) -> NoReturn:
    """Replace this process with *runtime* and *args* (argv without argv[0])."""
    os.environ[LOOP_MARKER] = runtime
    try:
        os.execv(runtime, [runtime, *args])
    except OSError as err:
        raise RuntimeLookupError(f"cannot execute {quote(runtime)}: {err.strerror or err}") from None

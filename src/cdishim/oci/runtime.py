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
    from collections.abc import Callable, Sequence
    from typing import NoReturn

EXTRA_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
LOOP_MARKER = "CDISHIM_HANDED_OVER_TO"


def _candidates(name: str) -> list[str]:
    if os.path.isabs(name):
        return [name]
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    return [os.path.join(d, name) for d in dict.fromkeys([*dirs, *EXTRA_DIRS])]


def find_runtime(names: Sequence[str], self_path: str | None) -> str:
    """The first executable runtime among *names* that is not *self_path* (cdishim itself, when known)."""
    me = os.path.realpath(self_path) if self_path else None
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
        raise RuntimeLookupError(f"cannot execute {quote(runtime)}: {err.strerror or err}") from err


class RuntimeFacts:
    """The programs around one injection: the low-level runtime and cdishim itself.

    Each fact is found at most once, and only when an injection needs it:
    the programs when hooks are planned (the shim, which knows both already,
    passes them in; the dry run passes a function that locates cdishim), and
    the runtime's ``features`` only when a request has netDevices, so most
    creates never run ``runc features``.
    """

    def __init__(
        self, runtimes: Sequence[str], cdishim_program: str | Callable[[], str], runtime: str | None = None
    ) -> None:
        self._runtimes = tuple(runtimes)
        self._cdishim_program = cdishim_program
        self._runtime = runtime
        self._applies_net_devices: bool | None = None

    @property
    def cdishim_program(self) -> str:
        """The ``cdishim`` program (given, or located when first asked for)."""
        if callable(self._cdishim_program):
            self._cdishim_program = self._cdishim_program()
        return self._cdishim_program

    @property
    def runtime(self) -> str:
        """The low-level runtime that will run the container."""
        if self._runtime is None:
            try:
                program: str | None = self.cdishim_program
            except RuntimeLookupError:
                program = None  # a dry run where cdishim is not installed: nothing to keep out
            self._runtime = find_runtime(self._runtimes, program)
        return self._runtime

    def applies_net_devices(self) -> bool:
        """Whether the runtime moves ``linux.netDevices`` into the container itself."""
        if self._applies_net_devices is None:
            from cdishim.oci.features import applies_net_devices, runtime_features

            self._applies_net_devices = applies_net_devices(runtime_features(self.runtime))
        return self._applies_net_devices

"""``cdishim`` in Python: create/run injection, ``--version``, and runtime lookup.

The launcher (``launcher/cdishim.c``, or ``bin/cdishim`` without a C
compiler) sends commands here that need Python: create and run (unless the
resident injector served them), --version, and passthrough commands while
it has no trusted runtime record yet. A passthrough command imports only ``argv``, ``settings``,
``runtime`` and ``runtime_record`` before it ``execv``s the low-level
runtime. The CDI code is imported only for ``create`` and ``run``.
"""

from __future__ import annotations

import sys

from cdishim.errors import CdishimError, debugging, show_traceback_when_debugging
from cdishim.shim.argv import RuncCommand, parse_runc_argv

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from cdishim.settings import Settings


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the ``cdishim`` program: ``argv`` is [program path, runc args...].

    The launcher (``bin/cdishim``) calls this with its own path first, for
    the commands it does not hand to runc itself.
    """
    argv = sys.argv if argv is None else argv
    self_path, args = argv[0], argv[1:]
    command = parse_runc_argv(args)
    try:
        from cdishim import profile
        from cdishim.oci.runtime import check_not_looping, exec_runtime, find_runtime
        from cdishim.settings import load_settings

        check_not_looping()
        settings = load_settings()
        profile.mark("config")
        runtime = find_runtime(settings.runtimes, self_path)
        _remember_runtime(settings, runtime, self_path)
        profile.mark("runtime")
        if command.wants_version:
            from cdishim import __version__

            sys.stdout.write(f"cdishim version {__version__}\n")
            sys.stdout.flush()
        elif command.injects:
            from cdishim.oci.runtime import RuntimeFacts
            from cdishim.shim.create import inject_into_bundle

            profile.mark("imports")
            inject_into_bundle(command.bundle(), settings, RuntimeFacts(settings.runtimes, self_path, runtime))
            profile.report()
        exec_runtime(runtime, args)
    except CdishimError as err:
        show_traceback_when_debugging()
        _fail(command, f"cdishim: {err}")
    except Exception as err:
        if debugging() or "debug" in command.global_options:
            raise
        _fail(command, f"cdishim: internal error: {type(err).__name__}: {err}")


def _remember_runtime(settings: Settings, runtime: str, launcher: str) -> None:
    """Record *runtime* for the launcher, so that the next passthrough command skips Python."""
    from cdishim.oci.runtime_record import remember_runtime
    from cdishim.settings import settings_file

    remember_runtime(settings.cache_dir, settings_file(), runtime, launcher, settings.injector_socket)


def _fail(command: RuncCommand, message: str) -> NoReturn:
    from cdishim.shim.runclog import report_failure

    report_failure(message, command.global_options.get("log"), command.global_options.get("log-format"))
    sys.exit(1)

"""``cdishim-injector``: the resident injector as a program, in the foreground.

Run by systemd (``cdishim-injector.socket`` passes the listening socket) or
by hand. SIGTERM and SIGINT stop it; a socket it bound itself is removed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from cdishim import __version__
from cdishim.errors import CdishimError, quote
from cdishim.injector.resident import Resident
from cdishim.injector.server import listen, serve
from cdishim.settings import load_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cdishim-injector``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="cdishim-injector", description="Serve CDI injections to the cdishim launcher over a unix socket.",
        epilog="example:\n  cdishim-injector                      # the socket of the injector-socket setting\n"
               "  cdishim-injector --socket /run/cdishim/injector.sock\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cdishim-injector {__version__}")
    parser.add_argument("--socket", metavar="PATH", help="where to listen (default: the injector-socket setting)")
    args = parser.parse_args(argv)
    path = args.socket or ""
    try:
        path = path or load_settings().injector_socket
        if not path:
            raise CdishimError("no socket: injector-socket is empty in the settings, and --socket is not given")
        listener, owned = listen(path)
    except CdishimError as err:
        sys.stderr.write(f"cdishim-injector: {err}\n")
        return 1
    except OSError as err:
        sys.stderr.write(f"cdishim-injector: cannot listen on {quote(path)}: {err.strerror or err}\n")
        return 1

    def stop(signum: int, frame: Any) -> None:
        listener.close()  # accept() then fails, and serve() returns

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    resident = Resident()
    try:
        serve(listener, resident)
    finally:
        resident.close()
        if owned:
            try:
                os.unlink(path)
            except OSError:
                pass
    return 0


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())

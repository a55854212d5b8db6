"""``cdishim-injector``: serve injections over a unix socket, in the foreground.

Each connection is one create: the compiled launcher sends the bundle
directory as an open file descriptor (so the injector edits exactly the
directory the engine meant, whatever mount namespace either runs in) and
waits for "injected", "nothing" or "fallback". Requests are served one at a
time; a client that sends nothing is dropped after `REQUEST_TIMEOUT_S`.

Only peers that are root or this process's own user are served
(``SO_PEERCRED``). The socket is ``injector-socket`` (default
``/run/cdishim/injector.sock``), mode 0600 in a directory only its owner can
enter, or the one systemd passes (socket activation, ``LISTEN_FDS``).

The injector never words an error for the user: anything that stops an
injection is a "fallback" with its reason, and the launcher then runs the
in-process path, which reports it on stderr and in runc's ``--log``. So a
crash of the injector costs time, never a container, and ``config.json``
is only written when the injection succeeded.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import struct
import sys

from cdishim import __version__
from cdishim.errors import CdishimError, quote
from cdishim.fsutil import private_directory
from cdishim.injection.pipeline import inject
from cdishim.injector import protocol
from cdishim.injector.resident import Resident
from cdishim.log import log_event
from cdishim.oci.bundle import CONFIG_NAME, load_config_json_at, save_config_json_at
from cdishim.oci.runtime import RuntimeFacts
from cdishim.settings import load_settings, settings_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

REQUEST_TIMEOUT_S = 1.0
SYSTEMD_FIRST_FD = 3


def peer_uid(conn: socket.socket) -> int:
    """The user id of the process at the other end of *conn*."""
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[1]


def environment_differs(fields: Mapping[str, str]) -> str:
    """Why the launcher's environment would make the in-process path differ from this injector, or ""."""
    mine = {"config": settings_file(), "spec-dirs": os.environ.get("CDI_SPEC_DIRS"),
            "cache-dir": os.environ.get("CDISHIM_CACHE_DIR")}
    theirs = {"config": fields.get("config"), "spec-dirs": fields.get("spec-dirs"), "cache-dir": fields.get("cache-dir")}
    different = [name for name in mine if mine[name] != theirs[name]]
    return f"the launcher's {', '.join(different)} differ from the injector's" if different else ""


def answer(conn: socket.socket, resident: Resident) -> str:
    """Serve one connection; the reply line."""
    conn.settimeout(REQUEST_TIMEOUT_S)
    try:  # read first, so that a client's send never races this reply
        data, fds, _, _ = socket.recv_fds(conn, protocol.MAX_REQUEST_BYTES, 1)
    except OSError as err:
        return protocol.fallback(f"no request: {err}")
    try:
        uid = peer_uid(conn)
        if uid not in (0, os.geteuid()):
            return protocol.fallback(f"peer uid {uid} is not served")
        if len(fds) != 1:
            return protocol.fallback("no bundle directory came with the request")
        request = protocol.decode_request(data)
        if request.version != protocol.VERSION:
            return protocol.fallback(f"protocol version {request.version} is not served (this injector speaks "
                                     f"{protocol.VERSION})")
        missing = [name for name in protocol.REQUIRED_FIELDS if name not in request.fields]
        if missing:
            return protocol.fallback(f"the request lacks {', '.join(missing)}")
        differs = environment_differs(request.fields)
        return protocol.fallback(differs) if differs else inject_bundle(fds[0], request.fields, resident)
    except (CdishimError, ValueError, UnicodeDecodeError) as err:
        return protocol.fallback(str(err))
    except Exception as err:  # noqa: BLE001 - a bug here must cost speed, never a container
        return protocol.fallback(f"internal error: {type(err).__name__}: {err}")
    finally:
        for fd in fds:
            os.close(fd)


def inject_bundle(dir_fd: int, fields: Mapping[str, str], resident: Resident) -> str:
    """Inject into the bundle directory *dir_fd* what its config.json asks for; the reply."""
    settings = resident.settings()
    source = os.path.join(_name_of(dir_fd), CONFIG_NAME)

    def notify(level: str, event: str, **details: Any) -> None:
        log_event(settings, level, event, bundle=os.path.dirname(source), injector=True, **details)

    oci = load_config_json_at(dir_fd, source)
    facts = RuntimeFacts(settings.runtimes, fields["launcher"], fields["runtime"])
    injection = inject(oci, settings, facts, source=source, notify=notify, registry=resident.registry)
    if not injection.edited:
        return protocol.NOTHING
    save_config_json_at(dir_fd, oci, source)
    notify("info", "injected CDI devices", devices=list(injection.devices))
    return protocol.INJECTED


def _name_of(fd: int) -> str:
    """Where *fd* is, for messages and logs (as this process sees it)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"bundle fd {fd}"


def listen(path: str) -> tuple[socket.socket, bool]:
    """The listening socket: systemd's, else *path* bound anew; and whether it is ours to remove."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS") == "1":
        return socket.socket(fileno=SYSTEMD_FIRST_FD), False
    directory = os.path.dirname(path)
    if not private_directory(directory):
        raise CdishimError(f"injector socket dir {quote(directory)} must be a directory only its owner can write")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old_umask = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener, True


def serve(listener: socket.socket, resident: Resident) -> None:
    """Answer connections one at a time until the listener is closed."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return  # closed by the signal handler
        with conn:
            reply = answer(conn, resident)
            if reply.startswith(protocol.FALLBACK):
                _log(resident, "info", "left to the in-process path", reason=reply[len(protocol.FALLBACK) + 1:])
            try:
                conn.send(reply.encode() + b"\n")
            except OSError:
                pass  # the launcher gave up waiting: it runs the in-process path


def _log(resident: Resident, level: str, event: str, **fields: Any) -> None:
    try:
        log_event(resident.settings(), level, event, injector=True, **fields)
    except CdishimError:
        pass  # unreadable settings: nothing to log with


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
    try:
        path = args.socket or load_settings().injector_socket
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

"""The injector's serving loop: listen, check each request, inject through the bundle's dir fd.

Each connection is one create: the compiled launcher sends the bundle
directory as an open file descriptor (so the injector edits exactly the
directory the engine meant, in whatever mount namespace the engine made
it; the settings, spec dirs and runtime are this process's own) and waits
for "injected", "nothing" or "fallback". Requests are served one at a
time; a client that sends nothing is dropped after `REQUEST_TIMEOUT_S`, and
a client that gave up waiting gets no write to its bundle.

Only peers that are root or this process's own user are served
(``SO_PEERCRED``). The socket is ``injector-socket`` (default
``/run/cdishim/injector.sock``), mode 0600 in a directory that only its
owner can write, or the one systemd passes (socket activation,
``LISTEN_FDS``).

The injector never words an error for the user: anything that stops an
injection is a "fallback" with its reason, and the launcher then runs the
in-process path, which reports it on stderr and in runc's ``--log``. So a
crash of the injector costs time, never a container, and ``config.json``
is only written when the injection succeeded. Once cdishim's code on disk
differs from the code this process runs (an upgrade), every request is a
fallback and the loop ends: the next injector runs the new code.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time

from cdishim import statcache
from cdishim.errors import CdishimError, quote
from cdishim.fsutil import private_directory
from cdishim.injection.pipeline import inject
from cdishim.injector import protocol
from cdishim.injector.resident import Resident
from cdishim.log import log_event
from cdishim.oci.bundle import CONFIG_NAME, load_config_json_at, save_config_json_at
from cdishim.oci.runtime import RuntimeFacts
from cdishim.settings import settings_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

REQUEST_TIMEOUT_S = 1.0
SYSTEMD_FIRST_FD = 3
# The package directories whose modules this process runs: a change there is an upgrade.
RUNNING_CODE_DIRS = ("", "cdi", "oci", "injection", "injector")
ACCEPT_RETRY_S = 0.1
CODE_CHANGED = "fallback cdishim's code changed since this injector started; it exits"


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


def answer(conn: socket.socket, resident: Resident, code: tuple[object, ...]) -> str:
    """Serve one connection; the reply line.

    *code* is `statcache.code_fingerprint` of the running modules, taken at
    start: when the modules on disk differ, the reply is `CODE_CHANGED`.
    """
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
        if differs:
            return protocol.fallback(differs)
        if statcache.code_fingerprint(RUNNING_CODE_DIRS) != code:
            return CODE_CHANGED
        return inject_bundle(fds[0], request.fields, resident, conn)
    except (CdishimError, ValueError, UnicodeDecodeError) as err:
        return protocol.fallback(str(err))
    except Exception as err:  # noqa: BLE001 - a bug here must cost speed, never a container
        return protocol.fallback(f"internal error: {type(err).__name__}: {err}")
    finally:
        for fd in fds:
            os.close(fd)


def inject_bundle(dir_fd: int, fields: Mapping[str, str], resident: Resident, conn: socket.socket) -> str:
    """Inject into the bundle directory *dir_fd* what its config.json asks for; the reply.

    Nothing is written once the client on *conn* has gone: it gave up
    waiting and runs the in-process path on the same bundle.
    """
    settings = resident.settings()
    source = os.path.join(_name_of(dir_fd), CONFIG_NAME)

    def notify(level: str, event: str, **details: Any) -> None:
        log_event(settings, level, event, bundle=os.path.dirname(source), injector=True, **details)

    oci = load_config_json_at(dir_fd, source)
    facts = RuntimeFacts(settings.runtimes, fields["launcher"], fields["runtime"])
    injection = inject(oci, settings, facts, source=source, notify=notify, registry=resident.registry)
    if not injection.edited:
        return protocol.NOTHING
    if client_gone(conn):
        return protocol.fallback("the launcher stopped waiting")
    save_config_json_at(dir_fd, oci, source)
    notify("info", "injected CDI devices", devices=list(injection.devices))
    return protocol.INJECTED


def client_gone(conn: socket.socket) -> bool:
    """Whether the client closed its end of *conn*."""
    poller = select.poll()
    poller.register(conn, select.POLLRDHUP | select.POLLHUP)
    return bool(poller.poll(0))


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
    if _answers(path):
        raise CdishimError(f"another injector listens on {quote(path)} (systemd's cdishim-injector.socket?)")
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


def _answers(path: str) -> bool:
    """Whether something accepts connections on the socket at *path*."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def serve(listener: socket.socket, resident: Resident) -> None:
    """Answer connections one at a time until the listener is closed or cdishim's code changes.

    An error of ``accept`` (out of file descriptors, say) is logged and
    retried: the launcher falls back meanwhile.
    """
    code = statcache.code_fingerprint(RUNNING_CODE_DIRS)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError as err:
            if listener.fileno() < 0:
                return  # closed by the signal handler
            _log(resident, "warning", "cannot accept a connection", error=str(err))
            time.sleep(ACCEPT_RETRY_S)
            continue
        with conn:
            reply = answer(conn, resident, code)
            if reply.startswith(protocol.FALLBACK):
                _log(resident, "info", "left to the in-process path", reason=reply[len(protocol.FALLBACK) + 1:])
            try:
                conn.send(reply.encode() + b"\n")
            except OSError:
                pass  # the launcher gave up waiting: it runs the in-process path
        if reply == CODE_CHANGED:
            _log(resident, "warning", "cdishim's code changed: exiting, for an injector of the new code")
            return


def _log(resident: Resident, level: str, event: str, **fields: Any) -> None:
    try:
        log_event(resident.settings(), level, event, injector=True, **fields)
    except CdishimError:
        pass  # unreadable settings: nothing to log with

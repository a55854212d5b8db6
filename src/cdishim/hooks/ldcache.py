"""``update-ldcache --folder DIR ...``: make mounted libraries findable by the loader.

Writes ``/etc/ld.so.conf.d/000-cdishim.conf`` in the rootfs (resolved inside
it), then runs the HOST's ``ldconfig`` on the rootfs. ldconfig is opened on
the host first and started with ``fexecve`` after ``chroot`` into the
rootfs, so:

- no binary from the image ever runs (the image may ship its own ``ldconfig``);
- every path ldconfig touches, symlinks included, resolves inside the rootfs
  (CVE-2025-23267: an ldconfig run from the host followed the image's links);
- it runs with an empty environment but ``PATH``, cwd ``/``, no_new_privs and
  a parent-death signal (CVE-2025-23266: a hook inherited the image's
  ``LD_PRELOAD`` and ran with its cwd in the rootfs).

The folders are passed on ldconfig's command line too: an image without
``/etc/ld.so.conf`` (busybox) would not read the conf.d file.
"""

from __future__ import annotations

import os

from cdishim import defaults
from cdishim.errors import HookError, quote
from cdishim.hooks import sandbox
from cdishim.hooks.inroot import write_file

CONF_FILE = "/etc/ld.so.conf.d/000-cdishim.conf"
HOST_LDCONFIG = ("/sbin/ldconfig", "/usr/sbin/ldconfig")
LDCONFIG_TIMEOUT_S = 30


def host_ldconfig() -> str:
    """The host's ldconfig program."""
    for path in HOST_LDCONFIG:
        if os.access(path, os.X_OK):
            return path
    raise HookError(f"no ldconfig on the host (looked for {', '.join(HOST_LDCONFIG)})")


def check_folders(folders: list[str]) -> list[str]:
    """Absolute, clean folder paths (as the container sees them)."""
    for folder in folders:
        if not folder.startswith("/") or "\n" in folder or ".." in folder.split("/"):
            raise HookError(f"--folder {quote(folder)}: must be an absolute path without ..")
    return [os.path.normpath(folder) for folder in folders]


def run_ldconfig_in(rootfs: str, folders: list[str]) -> None:
    """Run the host's ldconfig chrooted into *rootfs*."""
    program = host_ldconfig()
    program_fd = os.open(program, os.O_RDONLY | os.O_CLOEXEC)
    try:
        status, output = sandbox.run_confined(program_fd, ["ldconfig", *folders], {"PATH": defaults.SAFE_PATH}, chroot=rootfs,
                                              capture=True, timeout_s=LDCONFIG_TIMEOUT_S)
    except OSError as err:
        raise HookError(f"cannot run {program} in {quote(rootfs)}: {err.strerror}") from err
    finally:
        os.close(program_fd)
    if status is None:
        raise HookError(f"ldconfig did not finish within {LDCONFIG_TIMEOUT_S}s")
    if status != 0:
        detail = output.decode(errors="replace").strip().splitlines()
        raise HookError(f"ldconfig failed in {quote(rootfs)}: {detail[-1] if detail else f'exit status {status}'}")


def run(root_fd: int, rootfs: str, folders: list[str]) -> None:
    """Write the conf.d entry, then rebuild the rootfs's loader cache; nothing without folders."""
    clean = check_folders(folders)
    if not clean:
        return
    write_file(root_fd, CONF_FILE, "".join(f"{folder}\n" for folder in clean).encode())
    run_ldconfig_in(rootfs, clean)

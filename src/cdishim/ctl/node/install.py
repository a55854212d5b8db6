"""Install cdishim on a host from a container, and take it away again.

Install, in an order where a kill at any point leaves the previous version
working and never leaves an engine pointing at a program that is not there:

1. read and parse the engine's config, and check that every host path to
   be written is writable; any problem is one line and changes nothing;
2. the tree goes to ``<prefix>/<version>-<digest>`` (built beside it under a
   temporary name, then renamed), unless that exact tree is there already;
3. ``<prefix>/current`` is switched to it with a rename: a container started
   meanwhile runs the old tree or the new one, never half of one; the tree it
   named until then stays until the next install (a create may still be
   loading from it), older ones are removed;
4. the engine config gets the runtime entry (``<prefix>/current/bin/cdishim``,
   the code of ``cdishim-ctl configure``), ``/etc/cdishim/config.toml`` is
   written if absent, the hooks.d files are put where podman and CRI-O look;
5. the engine is restarted only if its config changed, and only if asked
   (`PendingRestart` makes a later run finish a restart that failed);
6. the readiness file says which tree is installed.

A second install with nothing new writes no file and restarts nothing.
Uninstall takes the runtime entry out of the engine config first, restarts
the engine, then removes the hooks.d files, the readiness file and the
trees; it keeps
``/etc/cdishim/config.toml`` (the operator's settings), as dpkg keeps conffiles.
"""

from __future__ import annotations

import os
import shutil

from cdishim.ctl.engines import ENGINES, Engine, Registration
from cdishim.ctl.filewrite import write_file
from cdishim.ctl.node.hookfiles import HOOKS_DIR, hook_files
from cdishim.ctl.node.hostroot import HostRoot
from cdishim.ctl.node.restart import restart_engine
from cdishim.ctl.node.tree import TREE_NAME, TreeSource, write_tree
from cdishim.errors import CdishimError, UsageError, quote
from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_PREFIX = "/opt/cdishim"
RUNTIME_NAME = "cdishim"
READY_FILE = "/run/cdishim/installed"
CONFIG_FILE = "/etc/cdishim/config.toml"
DEFAULT_CONFIG = b"""\
# cdishim's settings (TOML). Every setting has a default, and this file sets
# none; see the cdishim(1) man page or the README for the keys.
# Written by `cdishim-ctl node install` because there was no such file; later
# installs and `cdishim-ctl node uninstall` leave it as it is.
"""
#: engines in the order `--engine auto` looks for them, and the host files that tell one is there
ENGINE_MARKERS: dict[str, tuple[str, ...]] = {
    "containerd": ("/etc/containerd/config.toml",),
    "crio": ("/etc/crio/crio.conf", "/etc/crio/crio.conf.d"),
    "docker": ("/etc/docker/daemon.json",),
    "podman": ("/etc/containers/containers.conf",),
}
RESTART_POLICIES = ("none", "systemd")
HOOKS_D_ENGINES = ("crio", "podman")  # the engines that run OCI hooks.d files
_PARTIAL = ".partial-"


class NodeOptions(Record):
    """What ``cdishim-ctl node install|uninstall`` was asked to do."""

    host_root: str
    prefix: str = DEFAULT_PREFIX
    engine: str = "auto"
    restart: str = "none"
    set_default: bool = False


def _prefix(options: NodeOptions) -> str:
    prefix = os.path.normpath(options.prefix)
    if not os.path.isabs(prefix) or prefix == "/":
        raise UsageError(f"--prefix {quote(options.prefix)}: must be an absolute path below /")
    return prefix


def _check_engine(requested: str) -> None:
    if requested != "auto" and requested not in ENGINES:
        raise UsageError(f"--engine {quote(requested)}: unknown engine (known: auto, {', '.join(sorted(ENGINES))})")


def detect_engine(host: HostRoot, requested: str) -> Engine:
    """The engine to register with: the one asked for, or the first whose config the host has."""
    _check_engine(requested)
    names = ENGINE_MARKERS if requested == "auto" else (requested,)
    for name in names:
        if any(host.exists(marker) for marker in ENGINE_MARKERS[name]):
            if requested == "auto" and name == "containerd" and _cri_disabled(host):
                continue  # Docker's own containerd: Docker is the engine to register with
            return ENGINES[name]
    looked = ", ".join(marker for name in names for marker in ENGINE_MARKERS[name])
    raise UsageError(f"no engine config found on the host (looked for {looked})")


def _cri_disabled(host: HostRoot) -> bool:
    """Whether the host's containerd runs without its CRI plugin (as Docker's packages set it up)."""
    from cdishim.ctl.engines.tomledit import parse_toml

    try:
        data = parse_toml(_config_text(host, ENGINE_MARKERS["containerd"][0]), ENGINE_MARKERS["containerd"][0])
    except CdishimError:
        return False  # registering will say what is wrong with it
    disabled = data.get("disabled_plugins") or []
    return "cri" in disabled or "io.containerd.grpc.v1.cri" in disabled


def _config_text(host: HostRoot, path: str) -> str:
    data = host.read(path)
    return data.decode("utf-8", "replace") if data is not None else ""


class Change(Record):
    """An engine config file to rewrite: its host path, its bytes as read (None: no file), and the new text."""

    engine: Engine
    path: str
    content: bytes | None
    new: str

    @property
    def old(self) -> str:
        """The file's text now ("" when there is no file)."""
        return self.content.decode("utf-8", "replace") if self.content is not None else ""


def _change(host: HostRoot, engine: Engine, edit: Callable[[str], str]) -> Change:
    """The change *edit* makes to *engine*'s config, the file read once."""
    content = host.read(engine.default_config)
    change = Change(engine=engine, path=engine.default_config, content=content, new="")
    return change.replace(new=edit(change.old))


def _write_engine_config(host: HostRoot, change: Change) -> str:
    path = host.path(change.path)
    if not change.new.strip() and change.engine.name == "crio":  # our own drop-in, now empty
        os.unlink(path)
        return f"removed {change.path}"
    # the backup holds the file's bytes as they were, even where they are not UTF-8
    backup = write_file(path, change.content, change.new.encode(), backup=change.content is not None)
    return f"wrote {change.path}" + (f" (backup: {os.path.basename(backup)})" if backup else "")


def _boot_id() -> str:
    """The running kernel's boot ID (the host's, in a container too)."""
    with open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()


class PendingRestart:
    """``<prefix>/.restart-pending``: an engine config was changed and the engine not yet restarted.

    Written before the config, removed once the restart is done, so that a
    restart that failed, or was cut short by a kill, is made by the next run
    even though that run finds the config already as it should be. It names
    the boot it was written in: after a reboot the engine started on the new
    config anyway.
    """

    def __init__(self, host: HostRoot, prefix: str) -> None:
        self.host = host
        self.path = f"{prefix}/.restart-pending"

    def engines(self) -> list[str]:
        """The engines still to restart (none if the marker is from an earlier boot)."""
        lines = (self.host.read(self.path) or b"").decode("utf-8", "replace").splitlines()
        if not lines or lines[0] != _boot_id():
            return []
        return lines[1:]

    def add(self, engine: str) -> None:
        """Note that *engine* needs a restart (before its config is written)."""
        engines = [name for name in self.engines() if name != engine]
        self.host.write(self.path, "\n".join([_boot_id(), *engines, engine]).encode() + b"\n")

    def restart_all(self) -> list[str]:
        """Restart every pending engine through the host's systemd, then drop the marker."""
        said = [restart_engine(self.host, engine) for engine in self.engines()]
        self.host.remove(self.path)
        return said


def _switch_current(host: HostRoot, prefix: str, name: str) -> bool:
    link = host.path(f"{prefix}/current", follow_last=False)
    try:
        if os.readlink(link) == name:
            return False
    except (FileNotFoundError, OSError):
        pass
    temporary = f"{link}{_PARTIAL}{os.getpid()}"
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(name, temporary)
    os.rename(temporary, link)  # atomic: `current` names the old tree or the new one
    return True


def _remove_other_trees(directory: str, keep: set[str]) -> list[str]:
    """Remove the trees not in *keep*, and the leftovers of killed installs; the trees removed."""
    removed = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if _PARTIAL in entry or (TREE_NAME.match(entry) and entry not in keep and not os.path.islink(path)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            if _PARTIAL not in entry:
                removed.append(entry)
    return removed


def _build_tree(source: TreeSource, tree: str, host_tree: str) -> None:
    """Write the tree beside *tree* under a temporary name, then rename it into place."""
    partial = f"{tree}{_PARTIAL}{os.getpid()}"
    try:
        write_tree(source, partial, host_tree)
        os.rename(partial, tree)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def install(options: NodeOptions, launcher: str) -> list[str]:
    """Install and register cdishim on the host; the lines to say (one saying so when nothing changed)."""
    host = HostRoot(options.host_root)
    prefix = _prefix(options)
    if options.restart not in RESTART_POLICIES:
        raise UsageError(f"--restart {quote(options.restart)}: must be one of {', '.join(RESTART_POLICIES)}")
    engine = detect_engine(host, options.engine)
    config_path = engine.default_config
    registration = Registration(runtime_name=RUNTIME_NAME, runtime_path=f"{prefix}/current/bin/cdishim",
                                set_default=options.set_default)
    change = _change(host, engine, lambda text: engine.register(text, config_path, registration))
    source = TreeSource(launcher)
    name = source.name(prefix)
    hooks = hook_files(f"{prefix}/current/bin/cdishim-hook") if engine.name in HOOKS_D_ENGINES else {}
    for path in (f"{prefix}/{name}", config_path, CONFIG_FILE, READY_FILE, *([HOOKS_DIR] if hooks else [])):
        host.check_writable(path)

    said = []
    tree = host.path(f"{prefix}/{name}", create_parents=True)
    if not os.path.isdir(tree):
        _build_tree(source, tree, f"{prefix}/{name}")
        said.append(f"installed {prefix}/{name}")
    previous = _current(host, prefix)
    if _switch_current(host, prefix, name):
        said.append(f"{prefix}/current -> {name}")
    # the tree `current` named until now stays until the next install: a create that
    # started through it a moment ago may still be loading files from it
    keep = {name, *([previous] if previous else [])}
    said += [f"removed {prefix}/{old_tree}" for old_tree in _remove_other_trees(os.path.dirname(tree), keep)]
    pending = PendingRestart(host, prefix)
    if change.new != change.old:
        if options.restart == "systemd":
            pending.add(engine.name)
        said.append(_write_engine_config(host, change))
        if options.restart != "systemd":
            said.append(f"restart {engine.name} for the change to take effect (--restart systemd does it)")
    if not host.exists(CONFIG_FILE) and host.write(CONFIG_FILE, DEFAULT_CONFIG):
        said.append(f"wrote {CONFIG_FILE}")
    said += [f"wrote {HOOKS_DIR}/{file}" for file, data in hooks.items() if host.write(f"{HOOKS_DIR}/{file}", data)]
    if options.restart == "systemd":
        said += pending.restart_all()
    if host.write(READY_FILE, f"{name}\n".encode()):
        said.append(f"wrote {READY_FILE}")
    return said or [f"nothing to do: {prefix}/{name} is installed and registered with {engine.name}"]


def _current(host: HostRoot, prefix: str) -> str | None:
    try:
        return os.readlink(host.path(f"{prefix}/current", follow_last=False))
    except (OSError, CdishimError):
        return None


def _registrations(host: HostRoot, options: NodeOptions, prefix: str) -> list[Change]:
    """Every engine config that runs a program of the tree, and its text without those entries."""
    _check_engine(options.engine)
    changes = []
    for engine in ENGINES.values():
        if options.engine not in ("auto", engine.name):
            continue
        change = _change(host, engine, lambda text, engine=engine: _without_tree(engine, text, prefix))
        if change.content is not None and change.new != change.old:
            changes.append(change)
    return changes


def _without_tree(engine: Engine, text: str, prefix: str) -> str:
    """*text* without the runtime entries that run a program under *prefix*."""
    for runtime, program in engine.registered_runtimes(text, engine.default_config).items():
        if program.startswith(prefix + "/"):
            text = engine.unregister(text, engine.default_config, runtime)
    return text


def uninstall(options: NodeOptions) -> list[str]:
    """Unregister cdishim from the host's engines, then remove what install put there; the lines to say.

    The trees go only once no engine can still run them: after the engines
    were restarted (``--restart systemd``), or, with ``--restart none``, on a
    later run that finds nothing registered (restart the engine in between).
    """
    host = HostRoot(options.host_root)
    prefix = _prefix(options)
    if options.restart not in RESTART_POLICIES:
        raise UsageError(f"--restart {quote(options.restart)}: must be one of {', '.join(RESTART_POLICIES)}")
    changes = _registrations(host, options, prefix)
    hooks = hook_files(f"{prefix}/current/bin/cdishim-hook")
    for path in (prefix, READY_FILE, *(change.path for change in changes)):
        host.check_writable(path)

    pending = PendingRestart(host, prefix)
    said = []
    for change in changes:
        if options.restart == "systemd":
            pending.add(change.engine.name)
        said.append(_write_engine_config(host, change))
    if options.restart == "systemd":
        said += pending.restart_all()
    elif changes:
        return [*said, *(f"restart {change.engine.name} for the change to take effect" for change in changes),
                f"{prefix} stays until then: run `cdishim-ctl node uninstall` again once it has restarted"]
    said += [f"removed {HOOKS_DIR}/{file}" for file, data in hooks.items()
             if host.read(f"{HOOKS_DIR}/{file}") == data and host.remove(f"{HOOKS_DIR}/{file}")]
    if host.remove(READY_FILE):
        said.append(f"removed {READY_FILE}")
    if host.exists(prefix):
        directory = host.path(prefix)
        for leftover in ("current", ".restart-pending"):
            if host.remove(f"{prefix}/{leftover}") and leftover == "current":
                said.append(f"removed {prefix}/current")
        said += [f"removed {prefix}/{tree}" for tree in _remove_other_trees(directory, set())]
        try:
            os.rmdir(directory)
        except OSError:
            pass  # something else lives there: not ours to remove
    return said or [f"nothing to do: cdishim is not installed under {prefix}"]

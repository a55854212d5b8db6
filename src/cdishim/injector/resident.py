"""The settings and the registry the injector holds, exactly as fresh as a cold read.

A create sees every spec change that was complete before it started; so does
the in-process path, which reads the spec dirs (or the stat-keyed cache) on
each create. Here, before each request:

- the inotify queue of the spec dirs is drained: any event there (a file
  written, renamed, removed, its mode or owner changed) means "read again".
  The kernel queues an event when the change happens, so a change finished
  before the create started is in the queue;
- each spec dir is stat'ed: a dir that appeared, vanished or was replaced,
  or whose mode or owner changed, is watched anew and the registry read again;
- each spec file that is a symlink has its target stat'ed, since a change to
  the target makes no event in the spec dir;
- the settings file is stat'ed, and read again when it changed.

A stat that changed within the last 2 s (`statcache.is_racy`) counts as a
change, as in the in-process caches: two writes within one timestamp tick
look alike. A registry that holds an error which may pass (an I/O error), a
spec dir that inotify could not watch, or a read that failed, make every
request read again, as the in-process path would.
"""

from __future__ import annotations

import os

from cdishim import statcache
from cdishim.cdi.cache import load_registry
from cdishim.inotify import DirectoryWatch
from cdishim.settings import load_settings, settings_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cdishim.cdi.registry import Registry
    from cdishim.settings import Settings


def _dir_stamp(path: str) -> tuple[Any, ...]:
    try:
        info = os.stat(path)
    except OSError as err:
        return (err.errno,)
    return (info.st_dev, info.st_ino, info.st_mode, info.st_uid, info.st_gid, info.st_ctime_ns)


class Resident:
    """The injector's settings and registry, kept fresh."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._settings_stamp: Any = None
        self._registry: Registry | None = None
        self._watch: DirectoryWatch | None = None
        self._dir_stamps: tuple[Any, ...] = ()
        self._link_stamps: tuple[Any, ...] = ()

    def settings(self) -> Settings:
        """The settings now (read again when the settings file changed)."""
        path = settings_file()
        stamp = (path, statcache.stamp(path))
        if self._settings is None or stamp != self._settings_stamp or statcache.is_racy(stamp[1]):
            settings = load_settings(path)
            if settings != self._settings:
                self._registry = None
            self._settings, self._settings_stamp = settings, stamp
        return self._settings

    def registry(self) -> Registry:
        """The registry of the current settings' spec dirs, as a cold read would give it now."""
        settings = self.settings()
        dir_stamps = tuple(_dir_stamp(directory) for directory in settings.spec_dirs)
        if self._watch is None or dir_stamps != self._dir_stamps:
            self._rewatch(settings.spec_dirs)
            self._dir_stamps = dir_stamps
        # Without a complete watch (inotify failed), every request reads again.
        changed = self._watch.drain() or bool(self._watch.unwatched) if self._watch else True
        if self._registry is None or changed or not self._registry.cacheable or self._links_changed():
            self._registry = None  # a read that fails is made again by the next request
            # Stamped before the read: a target changed in between is read again next time.
            self._link_stamps = tuple((path, statcache.stamp(path)) for path in _symlinked_files(settings.spec_dirs))
            self._registry = load_registry(settings.spec_dirs, settings.cache_dir, settings.spec_trust())
        return self._registry

    def _links_changed(self) -> bool:
        """Whether a symlinked spec's target changed, or changed too recently to be sure it did not."""
        for path, stamp in self._link_stamps:
            now = statcache.stamp(path)
            if now != stamp or statcache.is_racy(now):
                return True
        return False

    def _rewatch(self, spec_dirs: tuple[str, ...]) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self._registry = None
        try:
            self._watch = DirectoryWatch(spec_dirs)
        except OSError:
            pass  # no inotify instance (out of instances): read again on every request

    def close(self) -> None:
        """Release the inotify instance."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None


def _symlinked_files(spec_dirs: tuple[str, ...]) -> list[str]:
    """The entries of *spec_dirs* that are symlinks (their targets change without an event here)."""
    links = []
    for directory in spec_dirs:
        try:
            with os.scandir(directory) as entries:
                links += [entry.path for entry in entries if entry.is_symlink()]
        except OSError:
            continue
    return links

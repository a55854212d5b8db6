"""Which spec files and spec dirs cdishim believes.

A spec file decides what a container gets from the host: device nodes,
mounts of host paths, hooks that run as root. So under the default policy
``root-owned`` a spec file or spec dir is ignored (with an error naming it)
unless it is owned by root (or by the user cdishim runs as) and is not
writable by group or others. A symlinked spec file is judged by its target:
the check runs on the opened file. Files above ``max-spec-bytes`` are
refused before they are read. ``trust-spec-files = "any"`` turns the
ownership check off, for development only.
"""

from __future__ import annotations

import os
import stat

from cdishim import defaults
from cdishim.errors import SpecError, quote
from cdishim.record import Record

TRUST_POLICIES = ("root-owned", "any")


class SpecTrust(Record):
    """The trust policy for spec files and dirs."""

    policy: str = defaults.TRUST_POLICY
    max_bytes: int = defaults.MAX_SPEC_BYTES

    def cache_key(self) -> tuple[str, int]:
        """What a cached registry must have been built under to be reused."""
        return (self.policy, self.max_bytes)


DEFAULT_TRUST = SpecTrust()


def untrusted_reason(info: os.stat_result, policy: str) -> str | None:
    """Why a file or dir with *info* is not trusted under *policy*, or ``None``."""
    if policy == "any":
        return None
    if info.st_uid not in (0, os.geteuid()):
        return f"owned by uid {info.st_uid}, not root"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by {'group' if info.st_mode & stat.S_IWGRP else 'others'} (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def check_spec_dir(directory: str, info: os.stat_result, trust: SpecTrust) -> None:
    """Raise `SpecError` when the spec dir may not be believed."""
    reason = untrusted_reason(info, trust.policy)
    if reason:
        raise SpecError(f"untrusted CDI spec dir {quote(directory)}: {reason}; its spec files are ignored")


def check_spec_file(path: str, info: os.stat_result, trust: SpecTrust) -> None:
    """Raise `SpecError` when the opened spec file may not be read."""
    reason = untrusted_reason(info, trust.policy)
    if reason:
        raise SpecError(f"untrusted CDI Spec {quote(path)}: {reason}")
    if info.st_size > trust.max_bytes:
        raise SpecError(f"CDI Spec {quote(path)} is too large: {info.st_size} bytes, the limit is {trust.max_bytes}")

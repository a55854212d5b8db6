"""The injector's wire protocol, spoken by the compiled launcher (``launcher/cdishim.c``).

One ``SOCK_SEQPACKET`` connection per create, one message each way.

The request is ``cdishim-inject VERSION``, then ``NAME=VALUE`` fields, each
ending in a NUL byte, with the bundle directory attached as an open file
descriptor (``SCM_RIGHTS``):

- ``launcher``: the cdishim program (the in-process path's own path: hook
  programs are looked for beside it);
- ``runtime``: the low-level runtime the launcher will exec (from its record);
- ``config``: the settings file the launcher's environment names;
- ``spec-dirs``, ``cache-dir``: ``CDI_SPEC_DIRS`` and ``CDISHIM_CACHE_DIR``,
  present only when set.

The reply is one ASCII line: ``injected``, ``nothing`` (no device asked
for, or already injected), or ``fallback REASON``: the launcher then runs
the in-process path, which alone words errors for the user.
"""

from __future__ import annotations

from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

MAGIC = "cdishim-inject"
VERSION = 1
MAX_REQUEST_BYTES = 64 * 1024
INJECTED, NOTHING, FALLBACK = "injected", "nothing", "fallback"
REQUIRED_FIELDS = ("launcher", "runtime", "config")


class Request(Record):
    """A decoded request (the bundle directory travels beside it)."""

    version: int
    fields: Mapping[str, str]


def encode_request(fields: Mapping[str, str], version: int = VERSION) -> bytes:
    """The bytes of a request carrying *fields*."""
    parts = [f"{MAGIC} {version}", *(f"{name}={value}" for name, value in fields.items())]
    return b"".join(part.encode() + b"\0" for part in parts)


def decode_request(data: bytes) -> Request:
    """The request in *data*; ``ValueError`` for anything malformed."""
    if not data.endswith(b"\0"):
        raise ValueError("the request does not end in a NUL byte")
    header, *parts = data[:-1].decode().split("\0")
    magic, _, version = header.partition(" ")
    if magic != MAGIC or not version.isdigit():
        raise ValueError(f"not a cdishim-inject request: {header[:40]!r}")
    fields = {}
    for part in parts:
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"field without a value: {part[:40]!r}")
        fields[name] = value
    return Request(version=int(version), fields=fields)


def fallback(reason: str) -> str:
    """The reply that sends the launcher to the in-process path, on one line."""
    return f"{FALLBACK} {' '.join(reason.split())}"

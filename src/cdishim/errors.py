"""The project's error hierarchy.

Every error a user can cause (bad spec, bad request, bad config.json) is a
`CdishimError`. Programs turn it into one line on stderr at their edge; any
other exception is a bug. With ``CDISHIM_DEBUG`` set, both come with their
traceback, and errors raised while handling another keep it as their cause.
"""


class CdishimError(Exception):
    """Base of all errors caused by input or environment, not by a bug."""


class SpecError(CdishimError):
    """A CDI spec file is unreadable, malformed or invalid."""


class InvalidNameError(CdishimError):
    """A vendor, class, device or qualified device name is malformed."""


class RequestError(CdishimError):
    """A CDI device request (annotation, argument) is malformed."""


class ResolveError(CdishimError):
    """Requested CDI devices are not known to the registry."""


class ApplyError(CdishimError):
    """Container edits could not be applied to an OCI spec."""


class BundleError(CdishimError):
    """An OCI bundle or its config.json is missing or malformed."""


class SettingsError(CdishimError):
    """The cdishim configuration file is malformed."""


class RuntimeLookupError(CdishimError):
    """No usable low-level OCI runtime was found."""


class HookError(CdishimError):
    """A hook could not do its job; the message says which path or interface."""


class UsageError(CdishimError):
    """A command-line argument of a tool is wrong; the message names it."""


class EngineConfigError(CdishimError):
    """A container engine's config file cannot be understood or edited safely."""


class FileWriteError(CdishimError):
    """A file a tool writes for the operator could not be read or replaced."""


class MissingDependencyError(CdishimError):
    """An optional dependency a command needs is not installed."""


def debugging() -> bool:
    """Whether ``CDISHIM_DEBUG`` asks for tracebacks."""
    import os

    return bool(os.environ.get("CDISHIM_DEBUG"))


def show_traceback_when_debugging() -> None:
    """Print the exception being handled, with its causes, when `debugging`."""
    if debugging():
        import traceback

        traceback.print_exc()


def quote(text: str) -> str:
    """Quote *text* the way Go's ``%q`` does, so messages match the reference.

    Every character that is not printable is escaped (``\\n``, ``\\u2028``),
    so a message is always one line that cannot rewrite a terminal; bytes
    that were not UTF-8 (a file name read from disk keeps them as lone
    surrogates) are shown as ``\\xNN``.
    """
    from cdishim import jsonfast

    quoted = jsonfast.dumps(text)
    return quoted if quoted.isprintable() else escape_unprintable(quoted)


def escape_unprintable(text: str) -> str:
    """*text* with each character that is not printable written as an escape."""
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}")
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

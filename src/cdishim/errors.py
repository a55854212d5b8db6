"""The project's error hierarchy.

Every error a user can cause (bad spec, bad request, bad config.json) is a
`CdishimError`. Programs turn it into one line on stderr at their edge; any
other exception is a bug and is reported with a traceback only when debugging.
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


class ConfigError(CdishimError):
    """The cdishim configuration file is malformed."""


class RuntimeLookupError(CdishimError):
    """No usable low-level OCI runtime was found."""


class HookError(CdishimError):
    """A hook could not do its job; the message says which path or interface."""


def quote(text: str) -> str:
    """Quote *text* the way Go's ``%q`` does, so messages match the reference."""
    from cdishim import jsonfast

    return jsonfast.dumps(text)

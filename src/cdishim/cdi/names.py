"""CDI names: vendors, classes, device names and qualified device names.

Rules and error texts follow the reference parser
(container-device-interface `pkg/parser`):

- vendor and class start with a letter, end with a letter or digit, and
  contain only ``[A-Za-z0-9_.-]``;
- a device name starts and ends with a letter or digit and contains only
  ``[A-Za-z0-9_.:-]``;
- a qualified name is ``vendor/class=name``, cut on the first ``=`` and then
  on the first ``/`` of what precedes it.
"""

from __future__ import annotations

from cdishim.errors import InvalidNameError, quote

_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ALNUM = _LETTERS | frozenset("0123456789")
_KIND_INNER = _ALNUM | frozenset("_.-")
_DEVICE_INNER = _KIND_INNER | frozenset(":")


class QualifiedName(tuple):
    """A parsed ``vendor/class=name`` device reference: (vendor, class, name)."""

    __slots__ = ()

    def __new__(cls, vendor: str, class_: str, name: str) -> QualifiedName:
        return super().__new__(cls, (vendor, class_, name))

    @property
    def vendor(self) -> str:
        """The vendor part."""
        return self[0]

    @property
    def class_(self) -> str:
        """The class part."""
        return self[1]

    @property
    def name(self) -> str:
        """The device name."""
        return self[2]

    @property
    def kind(self) -> str:
        """The ``vendor/class`` part."""
        return f"{self.vendor}/{self.class_}"

    def __str__(self) -> str:
        return f"{self.vendor}/{self.class_}={self.name}"


def _printable(char: str) -> str:
    """*char* as in the reference's ``'%c'``, but escaped when it would break the line."""
    return char if char.isprintable() else quote(char)[1:-1]


def split_kind(kind: str) -> tuple[str, str]:
    """Split ``vendor/class`` on the first ``/``.

    Like the reference, an unparsable kind yields an empty vendor and the
    verbatim input as class, so that validation reports the vendor missing.
    """
    vendor, sep, class_ = kind.partition("/")
    if not sep or not vendor or not class_:
        return "", kind
    return vendor, class_


def _check_kind_part(what: str, value: str) -> None:
    if not value:
        raise InvalidNameError(f"invalid {what}. empty name")
    if value[0] not in _LETTERS:
        raise InvalidNameError(f"invalid {what}. {quote(value)}, should start with letter")
    for char in value[1:-1]:
        if char not in _KIND_INNER:
            raise InvalidNameError(f"invalid {what}. invalid character '{_printable(char)}' in name {quote(value)}")
    if value[-1] not in _ALNUM:
        raise InvalidNameError(f"invalid {what}. {quote(value)}, should end with a letter or digit")


def validate_vendor(vendor: str) -> None:
    """Raise `InvalidNameError` unless *vendor* is a valid CDI vendor name."""
    _check_kind_part("vendor", vendor)


def validate_class(class_: str) -> None:
    """Raise `InvalidNameError` unless *class_* is a valid CDI class name."""
    _check_kind_part("class", class_)


def validate_kind(kind: str) -> tuple[str, str]:
    """Validate ``vendor/class`` and return its two parts."""
    vendor, class_ = split_kind(kind)
    validate_vendor(vendor)
    validate_class(class_)
    return vendor, class_


def validate_device_name(name: str) -> None:
    """Raise `InvalidNameError` unless *name* is a valid CDI device name."""
    if not name:
        raise InvalidNameError("invalid (empty) device name")
    if name[0] not in _ALNUM:
        raise InvalidNameError(f"invalid name {quote(name)}, should start with a letter or digit")
    for char in name[1:-1]:
        if char not in _DEVICE_INNER:
            raise InvalidNameError(f"invalid character '{_printable(char)}' in device name {quote(name)}")
    if name[-1] not in _ALNUM:
        raise InvalidNameError(f"invalid name {quote(name)}, should end with a letter or digit")


def parse_qualified_name(device: str) -> QualifiedName:
    """Parse and validate a fully qualified ``vendor/class=name``."""
    # The reference reports "missing vendor" for any shape it cannot cut;
    # naming the part that is actually missing is more useful to a user.
    qualifier, eq, name = device.partition("=")
    vendor, slash, class_ = qualifier.partition("/")
    if not vendor or not slash:
        raise InvalidNameError(f"unqualified device {quote(device)}, missing vendor")
    if not class_:
        raise InvalidNameError(f"unqualified device {quote(device)}, missing class")
    if not eq or not name:
        raise InvalidNameError(f"unqualified device {quote(device)}, missing device name")
    try:
        validate_vendor(vendor)
        validate_class(class_)
        validate_device_name(name)
    except InvalidNameError as err:
        raise InvalidNameError(f"invalid device {quote(device)}: {err}") from None
    return QualifiedName(vendor, class_, name)


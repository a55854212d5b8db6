"""`Record`: immutable value objects with named fields and defaults.

A lean stand-in for frozen dataclasses. Importing ``dataclasses`` pulls in
``inspect`` and ``re``; on a small node that is ~19 ms per process, and the
create path runs once per container start. Fields are the class's annotations,
in order; a class attribute of the same name is the field's default.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Self


class Record:
    """Base class: keyword construction, immutability, equality, repr, replace."""

    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        own = tuple(name for name in cls.__dict__.get("__annotations__", {}) if not name.startswith("_"))
        cls._fields = cls._fields + own

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        for name in cls._fields:
            if name in values:
                value = values.pop(name)
            elif hasattr(cls, name):
                value = getattr(cls, name)
            else:
                raise TypeError(f"{cls.__name__}: missing field {name!r}")
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(f"{cls.__name__}: unknown fields {sorted(values)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]  # fields may hold dicts

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: Any) -> Self:
        """A copy with *changes* applied."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)

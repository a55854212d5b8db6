"""Record: the model's immutable value objects."""

from __future__ import annotations

import pytest

from cdishim.record import Record


class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


class Point3(Point):
    z: int = 9


def test_fields_defaults_and_inheritance():
    assert Point._fields == ("x", "y", "tags")
    assert Point3._fields == ("x", "y", "tags", "z")
    assert Point3(x=1) == Point3(x=1, y=0, tags=(), z=9)


def test_equality_is_by_type_and_fields():
    assert Point(x=1) == Point(x=1, y=0)
    assert Point(x=1) != Point(x=2)
    assert Point(x=1) != Point3(x=1)


def test_immutable_and_replace():
    point = Point(x=1)
    with pytest.raises(AttributeError, match="immutable"):
        point.x = 2  # type: ignore[misc]
    moved = point.replace(y=5)
    assert (point.y, moved.y, moved.x) == (0, 5, 1)


def test_missing_and_unknown_fields():
    with pytest.raises(TypeError, match="missing field 'x'"):
        Point()
    with pytest.raises(TypeError, match=r"unknown fields \['w'\]"):
        Point(x=1, w=2)


def test_repr():
    assert repr(Point(x=1, tags=("a",))) == "Point(x=1, y=0, tags=('a',))"


def test_every_module_defining_a_record_postpones_annotations():
    """`Record` reads field names from ``__annotations__`` without evaluating them: a module that
    evaluated its annotations would import typing at run time, or fail on ``X | None`` before 3.10."""
    import __future__

    import importlib
    import pkgutil

    import cdishim
    from cdishim.record import Record

    modules = []
    for info in pkgutil.walk_packages(cdishim.__path__, "cdishim."):
        if ".v1beta1." in info.name:
            continue  # generated gRPC modules (grpcio may be absent)
        try:
            module = importlib.import_module(info.name)
        except ImportError as err:
            if err.name in ("grpc", "google"):
                continue  # the device plugin's optional dependency
            raise
        defines_record = any(isinstance(value, type) and issubclass(value, Record) and value.__module__ == info.name
                             for value in vars(module).values())
        if defines_record:
            modules.append(info.name)
            assert getattr(module, "annotations", None) is __future__.annotations, info.name
    assert len(modules) >= 8  # the walk found the model, settings, requests, ...

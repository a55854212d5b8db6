"""Device requests from cdi.k8s.io/ annotations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdishim.cdi.annotations import devices_from_annotations
from cdishim.errors import RequestError


@pytest.mark.parametrize(
    "annotations, expected",
    [
        ({}, []),
        ({"other": "vendor.com/dev=x"}, []),
        ({"cdi.k8s.io/a": "vendor.com/dev=x"}, ["vendor.com/dev=x"]),
        # sorted by key, then in value order
        ({"cdi.k8s.io/b": "v.com/d=3,v.com/d=1", "cdi.k8s.io/a": "v.com/d=2"}, ["v.com/d=2", "v.com/d=3", "v.com/d=1"]),
        # de-duplicated, first occurrence kept
        ({"cdi.k8s.io/a": "v.com/d=1,v.com/d=2", "cdi.k8s.io/b": "v.com/d=1"}, ["v.com/d=1", "v.com/d=2"]),
        ({"cdi.k8s.io/a": "v.com/d=1,v.com/d=1"}, ["v.com/d=1"]),
        # the prefix is matched exactly
        ({"CDI.k8s.io/a": "v.com/d=1", "cdi.k8s.io": "v.com/d=2"}, []),
    ],
)
def test_devices_from_annotations(annotations, expected):
    assert devices_from_annotations(annotations) == expected


@pytest.mark.parametrize(
    "value, message",
    [
        ("", 'annotation "cdi.k8s.io/x": invalid CDI device name "": unqualified device "", missing vendor'),
        ("v.com/d=1,", 'annotation "cdi.k8s.io/x": invalid CDI device name "": unqualified device "", missing vendor'),
        # no trimming: a space is part of the name
        ("v.com/d=1, v.com/d=2", 'annotation "cdi.k8s.io/x": invalid CDI device name " v.com/d=2": '),
        ("gpu0", 'annotation "cdi.k8s.io/x": invalid CDI device name "gpu0": unqualified device "gpu0"'),
    ],
)
def test_malformed_values_name_the_key(value, message):
    with pytest.raises(RequestError) as err:
        devices_from_annotations({"cdi.k8s.io/x": value})
    assert str(err.value).startswith(message)


def test_non_string_value_is_an_error():
    with pytest.raises(RequestError, match='annotation "cdi.k8s.io/x": value is not a string'):
        devices_from_annotations({"cdi.k8s.io/x": ["v.com/d=1"]})


def test_custom_prefixes():
    annotations = {"cdi.k8s.io/a": "v.com/d=1", "example.org/cdi-b": "v.com/d=2"}
    assert devices_from_annotations(annotations, ("example.org/cdi-",)) == ["v.com/d=2"]


names = st.from_regex(r"[a-z][a-z0-9]{0,5}\.com/[a-z]{1,5}=[a-z0-9]{1,5}", fullmatch=True)


@given(st.dictionaries(st.from_regex(r"cdi\.k8s\.io/[a-z_]{1,8}", fullmatch=True), st.lists(names, min_size=1, max_size=4), max_size=4))
def test_every_requested_device_appears_once_in_key_order(requests):
    annotations = {key: ",".join(values) for key, values in requests.items()}
    result = devices_from_annotations(annotations)
    expected: list[str] = []
    for key in sorted(requests):
        for device in requests[key]:
            if device not in expected:
                expected.append(device)
    assert result == expected


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=5))
def test_arbitrary_annotations_give_a_list_or_a_request_error(annotations):
    try:
        result = devices_from_annotations(annotations)
    except RequestError as err:
        assert str(err).startswith('annotation "cdi.k8s.io/')
    else:
        assert len(result) == len(set(result))

"""Names: vendors, classes, device names, qualified names (reference rules)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdishim.cdi import names
from cdishim.errors import InvalidNameError

KIND_INNER = string.ascii_letters + string.digits + "_.-"
DEVICE_INNER = KIND_INNER + ":"
ALNUM = string.ascii_letters + string.digits


@pytest.mark.parametrize(
    "device, expected",
    [
        ("vendor.com/class=dev", ("vendor.com", "class", "dev")),
        ("a/b=c", ("a", "b", "c")),
        ("vendor.com/class.sub=0", ("vendor.com", "class.sub", "0")),
        ("nvidia.com/gpu=GPU-1:mig-2", ("nvidia.com", "gpu", "GPU-1:mig-2")),
        ("v/c=name=with", None),  # '=' is not a device-name character
        ("v/c/d=x", None),  # '/' cut on the first: class "c/d" is invalid
    ],
)
def test_parse_qualified_name(device, expected):
    if expected is None:
        with pytest.raises(InvalidNameError):
            names.parse_qualified_name(device)
    else:
        assert tuple(names.parse_qualified_name(device)) == expected
        assert str(names.parse_qualified_name(device)) == device


@pytest.mark.parametrize(
    "device, message",
    [
        ("", 'unqualified device "", missing vendor'),
        ("/dev/null", 'unqualified device "/dev/null", missing vendor'),
        ("dev", 'unqualified device "dev", missing vendor'),
        ("vendor.com/=dev", 'unqualified device "vendor.com/=dev", missing class'),
        ("vendor.com/class", 'unqualified device "vendor.com/class", missing device name'),
        ("vendor.com/class=", 'unqualified device "vendor.com/class=", missing device name'),
        ("1vendor/class=dev", 'invalid device "1vendor/class=dev": invalid vendor. "1vendor", should start with letter'),
        ("vendor-/class=dev", 'invalid device "vendor-/class=dev": invalid vendor. "vendor-", should end with a letter or digit'),
        ("vendor/cl@ss=dev", "invalid device \"vendor/cl@ss=dev\": invalid class. invalid character '@' in name \"cl@ss\""),
        ("vendor/class=-dev", 'invalid device "vendor/class=-dev": invalid name "-dev", should start with a letter or digit'),
        ("vendor/class=dev:", 'invalid device "vendor/class=dev:": invalid name "dev:", should end with a letter or digit'),
        ("vendor/class=d v", "invalid device \"vendor/class=d v\": invalid character ' ' in device name \"d v\""),
    ],
)
def test_parse_qualified_name_errors(device, message):
    with pytest.raises(InvalidNameError) as err:
        names.parse_qualified_name(device)
    assert str(err.value) == message


@pytest.mark.parametrize("name", ["a", "0", "gpu0", "0gpu", "a.b_c-d:e", "GPU-7f3c"])
def test_valid_device_names(name):
    names.validate_device_name(name)


@pytest.mark.parametrize("name", ["", "-a", "a-", ".a", "a.", "a/b", "a=b", "ä"])
def test_invalid_device_names(name):
    with pytest.raises(InvalidNameError):
        names.validate_device_name(name)


@pytest.mark.parametrize(
    "kind, vendor, class_",
    [("vendor.com/device", "vendor.com", "device"), ("novendor", "", "novendor"), ("/x", "", "/x"), ("x/", "", "x/")],
)
def test_split_kind(kind, vendor, class_):
    assert names.split_kind(kind) == (vendor, class_)


kind_parts = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(string.ascii_letters),
    st.text(alphabet=KIND_INNER, max_size=20),
    st.sampled_from(ALNUM),
)
device_names = st.one_of(
    st.sampled_from(ALNUM),
    st.builds(
        lambda first, middle, last: first + middle + last,
        st.sampled_from(ALNUM),
        st.text(alphabet=DEVICE_INNER, max_size=20),
        st.sampled_from(ALNUM),
    ),
)


@given(kind_parts, kind_parts, device_names)
def test_valid_names_round_trip(vendor, class_, name):
    parsed = names.parse_qualified_name(f"{vendor}/{class_}={name}")
    assert parsed == (vendor, class_, name)
    assert parsed.kind == f"{vendor}/{class_}"


def is_qualified(device: str) -> bool:
    try:
        names.parse_qualified_name(device)
    except InvalidNameError:
        return False
    return True


@given(st.text(max_size=40))
def test_parse_never_raises_anything_else(text):
    if is_qualified(text):
        assert str(names.parse_qualified_name(text)) == text


@given(kind_parts, kind_parts, device_names, st.sampled_from(" @/=\t\n,é"), st.integers(min_value=0, max_value=2))
def test_a_foreign_character_anywhere_in_the_name_is_rejected(vendor, class_, name, bad, where):
    parts = [vendor, class_, name]
    parts[where] = parts[where] + bad + parts[where]
    device = f"{parts[0]}/{parts[1]}={parts[2]}"
    # '/' in the class or '=' in the name can shift the cut; all must fail anyway.
    assert not is_qualified(device)

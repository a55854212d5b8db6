"""jsonfast agrees with the json module, value for value and byte for byte."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdishim import jsonfast

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner), st.dictionaries(st.text(), inner)), max_leaves=30)
DUMPS = {"ensure_ascii": False, "separators": (",", ":")}


@given(values)
def test_dumps_matches_json(value):
    assert jsonfast.dumps(value) == json.dumps(value, **DUMPS)


@given(values, st.sampled_from(["", " ", "\n\t "]))
def test_loads_matches_json(value, padding):
    text = padding + json.dumps(value, indent=2) + padding
    assert jsonfast.loads(text.encode()) == json.loads(text)


@given(st.text(max_size=30))
def test_loads_accepts_and_refuses_what_json_does(text):
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            jsonfast.loads(text)
    else:
        result = jsonfast.loads(text)
        assert result == expected or (isinstance(result, float) and math.isnan(result))


def test_object_pairs_hook_sees_every_pair():
    assert jsonfast.loads('{"a": 1, "a": 2}', object_pairs_hook=list) == [("a", 1), ("a", 2)]


@pytest.mark.parametrize("text", ["", "   ", "{", "[1,]", '{"a":1} x', "\xff"])
def test_errors_are_value_errors(text):
    with pytest.raises(ValueError):
        jsonfast.loads(text)


def test_unserialisable_values_raise_type_error():
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        jsonfast.dumps({"a": object()})


def fresh_process(code: str) -> str:
    """Run *code* in a new interpreter, where json is not imported yet."""
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_no_json_import():
    code = "import sys; from cdishim import jsonfast; jsonfast.dumps(jsonfast.loads(b'{\"a\": [1]}')); print('re' in sys.modules, 'json' in sys.modules)"
    assert fresh_process(code).split() == ["False", "False"]


@pytest.mark.parametrize("text", ["{", "[1,]", '{"a":1} x', "", '{"a": nul}'])
def test_errors_in_a_fresh_process_are_json_errors(text):
    code = f"""
from cdishim import jsonfast
try:
    jsonfast.loads({text!r})
except ValueError as err:
    print(type(err).__name__, err)
"""
    import json

    try:
        json.loads(text)
    except ValueError as err:
        expected = f"{type(err).__name__} {err}"
    assert fresh_process(code) == expected


class CountingHook:
    """An object hook that counts its calls and refuses duplicate keys, as the spec decoder's does."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, pairs):
        self.calls += 1
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise KeyError("duplicate")
        return dict(pairs)


@pytest.mark.parametrize(
    "text, objects, error",
    [
        ('{"a": {"b": {}}, "c": [{}, {}]}', 5, None),  # decoded: once per object
        ('{"a": {"b": 1, "b": 2}, "c": {}}', 1, KeyError),  # the hook's own error, raised once, as it is
        ('{"a": {}, "b": {}, "c": ', 2, ValueError),  # malformed: json words it, the hook does not run again
        ('{"a": {}} {"b": {}}', 2, ValueError),  # extra data after two objects
    ],
)
def test_the_object_hook_runs_once_per_object_on_every_path(text, objects, error):
    hook = CountingHook()
    if error is None:
        jsonfast.loads(text, object_pairs_hook=hook)
    else:
        with pytest.raises(error):
            jsonfast.loads(text, object_pairs_hook=hook)
    assert hook.calls == objects


def test_the_c_accelerator_is_used_on_the_proven_versions():
    """Every supported CPython is a proven one (else creates would import json)."""
    low, high = jsonfast.PROVEN_VERSIONS
    assert low <= sys.version_info[:2] <= high
    assert jsonfast._json is not None


def test_without_internals_json_does_the_work(monkeypatch):
    monkeypatch.setattr(jsonfast, "_json", None)
    hook = CountingHook()
    assert jsonfast.loads('{"a": [1, {"b": 2}]}', object_pairs_hook=hook) == {"a": [1, {"b": 2}]}
    assert hook.calls == 2
    assert jsonfast.dumps({"é": [1.5, None]}) == '{"é":[1.5,null]}'

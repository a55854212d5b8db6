"""The bad-input corpus: crafted spec files and requests, each refused with its expected error.

``tests/corpus/expected.json`` maps every file under ``specs/`` and
``requests/`` to a part of the one-line error it must produce. A file
without an expectation, or an expectation without a file, fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdishim.cdi.spec import parse_spec_document
from cdishim.errors import RequestError, SpecError
from cdishim.injection.requests import gather_requests
from cdishim.settings import Settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EXPECTED: dict[str, str] = json.loads((CORPUS / "expected.json").read_text())


def corpus_files(kind: str) -> list[str]:
    return sorted(str(path.relative_to(CORPUS)) for path in (CORPUS / kind).iterdir())


def test_every_file_has_an_expectation_and_there_are_enough():
    files = corpus_files("specs") + corpus_files("requests")
    assert sorted(EXPECTED) == sorted(files)
    assert len(files) >= 100


@pytest.mark.parametrize("name", corpus_files("specs"))
def test_spec_file_is_refused(name):
    path = CORPUS / name
    with pytest.raises(SpecError) as refused:
        parse_spec_document(path.read_bytes(), str(path))
    message = str(refused.value)
    assert "\n" not in message
    assert EXPECTED[name] in message
    assert message.startswith((f'failed to parse CDI Spec "{path}": ', f'invalid CDI Spec "{path}": '))


@pytest.mark.parametrize("name", corpus_files("requests"))
def test_request_is_refused(name):
    case = json.loads((CORPUS / name).read_text())
    settings = {key: tuple(value) if isinstance(value, list) else value for key, value in case["config"].items()}
    with pytest.raises(RequestError) as refused:
        gather_requests({"process": {"env": case["env"]}}, case["annotations"], Settings(**settings))
    assert "\n" not in str(refused.value)
    assert EXPECTED[name] in str(refused.value)

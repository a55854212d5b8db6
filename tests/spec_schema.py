"""The project's own JSON schema of CDI spec files (``tests/data/schema/``), as a validator.

Written from the published field rules, not from the parser, so that it can
cross-check the parser: every spec the parser accepts must validate here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "schema" / "cdi-spec.schema.json"


def spec_schema() -> dict[str, Any]:
    """The schema document."""
    return json.loads(SCHEMA_PATH.read_text())


def spec_schema_validator() -> Any:
    """A draft-07 validator of the schema (jsonschema is a test dependency)."""
    import jsonschema

    schema = spec_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)

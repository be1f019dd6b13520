"""``pazar.plugin.channel_schema``: a plugin's required text fields must be filled before its
channel can be activated, as the plugin guide says (JSON Schema's ``required`` alone only
asks for the key, which the defaults always hold)."""

from __future__ import annotations

from typing import Any

from pazar.config_schema import defaults, validate
from pazar.plugin import channel_schema

SCHEMA = channel_schema(
    "Acme",
    {
        "api_key": {"type": "string", "title": "Api Key", "x-secret": True, "default": ""},
        "region": {"type": "string", "minLength": 2, "default": "tr"},
        "note": {"type": ["string", "null"], "default": None},
    },
    flags=["stock"],
    required=["api_key", "region"],
)


def config(**values: Any) -> dict[str, Any]:
    """What a new channel holds (every default) with ``values`` set."""
    return {**defaults(SCHEMA), **values}


def test_a_required_text_field_left_empty_is_a_problem_and_a_filled_one_is_not() -> None:
    assert validate(SCHEMA, config(api_key="")) == ["api_key: is required (Api Key) but empty"]
    assert validate(SCHEMA, config(api_key=""), partial=True) == []  # a config being filled in
    assert validate(SCHEMA, config(api_key="env:PAZAR_SECRET_ACME_KEY")) == []


def test_a_field_s_own_length_rule_and_optional_fields_are_kept() -> None:
    assert SCHEMA["properties"]["region"]["minLength"] == 2
    assert "minLength" not in SCHEMA["properties"]["note"]
    assert validate(SCHEMA, config(api_key="k", note="")) == []

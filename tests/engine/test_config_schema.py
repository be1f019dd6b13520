"""Config schema rules: defaults, typing of key=value, validation messages, secrets, the form."""

from __future__ import annotations

import pytest

from pazar import config_schema as cs
from pazar.errors import ConfigError, ValidationError

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["token", "category_ids", "reason_id", "feature_flags"],
    "properties": {
        "token": {
            "type": "string",
            "title": "Token",
            "minLength": 1,
            "x-secret": True,
            "default": "",
        },
        "buffer_stock": {
            "type": ["integer", "null"],
            "minimum": 0,
            "title": "Buffer Stock",
            "default": None,
        },
        "ratio": {"type": "number", "title": "Ratio", "default": 1.5},
        "enabled": {"type": "boolean", "title": "Enabled", "default": False},
        "category_ids": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "default": [],
        },
        "reason_id": {"type": "integer", "title": "Reason Id", "default": None},
        "start": {"type": ["string", "null"], "default": None, "x-data-type": "text"},
        "note": {"type": "string", "title": "Note", "default": ""},
        "mapping": {
            "type": "object",
            "additionalProperties": {"type": ["integer", "string"]},
            "default": {},
        },
        "feature_flags": {
            "type": "object",
            "properties": {
                "stock": {"type": "boolean", "default": False},
                "price": {"type": "boolean"},
            },
            "additionalProperties": {"type": "boolean"},
            "default": {"price": False},
        },
        "failed_integration": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"MAX_RETRY_COUNT": {"type": "integer", "minimum": 1}},
            },
            "default": {"DEFAULT": {"MAX_RETRY_COUNT": 3}},
        },
        "nested": {
            "type": "object",
            "properties": {
                "inner": {
                    "type": "object",
                    "properties": {"deep": {"type": "integer", "default": 7}},
                }
            },
        },
    },
}


def test_defaults_fill_every_level() -> None:
    d = cs.defaults(SCHEMA)
    assert d["token"] == "" and d["buffer_stock"] is None and d["ratio"] == 1.5
    # object default merged with its properties' own defaults
    assert d["feature_flags"] == {"price": False, "stock": False}
    assert d["failed_integration"] == {"DEFAULT": {"MAX_RETRY_COUNT": 3}}
    # objects without a default of their own still collect nested defaults
    assert d["nested"] == {"inner": {"deep": 7}}
    # defaults are copies: changing one result does not change the next
    d["category_ids"].append("x")
    assert cs.defaults(SCHEMA)["category_ids"] == []


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("buffer_stock", "3", 3),
        ("buffer_stock", "null", None),
        ("buffer_stock", "", None),
        ("ratio", "2.25", 2.25),
        ("ratio", "2", 2),
        ("enabled", "yes", True),
        ("enabled", "0", False),
        ("enabled", "FALSE", False),
        ("category_ids", '["a", "b"]', ["a", "b"]),
        ("category_ids", "11, 22", ["11", "22"]),
        ("category_ids", "", []),
        ("mapping", '{"aras": 2}', {"aras": 2}),
        ("note", "  spaced  ", "  spaced  "),
        ("note", "123", "123"),
        ("start", "", None),
        ("feature_flags.stock", "true", True),
        ("feature_flags.new_flag", "on", True),
        ("failed_integration.DEFAULT.MAX_RETRY_COUNT", "5", 5),
        ("failed_integration.order.MAX_RETRY_COUNT", "4", 4),
        ("token", "env:PAZAR_SECRET_MY_TOKEN", "env:PAZAR_SECRET_MY_TOKEN"),
    ],
)
def test_coerce_types_values_by_schema(key: str, raw: str, expected: object) -> None:
    assert cs.coerce(SCHEMA, key, raw) == expected


def test_coerce_leaves_a_bad_value_for_validation_to_name() -> None:
    assert cs.coerce(SCHEMA, "buffer_stock", "abc") == "abc"
    config = cs.defaults(SCHEMA)
    cs.assign(config, "buffer_stock", "abc")
    assert cs.validate(SCHEMA, config, partial=True) == [
        "buffer_stock: 'abc' is not of type 'integer', 'null'"
    ]


def test_coerce_unknown_key_suggests_the_nearest() -> None:
    with pytest.raises(ValidationError) as exc:
        cs.coerce(SCHEMA, "bufer_stock", "1")
    assert "unknown key 'bufer_stock'" in exc.value.message
    assert "did you mean 'buffer_stock'" in exc.value.message
    with pytest.raises(ValidationError, match="not valid JSON"):
        cs.coerce(SCHEMA, "mapping", "{oops")


def test_assign_creates_nested_objects() -> None:
    config: dict = {}
    cs.assign(config, "failed_integration.order.MAX_RETRY_COUNT", 5)
    assert config == {"failed_integration": {"order": {"MAX_RETRY_COUNT": 5}}}


def test_validate_reports_every_problem_with_its_path() -> None:
    config = cs.defaults(SCHEMA)
    config.update(
        buffer_stock=-1,
        enabled="maybe",
        bogus=1,
        failed_integration={"DEFAULT": {"MAX_RETRY_COUNT": 0}},
    )
    problems = cs.validate(SCHEMA, config, partial=True)
    assert "buffer_stock: -1 is less than the minimum of 0" in problems
    assert "enabled: 'maybe' is not of type 'boolean'" in problems
    assert any(p.startswith("(config): unknown key 'bogus'") for p in problems)
    assert "failed_integration.DEFAULT.MAX_RETRY_COUNT: 0 is less than the minimum of 1" in problems
    assert len(problems) == 4


def test_partial_validation_tolerates_empty_required_fields_only() -> None:
    config = cs.defaults(SCHEMA)
    assert cs.validate(SCHEMA, config, partial=True) == []
    full = cs.validate(SCHEMA, config)
    assert "token: is required (Token) but empty" in full
    assert "reason_id: is required (Reason Id) but empty" in full
    assert "category_ids: is required but empty" in full
    del config["feature_flags"]
    assert "feature_flags: is required" in cs.validate(SCHEMA, config)


def test_secret_values_never_appear_in_messages() -> None:
    config = cs.defaults(SCHEMA)
    config["token"] = 12345678
    problems = cs.validate(SCHEMA, config, partial=True)
    assert problems == ["token: value is not of type 'string'"]
    assert "12345678" not in " ".join(problems)
    with pytest.raises(ValidationError) as exc:
        cs.coerce(
            {"type": "object", "properties": {"t": {"type": "object", "x-secret": True}}},
            "t",
            "{hunter2",
        )
    assert "hunter2" not in exc.value.message


def test_mask_hides_secrets_but_shows_env_references_and_empties() -> None:
    assert cs.mask(SCHEMA, {"token": "s3cret", "note": "x"}) == {"token": cs.MASK, "note": "x"}
    assert cs.mask(SCHEMA, {"token": "env:PAZAR_SECRET_HB_TOKEN"}) == {
        "token": "env:PAZAR_SECRET_HB_TOKEN"
    }
    assert cs.mask(SCHEMA, {"token": ""}) == {"token": ""}


def test_resolve_secrets_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAZAR_SECRET_MY_TOKEN", "from-env")
    assert cs.resolve_secrets(
        SCHEMA, {"token": "env:PAZAR_SECRET_MY_TOKEN", "note": "env:NOT_A_SECRET"}
    ) == {
        "token": "from-env",
        "note": "env:NOT_A_SECRET",
    }
    monkeypatch.delenv("PAZAR_SECRET_MY_TOKEN")
    with pytest.raises(ConfigError) as exc:
        cs.resolve_secrets(SCHEMA, {"token": "env:PAZAR_SECRET_MY_TOKEN"})
    assert "token" in exc.value.message and "PAZAR_SECRET_MY_TOKEN" in exc.value.message
    assert exc.value.exit_code == 2


def test_form_rows_follow_the_seed_form() -> None:
    rows = {key: (label, required, dt) for key, label, required, dt in cs.form_rows(SCHEMA)}
    assert rows["token"] == ("Token", True, "text")
    assert rows["buffer_stock"] == ("Buffer Stock", False, "integer")
    assert rows["enabled"] == ("Enabled", False, "bool")
    assert rows["category_ids"] == ("category_ids", True, "list")
    assert rows["mapping"][2] == "json"
    assert rows["start"][2] == "text"
    assert {dt for _, _, dt in rows.values()} <= set(cs.DATA_TYPES)


def test_flatten_gives_dotted_keys() -> None:
    assert cs.flatten({"a": 1, "b": {"c": {"d": 2}, "e": []}, "f": {}}) == [
        ("a", 1),
        ("b.c.d", 2),
        ("b.e", []),
        ("f", {}),
    ]


def test_deep_merge_keeps_nested_defaults() -> None:
    merged = cs.deep_merge(
        {"flags": {"a": False, "b": False}, "x": [1]}, {"flags": {"b": True}, "x": [2]}
    )
    assert merged == {"flags": {"a": False, "b": True}, "x": [2]}

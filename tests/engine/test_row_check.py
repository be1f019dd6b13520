"""The quick row check never accepts a row the marketplace's request shape refuses."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from pazar.row_check import quick_check
from pazar_fashfed import upload_steps as fashfed_uploads
from pazar_hepsiburada.upload_steps import PRICE_ROW, STOCK_ROW

SCHEMAS = [STOCK_ROW, PRICE_ROW]
SCHEMAS += [
    getattr(fashfed_uploads, name)
    for name in dir(fashfed_uploads)
    if name.endswith("_ROW") and isinstance(getattr(fashfed_uploads, name), dict)
]
SCHEMAS += [
    {
        "type": "object",
        "properties": {
            "a": {"type": "number", "maximum": 5, "exclusiveMaximum": 9},
            "b": {"type": "boolean"},
            "c": {"type": "string", "pattern": "^x"},
        },
    }
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(),
    st.floats(),
    st.decimals(allow_nan=False),
    st.text(max_size=3),
    st.text(min_size=250, max_size=260),
)
keys = st.sampled_from(
    ["merchantSku", "hepsiburadaSku", "availableStock", "maximumPurchasableQuantity", "price"]
    + ["a", "b", "c", "other"]
)
rows = st.one_of(st.dictionaries(keys, scalars, max_size=5), st.lists(scalars), scalars)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(range(len(SCHEMAS))), rows)
def test_a_row_is_certain_only_when_the_schema_accepts_it(which: int, row: Any) -> None:
    schema = SCHEMAS[which]
    check = quick_check(schema)
    if check is not None and check(row):
        assert Draft202012Validator(schema).is_valid(row)


def test_the_usual_rows_are_certain_and_others_go_to_the_validator() -> None:
    check = quick_check(STOCK_ROW)
    assert check is not None
    assert check({"merchantSku": "S1", "availableStock": 3})
    assert check({"merchantSku": "S1", "availableStock": 0, "maximumPurchasableQuantity": 2})
    assert not check({"merchantSku": "S1", "availableStock": -1})
    assert not check({"merchantSku": "", "availableStock": 1})
    assert not check({"merchantSku": "S1", "availableStock": 3.0})  # valid: the validator says
    assert not check({"merchantSku": "S1"})
    assert not check({"merchantSku": "S1", "availableStock": 1, "surprise": 1})
    assert quick_check({"type": "object", "oneOf": []}) is None
    assert quick_check(None) is None

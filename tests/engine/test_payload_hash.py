"""Payload hashes decide whether a record is re-sent, so equal payloads must hash
alike and different ones apart, whatever their key order or number spelling."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pazar.state.actions import payload_hash

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=8))
payloads = st.dictionaries(st.text(max_size=6), scalars, max_size=6)


@given(payload=payloads)
def test_key_order_and_number_spelling_do_not_matter(payload: dict) -> None:
    reordered = dict(reversed(list(payload.items())))
    respelled = {k: Decimal(v) if type(v) is int else v for k, v in payload.items()}
    as_floats = {
        k: float(v) if type(v) is int and abs(v) < 2**52 else v for k, v in payload.items()
    }
    digest = payload_hash(payload)
    assert payload_hash(reordered) == digest
    assert payload_hash(respelled) == digest
    assert payload_hash(as_floats) == digest


@given(payload=payloads, key=st.text(max_size=6), value=st.integers(0, 1000))
def test_a_changed_value_changes_the_hash(payload: dict, key: str, value: int) -> None:
    changed = {**payload, key: value}
    other = {**payload, key: value + 1}
    assert payload_hash(changed) != payload_hash(other)


def test_numbers_booleans_and_strings_stay_apart() -> None:
    digests = {payload_hash({"a": v}) for v in (1, True, "1", 1.5, None, [1], {"#": "1"})}
    assert len(digests) == 6  # 1 and {"#": "1"} are the same number by construction
    assert payload_hash({"p": Decimal("10.00")}) == payload_hash({"p": 10})
    assert payload_hash({"n": {"x": [1, 2]}}) != payload_hash({"n": {"x": [2, 1]}})

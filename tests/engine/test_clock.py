"""Instants as marketplaces and operators write them become aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pazar.clock import parse_instant


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T09:30:00Z",
        "2026-03-01T09:30:00.000Z",
        "2026-03-01T12:30:00+03:00",
        "2026-03-01 09:30",
    ],
)
def test_an_instant_with_or_without_a_zone_is_aware(text: str) -> None:
    assert parse_instant(text) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01"])
def test_anything_else_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)

"""The values of an import file: one parser per column rule.

Each parser takes what the file holds (a string from CSV, a native value from
JSON) and returns the value to store, or raises :class:`RowError` with what is
wrong; the reader adds file, line and column.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


class RowError(Exception):
    """A value that breaks its column's rule; the reader adds file, line and column."""


def clean_text(value: Any) -> str:
    """The cell as stripped text; None (a JSON null) is the empty string."""
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        raise RowError("contains the NUL character, which no database column can hold")
    return text


def _no_nul(value: Any) -> Any:
    """JSON values go to JSON columns: PostgreSQL refuses U+0000 anywhere in them."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            raise RowError("contains the NUL character (\\u0000), which pazar cannot store")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


_ESCAPED_NUL = "\\u0000"
"""JSON text can hold U+0000 only escaped (``clean_text`` refused a raw one), so a text
without this needs no walk through the parsed value."""


def opt_text(value: Any) -> str | None:
    text = clean_text(value)
    return text or None


def req_text(value: Any) -> str:
    text = clean_text(value)
    if not text:
        raise RowError("is required")
    return text


def non_negative_integer(value: Any) -> int:
    """A stock level: an integer, never below 0 (a negative stock is a typo, not a debt)."""
    number = integer(value)
    if number < 0:
        raise RowError(f"{value!r} is negative; it must be 0 or more")
    return number


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise RowError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    try:
        return int(clean_text(value))
    except ValueError:
        raise RowError(f"{value!r} is not an integer") from None


def decimal(value: Any) -> Decimal:
    try:
        number = (
            Decimal(clean_text(value).replace(",", "."))
            if not isinstance(value, int | float)
            else Decimal(str(value))
        )
    except InvalidOperation:
        raise RowError(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise RowError(f"{value!r} is not a non-negative number")
    return number


def opt_decimal(value: Any) -> Decimal | None:
    return None if clean_text(value) == "" else decimal(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = clean_text(value).lower()
    if text in ("true", "1", "yes", "y", "on", ""):
        return True
    if text in ("false", "0", "no", "n", "off"):
        return False
    raise RowError(f"{value!r} is not a boolean (true/false)")


def json_list(value: Any) -> list[Any]:
    """A JSON list, or ``a|b|c`` for spreadsheets; empty → []."""
    if isinstance(value, list):
        return _no_nul(value)
    text = clean_text(value)
    if not text:
        return []
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RowError(f"is not a valid JSON list ({exc.msg})") from None
        if not isinstance(parsed, list):
            raise RowError("is not a JSON list")
        return _no_nul(parsed) if _ESCAPED_NUL in text else parsed
    return [part.strip() for part in text.split("|") if part.strip()]


def json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return _no_nul(value)
    text = clean_text(value)
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(f"is not a valid JSON object ({exc.msg})") from None
    if not isinstance(parsed, dict):
        raise RowError("is not a JSON object")
    return _no_nul(parsed) if _ESCAPED_NUL in text else parsed


def product_type(value: Any) -> str:
    text = clean_text(value).lower() or "simple"
    if text not in ("simple", "meta"):
        raise RowError(f"{value!r} is not a product type (simple or meta)")
    return text


def reason_kind(value: Any) -> str:
    text = clean_text(value).lower()
    if text not in ("cancel", "refund"):
        raise RowError(f"{value!r} is not a reason kind (cancel or refund)")
    return text


@dataclass(frozen=True)
class Column:
    """One column of a kind; ``ignored`` columns are accepted and dropped (what
    ``catalog export`` adds for reading only: ids, versions)."""

    name: str
    parse: Callable[[Any], Any]
    required: bool = False
    ignored: bool = False

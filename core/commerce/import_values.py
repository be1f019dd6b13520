"""The values of an import file: one parser per column rule.

Each parser takes what the file holds (a string from CSV, a native value from
JSON) and returns the value to store, or raises :class:`RowError` with what is
wrong; the reader adds file, line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pazar import json_input
from pazar.number_input import (
    INT32_MAX,
    INT64_MAX,
    NumberError,
    check_integer,
    fit_numeric,
    parse_decimal,
    parse_integer,
)


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
    """A stock level: an integer, never below 0 (a negative stock is a typo, not a debt),
    and within what the quantity column holds."""
    number = integer(value, high=INT32_MAX)
    if number < 0:
        raise RowError(f"{value!r} is negative; it must be 0 or more")
    return number


def integer(value: Any, high: int = INT64_MAX) -> int:
    """ASCII digits with an optional sign (not ``5_000``, not ``٥``), at most ``high``."""
    if isinstance(value, bool):
        raise RowError(f"{value!r} is not an integer")
    if type(value) is str and _SMALL_DIGITS.fullmatch(value):
        return int(value)  # the common cell, e.g. "12": below every bound as written
    try:
        if isinstance(value, int):
            return check_integer(value, low=-INT64_MAX, high=high)
        return parse_integer(clean_text(value), low=-INT64_MAX, high=high)
    except NumberError as exc:
        raise RowError(str(exc)) from None


_SMALL_DIGITS = re.compile(r"[0-9]{1,9}")
"""Up to nine ASCII digits: below 2**31-1, the smallest bound :func:`integer` is given."""


@lru_cache(maxsize=8)
def _plain_fit(precision: int, scale: int) -> re.Pattern[str]:
    """Plain non-negative decimals that a ``Numeric(precision, scale)`` column keeps as they
    are: a million prices are read by one regular expression each, not by the full rules
    (which give the same answer for these, at twenty times the cost)."""
    whole = precision - scale
    return re.compile(rf"[0-9]{{1,{whole}}}(?:\.[0-9]{{0,{scale}}})?")


def decimal(value: Any, precision: int = 14, scale: int = 2) -> Decimal:
    """A price: plain decimal notation (``12.50``, or ``12,50`` from a spreadsheet), not
    below 0, and kept exactly by a ``Numeric(precision, scale)`` column (the prices'
    ``Numeric(14, 2)``): more decimals or digits than that are refused, not rounded."""
    if isinstance(value, bool):
        raise RowError(f"{value!r} is not a number")
    if type(value) is str and _plain_fit(precision, scale).fullmatch(value):
        return Decimal(value)  # the common cell, e.g. "149.90": fits the column as written
    try:
        if isinstance(value, int | float):
            number = Decimal(str(value))
            if not number.is_finite():
                raise RowError(f"{value!r} is not a finite number")
        else:
            number = parse_decimal(clean_text(value), decimal_comma=True)
        if number < 0:
            raise RowError(f"{value!r} is not a non-negative number")
        return fit_numeric(number, precision, scale, shown=value)
    except NumberError as exc:
        raise RowError(str(exc)) from None


def opt_decimal(value: Any) -> Decimal | None:
    return None if clean_text(value) == "" else decimal(value)


def tax_rate(value: Any) -> Decimal | None:
    """A tax rate in percent (0 to 100), kept by its ``Numeric(5, 2)`` column."""
    if clean_text(value) == "":
        return None
    rate = decimal(value, 5, 2)
    if rate > 100:
        raise RowError(f"{value!r} is not a tax rate in percent (0 to 100)")
    return rate


def currency(value: Any, default: str | None = "TRY") -> str | None:
    """An ISO 4217 code as three letters (``try`` is ``TRY``); empty → ``default``.  The
    marketplaces take the code, and a symbol or a typo would reach them as it was."""
    text = clean_text(value)
    if text == "":
        return default
    if not (len(text) == 3 and text.isascii() and text.isalpha()):
        raise RowError(f"{value!r} is not a currency code (three letters, e.g. TRY, EUR)")
    return text.upper()


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
            parsed = json_input.loads(text)
        except json_input.JsonProblem as exc:
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
        parsed = json_input.loads(text)
    except json_input.JsonProblem as exc:
        raise RowError(f"is not a valid JSON object ({exc.msg})") from None
    if not isinstance(parsed, dict):
        raise RowError("is not a JSON object")
    return _no_nul(parsed) if _ESCAPED_NUL in text else parsed


MAX_PURCHASABLE = "maximumPurchasableQuantity"


def stock_extra(value: Any) -> dict[str, Any]:
    """A stock's extra fields, a JSON object; those a marketplace is sent are checked here
    (``maximumPurchasableQuantity``: a positive integer)."""
    extra = json_object(value)
    if MAX_PURCHASABLE in extra:
        limit = extra[MAX_PURCHASABLE]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= INT32_MAX:
            raise RowError(
                f"{MAX_PURCHASABLE} {json.dumps(limit)} is not a positive integer "
                f"(at most {INT32_MAX})"
            )
    return extra


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

"""Numbers as operators write them: one rule for the command line, import files and configs.

Python's ``int()`` and ``Decimal()`` read more than anyone means to write: ``5_0`` is 50,
``٥`` (an Arabic-Indic digit) is 5, ``1e309`` is a number no column holds, ``NaN`` and
``Infinity`` are numbers.  pazar reads an integer as ASCII digits with an optional sign
and a decimal in plain notation (``12.50``; ``12,50`` where a file may use decimal commas),
and checks that the value fits the column it goes to: an integer larger than the
database holds would stop the command with an ``OverflowError``, a price with more
decimals than its column keeps would be stored as given and exported rounded.

Every function raises :class:`NumberError` (a ``ValueError``) with what is wrong, in
words that follow the value's name (``'5_0' is not an integer ...``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pazar.errors import short

INT64_MAX = 2**63 - 1
"""The largest integer SQLite's INTEGER and PostgreSQL's bigint hold: ids, limits."""

INT32_MAX = 2**31 - 1
"""The largest PostgreSQL ``integer``: stock quantities and other Integer columns."""

_INTEGER = re.compile(r"[+-]?[0-9]+")
_THOUSANDS_OR_DECIMALS = re.compile(r"[+-]?[0-9]{1,3},[0-9]{3}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _q(value: object) -> str:
    """A value as a message quotes it, at most 40 characters (a 400-digit price is not
    repeated whole)."""
    return repr(value if len(str(value)) <= 40 else short(str(value), 40))


class NumberError(ValueError):
    """A number that is not written as pazar reads numbers, or does not fit."""


def parse_integer(text: str, *, low: int | None = None, high: int = INT64_MAX) -> int:
    """``text`` (ASCII digits, optional sign) as an int within ``low``..``high``."""
    stripped = text.strip()
    if not _INTEGER.fullmatch(stripped):
        raise NumberError(f"{_q(text)} is not an integer (digits 0-9, optionally signed)")
    if len(stripped.lstrip("+-").lstrip("0")) > len(str(high)):  # int() of 5000 digits raises
        raise NumberError(f"{_q(text)} is too large (at most {high})")
    return check_integer(int(stripped), low=low, high=high, shown=text)


def check_integer(
    number: int, *, low: int | None = None, high: int = INT64_MAX, shown: object = None
) -> int:
    """``number`` if it is within ``low``..``high``."""
    shown = number if shown is None else shown
    if low is not None and number < low:
        raise NumberError(f"{_q(shown)} is less than {low}")
    if number > high:
        raise NumberError(f"{_q(shown)} is too large (at most {high})")
    return number


def parse_decimal(text: str, *, decimal_comma: bool = False) -> Decimal:
    """``text`` in plain decimal notation (no exponent, no ``_``, ASCII digits) as a Decimal."""
    stripped = text.strip()
    if decimal_comma and _THOUSANDS_OR_DECIMALS.fullmatch(stripped):
        # 1,000 is a thousand where commas group digits and one where they mark decimals
        raise NumberError(
            f"{_q(text)} is ambiguous: a thousands separator or a decimal comma? "
            f"write {stripped.replace(',', '')} or {stripped.replace(',', '.')}"
        )
    if decimal_comma and "." not in stripped:
        stripped = stripped.replace(",", ".", 1)
    if not _DECIMAL.fullmatch(stripped):
        raise NumberError(f"{_q(text)} is not a number (plain decimal notation, e.g. 12.50)")
    try:
        return Decimal(stripped)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise NumberError(f"{_q(text)} is not a number") from None


def fit_numeric(number: Decimal, precision: int, scale: int, *, shown: object = None) -> Decimal:
    """``number`` if a ``Numeric(precision, scale)`` column keeps it exactly: finite, at most
    ``scale`` decimals (trailing zeros aside), below ``10 ** (precision - scale)``."""
    shown = str(number) if shown is None else shown
    if not number.is_finite():
        raise NumberError(f"{_q(shown)} is not a finite number")
    limit = Decimal(10) ** (precision - scale)
    if abs(number) >= limit:
        raise NumberError(f"{_q(shown)} is too large (less than {limit} required)")
    if number != number.quantize(Decimal(1).scaleb(-scale), rounding="ROUND_DOWN"):
        raise NumberError(f"{_q(shown)} has more than {scale} decimals, which pazar would not keep")
    return number

"""Number arguments and options: read by :mod:`pazar.number_input`'s rules, in a range.

click's ``int`` reads what Python's ``int()`` reads (``5_0``, ``٥``) and has no upper
bound, so an id or a limit past 2**63-1 reached SQLite and stopped the command with an
``OverflowError``; its ``FloatRange`` lets ``nan`` through every bound.  Every integer a
command takes is an :class:`Integer` (at most 2**63-1 unless the column holds less), and
every float a :class:`Number` (finite).
"""

from __future__ import annotations

import math
from typing import Any

import click

from pazar.number_input import INT32_MAX, INT64_MAX, NumberError, parse_integer


class Integer(click.IntRange):
    """ASCII digits with an optional sign, within ``min``..``max`` (default max: 2**63-1)."""

    name = "integer"

    def __init__(self, min: int | None = None, max: int | None = INT64_MAX) -> None:
        super().__init__(min=min, max=INT64_MAX if max is None else max)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                value = parse_integer(value, high=INT64_MAX if self.max is None else self.max)
            except NumberError as exc:
                self.fail(f"{exc}.", param, ctx)
        return super().convert(value, param, ctx)

    def _describe_range(self) -> str:
        """``x>=1`` rather than ``1<=x<=9223372036854775807``: the database's bound is
        named only when a value passes it."""
        if self.max == INT64_MAX and self.min is not None:
            return f"x{'>' if self.min_open else '>='}{self.min}"
        return super()._describe_range()


class Number(click.FloatRange):
    """A finite float within ``min``..``max`` (``nan`` and ``inf`` are refused)."""

    name = "number"

    def _describe_range(self) -> str:
        """No ``x<=None`` in the help of an unbounded number."""
        if self.min is None and self.max is None:
            return "finite"
        return super()._describe_range()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


ID = Integer(min=1)
"""A database id (run, order, request, reason)."""

QUANTITY = Integer(min=0, max=INT32_MAX)
"""A stock quantity: what the quantity column holds (PostgreSQL ``integer``)."""

"""Jinja filters: times, durations, numbers and JSON values as the pages show them."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any


def when(value: Any) -> str:
    """``2026-01-31 06:00:03`` (UTC) or ``-``."""
    if not isinstance(value, datetime):
        return "-" if value in (None, "") else str(value)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def took(ms: Any) -> str:
    if ms is None:
        return "-"
    seconds = float(ms) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} m {rest} s"


def number(value: Any) -> str:
    """Thousands separated by a thin space (readable in Turkish and English); ``-`` for None."""
    if value is None:
        return "—"
    if isinstance(value, float | Decimal) and value != int(value):
        return f"{value:,.2f}".replace(",", "\u2009")
    return f"{int(value):,}".replace(",", "\u2009")


def shown(value: Any) -> str:
    """A config or audit value: JSON for structures, ``(unset)`` for absent."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def sparkline(values: list[Any], width: int = 120, height: int = 28) -> str:
    """SVG polyline points for a trend (None values skipped)."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return ""
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    step = width / max(1, len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in points
    )


FILTERS = {"when": when, "took": took, "number": number, "shown": shown, "sparkline": sparkline}

"""Time as a dependency: code asks a clock, tests inject one and never sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self._now += timedelta(seconds=seconds, **kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: object) -> datetime:
    """An ISO 8601 date/time (``Z`` or an offset; none means UTC) as an aware datetime.

    Raises ValueError for anything else.  Marketplaces and operators write instants
    both with and without a zone; pazar keeps every instant aware and in UTC.
    """
    return as_utc(datetime.fromisoformat(str(text).strip()))


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; one without a zone is taken as UTC already (pazar's rule for
    every instant, so a marketplace's date format never reads it as the machine's time)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

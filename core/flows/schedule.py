"""Flow schedules: five-field cron or a fixed interval ("every 30s").

Interval ticks are aligned to the Unix epoch rather than to when a daemon
started, so every daemon computes the same tick times and the scheduler's
unique (channel, flow, tick) row really enqueues a tick once.  All times are
UTC; a naive datetime is taken to be UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pazar.errors import ValidationError


def croniter(*args: Any) -> Any:
    """croniter, imported when a cron expression is first used: interval schedules and
    commands that never compute a tick (``pazar status`` on most setups) skip its import."""
    from croniter import croniter as cls

    return cls(*args)


def _cron_valid(expression: str) -> bool:
    from croniter import croniter as cls

    return bool(cls.is_valid(expression))


EXPECTED = "expected a cron expression ('*/5 * * * *') or 'every 30s'"

_CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT"),
)
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_INTERVAL = re.compile(r"^every\s+(\d+)\s*([a-z]+)$")
_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ScheduleError(ValidationError):
    """A schedule string that is neither cron nor an interval; ``reason`` says why."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid schedule {text!r}: {reason}; {EXPECTED}")
        self.text = text
        self.reason = reason


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    """When a flow runs.  ``kind`` is "cron" or "interval"."""

    text: str
    kind: str
    cron: str | None = None
    seconds: int | None = None

    def next_after(self, dt: datetime) -> datetime:
        """The first tick strictly after ``dt`` (aware UTC)."""
        dt = _utc(dt)
        if self.kind == "interval":
            assert self.seconds is not None
            elapsed = (dt - _EPOCH) // timedelta(seconds=1)
            return _EPOCH + timedelta(seconds=(elapsed // self.seconds + 1) * self.seconds)
        return _utc(croniter(self.cron, dt).get_next(datetime))

    def previous_at_or_before(self, dt: datetime) -> datetime:
        """The latest tick at or before ``dt``: what a scheduler that was down should run once."""
        dt = _utc(dt)
        if self.kind == "interval":
            assert self.seconds is not None
            elapsed = (dt - _EPOCH) // timedelta(seconds=1)
            return _EPOCH + timedelta(seconds=(elapsed // self.seconds) * self.seconds)
        nxt = self.next_after(dt - timedelta(seconds=1))
        if nxt <= dt:
            return nxt
        return _utc(croniter(self.cron, dt).get_prev(datetime))

    def ticks_between(
        self, start: datetime, end: datetime, *, limit: int | None = None
    ) -> list[datetime]:
        """Ticks ``t`` with ``start < t <= end``, oldest first (at most ``limit`` of them).

        Half-open so consecutive scheduler passes over (a, b], (b, c] see each
        tick exactly once.
        """
        start, end = _utc(start), _utc(end)
        ticks: list[datetime] = []
        if end <= start:
            return ticks
        if self.kind == "interval":
            tick = self.next_after(start)
            step = timedelta(seconds=self.seconds or 1)
            while tick <= end and (limit is None or len(ticks) < limit):
                ticks.append(tick)
                tick += step
            return ticks
        it = croniter(self.cron, start)
        while limit is None or len(ticks) < limit:
            tick = _utc(it.get_next(datetime))
            if tick > end:
                break
            ticks.append(tick)
        return ticks

    def describe(self) -> str:
        if self.kind == "interval":
            return f"every {self.seconds}s"
        return self.cron or self.text


def _cron_field_problem(fields: list[str]) -> str:
    for index, (name, allowed) in enumerate(_CRON_FIELDS):
        probe = ["*"] * 5
        probe[index] = fields[index]
        try:
            croniter(" ".join(probe))
        except Exception as exc:  # noqa: BLE001 - croniter raises several error types
            detail = str(exc)
            if "range" in detail or "bands" in detail:
                return f"{name} field {fields[index]!r} is out of range ({allowed})"
            return f"{name} field {fields[index]!r} is not valid ({allowed}, lists, ranges, */step)"
    return "fields do not form a valid cron expression"


def parse_schedule(text: str) -> Schedule:
    """Parse ``text``; raises :class:`ScheduleError` (exit 2) with the reason."""
    if not isinstance(text, str):
        raise ScheduleError(str(text), f"expected a string, got {type(text).__name__}")
    cleaned = " ".join(text.strip().split())
    if not cleaned:
        raise ScheduleError(text, "empty")
    lowered = cleaned.lower()
    if lowered.startswith("every"):
        match = _INTERVAL.match(lowered)
        if not match:
            raise ScheduleError(text, "an interval is 'every <n>s', 'every <n>m' or 'every <n>h'")
        amount, unit = int(match.group(1)), match.group(2)
        if unit not in _UNITS:
            raise ScheduleError(text, f"unknown interval unit {unit!r} (use s, m or h)")
        if amount < 1:
            raise ScheduleError(text, "the interval must be at least 1")
        return Schedule(text=text, kind="interval", seconds=amount * _UNITS[unit])
    if lowered in _MACROS:
        return Schedule(text=text, kind="cron", cron=_MACROS[lowered])
    if cleaned.startswith("@"):
        raise ScheduleError(text, f"unknown macro (known: {', '.join(sorted(_MACROS))})")
    fields = cleaned.split(" ")
    if len(fields) != 5:
        raise ScheduleError(
            text,
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)}",
        )
    try:
        croniter(cleaned)
    except Exception:  # noqa: BLE001
        raise ScheduleError(text, _cron_field_problem(fields)) from None
    if not _cron_valid(cleaned):
        raise ScheduleError(text, _cron_field_problem(fields))
    return Schedule(text=text, kind="cron", cron=cleaned)

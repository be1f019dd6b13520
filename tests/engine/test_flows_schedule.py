"""Flow schedules: cron and fixed intervals, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pazar.errors import ValidationError
from pazar.flows.schedule import ScheduleError, parse_schedule

T0 = datetime(2026, 3, 4, 10, 2, 30, tzinfo=UTC)


def test_cron_next_after_is_strictly_later() -> None:
    every5 = parse_schedule("*/5 * * * *")
    assert every5.kind == "cron"
    assert every5.next_after(T0) == datetime(2026, 3, 4, 10, 5, tzinfo=UTC)
    on_tick = datetime(2026, 3, 4, 10, 5, tzinfo=UTC)
    assert every5.next_after(on_tick) == datetime(2026, 3, 4, 10, 10, tzinfo=UTC)


def test_daily_cron_at_six_like_the_seed_get_updated_orders() -> None:
    daily = parse_schedule("0 6 * * *")
    assert daily.next_after(T0) == datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
    assert parse_schedule("@daily").next_after(T0) == datetime(2026, 3, 5, 0, 0, tzinfo=UTC)


def test_times_in_other_zones_are_converted_to_utc() -> None:
    istanbul = timezone(timedelta(hours=3))
    local = datetime(2026, 3, 4, 13, 2, 30, tzinfo=istanbul)  # == T0
    assert parse_schedule("0 * * * *").next_after(local) == datetime(2026, 3, 4, 11, 0, tzinfo=UTC)


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = T0.replace(tzinfo=None)
    assert parse_schedule("every 1m").next_after(naive) == datetime(2026, 3, 4, 10, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("every 30s", 30),
        ("every 5m", 300),
        ("every 1h", 3600),
        ("Every 2 minutes", 120),
        ("every 10 sec", 10),
    ],
)
def test_intervals(text: str, seconds: int) -> None:
    schedule = parse_schedule(text)
    assert schedule.kind == "interval"
    assert schedule.seconds == seconds


def test_interval_ticks_are_aligned_to_the_epoch_so_every_daemon_agrees() -> None:
    every30 = parse_schedule("every 30s")
    assert every30.next_after(T0) == datetime(2026, 3, 4, 10, 3, 0, tzinfo=UTC)
    assert every30.next_after(T0 + timedelta(seconds=1)) == datetime(
        2026, 3, 4, 10, 3, 0, tzinfo=UTC
    )
    assert every30.previous_at_or_before(T0) == T0  # 10:02:30 is itself a tick


def test_ticks_between_is_half_open() -> None:
    every5 = parse_schedule("*/5 * * * *")
    start = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    end = datetime(2026, 3, 4, 10, 15, tzinfo=UTC)
    assert every5.ticks_between(start, end) == [
        datetime(2026, 3, 4, 10, 5, tzinfo=UTC),
        datetime(2026, 3, 4, 10, 10, tzinfo=UTC),
        datetime(2026, 3, 4, 10, 15, tzinfo=UTC),
    ]
    # consecutive windows see each tick once
    later = every5.ticks_between(end, end + timedelta(minutes=5))
    assert later == [datetime(2026, 3, 4, 10, 20, tzinfo=UTC)]
    assert every5.ticks_between(end, start) == []


def test_ticks_between_for_intervals_and_limit() -> None:
    every30 = parse_schedule("every 30s")
    ticks = every30.ticks_between(T0, T0 + timedelta(minutes=2))
    assert len(ticks) == 4
    assert ticks[0] == datetime(2026, 3, 4, 10, 3, 0, tzinfo=UTC)
    assert all(b - a == timedelta(seconds=30) for a, b in zip(ticks, ticks[1:], strict=False))
    assert every30.ticks_between(T0, T0 + timedelta(days=1), limit=2) == ticks[:2]


def test_previous_at_or_before_for_cron() -> None:
    hourly = parse_schedule("0 * * * *")
    assert hourly.previous_at_or_before(T0) == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    on_tick = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert hourly.previous_at_or_before(on_tick) == on_tick


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("61 * * * *", "minute field '61' is out of range (0-59)"),
        ("0 25 * * *", "hour field '25' is out of range (0-23)"),
        ("* * 32 * *", "day-of-month field '32' is out of range"),
        ("* * * 13 *", "month field '13' is out of range"),
        ("*/0 * * * *", "minute field '*/0' is not valid"),
        (
            "* * * *",
            "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 4",
        ),
        ("* * * * * *", "got 6"),
        ("every 0s", "the interval must be at least 1"),
        ("every 3d", "unknown interval unit 'd' (use s, m or h)"),
        ("every often", "an interval is 'every <n>s'"),
        ("@sometimes", "unknown macro"),
        ("", "empty"),
    ],
)
def test_invalid_schedules_say_why_and_what_is_expected(text: str, why: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    message = caught.value.message
    assert message.startswith(f"invalid schedule {text!r}: ")
    assert why in message
    assert message.endswith("expected a cron expression ('*/5 * * * *') or 'every 30s'")
    assert isinstance(caught.value, ValidationError)
    assert caught.value.exit_code == 2


@given(
    text=st.sampled_from(["* * * * *", "*/5 * * * *", "0 5 * * *", "every 30s", "every 7s"]),
    offsets=st.lists(st.integers(-3600, 3 * 86400), min_size=1, max_size=20),
)
def test_a_pass_cache_gives_the_schedules_own_latest_tick(text: str, offsets: list[int]) -> None:
    from pazar.jobs.scheduler import PassCache

    cache = PassCache()
    base = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    for offset in offsets:  # forwards, backwards, within and across windows
        now = base + timedelta(seconds=offset)
        assert cache.latest_tick(text, now) == parse_schedule(text).previous_at_or_before(now)

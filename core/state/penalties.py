"""Failed-integration policy (penalties): the seed's section 3, in one place.

A channel config may carry ``failed_integration`` (the seed spells it
``FAILED_INTEGRATION``; both are read) with one policy per content type and a
``DEFAULT``::

    failed_integration:
      DEFAULT:      {RETRY_INTERVAL: 28800, EXPIRATION_DATE: 57601, MAX_RETRY_COUNT: 3}
      productstock: {RETRY_INTERVAL: 600, EXPIRATION_DATE: 86400, MAX_RETRY_COUNT: 5}
      sent_to_remote: {EXPIRATION_HOUR: 1}

The policy is copied onto the penalty when a failure is recorded (the snapshot
rule): a config change applies from a record's next failure on.

Marketplaces word ``MAX_RETRY_COUNT`` differently: Hepsiburada's seed counts attempts, the
first failure included; Fashfed's says "how many more times to retry after an error".  A
marketplace declares its reading with the schema marker ``x-retry-count`` on its
``failed_integration`` property (``attempts``, the default, or ``retries-after-first``);
the engine turns either into attempts allowed when a failure is recorded, and
:func:`describe_policies` says what a config means in plain numbers.  The retry
condition exists twice, as a Python function for reports and tests and as a SQL
predicate so selection can exclude held-back records inside its query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update

from pazar.errors import ConfigError
from pazar.models.state import FailedIntegration

# The seed's "Default Format".
DEFAULT_RETRY_INTERVAL = 28800
DEFAULT_EXPIRATION_DATE = 57601
DEFAULT_MAX_RETRY_COUNT = 3
DEFAULT_EXPIRATION_HOUR = 1.0

CONFIG_KEYS = ("failed_integration", "FAILED_INTEGRATION")

RetryCountReading = Literal["attempts", "retries-after-first"]
RETRY_COUNT_READINGS: tuple[RetryCountReading, ...] = ("attempts", "retries-after-first")
RETRY_COUNT_MARKER = "x-retry-count"
# sent_to_remote.EXPIRATION_HOUR above this many hours reads like seconds typed as hours
# (Fashfed's seed shows 360 "seconds" under an hour key): validate warns, nothing refuses it.
EXPIRATION_HOUR_WARN_ABOVE = 48


@dataclass(frozen=True)
class Policy:
    """One content type's penalty settings; ``expiration_seconds`` None = no time limit."""

    retry_interval: int
    expiration_seconds: int | None
    max_retry_count: int


DEFAULT_POLICY = Policy(DEFAULT_RETRY_INTERVAL, DEFAULT_EXPIRATION_DATE, DEFAULT_MAX_RETRY_COUNT)


def failed_integration_config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    for key in CONFIG_KEYS:
        value = (config or {}).get(key)
        if value is not None:
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"channel config {key} must be an object of policies per content type"
                )
            return value
    return {}


def _int(section: Mapping[str, Any], key: str, where: str, *, nullable: bool = False) -> int | None:
    value = section.get(key)
    if value is None:
        if nullable:
            return None
        raise ConfigError(f"channel config {where}.{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(
            f"channel config {where}.{key} must be a number of seconds >= 0, got {value!r}"
        )
    return int(value)


def retry_count_reading(schema: Mapping[str, Any] | None) -> RetryCountReading:
    """How a marketplace's config schema words ``MAX_RETRY_COUNT`` (its ``x-retry-count``
    marker on ``failed_integration``; ``attempts`` when it has none)."""
    section = ((schema or {}).get("properties") or {}).get("failed_integration") or {}
    value = section.get(RETRY_COUNT_MARKER, "attempts") if isinstance(section, Mapping) else None
    if value not in RETRY_COUNT_READINGS:
        raise ConfigError(
            f"config schema: {RETRY_COUNT_MARKER} must be one of "
            f"{', '.join(RETRY_COUNT_READINGS)}, got {value!r}"
        )
    return value  # type: ignore[no-any-return]


# Which reading each registered marketplace declared (filled when a registry registers a
# marketplace, resolved from its schema on first use): penalties are recorded deep in the
# state code, where only the channel's plugin name is known.
_SCHEMA_SOURCES: dict[str, Any] = {}
_READINGS: dict[str, RetryCountReading] = {}


def note_marketplace_schema(plugin: str, source: Any) -> None:
    """Remember where ``plugin``'s config schema lives, for :func:`reading_of`."""
    if _SCHEMA_SOURCES.get(plugin) is not source:
        _SCHEMA_SOURCES[plugin] = source
        _READINGS.pop(plugin, None)


def reading_of(plugin: str | None) -> RetryCountReading:
    """The ``MAX_RETRY_COUNT`` reading of a registered marketplace (``attempts`` if unknown)."""
    if not plugin or plugin not in _SCHEMA_SOURCES:
        return "attempts"
    if plugin not in _READINGS:
        from pazar.config_schema import load_schema

        _READINGS[plugin] = retry_count_reading(load_schema(_SCHEMA_SOURCES[plugin]))
    return _READINGS[plugin]


def attempts_allowed(max_retry_count: int, reading: RetryCountReading) -> int:
    """Attempts a record gets, the first failure included, under ``reading``."""
    return max_retry_count + 1 if reading == "retries-after-first" else max_retry_count


def policy_for(
    config: Mapping[str, Any] | None,
    content_type: str,
    reading: RetryCountReading = "attempts",
) -> Policy:
    """The policy for ``content_type``: its own section, else ``DEFAULT``, else the seed's default.

    A section may set only some keys; the rest come from ``DEFAULT`` and then
    from the seed's defaults.  ``max_retry_count`` is always attempts allowed, the
    first failure included, whatever ``reading`` the marketplace words it in.
    """
    fi = failed_integration_config(config)
    merged: dict[str, Any] = {
        "RETRY_INTERVAL": DEFAULT_RETRY_INTERVAL,
        "EXPIRATION_DATE": DEFAULT_EXPIRATION_DATE,
        "MAX_RETRY_COUNT": DEFAULT_MAX_RETRY_COUNT,
    }
    where = "failed_integration"
    for name in ("DEFAULT", content_type):
        section = fi.get(name)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise ConfigError(f"channel config failed_integration.{name} must be an object")
        merged.update({k: v for k, v in section.items() if k in merged})
        where = f"failed_integration.{name}"
    return Policy(
        retry_interval=_int(merged, "RETRY_INTERVAL", where) or 0,
        expiration_seconds=_int(merged, "EXPIRATION_DATE", where, nullable=True),
        max_retry_count=attempts_allowed(_int(merged, "MAX_RETRY_COUNT", where) or 0, reading),
    )


def sent_to_remote_hours(config: Mapping[str, Any] | None) -> float:
    """``sent_to_remote.EXPIRATION_HOUR``: how long a batch may wait on the marketplace."""
    section = failed_integration_config(config).get("sent_to_remote") or {}
    value = (
        section.get("EXPIRATION_HOUR", DEFAULT_EXPIRATION_HOUR)
        if isinstance(section, Mapping)
        else None
    )
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(
            f"channel config failed_integration.sent_to_remote.EXPIRATION_HOUR must be a number of hours > 0, got {value!r}"
        )
    return float(value)


def duration(seconds: float) -> str:
    """``28800`` → ``8h``, ``57601`` → ``16h 0m 1s``: seconds an operator can read."""
    total = int(seconds)
    if total < 60:
        return f"{seconds:g}s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    if minutes or (hours and secs):
        parts.append(f"{minutes}m")
    if secs:
        parts.append(f"{secs}s")
    return " ".join(parts)


@dataclass(frozen=True)
class EffectivePolicy:
    """What one section of ``failed_integration`` means, in numbers (``channel show``)."""

    section: str
    attempts: str
    wait: str
    window: str


def _window_attempts(policy: Policy) -> int | None:
    """Failures the expiration window leaves room for (retry k happens at k x interval,
    and only before the window closes); None when the window caps nothing."""
    if policy.expiration_seconds is None or policy.retry_interval <= 0:
        return None
    return max(1, -(-policy.expiration_seconds // policy.retry_interval))


def describe_policies(
    config: Mapping[str, Any] | None, reading: RetryCountReading = "attempts"
) -> list[EffectivePolicy]:
    """Every policy section of a config as attempts allowed, the wait between attempts and
    the window after the first failure, plus how long a batch may wait on the marketplace,
    so an operator never has to know how the marketplace words ``MAX_RETRY_COUNT``."""
    fi = failed_integration_config(config)
    names = ["DEFAULT", *[n for n in fi if n not in ("DEFAULT", "sent_to_remote")]]
    rows: list[EffectivePolicy] = []
    for name in names:
        try:
            policy = policy_for(config, name, reading)
        except ConfigError as exc:
            rows.append(EffectivePolicy(name, f"invalid: {exc.message}", "", ""))
            continue
        retries = policy.max_retry_count - 1
        attempts = (
            f"{policy.max_retry_count} (the first + {retries} retr{'y' if retries == 1 else 'ies'})"
        )
        fits = _window_attempts(policy)
        if fits is not None and fits < policy.max_retry_count:
            attempts += f"; the window fits {fits}"
        window = (
            "no limit"
            if policy.expiration_seconds is None
            else f"{duration(policy.expiration_seconds)} after the first failure"
        )
        rows.append(EffectivePolicy(name, attempts, duration(policy.retry_interval), window))
    try:
        hours = f"{sent_to_remote_hours(config):g}h"
    except ConfigError as exc:
        hours = f"invalid: {exc.message}"
    rows.append(EffectivePolicy("sent_to_remote", "", "", f"a batch waits at most {hours}"))
    return rows


def policy_warnings(config: Mapping[str, Any] | None) -> list[str]:
    """Values that are valid but probably not meant (``channel validate`` shows them)."""
    section = failed_integration_config(config).get("sent_to_remote")
    value = section.get("EXPIRATION_HOUR") if isinstance(section, Mapping) else None
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > EXPIRATION_HOUR_WARN_ABOVE
    ):
        return [
            f"failed_integration.sent_to_remote.EXPIRATION_HOUR is {value:g}: the key is in hours, "
            f"so a batch may wait {value:g} hours ({value / 24:.3g} days) for the marketplace; "
            f"if you meant {value:g} seconds, write {value / 3600:.4g}"
        ]
    return []


@dataclass(frozen=True)
class PenaltyState:
    """The stored fields a retry decision depends on (a snapshot, not the config)."""

    retry_count: int
    max_retry_count: int
    retry_interval: int
    first_failed_at: datetime
    last_failed_at: datetime
    expires_at: datetime | None


def expires_at(first_failed_at: datetime, policy: Policy) -> datetime | None:
    if policy.expiration_seconds is None:
        return None
    return first_failed_at + timedelta(seconds=policy.expiration_seconds)


def next_failure(
    previous: PenaltyState | None, policy: Policy, now: datetime
) -> tuple[PenaltyState, datetime | None]:
    """The penalty after one more failure at ``now`` under the current ``policy``.

    Returns the new state and its ``next_retry_at`` (None when no retry can
    ever happen, which parks the record).
    """
    first = previous.first_failed_at if previous else now
    count = (previous.retry_count if previous else 0) + 1
    state = PenaltyState(
        retry_count=count,
        max_retry_count=policy.max_retry_count,
        retry_interval=policy.retry_interval,
        first_failed_at=first,
        last_failed_at=now,
        expires_at=expires_at(first, policy),
    )
    return state, next_retry_at(state)


def next_retry_at(state: PenaltyState) -> datetime | None:
    """When the record may be taken again, or None if never."""
    if state.retry_count >= state.max_retry_count:
        return None
    due = state.last_failed_at + timedelta(seconds=state.retry_interval)
    if state.expires_at is not None and due >= state.expires_at:
        return None
    return due


def may_retry(state: PenaltyState, now: datetime) -> bool:
    """The seed's condition: ``retry_count < MAX_RETRY_COUNT and (expiration is None or now < expiration)``."""
    return state.retry_count < state.max_retry_count and (
        state.expires_at is None or now < state.expires_at
    )


def is_due(state: PenaltyState, now: datetime) -> bool:
    """Retryable now: the seed's condition and the retry interval has passed."""
    return may_retry(state, now) and now >= state.last_failed_at + timedelta(
        seconds=state.retry_interval
    )


def is_exhausted(state: PenaltyState, now: datetime) -> bool:
    """No retry will ever happen again without a manual release."""
    return not may_retry(state, now)


# ---- the same rules as SQL predicates over failed_integrations ---------------------------


def sql_may_retry(f: Any, now: datetime) -> ColumnElement[bool]:
    """``may_retry`` over a failed_integrations table/alias ``f``."""
    return and_(
        f.c.retry_count < f.c.max_retry_count, or_(f.c.expires_at.is_(None), f.c.expires_at > now)
    )


def sql_is_due(f: Any, now: datetime) -> ColumnElement[bool]:
    """``is_due`` in SQL: uses the stored ``next_retry_at`` (last failure + snapshot interval)."""
    return and_(sql_may_retry(f, now), f.c.next_retry_at.is_not(None), f.c.next_retry_at <= now)


def sql_holds_back(f: Any, now: datetime) -> ColumnElement[bool]:
    """A penalty row that keeps its record out of selection right now."""
    return ~sql_is_due(f, now)


def sql_is_exhausted(f: Any, now: datetime) -> ColumnElement[bool]:
    return ~sql_may_retry(f, now)


# ---- reading and releasing stored penalties -----------------------------------------------


def penalty_state(row: Any) -> PenaltyState:
    return PenaltyState(
        retry_count=row.retry_count,
        max_retry_count=row.max_retry_count,
        retry_interval=row.retry_interval,
        first_failed_at=row.first_failed_at,
        last_failed_at=row.last_failed_at,
        expires_at=row.expires_at,
    )


def penalty_status(row: Any, now: datetime) -> str:
    """``released`` (queued for the next run), ``due``, ``waiting`` or ``exhausted``."""
    if row.released_at is not None:
        return "released"
    state = penalty_state(row)
    if is_exhausted(state, now):
        return "exhausted"
    return "due" if is_due(state, now) else "waiting"


def list_penalties(
    session: Any,
    *,
    now: datetime,
    channel_id: int | None = None,
    content_type: str | None = None,
    exhausted: bool = False,
    limit: int | None = None,
    reason_type: str | None = None,
    key: str | None = None,
    offset: int = 0,
) -> list[Any]:
    F = FailedIntegration

    stmt = select(F).order_by(F.channel_id, F.content_type, F.last_failed_at.desc(), F.id)
    if channel_id is not None:
        stmt = stmt.where(F.channel_id == channel_id)
    if content_type is not None:
        stmt = stmt.where(F.content_type == content_type)
    if reason_type is not None:
        stmt = stmt.where(F.reason_type == reason_type)
    if key is not None:
        stmt = stmt.where(F.object_key == key)
    if exhausted:
        stmt = stmt.where(sql_is_exhausted(F.__table__, now), F.released_at.is_(None))
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def penalty_counts(
    session: Any, *, now: datetime, channel_id: int | None = None
) -> list[dict[str, Any]]:
    """Penalties per (channel, content type, reason type): how many, how many exhausted
    (parked until released) and how many released — one grouped query."""
    F = FailedIntegration

    parked = case((and_(F.released_at.is_(None), sql_is_exhausted(F.__table__, now)), 1), else_=0)
    released = case((F.released_at.is_not(None), 1), else_=0)
    stmt = (
        select(
            F.channel_id,
            F.content_type,
            F.reason_type,
            func.count(),
            func.sum(parked),
            func.sum(released),
        )
        .group_by(F.channel_id, F.content_type, F.reason_type)
        .order_by(F.channel_id, F.content_type, F.reason_type)
    )
    if channel_id is not None:
        stmt = stmt.where(F.channel_id == channel_id)
    return [
        {
            "channel_id": c,
            "content_type": t,
            "reason_type": r,
            "total": int(n),
            "exhausted": int(x or 0),
            "released": int(rel or 0),
        }
        for c, t, r, n, x, rel in session.execute(stmt)
    ]


def release_penalties(
    session: Any, *, channel_id: int, content_type: str, keys: list[str], now: datetime
) -> tuple[list[str], list[str]]:
    """Queue penalised records for the next run, whatever their policy said.

    The penalty row stays (marked released, retry due now) so the next run
    takes the record even if its version has not changed; a success then clears
    it, a failure starts a fresh penalty under the current policy.  Returns
    (released keys, keys that had no penalty).
    """
    F = FailedIntegration

    found: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        found.update(
            session.scalars(
                select(F.object_key).where(
                    F.channel_id == channel_id,
                    F.content_type == content_type,
                    F.object_key.in_(chunk),
                )
            )
        )
        session.execute(
            update(F)
            .where(
                F.channel_id == channel_id, F.content_type == content_type, F.object_key.in_(chunk)
            )
            .values(
                retry_count=0,
                max_retry_count=case((F.max_retry_count < 1, 1), else_=F.max_retry_count),
                expires_at=None,
                next_retry_at=now,
                released_at=now,
            )
        )
    released = [k for k in keys if k in found]
    missing = [k for k in keys if k not in found]
    return released, missing


def release_matching(
    session: Any,
    *,
    channel_id: int,
    content_type: str,
    now: datetime,
    reason_type: str | None = None,
) -> int:
    """:func:`release_penalties` for every penalty of a channel and content type (or of
    one reason type, e.g. all ``mapping`` failures after the mapping was fixed), in one
    statement however many there are.  Returns how many were released."""
    F = FailedIntegration

    stmt = update(F).where(F.channel_id == channel_id, F.content_type == content_type)
    if reason_type is not None:
        stmt = stmt.where(F.reason_type == reason_type)
    result = session.execute(
        stmt.values(
            retry_count=0,
            max_retry_count=case((F.max_retry_count < 1, 1), else_=F.max_retry_count),
            expires_at=None,
            next_retry_at=now,
            released_at=now,
        )
    )
    return int(result.rowcount or 0)


# ---- records penalised by key (no local object yet) ---------------------------------------


def held_back_keys(
    session: Any, *, channel_id: int, content_type: str, keys: list[str], now: datetime
) -> set[str]:
    """Which of ``keys`` a key penalty holds back right now (waiting or exhausted)."""
    from sqlalchemy import select

    from pazar.models.state import FailedIntegration as F

    table = F.__table__
    found: set[str] = set()
    unique = sorted(set(keys))
    for start in range(0, len(unique), 900):
        found.update(
            session.scalars(
                select(table.c.object_key).where(
                    table.c.channel_id == channel_id,
                    table.c.content_type == content_type,
                    table.c.object_id.is_(None),
                    table.c.object_key.in_(unique[start : start + 900]),
                    sql_holds_back(table, now),
                )
            )
        )
    return found


def due_keyed_records(
    session: Any, *, channel_id: int, content_type: str, now: datetime, limit: int = 1000
) -> list[tuple[str, Any]]:
    """(key, record as last read) of key penalties due now (released, or retry due)."""
    from sqlalchemy import select

    from pazar.models.state import FailedIntegration as F

    table = F.__table__
    rows = session.execute(
        select(table.c.object_key, table.c.payload)
        .where(
            table.c.channel_id == channel_id,
            table.c.content_type == content_type,
            table.c.object_id.is_(None),
            sql_is_due(table, now),
        )
        .order_by(table.c.next_retry_at, table.c.id)
        .limit(limit)
    )
    return [(key, payload) for key, payload in rows if payload is not None]

"""Recording what happened to a batch: successes become integration actions,
failures become penalties.  Called by the runner once per batch, inside the
batch's transaction; everything here is set-based (a handful of statements per
batch whatever its size).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from pazar.models.channels import Channel
from pazar.models.state import FailedIntegration, IntegrationWait
from pazar.pipeline import Item
from pazar.sqlbulk import dialect_insert
from pazar.state.actions import payload_hash, upsert, upsert_actions
from pazar.state.penalties import (
    PenaltyState,
    Policy,
    RetryCountReading,
    next_failure,
    policy_for,
    reading_of,
)
from pazar.state.selection import advance_cursor

REASON_TYPES = ("mapping", "remote", "local")
PENALTY_KEYS = ("channel_id", "content_type", "object_id")


@dataclass(frozen=True)
class Failure:
    """One object that failed, as the penalty table needs it (``object_id`` None: a
    record penalised by its key, with ``payload`` the record as read)."""

    content_type: str
    object_id: int | None
    object_key: str
    version: int | None
    message: str
    reason_type: str = "mapping"
    run_id: int | None = None
    batch_id: int | None = None
    payload: Any = None


def item_content_type(item: Item, flow: Any) -> str:
    return str(item.content_type or getattr(flow, "content_type", None) or "DEFAULT")


def record_batch_outcomes(
    session: Session,
    *,
    channel_id: int,
    flow: Any,
    run_id: int | None,
    clock: Any,
    config: Mapping[str, Any] | None,
    succeeded: Sequence[tuple[Item, str | None]],
    failed: Sequence[tuple[Item, str, str]],
    waits: Sequence[tuple[Item, str]] = (),
    unwaits: Sequence[Item] = (),
) -> None:
    """Success → integration action (version, payload hash, remote id) and no penalty;
    failure → penalty with one more attempt and the policy of this moment; a record
    that waits for its object's other content type → a wait row (no penalty), and one
    that is being sent after waiting → its wait row goes.

    Items without an ``object_id`` are not tracked, unless ``by_key``: then a failure
    is a penalty on the item's key and a success clears it.  Items read from a change
    stream (``cursor``) also move that stream's cursor on.
    """
    now: datetime = clock.now()
    ok_rows: list[dict[str, Any]] = []
    marks: dict[tuple[str, str], int] = {}
    cleared: dict[str, set[str]] = defaultdict(set)
    for item, remote_id in succeeded:
        if item.object_id is None:
            if item.by_key:
                cleared[item_content_type(item, flow)].add(str(item.key))
            continue
        ct = item_content_type(item, flow)
        ok_rows.append(
            {
                "channel_id": channel_id,
                "content_type": ct,
                "object_id": int(item.object_id),
                "object_key": str(item.key),
                "remote_id": None if remote_id is None else str(remote_id),
                "version": int(item.version or 0),
                "payload_hash": item.payload_hash or payload_hash(item.data),
                "status": "deleted" if item.deleted else "success",
                "state": item.state,
                "run_id": run_id,
                "batch_id": None,
                "updated_at": now,
            }
        )
        _mark(marks, item, ct)
    failures: list[Failure] = []
    for item, message, reason in failed:
        if item.object_id is None and not item.by_key:
            continue
        ct = item_content_type(item, flow)
        failures.append(
            Failure(
                content_type=ct,
                object_id=None if item.object_id is None else int(item.object_id),
                object_key=str(item.key),
                version=None if item.version is None else int(item.version),
                message=str(message),
                reason_type=reason if reason in REASON_TYPES else "local",
                run_id=run_id,
                payload=None
                if item.object_id is not None
                else dict(item.record if item.record is not None else item.data),
            )
        )
        cleared[ct].discard(str(item.key))  # a record failed and succeeded: the failure wins
        _mark(marks, item, ct)
    waiting: list[dict[str, Any]] = []
    for item, needs in waits:
        if item.object_id is None:
            continue
        ct = item_content_type(item, flow)
        waiting.append(
            {
                "channel_id": channel_id,
                "content_type": ct,
                "object_id": int(item.object_id),
                "object_key": str(item.key),
                "needs": needs,
                "version": None if item.version is None else int(item.version),
                "since": now,
                "run_id": run_id,
            }
        )
        _mark(marks, item, ct)  # a waiting record is tracked: the stream may move past it
    done = [item for item in unwaits if item.object_id is not None]
    record_successes(session, ok_rows)
    for ct, keys in cleared.items():
        clear_keyed_penalties(session, channel_id, ct, keys)
    penalize(session, channel_id=channel_id, config=config, now=now, failures=failures)
    if done:
        clear_waits(session, channel_id, flow, done)
    if waiting:
        upsert(
            session,
            IntegrationWait,
            waiting,
            WAIT_KEYS,
            {"needs": lambda ex, t: ex.needs, "version": lambda ex, t: ex.version},
        )
    if marks:
        for (ct, source), version in marks.items():
            advance_cursor(
                session,
                channel_id=channel_id,
                content_type=ct,
                source=source,
                version=version,
                now=now,
            )


WAIT_KEYS = ("channel_id", "content_type", "object_id")


def clear_waits(session: Session, channel_id: int, flow: Any, items: Sequence[Item]) -> None:
    """Records that waited and are being sent now: they no longer wait, whatever the
    marketplace makes of them (one DELETE per content type)."""
    by_ct: dict[str, list[int]] = defaultdict(list)
    for item in items:
        by_ct[item_content_type(item, flow)].append(int(item.object_id))  # type: ignore[arg-type]
    w = IntegrationWait.__table__
    for ct, ids in by_ct.items():
        for start in range(0, len(ids), 5000):
            session.execute(
                w.delete().where(
                    w.c.channel_id == channel_id,
                    w.c.content_type == ct,
                    w.c.object_id.in_(ids[start : start + 5000]),
                )
            )


def _mark(marks: dict[tuple[str, str], int], item: Item, ct: str) -> None:
    if item.cursor and item.version is not None:
        key = (ct, item.cursor)
        marks[key] = max(marks.get(key, 0), int(item.version))


def record_successes(
    session: Session, rows: Sequence[dict[str, Any]], *, newer_penalties_stay: bool = False
) -> None:
    """Upsert the actions and clear the penalties of these objects.

    ``newer_penalties_stay``: the successes answer uploads that may be older than the
    record's last attempt (a batch polled later); a penalty about a newer version than a
    row's stays."""
    if not rows:
        return
    upsert_actions(session, rows)
    if newer_penalties_stay:
        _clear_penalties_up_to(session, rows)
        return
    by_scope: dict[tuple[int, str], set[int]] = defaultdict(set)
    for row in rows:
        by_scope[(row["channel_id"], row["content_type"])].add(row["object_id"])
    for (channel_id, ct), ids in by_scope.items():
        clear_penalties(session, channel_id, ct, ids)


def penalty_not_newer(penalty_version: Any, success_version: Any) -> ColumnElement[bool]:
    """Whether a success clears a penalty: unless the penalty is about a newer version than
    the success carried (a superseding sink's newer value may have failed locally while the
    older upload was open, and that failure still holds).  No version on either side: yes."""
    return or_(
        penalty_version.is_(None), success_version.is_(None), penalty_version <= success_version
    )


def _clear_penalties_up_to(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Clear each row's object's penalty unless it is about a newer version: one statement,
    executed for the rows (a polled batch's successes)."""
    t = FailedIntegration.__table__
    stmt = delete(t).where(
        t.c.channel_id == bindparam("c"),
        t.c.content_type == bindparam("t"),
        t.c.object_id == bindparam("o"),
        penalty_not_newer(t.c.version, bindparam("v", type_=BigInteger)),
    )
    params = [
        {
            "c": row["channel_id"],
            "t": row["content_type"],
            "o": row["object_id"],
            "v": row.get("version") or None,
        }
        for row in rows
    ]
    session.connection().execute(stmt, params)


def clear_penalties(
    session: Session, channel_id: int, content_type: str, object_ids: Iterable[int]
) -> int:
    ids = list(object_ids)
    removed = 0
    for start in range(0, len(ids), 5000):
        result = session.execute(
            delete(FailedIntegration).where(
                FailedIntegration.channel_id == channel_id,
                FailedIntegration.content_type == content_type,
                FailedIntegration.object_id.in_(ids[start : start + 5000]),
            )
        )
        removed += result.rowcount or 0
    return removed


def clear_keyed_penalties(
    session: Session, channel_id: int, content_type: str, keys: Iterable[str]
) -> int:
    """Clear the penalties of records penalised by key (they succeeded)."""
    wanted = sorted(set(keys))
    removed = 0
    for start in range(0, len(wanted), 5000):
        result = session.execute(
            delete(FailedIntegration).where(
                FailedIntegration.channel_id == channel_id,
                FailedIntegration.content_type == content_type,
                FailedIntegration.object_id.is_(None),
                FailedIntegration.object_key.in_(wanted[start : start + 5000]),
            )
        )
        removed += result.rowcount or 0
    return removed


def _state(row: FailedIntegration) -> PenaltyState | None:
    if row.released_at is not None:
        return None  # a released penalty starts over
    return PenaltyState(
        retry_count=row.retry_count,
        max_retry_count=row.max_retry_count,
        retry_interval=row.retry_interval,
        first_failed_at=row.first_failed_at,
        last_failed_at=row.last_failed_at,
        expires_at=row.expires_at,
    )


def _penalty_row(
    channel_id: int,
    ct: str,
    failure: Failure,
    previous: FailedIntegration | None,
    policy: Policy,
    now: datetime,
    *,
    payload: Any,
) -> dict[str, Any]:
    """The penalty table row of one failure, counted on from its previous penalty.

    Shared by the two upserts of :func:`penalize` (by object id, by key) so the retry
    counting and the columns written cannot drift apart; ``payload`` is the record as
    read for a key penalty, None for an object's (its object is read again)."""
    state, due = next_failure(_state(previous) if previous else None, policy, now)
    return {
        "channel_id": channel_id,
        "content_type": ct,
        "object_id": failure.object_id,
        "object_key": failure.object_key,
        "version": failure.version,
        "payload": payload,
        "reason_type": failure.reason_type,
        "message": failure.message,
        "run_id": failure.run_id,
        "batch_id": failure.batch_id,
        "retry_count": state.retry_count,
        "max_retry_count": state.max_retry_count,
        "retry_interval": state.retry_interval,
        "expiration_seconds": policy.expiration_seconds,
        "first_failed_at": state.first_failed_at,
        "last_failed_at": state.last_failed_at,
        "expires_at": state.expires_at,
        "next_retry_at": due,
        "released_at": None,
    }


def _expire_penalties(session: Session) -> None:
    """The penalty rows the ORM read before an upsert are stale after it: expire them."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, FailedIntegration):
            session.expire(obj)


def penalize(
    session: Session,
    *,
    channel_id: int,
    config: Mapping[str, Any] | None,
    now: datetime,
    failures: Sequence[Failure],
) -> None:
    """Record failures: one read of the existing penalties, one upsert.

    The policy is read from ``config`` now (the snapshot rule), in the reading of
    ``MAX_RETRY_COUNT`` the channel's marketplace declared; the first failure time is
    kept, so ``EXPIRATION_DATE`` counts from the first failure.
    """
    if not failures:
        return
    reading = reading_of(
        session.execute(select(Channel.plugin).where(Channel.id == channel_id)).scalar()
    )
    keyed = [f for f in failures if f.object_id is None]
    if keyed:
        _penalize_keyed(
            session, channel_id=channel_id, config=config, now=now, failures=keyed, reading=reading
        )
    by_ct: dict[str, dict[int, Failure]] = defaultdict(dict)
    for failure in failures:
        if failure.object_id is not None:
            by_ct[failure.content_type][failure.object_id] = failure
    if not by_ct:
        return
    rows: list[dict[str, Any]] = []
    for ct, objects in by_ct.items():
        policy = policy_for(config, ct, reading)
        existing: dict[int, FailedIntegration] = {}
        ids = list(objects)
        for start in range(0, len(ids), 5000):
            stmt = select(FailedIntegration).where(
                FailedIntegration.channel_id == channel_id,
                FailedIntegration.content_type == ct,
                FailedIntegration.object_id.in_(ids[start : start + 5000]),
            )
            existing.update({row.object_id: row for row in session.scalars(stmt)})
        for object_id, failure in objects.items():
            previous = existing.get(object_id)
            rows.append(_penalty_row(channel_id, ct, failure, previous, policy, now, payload=None))
    columns = [c for c in rows[0] if c not in PENALTY_KEYS]
    upsert(
        session,
        FailedIntegration,
        rows,
        PENALTY_KEYS,
        {col: (lambda name: lambda ex, t: getattr(ex, name))(col) for col in columns},
    )
    _expire_penalties(session)


def _penalize_keyed(
    session: Session,
    *,
    channel_id: int,
    config: Mapping[str, Any] | None,
    now: datetime,
    failures: Sequence[Failure],
    reading: RetryCountReading,
) -> None:
    """:func:`penalize` for records penalised by key: one read, one upsert on the
    partial unique index (channel, content type, key) of rows without an object id."""
    by_ct: dict[str, dict[str, Failure]] = defaultdict(dict)
    for failure in failures:
        by_ct[failure.content_type][failure.object_key] = failure
    rows: list[dict[str, Any]] = []
    for ct, records in by_ct.items():
        policy = policy_for(config, ct, reading)
        existing: dict[str, FailedIntegration] = {}
        keys = list(records)
        for start in range(0, len(keys), 5000):
            stmt = select(FailedIntegration).where(
                FailedIntegration.channel_id == channel_id,
                FailedIntegration.content_type == ct,
                FailedIntegration.object_id.is_(None),
                FailedIntegration.object_key.in_(keys[start : start + 5000]),
            )
            existing.update({row.object_key: row for row in session.scalars(stmt)})
        for key, failure in records.items():
            previous = existing.get(key)
            rows.append(
                _penalty_row(
                    channel_id, ct, failure, previous, policy, now, payload=failure.payload
                )
            )
    table = FailedIntegration.__table__
    stmt = dialect_insert(session, table)
    keys_ = ("channel_id", "content_type", "object_key")
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys_),
        index_where=table.c.object_id.is_(None),
        set_={c: getattr(stmt.excluded, c) for c in rows[0] if c not in keys_},
    )
    session.execute(stmt, rows)
    _expire_penalties(session)

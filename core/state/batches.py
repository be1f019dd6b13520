"""Batch requests: asynchronous marketplace calls and the objects waiting on them.

Lifecycle ``initialized → commit → sent_to_remote → ongoing → done | fail``.
Objects of an open batch are in flight: selection leaves them out until the
batch ends.  The engine's upload sinks (:mod:`pazar.uploads`) open a batch for
the items they upload, store the remote batch id and the sink that sent it, and
record per-object results when the batch is polled.  Batches that wait on the
marketplace longer than the channel's ``sent_to_remote.EXPIRATION_HOUR`` are
failed and their objects penalised.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal, null, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from pazar.clock import Clock, SystemClock
from pazar.errors import NotFoundError, PazarError
from pazar.models.channels import Channel
from pazar.models.state import (
    FINAL_BATCH_STATUSES,
    OPEN_BATCH_STATUSES,
    WAITING_BATCH_STATUSES,
    BatchRequest,
    BatchRequestItem,
    FailedIntegration,
    IntegrationAction,
)
from pazar.pipeline import Item
from pazar.sqlbulk import dialect_insert, insert_columns
from pazar.state.actions import ACTION_COLUMNS, payload_hash, success_upsert
from pazar.state.outcomes import Failure, penalize, penalty_not_newer, record_successes
from pazar.state.penalties import sent_to_remote_hours

STATUSES = ("initialized", "commit", "sent_to_remote", "ongoing", "done", "fail")
_NEXT = {
    "initialized": {"commit", "fail"},
    "commit": {"commit", "sent_to_remote", "ongoing", "done", "fail"},
    "sent_to_remote": {"ongoing", "done", "fail"},
    "ongoing": {"ongoing", "done", "fail"},
    "done": set(),
    "fail": set(),
}

# A result as a plugin reports it: (object_id, ok, remote_id | None, message | None).
Result = tuple[int, bool, str | None, str | None]


OUTDATED = (
    "outdated: a newer version of this record was uploaded after this one; this answer is "
    "about the version it carried (no penalty, no integration recorded)"
)


def _superseded(t: Any) -> ColumnElement[bool]:
    """A batch item (``t``) whose object went out again in a later batch: in flight
    there, or already answered (its integration action or penalty names the later batch).

    Only a sink that ``supersedes`` sends an object again while an older upload of it is
    in flight; for every other sink a later batch cannot exist while this one holds the
    object, so the rule never touches them.  Three index probes per item.
    """
    newer = BatchRequestItem.__table__.alias("newer")
    ia = IntegrationAction.__table__.alias("answered")
    held = FailedIntegration.__table__.alias("rejected_later")

    def same(x: Any) -> ColumnElement[bool]:
        return and_(
            x.c.channel_id == t.c.channel_id,
            x.c.content_type == t.c.content_type,
            x.c.object_id == t.c.object_id,
        )

    return or_(
        exists().where(same(newer), newer.c.in_flight.is_(True), newer.c.batch_id > t.c.batch_id),
        exists().where(same(ia), ia.c.batch_id > t.c.batch_id),
        exists().where(same(held), held.c.batch_id > t.c.batch_id),
    )


def _outdated_ids(session: Session, batch: BatchRequest) -> set[int]:
    """Objects of a batch, still in flight, that a later batch superseded.

    A run sends each record once, so only a later batch of another run can supersede: a
    cheap probe of the batch table first, and the per-item query only when there is one
    (not for the batches of a push nothing followed, nor for most batches of a quiet
    channel)."""
    b = BatchRequest.__table__
    other_run = (
        or_(b.c.run_id.is_(None), b.c.run_id != batch.run_id)
        if batch.run_id is not None
        else true()
    )
    later = select(b.c.id).where(b.c.channel_id == batch.channel_id, b.c.id > batch.id, other_run)
    conn = session.connection()
    if conn.execute(later.limit(1)).first() is None:
        return set()
    t = BatchRequestItem.__table__
    stmt = select(t.c.object_id).where(
        t.c.batch_id == batch.id, t.c.in_flight.is_(True), _superseded(t)
    )
    return {int(oid) for oid in conn.execute(stmt).scalars()}


def _outdated_note(message: str | None) -> str:
    return f"{message} ({OUTDATED})" if message else OUTDATED


def _now(clock: Clock | None) -> datetime:
    return (clock or SystemClock()).now()


def _move(batch: BatchRequest, status: str, now: datetime) -> None:
    if status not in _NEXT.get(batch.status, set()):
        raise PazarError(
            f"batch request {batch.id} cannot go from {batch.status} to {status} "
            f"(allowed: {', '.join(sorted(_NEXT.get(batch.status, ()))) or 'none, it has ended'})"
        )
    batch.status = status
    batch.updated_at = now


def _flow_ref(flow: Any) -> str:
    return str(getattr(flow, "ref", None) or flow)


def open_batch(
    session: Session,
    channel_id: int,
    content_type: str,
    flow: Any,
    run_id: int | None,
    items: Sequence[Item],
    *,
    clock: Clock | None = None,
    sink: str | None = None,
    kind: str | None = None,
    result_key: Callable[[Item], str] | None = None,
    content_type_of_items: bool = True,
) -> BatchRequest:
    """Create a batch in status ``commit`` holding ``items`` (in flight from now on).

    Items without an ``object_id`` are not tracked.  The item's version and payload
    hash are kept so a success can be recorded as an integration action.  ``sink`` and
    ``kind`` say which upload sink polls the batch; ``result_key(item)`` is the name
    the marketplace reports the item's outcome under, when not its key.  An item's
    own ``content_type`` wins over the batch's unless ``content_type_of_items`` is off
    (a second upload of the same records under another content type).
    """
    now = _now(clock)
    batch = BatchRequest(
        local_batch_id=str(uuid.uuid4()),
        channel_id=channel_id,
        content_type=content_type,
        flow=_flow_ref(flow),
        run_id=run_id,
        status="commit",
        sink=sink,
        kind=kind,
        item_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(batch)
    session.flush()
    tracked = [item for item in items if item.object_id is not None]
    count = len(tracked)
    if count:
        # Column by column, straight from the items: one INSERT for the whole batch.
        named = [result_key(i) for i in tracked] if result_key is not None else [None] * count
        columns = {
            "batch_id": [batch.id] * count,
            "channel_id": [channel_id] * count,
            "content_type": [
                str((i.content_type if content_type_of_items else None) or content_type)
                for i in tracked
            ],
            "object_id": [int(i.object_id) for i in tracked],  # type: ignore[arg-type]
            "object_key": [str(i.key) for i in tracked],
            "result_key": [
                None if n is None or n == i.key else str(n)
                for i, n in zip(tracked, named, strict=True)
            ],
            "version": [None if i.version is None else int(i.version) for i in tracked],
            "payload_hash": [i.payload_hash or payload_hash(i.data) for i in tracked],
            "in_flight": [True] * count,
            "status": ["pending"] * count,
        }
        insert_columns(session, BatchRequestItem.__table__, columns, count)
    batch.item_count = count
    return batch


def mark_sent(
    batch: BatchRequest, remote_batch_id: str | None, *, clock: Clock | None = None
) -> BatchRequest:
    """The marketplace accepted the upload: remember its id, start the waiting window."""
    now = _now(clock)
    _move(batch, "sent_to_remote", now)
    batch.remote_batch_id = None if remote_batch_id is None else str(remote_batch_id)
    batch.sent_at = now
    return batch


def mark_ongoing(batch: BatchRequest, *, clock: Clock | None = None) -> BatchRequest:
    """The marketplace says it is still processing."""
    _move(batch, "ongoing", _now(clock))
    return batch


def get_batch(session: Session, batch_id: int | str) -> BatchRequest:
    """A batch by number or by its local batch id (uuid)."""
    text = str(batch_id).strip()
    stmt = (
        select(BatchRequest).where(BatchRequest.id == int(text))
        if text.isdigit()
        else select(BatchRequest).where(BatchRequest.local_batch_id == text)
    )
    batch = session.scalars(stmt).first()
    if batch is None:
        raise NotFoundError(f"no batch request {text!r}; see: pazar batches list")
    return batch


def _channel_config(session: Session, channel_id: int) -> Mapping[str, Any]:
    return (
        session.execute(select(Channel.config).where(Channel.id == channel_id)).scalar_one_or_none()
        or {}
    )


def _pending(session: Session, batch_id: int) -> list[Any]:
    """The batch's objects still in flight, as plain rows (a batch holds thousands)."""
    t = BatchRequestItem.__table__
    return list(
        session.connection().execute(
            select(t).where(t.c.batch_id == batch_id, t.c.in_flight.is_(True))
        )
    )


def _still_open(
    session: Session, batch_id: int, config: Mapping[str, Any] | None
) -> tuple[BatchRequest, Mapping[str, Any]]:
    """The batch results are about (refused once it ended) and its channel's config."""
    batch = get_batch(session, batch_id)
    if batch.status in FINAL_BATCH_STATUSES:
        raise PazarError(f"batch request {batch.id} has already ended ({batch.status})")
    return batch, config if config is not None else _channel_config(session, batch.channel_id)


def record_results(
    session: Session,
    batch_id: int,
    results: Sequence[Result],
    *,
    clock: Clock | None = None,
    config: Mapping[str, Any] | None = None,
    final: bool = True,
) -> BatchRequest:
    """Apply the marketplace's per-object answer.

    ``ok`` objects become integration actions (with the remote id); the others
    are penalised with reason ``remote`` and the marketplace's message.  With
    ``final`` the batch ends ``done`` and objects the marketplace did not mention
    are penalised too; otherwise it stays ``ongoing`` for the next poll.
    """
    now = _now(clock)
    batch, config = _still_open(session, batch_id, config)
    pending = {item.object_id: item for item in _pending(session, batch.id)}
    answered: dict[int, Result] = {}
    for result in results:
        object_id, ok, remote_id, message = result
        if int(object_id) in pending:
            answered[int(object_id)] = (int(object_id), bool(ok), remote_id, message)
    if final:
        for object_id in pending:
            answered.setdefault(
                object_id,
                (object_id, False, None, "the marketplace reported no result for this object"),
            )
    _finish_items(session, batch, pending, list(answered.values()), now, config)
    if final:
        _move(batch, "done", now)
        batch.finished_at = now
    elif batch.status != "ongoing":
        _move(batch, "ongoing", now)
    return batch


def record_done(
    session: Session,
    batch_id: int,
    rejected: Mapping[str, str],
    *,
    clock: Clock | None = None,
    config: Mapping[str, Any] | None = None,
) -> tuple[int, dict[str, str]]:
    """End a batch the marketplace finished: ``rejected`` (the key the marketplace
    reports an object under — its result key, else its object key — → message) are
    penalised, every other object in flight succeeded.

    The successes are written set-based (the integration actions are upserted
    from the batch's own item rows, penalties cleared with one DELETE), so a
    batch of thousands costs a handful of statements, not a round trip of its
    rows through Python.  Returns how many succeeded and which keys of the batch
    were rejected.
    """
    now = _now(clock)
    batch, config = _still_open(session, batch_id, config)
    t = BatchRequestItem.__table__
    in_flight = and_(t.c.batch_id == batch.id, t.c.in_flight.is_(True))
    refused: dict[str, str] = {}
    outdated = _outdated_ids(session, batch)
    keys = list(rejected)
    named = func.coalesce(t.c.result_key, t.c.object_key)
    for start in range(0, len(keys), 5000):
        rows = session.connection().execute(
            select(t, named.label("named")).where(in_flight, named.in_(keys[start : start + 5000]))
        )
        pending = {row.object_id: row for row in rows}
        _finish_items(
            session,
            batch,
            pending,
            [(oid, False, None, rejected[row.named]) for oid, row in pending.items()],
            now,
            config,
            outdated,
        )
        refused.update(
            {
                row.object_key: _outdated_note(rejected[row.named])
                if row.object_id in outdated
                else rejected[row.named]
                for row in pending.values()
            }
        )
    succeeded = _succeed_in_flight(session, batch, now, outdated)
    _move(batch, "done", now)
    batch.finished_at = now
    return succeeded, refused


def _older_landed_last(
    conn: Any, batch: BatchRequest, object_ids: list[int], now: datetime
) -> None:
    """A newer upload of these objects was confirmed before this older one: record that the
    marketplace now holds the older value, so the current one goes out again.

    A marketplace that applies an upload when it finishes processing it (the sandboxes do)
    may apply the older one last; one that applies in arrival order holds the newer value,
    and the only cost is one upload too many.  Objects whose newer upload is still in
    flight need nothing: it finishes after this one.
    """
    actions = IntegrationAction.__table__
    t = BatchRequestItem.__table__
    mine = and_(
        t.c.batch_id == batch.id,
        t.c.in_flight.is_(True),
        t.c.object_id == actions.c.object_id,
        t.c.content_type == actions.c.content_type,
    )
    conn.execute(
        update(actions)
        .where(
            actions.c.channel_id == batch.channel_id,
            actions.c.object_id.in_(object_ids),
            actions.c.batch_id > batch.id,
            exists().where(mine),
        )
        .values(
            version=select(func.coalesce(t.c.version, 0)).where(mine).scalar_subquery(),
            payload_hash=select(t.c.payload_hash).where(mine).scalar_subquery(),
            batch_id=batch.id,
            updated_at=now,
        )
    )


def _succeed_in_flight(
    session: Session, batch: BatchRequest, now: datetime, outdated: set[int]
) -> int:
    """Every object still in flight in ``batch`` succeeded: actions, penalties, items.

    Objects a later batch superseded (``outdated``) only have their item marked: the
    later batch decides their integration action and penalty."""
    t = BatchRequestItem.__table__
    in_flight = and_(t.c.batch_id == batch.id, t.c.in_flight.is_(True))
    conn = session.connection()
    retired = 0
    ids = sorted(outdated)
    for start in range(0, len(ids), 5000):
        _older_landed_last(conn, batch, ids[start : start + 5000], now)
        result = conn.execute(
            update(t)
            .where(in_flight, t.c.object_id.in_(ids[start : start + 5000]))
            .values(in_flight=False, status="ok", message=OUTDATED)
        )
        retired += int(result.rowcount or 0)
    actions = IntegrationAction.__table__
    rows = select(
        t.c.channel_id,
        t.c.content_type,
        t.c.object_id,
        t.c.object_key,
        t.c.remote_id,
        func.coalesce(t.c.version, 0),
        t.c.payload_hash,
        literal("success"),
        null(),  # state
        literal(batch.run_id) if batch.run_id is not None else null(),
        literal(batch.id),
        literal(now, actions.c.updated_at.type),
    ).where(in_flight)
    stmt = success_upsert(dialect_insert(session, actions).from_select(list(ACTION_COLUMNS), rows))
    conn.execute(stmt)
    penalties = FailedIntegration.__table__
    conn.execute(
        penalties.delete().where(
            penalties.c.channel_id == batch.channel_id,
            exists().where(
                in_flight,
                t.c.object_id == penalties.c.object_id,
                t.c.content_type == penalties.c.content_type,
                penalty_not_newer(penalties.c.version, t.c.version),
            ),
        )
    )
    result = conn.execute(update(t).where(in_flight).values(in_flight=False, status="ok"))
    return int(result.rowcount or 0) + retired


def _finish_items(
    session: Session,
    batch: BatchRequest,
    pending: Mapping[int, BatchRequestItem],
    results: Sequence[Result],
    now: datetime,
    config: Mapping[str, Any],
    outdated: set[int] | None = None,
) -> None:
    """Record per-object answers: item rows, integration actions, penalties.

    An object a later batch superseded (``outdated``, read here when not given) keeps the
    answer on its item only: it is about the version this batch carried, not the record's
    current one, so it neither integrates nor penalises the record."""
    if not results:
        return
    if outdated is None:
        outdated = _outdated_ids(session, batch)
    updates = []
    successes = []
    failures = []
    for object_id, ok, remote_id, message in results:
        item = pending[object_id]
        stale = item.object_id in outdated
        updates.append(
            {
                "b_id": item.id,
                "b_status": "ok" if ok else "failed",
                "b_remote": remote_id,
                "b_message": _outdated_note(message) if stale else message,
            }
        )
        if stale:
            continue
        if ok:
            successes.append(
                {
                    "channel_id": batch.channel_id,
                    "content_type": item.content_type,
                    "object_id": item.object_id,
                    "object_key": item.object_key,
                    "remote_id": remote_id,
                    "version": item.version or 0,
                    "payload_hash": item.payload_hash,
                    "status": "success",
                    "run_id": batch.run_id,
                    "batch_id": batch.id,
                    "updated_at": now,
                }
            )
        else:
            failures.append(
                Failure(
                    content_type=item.content_type,
                    object_id=item.object_id,
                    object_key=item.object_key,
                    version=item.version,
                    message=message or "the marketplace rejected this object",
                    reason_type="remote",
                    run_id=batch.run_id,
                    batch_id=batch.id,
                )
            )
    t = BatchRequestItem.__table__
    session.connection().execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            in_flight=False,
            status=bindparam("b_status"),
            remote_id=bindparam("b_remote"),
            message=bindparam("b_message"),
        ),
        updates,
    )
    record_successes(session, successes, newer_penalties_stay=True)
    penalize(session, channel_id=batch.channel_id, config=config, now=now, failures=failures)
    session.expire_all()


def fail_batch(
    session: Session,
    batch: BatchRequest,
    message: str,
    *,
    now: datetime,
    config: Mapping[str, Any] | None = None,
) -> None:
    """End a batch as ``fail``: every object still in flight is penalised (reason remote)."""
    if config is None:
        config = _channel_config(session, batch.channel_id)
    pending = {item.object_id: item for item in _pending(session, batch.id)}
    _finish_items(
        session, batch, pending, [(oid, False, None, message) for oid in pending], now, config
    )
    session.refresh(batch)
    _move(batch, "fail", now)
    batch.error = message
    batch.finished_at = now


def waiting_since(status: str, sent_at: datetime | None, created_at: datetime) -> datetime:
    """When a batch started waiting: sent, or (never sent) created."""
    return sent_at if status in WAITING_BATCH_STATUSES and sent_at is not None else created_at


def batch_expired(
    status: str, sent_at: datetime | None, created_at: datetime, now: datetime, hours: float
) -> bool:
    """An open batch that waited ``hours`` or longer is failed; an ended one never is."""
    if status not in OPEN_BATCH_STATUSES:
        return False
    return now - waiting_since(status, sent_at, created_at) >= timedelta(hours=hours)


_OPEN_ID_OF = (
    select(BatchRequest.id)
    .where(
        BatchRequest.channel_id == bindparam("channel_id"),
        BatchRequest.status.in_(OPEN_BATCH_STATUSES),
    )
    .limit(1)
)


def open_batches(session: Session, channel_id: int | None = None) -> list[BatchRequest]:
    """Batches not done or failed yet (of one channel), oldest first.

    A plain id probe first: most checks of a channel find no open batch, and loading
    no ORM object still cost more than the probe.
    """
    stmt = select(BatchRequest).where(BatchRequest.status.in_(OPEN_BATCH_STATUSES))
    if channel_id is not None:
        probe = session.connection().execute(_OPEN_ID_OF, {"channel_id": channel_id})
        if probe.first() is None:
            return []
        stmt = stmt.where(BatchRequest.channel_id == channel_id)
    return list(session.scalars(stmt.order_by(BatchRequest.id)))


def expire_batches(
    session: Session,
    *,
    now: datetime,
    channel_id: int | None = None,
    candidates: Sequence[BatchRequest] | None = None,
) -> list[BatchRequest]:
    """Fail batches that waited longer than their channel's ``sent_to_remote.EXPIRATION_HOUR``.

    Waiting means ``sent_to_remote``/``ongoing`` since ``sent_at``; a batch never
    sent (``initialized``/``commit``, e.g. its run died) counts from ``created_at``.
    ``candidates``: the open batches when the caller read them already.
    Returns the batches it failed.
    """
    if candidates is None:
        candidates = open_batches(session, channel_id)
    configs: dict[int, Mapping[str, Any]] = {}
    expired: list[BatchRequest] = []
    for batch in candidates:
        if batch.channel_id not in configs:
            configs[batch.channel_id] = _channel_config(session, batch.channel_id)
        config = configs[batch.channel_id]
        hours = sent_to_remote_hours(config)
        since = (
            batch.sent_at
            if batch.status in WAITING_BATCH_STATUSES and batch.sent_at
            else batch.created_at
        )
        if now - since >= timedelta(hours=hours):
            fail_batch(
                session,
                batch,
                f"no answer from the marketplace within {hours:g} h (sent_to_remote.EXPIRATION_HOUR)",
                now=now,
                config=config,
            )
            expired.append(batch)
    return expired


def open_batch_of(
    session: Session, channel_id: int, content_type: str, object_ids: Sequence[int]
) -> dict[int, str]:
    """Object id → local batch id, for objects in flight in an open batch."""
    if not object_ids:
        return {}
    t = BatchRequestItem
    stmt = (
        select(t.object_id, BatchRequest.local_batch_id)
        .join(BatchRequest, BatchRequest.id == t.batch_id)
        .where(
            t.channel_id == channel_id,
            t.content_type == content_type,
            t.object_id.in_(list(object_ids)),
            t.in_flight.is_(True),
        )
    )
    return {int(oid): str(local) for oid, local in session.execute(stmt)}

"""Selecting what a flow should send next: one indexed query per page.

"Changed since last integration" for a channel and content type means: the
record's version is newer than its integration action (or it has none), it is
in the channel's catalog, it is not held back by a penalty and it is not in
flight in an open batch request (for a flow whose sink ``supersedes``: not in flight
at its current version — a newer value goes out while an older upload is unconfirmed).  All of that is decided inside the query
(anti-joins on indexed columns), so a mountain of exhausted penalties never
delays a healthy record.  Pages are keyset-paginated by version, so a source
streams a catalog of any size.

A per-stream cursor (``sync_cursors``) is the version up to which the stream was
read; it only narrows the scan.  Penalties that fall due again are read by a
second query driven by the penalty index, whatever their version.

A flow may need its records' objects integrated as another content type first
(``needs: product``: a stock waits for its product).  The stream then says, per
row, whether the object is ``ready``; a record that is not is recorded as waiting
(``integration_waits``, not a penalty) and left out of the stream from then on, and
a third query, driven by the waits, reads the waiting records whose object has been
integrated since.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, exists, false, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ClauseElement, ColumnElement, Executable

import pazar.models  # noqa: F401 - registers every table on Base.metadata
from pazar.errors import PazarError
from pazar.models.base import Base
from pazar.models.state import (
    BatchRequestItem,
    FailedIntegration,
    IntegrationAction,
    IntegrationWait,
    SyncCursor,
)
from pazar.state.actions import upsert
from pazar.state.penalties import sql_holds_back, sql_is_due

SOURCES = ("stocks", "prices", "products", "deleted_products")


def commerce_table(name: str) -> Any:
    """A commerce table from the shared metadata (the local backend's schema)."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        raise PazarError(
            f"the local commerce backend has no {name!r} table in this pazar version"
        ) from None


def catalog_code(channel: Any) -> str:
    """The catalog a channel sells: config ``catalog_code``, else the channel slug."""
    return str((getattr(channel, "config", None) or {}).get("catalog_code") or channel.slug)


@functools.cache
def _catalog_by_code() -> Select[Any]:
    catalogs = commerce_table("catalogs")
    return select(catalogs.c.id).where(catalogs.c.code == bindparam("code"))


def catalog_id(session: Session, code: str) -> int | None:
    return session.connection().execute(_catalog_by_code(), {"code": code}).scalar_one_or_none()


@dataclass(frozen=True)
class Scope:
    """Whose state a selection reads: one channel, one content type, one catalog; and the
    content type its records need integrated first, if any.

    ``supersedes``: the flow's sink uploads absolute values (``UploadSink.supersedes``), so
    a record in flight at an older version than its current one is selected again: its
    newer value goes out without waiting for the older upload's answer.
    """

    channel_id: int
    content_type: str
    catalog_id: int | None
    needs: str | None = None
    supersedes: bool = False


def _parts(source: str) -> tuple[Any, Any, Any, list[Any]]:
    """(FROM clause, object id column, version column, selected columns) for a source."""
    products = commerce_table("products")
    items = commerce_table("catalog_items")
    if source == "stocks":
        stocks = commerce_table("stocks")
        base = stocks.join(products, products.c.id == stocks.c.product_id)
        cols = [products.c.sku, stocks.c.quantity, stocks.c.extra]
        return base, stocks.c.product_id, stocks.c.version, cols
    if source == "prices":
        prices = commerce_table("prices")
        base = prices.join(products, products.c.id == prices.c.product_id)
        cols = [
            products.c.sku,
            prices.c.price,
            prices.c.retail_price,
            prices.c.currency,
            prices.c.tax_rate,
        ]
        return base, prices.c.product_id, prices.c.version, cols
    if source == "products":
        prices = commerce_table("prices")
        stocks = commerce_table("stocks")
        base = products.outerjoin(prices, prices.c.product_id == products.c.id).outerjoin(
            stocks, stocks.c.product_id == products.c.id
        )
        cols = [
            products.c.sku,
            products.c.base_code,
            products.c.name,
            products.c.product_type,
            products.c.parent_id,
            products.c.attributes,
            products.c.categories,
            products.c.images,
            products.c.active,
            prices.c.price,
            prices.c.retail_price,
            prices.c.currency,
            prices.c.tax_rate,
            stocks.c.quantity,
            stocks.c.extra,
        ]
        return base, products.c.id, products.c.version, cols
    if source == "deleted_products":
        base = items.join(products, products.c.id == items.c.product_id)
        cols = [products.c.sku, products.c.base_code, products.c.name, products.c.product_type]
        return base, items.c.product_id, items.c.version, cols
    raise ValueError(f"unknown source {source!r}")


def _in_catalog(source: str, scope: Scope, object_id: Any) -> ColumnElement[bool]:
    items = commerce_table("catalog_items")
    if scope.catalog_id is None:
        return false()
    if source == "deleted_products":
        return and_(items.c.catalog_id == scope.catalog_id, items.c.deleted.is_(True))
    return exists().where(
        items.c.catalog_id == scope.catalog_id,
        items.c.product_id == object_id,
        items.c.deleted.is_(False),
    )


def _none_of(table: Any, *conds: ColumnElement[bool], probe: bool = False) -> ColumnElement[bool]:
    """NOT EXISTS over ``table``.

    With ``probe`` the subquery carries ``OFFSET 0``: PostgreSQL then keeps it as a
    per-row filter on the driving index scan (a cheap index probe evaluated before
    any join, streaming under LIMIT) instead of planning an anti-join that may
    hash the whole penalty table and sort every candidate.
    """
    sub = select(literal(1)).select_from(table).where(*conds)
    if probe:
        sub = sub.offset(0)
    return ~sub.exists()


def _in_flight_blocks(bi: Any, scope: Scope, version: Any) -> list[ColumnElement[bool]]:
    """Which in-flight items hold a record back: any, or (``scope.supersedes``) only one
    carrying its current version or a newer one (an item without a version always)."""
    if not scope.supersedes or version is None:
        return []
    return [func.coalesce(bi.c.version, version) >= version]


def not_in_flight(
    scope: Scope, object_id: Any, *, probe: bool = False, version: Any = None
) -> ColumnElement[bool]:
    bi = BatchRequestItem.__table__.alias("flight")
    return _none_of(
        bi,
        bi.c.channel_id == scope.channel_id,
        bi.c.content_type == scope.content_type,
        bi.c.object_id == object_id,
        bi.c.in_flight.is_(True),
        *_in_flight_blocks(bi, scope, version),
        probe=probe,
    )


def not_held_back(scope: Scope, object_id: Any, now: datetime) -> ColumnElement[bool]:
    f = FailedIntegration.__table__.alias("held")
    return _none_of(
        f,
        f.c.channel_id == scope.channel_id,
        f.c.content_type == scope.content_type,
        f.c.object_id == object_id,
        sql_holds_back(f, now),
    )


def not_penalized(scope: Scope, object_id: Any, *, probe: bool = False) -> ColumnElement[bool]:
    f = FailedIntegration.__table__.alias("penalty")
    return _none_of(
        f,
        f.c.channel_id == scope.channel_id,
        f.c.content_type == scope.content_type,
        f.c.object_id == object_id,
        probe=probe,
    )


def not_held_or_in_flight(scope: Scope, object_id: Any, version: Any = None) -> ColumnElement[bool]:
    """Neither penalised nor in flight, as ``NOT (EXISTS penalty OR EXISTS in-flight)``.

    PostgreSQL does not turn sublinks under OR into anti-joins: they stay per-row
    index probes on the version scan, evaluated left to right, so a penalised
    row costs one probe of the penalty index and nothing else.
    """
    f = FailedIntegration.__table__.alias("penalty")
    bi = BatchRequestItem.__table__.alias("flight")
    penalised = exists().where(
        f.c.channel_id == scope.channel_id,
        f.c.content_type == scope.content_type,
        f.c.object_id == object_id,
    )
    in_flight = exists().where(
        bi.c.channel_id == scope.channel_id,
        bi.c.content_type == scope.content_type,
        bi.c.object_id == object_id,
        bi.c.in_flight.is_(True),
        *_in_flight_blocks(bi, scope, version),
    )
    return ~or_(penalised, in_flight)


def not_waiting(scope: Scope, object_id: Any) -> ColumnElement[bool]:
    """Not recorded as waiting for another content type (the waits page reads those)."""
    w = IntegrationWait.__table__.alias("waiting")
    return _none_of(
        w,
        w.c.channel_id == scope.channel_id,
        w.c.content_type == scope.content_type,
        w.c.object_id == object_id,
    )


def integrated_as(channel_id: Any, content_type: Any, object_id: Any) -> ColumnElement[bool]:
    """The object was integrated (successfully, not deleted) as ``content_type``."""
    need = IntegrationAction.__table__.alias("needed")
    return exists().where(
        need.c.channel_id == channel_id,
        need.c.content_type == content_type,
        need.c.object_id == object_id,
        need.c.status == "success",
    )


def selection_query(
    source: str,
    scope: Scope,
    *,
    now: datetime,
    after: int = 0,
    limit: int = 500,
    keys: Sequence[str] | None = None,
    retries: bool = False,
    ready: bool = False,
    fence: bool = False,
) -> Select[Any]:
    """The page query, ordered by version, at most ``limit`` rows after version ``after``.

    - default (the change stream): records changed since their integration
      action, with no penalty at all and not waiting;
    - ``retries``: penalised records whose retry is due (the seed's condition
      and the retry interval), whatever their version;
    - ``ready``: records that waited for ``scope.needs`` and whose object has been
      integrated as it since, whatever their version;
    - ``keys``: exactly these SKUs, changed or not, unless a penalty holds them
      back (manual triggers).
    In-flight records (open batch requests) are excluded in every mode (with
    ``scope.supersedes``, only those in flight at their current version).  With
    ``scope.needs`` every row says whether its object is ``ready``.

    ``fence`` (use it on PostgreSQL, see :func:`wants_fence`) keeps the stream's
    exclusions as per-row index probes on the version scan (see ``_none_of``).
    """
    base, object_id, version, cols = _parts(source)
    ia = IntegrationAction.__table__
    products = commerce_table("products")
    ia_on = and_(
        ia.c.channel_id == scope.channel_id,
        ia.c.content_type == scope.content_type,
        ia.c.object_id == object_id,
    )
    base = base.outerjoin(ia, ia_on)
    conds: list[ColumnElement[bool]] = [_in_catalog(source, scope, object_id)]
    deleted_pending = and_(ia.c.id.is_not(None), ia.c.status != "deleted")
    if keys is not None:
        conds += [
            version > after,
            products.c.sku.in_(list(keys)),
            not_held_back(scope, object_id, now),
        ]
        conds.append(not_in_flight(scope, object_id, version=version))
        if source == "deleted_products":
            conds.append(deleted_pending)
    elif ready:
        w = IntegrationWait.__table__
        base = base.join(
            w,
            and_(
                w.c.channel_id == scope.channel_id,
                w.c.content_type == scope.content_type,
                w.c.object_id == object_id,
            ),
        )
        conds += [
            version > after,
            integrated_as(scope.channel_id, w.c.needs, object_id),
            not_in_flight(scope, object_id, version=version),
        ]
    elif retries:
        f = FailedIntegration.__table__
        base = base.join(
            f,
            and_(
                f.c.channel_id == scope.channel_id,
                f.c.content_type == scope.content_type,
                f.c.object_id == object_id,
            ),
        )
        conds += [
            version > after,
            sql_is_due(f, now),
            not_in_flight(scope, object_id, version=version),
        ]
        if source == "deleted_products":
            conds.append(deleted_pending)
    else:
        # The change stream: exclusions first, so that on PostgreSQL (``fence``)
        # they become the first filters of the version index scan.
        conds = [version > after]
        if fence:
            conds.append(not_held_or_in_flight(scope, object_id, version))
        else:
            conds += [
                not_penalized(scope, object_id),
                not_in_flight(scope, object_id, version=version),
            ]
        if scope.needs is not None:
            conds.append(not_waiting(scope, object_id))
        if source == "deleted_products":
            conds += [_in_catalog(source, scope, object_id), deleted_pending]
        else:
            # "Not integrated at this version" read from the action row the query
            # already joins by its unique key, not from a second probe: without
            # statistics (autovacuum behind a bulk write) the planner served such a
            # probe from the channel's index and read every action of the channel
            # for each candidate.
            conds += [
                or_(ia.c.id.is_(None), ia.c.version < version, ia.c.status == "deleted"),
                _in_catalog(source, scope, object_id),
            ]
    if scope.needs is not None:
        # Joined by the unique key like the action row above (an EXISTS here was
        # planned as a hash of every needed action of the channel, per page).
        need = IntegrationAction.__table__.alias("needed")
        base = base.outerjoin(
            need,
            and_(
                need.c.channel_id == scope.channel_id,
                need.c.content_type == scope.needs,
                need.c.object_id == object_id,
            ),
        )
        ready_now = func.coalesce(need.c.status == "success", false())
        cols = [*cols, ready_now.label("ready")]
    return (
        select(
            object_id.label("object_id"),
            version.label("version"),
            ia.c.payload_hash.label("last_payload_hash"),
            ia.c.remote_id.label("remote_id"),
            *cols,
        )
        .select_from(base)
        .where(*conds)
        .order_by(version)
        .limit(limit)
    )


@functools.lru_cache(maxsize=64)
def _page_statement(
    source: str,
    retries: bool,
    ready: bool,
    fence: bool,
    in_a_catalog: bool,
    needs: bool,
    supersedes: bool = False,
) -> Select[Any]:
    """The stream/retry page query with every value bound: built once per shape.

    A daemon runs the same few selections for every channel every minute;
    building the statement costs more CPU than running it on an idle channel.
    """
    scope = Scope(
        channel_id=bindparam("sel_channel"),  # type: ignore[arg-type]
        content_type=bindparam("sel_content_type"),  # type: ignore[arg-type]
        catalog_id=bindparam("sel_catalog") if in_a_catalog else None,  # type: ignore[arg-type]
        needs=bindparam("sel_needs") if needs else None,  # type: ignore[arg-type]
        supersedes=supersedes,
    )
    return selection_query(
        source,
        scope,
        now=bindparam("sel_now"),  # type: ignore[arg-type]
        after=bindparam("sel_after"),  # type: ignore[arg-type]
        limit=bindparam("sel_limit"),  # type: ignore[arg-type]
        retries=retries,
        ready=ready,
        fence=fence,
    )


def _page(
    session: Session,
    source: str,
    scope: Scope,
    *,
    now: datetime,
    after: int,
    limit: int,
    retries: bool,
    fence: bool,
    ready: bool = False,
) -> list[Any]:
    stmt = _page_statement(
        source,
        retries,
        ready,
        fence,
        scope.catalog_id is not None,
        scope.needs is not None,
        scope.supersedes,
    )
    params = {
        "sel_channel": scope.channel_id,
        "sel_content_type": scope.content_type,
        "sel_now": now,
        "sel_after": after,
        "sel_limit": limit,
    }
    if scope.catalog_id is not None:
        params["sel_catalog"] = scope.catalog_id
    if scope.needs is not None:
        params["sel_needs"] = scope.needs
    # Core statements go straight to the connection: the ORM layer adds nothing here
    # and costs more than an idle channel's query itself.  Rows become plain dicts with
    # the page's keys read once (a RowMapping's keys() costs more than its values).
    result = session.connection().execute(stmt, params)
    keys = tuple(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def wants_fence(dialect: str) -> bool:
    """PostgreSQL would plan the exclusions as hash anti-joins over every candidate;
    SQLite already probes per row in query order."""
    return dialect == "postgresql"


_CURSOR = select(SyncCursor.version).where(
    SyncCursor.channel_id == bindparam("channel_id"),
    SyncCursor.content_type == bindparam("content_type"),
    SyncCursor.source == bindparam("source"),
)


def read_cursor(session: Session, channel_id: int, content_type: str, source: str) -> int:
    params = {"channel_id": channel_id, "content_type": content_type, "source": source}
    value = session.connection().execute(_CURSOR, params).scalar_one_or_none()
    return int(value or 0)


def _in_flight_changed_floor(
    session: Session, channel_id: int, content_type: str, source: str
) -> int | None:
    """The lowest current version of an in-flight object that changed after it was sent.

    The stream skipped it (it was in flight); the cursor must stay below it so it is
    read again once its batch ends.
    """
    _, object_id, version, _ = _parts(source)
    base, _, _, _ = _parts(source)
    bi = BatchRequestItem.__table__
    stmt = (
        select(func.min(version))
        .select_from(base.join(bi, bi.c.object_id == object_id))
        .where(
            bi.c.channel_id == channel_id,
            bi.c.content_type == content_type,
            bi.c.in_flight.is_(True),
            version > func.coalesce(bi.c.version, 0),
        )
    )
    value = session.execute(stmt).scalar_one_or_none()
    return None if value is None else int(value)


def advance_cursor(
    session: Session,
    *,
    channel_id: int,
    content_type: str,
    source: str,
    version: int,
    now: datetime,
) -> None:
    """Move a stream's cursor forward to ``version`` (never backwards, never past an
    in-flight object that changed meanwhile)."""
    floor = _in_flight_changed_floor(session, channel_id, content_type, source)
    if floor is not None:
        version = min(version, floor - 1)
    if version <= 0:
        return

    upsert(
        session,
        SyncCursor,
        [
            {
                "channel_id": channel_id,
                "content_type": content_type,
                "source": source,
                "version": version,
                "updated_at": now,
            }
        ],
        ("channel_id", "content_type", "source"),
        {
            "version": lambda ex, t: case(
                (ex.version > t.c.version, ex.version), else_=t.c.version
            ),
            "updated_at": lambda ex, t: ex.updated_at,
        },
    )


def reset_cursor(session: Session, channel_id: int, content_type: str | None = None) -> None:
    """Forget how far streams were read (the next run compares every record again)."""
    from sqlalchemy import delete

    stmt = delete(SyncCursor).where(SyncCursor.channel_id == channel_id)
    if content_type is not None:
        stmt = stmt.where(SyncCursor.content_type == content_type)
    session.execute(stmt)


def iter_selection(
    db: Any,
    source: str,
    scope: Scope,
    *,
    clock: Any,
    page_size: int = 500,
    limit: int | None = None,
    keys: Sequence[str] | None = None,
    cursor: int | None = None,
) -> Any:
    """Yield selected rows page by page (each page its own short read).

    ``cursor``: the stream's cursor when the caller read it already.

    Order: penalties whose retry is due, then the change stream from the
    cursor on; or only ``keys`` when given.
    """
    remaining = limit
    if keys is not None:
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), page_size):
            with db.session() as session:
                rows = (
                    session.execute(
                        selection_query(
                            source,
                            scope,
                            now=clock.now(),
                            keys=keys[start : start + page_size],
                            limit=page_size,
                        )
                    )
                    .mappings()
                    .all()
                )
            for row in rows:
                if remaining is not None and remaining <= 0:
                    return
                yield dict(row)
                if remaining is not None:
                    remaining -= 1
        return
    fence = wants_fence(db.dialect)
    # Consecutive reads share a transaction until one returns rows: an idle channel's
    # cursor, retry page and stream page cost one round of BEGIN/COMMIT, not three.
    # A transaction never stays open while rows are handed out.
    reads = contextlib.ExitStack()
    session: Session | None = None
    try:
        passes = [(0, True, False), (cursor, False, False)]
        if scope.needs is not None:  # records that waited and whose object is now integrated
            passes.insert(1, (0, False, True))
        for after, retries, ready in passes:
            while True:
                page = page_size if remaining is None else min(page_size, remaining)
                if page <= 0:
                    return
                if session is None:
                    session = reads.enter_context(db.session())
                if after is None:
                    after = read_cursor(session, scope.channel_id, scope.content_type, source)
                rows = _page(
                    session,
                    source,
                    scope,
                    now=clock.now(),
                    after=after,
                    limit=page,
                    retries=retries,
                    fence=fence,
                    ready=ready,
                )
                if rows:
                    reads.close()
                    session = None
                stream = not (retries or ready)
                for row in rows:
                    row["_stream"], row["_waited"] = stream, ready
                    yield row
                if remaining is not None:
                    remaining -= len(rows)
                if len(rows) < page:
                    break
                after = rows[-1]["version"]
    finally:
        reads.close()


class _Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement


@compiles(_Explain)
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    prefix = (
        "EXPLAIN QUERY PLAN "
        if compiler.dialect.name == "sqlite"
        else "EXPLAIN (ANALYZE, COSTS OFF) "
    )
    return prefix + compiler.process(element.statement, **kw)


def explain(session: Session, stmt: Any) -> list[str]:
    """The database's plan for ``stmt`` (SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN ANALYZE)."""
    rows = session.execute(_Explain(stmt)).all()
    if session.get_bind().dialect.name == "sqlite":
        return [str(r[-1]) for r in rows]
    return [str(r[0]) for r in rows]

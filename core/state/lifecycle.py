"""Where a product is in its life on a channel: never sent (Product Create) or already there.

``commerce.new_products`` yields saleable products never integrated on the channel.

Unlike the change streams this is not driven by a product's own version: a
product becomes ready when its price, stock, catalog entry or image arrive,
each in another table.  So the query asks for the state itself — saleable now,
no integration action for the flow's content type, not held back by a penalty
whose retry is not due, not in flight — and pages by product id.

A product the catalog offers that lacks only a price or stock row is the seller's data
to complete, not the marketplace's fault nor a reason to hold it back for hours: it
waits (an ``integration_waits`` row whose ``needs`` says what it lacks), the run log
says so once with the seed's "Price data not found" / "Stock data not found", and it is
created in the first run after the data arrives, which ends its wait.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, bindparam, or_, select

from pazar.commerce.saleability import (
    MISSING_DATA,
    lacking_data,
    listable_clause,
    saleable_clause,
)
from pazar.models.state import IntegrationAction, IntegrationWait
from pazar.pipeline import Item, StepContext
from pazar.registry import StepType, params_schema
from pazar.state.selection import (
    Scope,
    _parts,
    advance_cursor,
    commerce_table,
    not_held_back,
    not_in_flight,
)
from pazar.state.sources import PAGE_SCHEMA, ChangeSource


class NewProducts(ChangeSource):
    """Yields the same records as ``commerce.changed_products``, for never-sent products."""

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(ctx, "products")

    def __iter__(self) -> Iterator[Item]:
        scope = self.scope()
        if scope.catalog_id is None:
            return
        query = new_products_statement(self.ctx.db.dialect, bool(self.ctx.keys))
        params: dict[str, Any] = {
            "np_channel": scope.channel_id,
            "np_content_type": scope.content_type,
            "np_catalog": scope.catalog_id,
            "np_now": self.ctx.clock.now(),
        }
        if self.ctx.keys:
            params["np_keys"] = list(self.ctx.keys)
        remaining = self.ctx.limit
        after: Any = 0
        while remaining is None or remaining > 0:
            page = self.page_size if remaining is None else min(self.page_size, remaining)
            with self.ctx.db.session() as session:
                rows = (
                    session.connection()
                    .execute(query, {**params, "np_after": after, "np_limit": page})
                    .mappings()
                    .all()
                )
            run = self.ctx.run
            for row in rows:
                item = self.item({**dict(row), "last_payload_hash": None, "remote_id": None})
                if row["_waited"] and run is not None and hasattr(run, "unwait"):
                    run.unwait(item)
                yield item
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < page:
                break
            after = rows[-1]["object_id"]
        self._report_missing_data(params)

    def _report_missing_data(self, params: dict[str, Any]) -> None:
        """Products that lack only a price or stock row wait, said once per thing lacked."""
        run = self.ctx.run
        if run is None or not hasattr(run, "wait") or getattr(run, "dry_run", False):
            return
        query = missing_data_statement(self.ctx.db.dialect, bool(self.ctx.keys), True)
        after: Any = 0
        while True:
            with self.ctx.db.session() as session:
                rows = (
                    session.connection()
                    .execute(query, {**params, "np_after": after, "np_limit": self.page_size})
                    .mappings()
                    .all()
                )
            for row in rows:
                item = self.item({**dict(row), "last_payload_hash": None, "remote_id": None})
                run.wait(item, row["_needs"])
                for message in MISSING_DATA[row["_needs"]]:
                    run.log(item.key, message, "error")
            if len(rows) < self.page_size:
                break
            after = rows[-1]["object_id"]
        with self.ctx.db.session() as session:
            session.execute(stale_data_waits(self.ctx.db.dialect), params)


@functools.lru_cache(maxsize=8)
def new_products_statement(dialect: str, by_keys: bool) -> Select[Any]:
    """The page query with every value bound, built once: building it cost more CPU
    than running it on a channel with nothing new (the daemon asks every 5 minutes)."""
    scope = Scope(
        channel_id=bindparam("np_channel"),  # type: ignore[arg-type]
        content_type=bindparam("np_content_type"),  # type: ignore[arg-type]
        catalog_id=bindparam("np_catalog"),  # type: ignore[arg-type]
    )
    base, object_id, version, cols = _parts("products")
    query = (
        select(
            object_id.label("object_id"),
            version.label("version"),
            *cols,
            _waiting(scope, object_id).label("_waited"),
        )
        .select_from(base)
        .where(saleable_clause(dialect, scope.catalog_id), *_never_sent(scope, object_id))
    )
    return _paged(query, object_id, cols[0] if by_keys else None)


@functools.lru_cache(maxsize=8)
def missing_data_statement(dialect: str, by_keys: bool, once: bool) -> Select[Any]:
    """Products Product Create would take but for a price or stock row, with ``_needs``
    saying which (``once``: not those already waiting for exactly that)."""
    scope = Scope(
        channel_id=bindparam("np_channel"),  # type: ignore[arg-type]
        content_type=bindparam("np_content_type"),  # type: ignore[arg-type]
        catalog_id=bindparam("np_catalog"),  # type: ignore[arg-type]
    )
    base, object_id, version, cols = _parts("products")
    price, stock = commerce_table("prices"), commerce_table("stocks")
    needs = lacking_data(price.c.id.is_not(None), stock.c.id.is_not(None))
    query = (
        select(object_id.label("object_id"), version.label("version"), *cols, needs.label("_needs"))
        .select_from(base)
        .where(
            listable_clause(dialect, scope.catalog_id),
            or_(price.c.id.is_(None), stock.c.id.is_(None)),
            *_never_sent(scope, object_id),
        )
    )
    if once:
        query = query.where(~_waiting(scope, object_id, needs))
    return _paged(query, object_id, cols[0] if by_keys else None)


@functools.lru_cache(maxsize=4)
def stale_data_waits(dialect: str) -> Any:
    """DELETE the waits for data of products the catalog no longer offers (left it, were
    deactivated…): nothing would end them, and `pazar status` would count them for good."""
    w = IntegrationWait.__table__
    products = commerce_table("products")
    offered = (
        select(products.c.id)
        .where(products.c.id == w.c.object_id, listable_clause(dialect, bindparam("np_catalog")))
        .exists()
    )
    return w.delete().where(
        w.c.channel_id == bindparam("np_channel"),
        w.c.content_type == bindparam("np_content_type"),
        w.c.needs.in_(list(MISSING_DATA)),
        ~offered,
    )


def _never_sent(scope: Scope, object_id: Any) -> list[Any]:
    """No integration action for the flow's content type, not in flight, not held back by
    a penalty whose retry is not due."""
    ia = IntegrationAction.__table__
    integrated = (
        select(ia.c.id)
        .where(
            ia.c.channel_id == scope.channel_id,
            ia.c.content_type == scope.content_type,
            ia.c.object_id == object_id,
        )
        .exists()
    )
    return [
        ~integrated,
        not_in_flight(scope, object_id),
        not_held_back(scope, object_id, bindparam("np_now")),  # type: ignore[arg-type]
    ]


def _waiting(scope: Scope, object_id: Any, needs: Any = None) -> Any:
    """EXISTS a wait row of the record (for ``needs``, when given)."""
    w = IntegrationWait.__table__.alias("np_wait")
    query = select(w.c.id).where(
        w.c.channel_id == scope.channel_id,
        w.c.content_type == scope.content_type,
        w.c.object_id == object_id,
    )
    if needs is not None:
        query = query.where(w.c.needs == needs)
    return query.exists()


def _paged(query: Select[Any], object_id: Any, sku: Any) -> Select[Any]:
    """Keyset pages by product id, optionally for given SKUs only."""
    query = query.where(object_id > bindparam("np_after")).order_by(object_id)
    query = query.limit(bindparam("np_limit"))
    if sku is not None:
        query = query.where(sku.in_(bindparam("np_keys", expanding=True)))
    return query


NEW_PRODUCTS = StepType(
    name="commerce.new_products",
    kind="source",
    factory=NewProducts,
    params_schema=PAGE_SCHEMA,
    creates=True,
    description="Saleable products of the channel's catalog never integrated on it (Product "
    "Create); same record as commerce.changed_products.",
)


class IntegratedOnly:
    """``state.integrated_only``: drop records never integrated on the channel (Product Update).

    A product that was never created is Product Create's, which finds it by its
    state; here it is dropped without a log line, and the change stream's cursor
    moves past it so it is not read again until it changes.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def process(self, items: list[Item], run: Any) -> list[Item]:
        keep: list[Item] = []
        passed: dict[tuple[str, str], int] = {}
        for item in items:
            never = item.last_payload_hash is None and item.remote_id is None
            if not never or item.deleted:
                keep.append(item)
                continue
            if item.cursor and item.version is not None:
                key = (str(item.content_type or self.ctx.flow.content_type), item.cursor)
                passed[key] = max(passed.get(key, 0), int(item.version))
        if passed and not self.ctx.dry_run and not getattr(run, "dry_run", False):
            with self.ctx.db.session() as session:
                for (content_type, source), version in passed.items():
                    advance_cursor(
                        session,
                        channel_id=self.ctx.channel.id,
                        content_type=content_type,
                        source=source,
                        version=version,
                        now=self.ctx.clock.now(),
                    )
        return keep


INTEGRATED_ONLY = StepType(
    name="state.integrated_only",
    kind="step",
    factory=IntegratedOnly,
    params_schema=params_schema(),
    description="Keep only records already integrated on the channel (e.g. Product Update "
    "after Product Create); the stream moves past the others.",
)

"""Flow sources over the commerce backend's change streams, and the
``state.skip_unchanged`` step.

Each source yields one item per record: ``key`` the SKU, ``data`` the record's
fields (what a flow maps as ``record.*``), and what the state needs later (object
id, version, content type, last payload hash) in the item's own fields.  Penalised and in-flight
records never come out of a source: the selection query leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, or_, select, true, update

from pazar.channel_flags import feature_enabled
from pazar.flows.loader import load_flows
from pazar.models.state import (
    OPEN_BATCH_STATUSES,
    BatchRequest,
    BatchRequestItem,
    IntegrationAction,
)
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType
from pazar.state.actions import actions_for, payload_hash
from pazar.state.selection import Scope, catalog_code, catalog_id, iter_selection, read_cursor

PAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000,
            "description": "Records read per query (default: the flow's batch_size).",
        }
    },
    "additionalProperties": False,
}

_META_COLUMNS = ("object_id", "version", "last_payload_hash", "remote_id")


def _data_keys(row: dict[str, Any]) -> tuple[str, ...]:
    """The keys of a selected row that are the record's own fields."""
    return tuple(
        k for k in row if k not in _META_COLUMNS and k != "ready" and not k.startswith("_")
    )


def _plain(value: Any) -> Any:
    # Prices come back as Decimal; payloads are JSON, where a number is a float.
    if isinstance(value, Decimal):
        return float(value)
    return value


def dependency_in_force(registry: Any, channel: Any, flow: Any) -> str | None:
    """The content type ``flow``'s records wait for on ``channel``, while the channel
    creates it; else None.

    ``needs: product`` holds only while a flow of the channel's marketplace that creates
    products (its source is marked ``creates``) is on for the channel: a seller whose
    listings were made elsewhere sends stock and price for them at once, and waiting
    for a product pazar will never create would hold a record back forever.
    """
    needs = getattr(flow, "needs", None)
    if needs is None or registry is None:
        return None
    for other in load_flows(registry).for_plugin(channel.plugin):
        step = registry.steps.get(other.source.type)
        creates = other.content_type == needs and step is not None and step.creates
        if creates and feature_enabled(channel, other.feature_flag):
            return str(needs)
    return None


def sink_supersedes(registry: Any, flow: Any) -> bool:
    """Whether ``flow``'s sink declares ``supersedes`` (an upload sink of absolute values,
    ``UploadSink.supersedes``): its records' newer versions go out while older uploads are
    unconfirmed.  Read from the registered sink class, so neither a flow file nor an
    operator can turn it on for a sink whose uploads must finish in order."""
    sink = getattr(getattr(flow, "sink", None), "type", None)
    step = registry.steps.get(sink) if registry is not None and sink else None
    return (
        step is not None
        and step.kind == "sink"
        and getattr(step.factory, "supersedes", False) is True
    )


def flow_supersedes(ctx: StepContext) -> bool:
    """:func:`sink_supersedes` for a run, kept in the run memo."""
    key = ("supersedes", getattr(ctx.flow, "ref", None))
    if key not in ctx.memo:
        ctx.memo[key] = sink_supersedes(ctx.registry, ctx.flow)
    return bool(ctx.memo[key])


def needs_in_force(ctx: StepContext) -> str | None:
    """:func:`dependency_in_force` for a run, kept in the run memo (a daemon empties it
    when the channel changes)."""
    if ctx.flow.needs is None:
        return None
    key = ("needs_in_force", ctx.flow.ref)
    if key not in ctx.memo:
        ctx.memo[key] = dependency_in_force(ctx.registry, ctx.channel, ctx.flow)
    return ctx.memo[key]  # type: ignore[no-any-return]


class ChangeSource:
    """Changed (or deleted) records of one commerce table for the run's channel."""

    def __init__(self, ctx: StepContext, source: str) -> None:
        self.ctx = ctx
        self.source = source
        self.content_type = str(getattr(ctx.flow, "content_type", None) or "DEFAULT")
        size = ctx.params.get("page_size") or getattr(ctx.flow, "batch_size", None) or 500
        self.page_size = int(size)
        # The record fields of a selected row, by its columns: the rows of a selection
        # share their columns, and sorting them out once saves three tests per field.
        self._data_keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    def scope(self) -> Scope:
        remembered = self._remembered_scope()
        if remembered is not None:
            return remembered
        with self.ctx.db.session() as session:
            return self._scope(session)

    def _scope(self, session: Any) -> Scope:
        return self._remembered_scope() or self._store_scope(
            catalog_id(session, catalog_code(self.ctx.channel))
        )

    def _remembered_scope(self) -> Scope | None:
        """The scope without asking the database, when the run memo knows the catalog id."""
        cat = self.ctx.memo.get(("catalog_id", catalog_code(self.ctx.channel)))
        if cat is None:
            return None
        return Scope(
            channel_id=self.ctx.channel.id,
            content_type=self.content_type,
            catalog_id=cat,
            needs=needs_in_force(self.ctx),
            supersedes=flow_supersedes(self.ctx),
        )

    def _store_scope(self, cat: int | None) -> Scope:
        if cat is not None:  # a catalog's id never changes
            self.ctx.memo[("catalog_id", catalog_code(self.ctx.channel))] = cat
        return Scope(
            channel_id=self.ctx.channel.id,
            content_type=self.content_type,
            catalog_id=cat,
            needs=needs_in_force(self.ctx),
            supersedes=flow_supersedes(self.ctx),
        )

    def __iter__(self) -> Iterator[Item]:
        scope, cursor = self._remembered_scope(), None
        if scope is None:  # scope and cursor in one short read
            with self.ctx.db.session() as session:
                scope = self._scope(session)
                cursor = read_cursor(session, scope.channel_id, self.content_type, self.source)
        # Without a cursor yet, the selection reads it in its own first transaction.
        rows = iter_selection(
            self.ctx.db,
            self.source,
            scope,
            clock=self.ctx.clock,
            page_size=self.page_size,
            limit=self.ctx.limit,
            keys=self.ctx.keys,
            cursor=cursor,
        )
        run = self.ctx.run
        for row in rows:
            item = self.item(row)
            if "ready" in row and not row["ready"]:
                # Its object is not integrated as ``needs`` yet: it waits (no penalty) and
                # the waits page reads it again once it is.
                if run is not None and hasattr(run, "wait"):
                    run.wait(item, str(scope.needs))
                continue
            if row.get("_waited") and run is not None and hasattr(run, "unwait"):
                run.unwait(item)
            yield item

    def item(self, row: dict[str, Any]) -> Item:
        columns = tuple(row)
        keys = self._data_keys.get(columns)
        if keys is None:
            keys = self._data_keys[columns] = _data_keys(row)
        data = {k: _plain(row[k]) for k in keys}
        data["product_id"] = row["object_id"]
        return Item(
            key=str(row["sku"]),
            data=data,
            object_id=row["object_id"],
            version=row["version"],
            content_type=self.content_type,
            remote_id=row.get("remote_id"),
            deleted=self.source == "deleted_products",
            last_payload_hash=row.get("last_payload_hash"),
            state_read=True,
            cursor=self.source if row.get("_stream") else None,
        )


class SkipUnchanged:
    """Drops items whose payload is identical to the last one sent to this channel.

    Place it after the mapping steps: it hashes ``item.data`` as the sink will
    send it.  A skipped record's integration action takes the new version, so the
    record no longer counts as changed.

    For a sink that ``supersedes``, the last one sent may still be unconfirmed (an older
    version in flight): the newest in-flight payload is the one compared, since it is what
    the marketplace will hold.  A record skipped against it lets that upload answer for its
    current version too (the in-flight item takes the version: same payload, same answer),
    instead of claiming an integration nobody confirmed yet.  Both writes are conditional on
    what was compared still holding (the action's hash, the item still in flight): another
    daemon's check may confirm an older upload between this run's read and its write.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self._earlier_open: bool | None = None

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        missing = [i for i in items if not i.state_read and i.object_id is not None]
        known: dict[int, str | None] = {}
        if missing:
            with self.ctx.db.session() as session:
                for ct in {self._ct(i) for i in missing}:
                    ids = [int(i.object_id) for i in missing if self._ct(i) == ct]  # type: ignore[arg-type]
                    found = actions_for(session, self.ctx.channel.id, ct, ids)
                    known.update({oid: a.payload_hash for oid, a in found.items()})
        unconfirmed = self._unconfirmed(items, run) if flow_supersedes(self.ctx) else {}
        keep: list[Item] = []
        bumps: list[dict[str, Any]] = []
        carried: list[dict[str, Any]] = []
        for item in items:
            digest = payload_hash(item.data)
            item.payload_hash = digest
            object_id = item.object_id
            on_way = unconfirmed.get(object_id) if item.version is not None else None  # type: ignore[arg-type]
            if on_way is not None:
                last: str | None = on_way[1]
            else:
                last = item.last_payload_hash if item.state_read else known.get(object_id)  # type: ignore[arg-type]
            unchanged = object_id is not None and last is not None and last == digest
            # `pazar trigger --force`: the operator wants these records sent, changed or not
            if unchanged and not item.deleted and not self.ctx.resend:
                if on_way is not None:
                    run.skip(item, "unchanged since the last upload, whose answer counts for it")
                    carried.append({"i": on_way[0], "v": int(item.version)})  # type: ignore[arg-type]
                    continue
                run.skip(item, "unchanged since the last integration")
                if item.version is not None:
                    bumps.append(
                        {
                            "c": self.ctx.channel.id,
                            "t": self._ct(item),
                            "o": int(object_id),
                            "v": int(item.version),
                            "h": last,
                        }
                    )
            else:
                keep.append(item)
        if bumps and not getattr(run, "dry_run", False) and not self.ctx.dry_run:
            ia = IntegrationAction.__table__
            stmt = (
                update(ia)
                .where(
                    ia.c.channel_id == bindparam("c"),
                    ia.c.content_type == bindparam("t"),
                    ia.c.object_id == bindparam("o"),
                    ia.c.version < bindparam("v"),
                    # only if it still holds the payload compared: an older upload confirmed
                    # since the read (it landed last) leaves the record changed, to go out again
                    ia.c.payload_hash == bindparam("h"),
                )
                .values(version=bindparam("v"), updated_at=self.ctx.clock.now())
            )
            with self.ctx.db.session() as session:
                session.connection().execute(stmt, bumps)
        if carried and not getattr(run, "dry_run", False) and not self.ctx.dry_run:
            with self.ctx.db.session() as session:
                session.connection().execute(_CARRY_IN_FLIGHT, carried)
        return keep

    def _unconfirmed(self, items: list[Item], run: RunHandle) -> dict[int, tuple[int, str | None]]:
        """Object id → (batch item id, payload hash) of its newest in-flight upload, one
        query per content type (and 5,000 objects).

        A run reads each record once, so only uploads of earlier runs can hold an older
        version of this batch's records: while none of the channel's open batches comes
        from another run (an initial push, a quiet channel), no query is made."""
        if not self._earlier_uploads_open(run):
            return {}
        found: dict[int, tuple[int, int, str | None]] = {}
        by_ct: dict[str, list[int]] = {}
        for item in items:
            if item.object_id is not None:
                by_ct.setdefault(self._ct(item), []).append(int(item.object_id))
        if not by_ct:
            return {}
        t = BatchRequestItem.__table__
        with self.ctx.db.session() as session:
            for ct, ids in by_ct.items():
                for start in range(0, len(ids), 5000):
                    rows = session.connection().execute(
                        select(t.c.object_id, t.c.id, t.c.version, t.c.payload_hash).where(
                            t.c.channel_id == self.ctx.channel.id,
                            t.c.content_type == ct,
                            t.c.object_id.in_(ids[start : start + 5000]),
                            t.c.in_flight.is_(True),
                        )
                    )
                    for object_id, item_id, version, digest in rows:
                        rank = (int(version or 0), int(item_id))
                        best = found.get(object_id)
                        if best is None or rank > best[:2]:
                            found[object_id] = (rank[0], rank[1], digest)
        return {oid: (item_id, digest) for oid, (_, item_id, digest) in found.items()}

    def _earlier_uploads_open(self, run: RunHandle) -> bool:
        """Whether the channel has an open batch from another run (asked once per run: a
        batch opened by another run of this flow cannot appear while this one runs)."""
        if self._earlier_open is None:
            b = BatchRequest.__table__
            this_run = getattr(run, "run_id", None)
            stmt = (
                select(b.c.id)
                .where(
                    b.c.channel_id == self.ctx.channel.id,
                    b.c.status.in_(OPEN_BATCH_STATUSES),
                    or_(b.c.run_id.is_(None), b.c.run_id != this_run)
                    if this_run is not None
                    else true(),
                )
                .limit(1)
            )
            with self.ctx.db.session() as session:
                self._earlier_open = session.connection().execute(stmt).first() is not None
        return self._earlier_open

    def _ct(self, item: Item) -> str:
        return str(item.content_type or self.ctx.flow.content_type or "DEFAULT")


_BI = BatchRequestItem.__table__
# A record skipped against an unconfirmed upload of the same payload: that upload's item
# takes the record's version, so its answer (success or rejection) is about this version.
# Nothing happens when the batch ended meanwhile: the next run compares with its outcome.
_CARRY_IN_FLIGHT = (
    update(_BI)
    .where(_BI.c.id == bindparam("i"), _BI.c.in_flight.is_(True), _BI.c.version < bindparam("v"))
    .values(version=bindparam("v"))
)


def _source(name: str) -> Any:
    return lambda ctx: ChangeSource(ctx, name)


STEP_TYPES = [
    StepType(
        name="commerce.changed_stocks",
        kind="source",
        factory=_source("stocks"),
        params_schema=PAGE_SCHEMA,
        description="Stocks changed since their last integration on this channel "
        "(record: sku, quantity, extra, product_id).",
    ),
    StepType(
        name="commerce.changed_prices",
        kind="source",
        factory=_source("prices"),
        params_schema=PAGE_SCHEMA,
        description="Prices changed since their last integration on this channel "
        "(record: sku, price, retail_price, currency, tax_rate, product_id).",
    ),
    StepType(
        name="commerce.changed_products",
        kind="source",
        factory=_source("products"),
        params_schema=PAGE_SCHEMA,
        description="Products of the channel's catalog changed since their last integration "
        "(record: sku, base_code, name, product_type, parent_id, attributes, categories, "
        "images, active, price, retail_price, currency, tax_rate, quantity, extra, product_id).",
    ),
    StepType(
        name="commerce.deleted_products",
        kind="source",
        factory=_source("deleted_products"),
        params_schema=PAGE_SCHEMA,
        description="Products removed from the channel's catalog that were integrated before "
        "(record: sku, base_code, name, product_type, product_id).",
    ),
    StepType(
        name="state.skip_unchanged",
        kind="step",
        factory=SkipUnchanged,
        params_schema={"type": "object", "properties": {}, "additionalProperties": False},
        description="Skip records whose mapped payload equals the last one sent to this channel.",
    ),
]

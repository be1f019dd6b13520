"""Selecting changed records: penalties and in-flight records are left out inside
the query, successes and failures move the state, unchanged payloads are skipped."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Boolean, Integer, func, literal, select, text, update

from pazar.commerce.synthetic import T0, insert_series, make_catalog, make_channel
from pazar.flows.model import FlowDef, StepDef
from pazar.models.state import FailedIntegration, IntegrationAction, SyncCursor
from pazar.pipeline import Item, StepContext
from pazar.state.batches import open_batch, record_results
from pazar.state.outcomes import record_batch_outcomes
from pazar.state.selection import (
    _in_flight_changed_floor,
    commerce_table,
    explain,
    selection_query,
    wants_fence,
)
from pazar.state.sources import ChangeSource, SkipUnchanged


def _commerce_tables_exist() -> bool:
    import pazar.models  # noqa: F401
    from pazar.models.base import Base

    return {"products", "catalogs", "catalog_items", "stocks", "prices"} <= set(
        Base.metadata.tables
    )


pytestmark = pytest.mark.skipif(
    not _commerce_tables_exist(),
    reason="needs the local commerce tables (migration 0002)",
)

STOCK_CT = "productstock"


def flow(
    source: str = "commerce.changed_stocks",
    content_type: str = STOCK_CT,
    batch_size: int = 500,
) -> FlowDef:
    return FlowDef(
        flow="stock",
        title="Stock",
        plugin="testmarket",
        source=StepDef(type=source, params={}, pointer="/source"),
        sink=StepDef(type="testmarket.collect", params={}, pointer="/sink"),
        content_type=content_type,
        batch_size=batch_size,
    )


class Recorder:
    """A RunHandle that remembers what steps reported."""

    def __init__(self, dry_run: bool = False) -> None:
        self.run_id = 7
        self.dry_run = dry_run
        self.skipped: list[tuple[str, str]] = []

    def skip(self, item: Item, message: str) -> None:
        self.skipped.append((item.key, message))

    def fail(self, item: Item, message: str, reason: str = "mapping") -> None:  # pragma: no cover
        raise AssertionError("not used")

    def succeed(self, item: Item, remote_id: str | None = None) -> None:  # pragma: no cover
        raise AssertionError("not used")

    def log(self, key: str | None, message: str, level: str = "info") -> None:
        pass


def source(db: Any, channel: Any, clock: Any, the_flow: FlowDef, **kw: Any) -> ChangeSource:
    ctx = StepContext(
        params={},
        flow=the_flow,
        channel=channel,
        config=channel.config,
        templates=None,
        db=db,
        clock=clock,
        **kw,
    )
    name = {
        "commerce.changed_stocks": "stocks",
        "commerce.changed_prices": "prices",
        "commerce.changed_products": "products",
        "commerce.deleted_products": "deleted_products",
    }[the_flow.source.type]
    return ChangeSource(ctx, name)


def first_batch(src: ChangeSource, size: int) -> list[Item]:
    out = []
    for item in src:
        out.append(item)
        if len(out) >= size:
            break
    return out


def setup_shop(db: Any, n: int, config: dict[str, Any] | None = None, **kw: Any) -> Any:
    with db.session() as session:
        channel = make_channel(session, "shop", config)
        make_catalog(session.connection(), n=n, catalog_code="shop", **kw)
    return channel


def test_exhausted_penalties_never_delay_healthy_changed_stocks(db, clock):
    """10,000 exhausted penalties ahead (lower versions) of 10 healthy changed stocks:
    the first batch holds exactly the 10 healthy ones."""
    n_bad, n_good = 10_000, 10
    channel = setup_shop(db, n_bad + n_good)
    with db.session() as session:
        insert_series(
            session.connection(),
            "failed_integrations",
            n_bad,
            {
                "channel_id": lambda i: literal(channel.id, Integer()),
                "content_type": lambda i: literal(STOCK_CT),
                "object_id": lambda i: i,
                "object_key": lambda i: literal("SKU-").concat(i),
                "reason_type": lambda i: literal("remote"),
                "message": lambda i: literal("rejected"),
                "retry_count": lambda i: literal(3, Integer()),
                "max_retry_count": lambda i: literal(3, Integer()),
                "retry_interval": lambda i: literal(60, Integer()),
            },
        )
    src = source(db, channel, clock, flow())
    batch = first_batch(src, 500)
    assert sorted(int(i.key.split("-")[1]) for i in batch) == list(
        range(n_bad + 1, n_bad + n_good + 1)
    )
    assert all(i.content_type == STOCK_CT and i.object_id for i in batch)
    assert batch[0].data["quantity"] == n_bad + 1


def test_items_carry_record_fields_and_state_fields(db, clock):
    channel = setup_shop(db, 3)
    items = list(source(db, channel, clock, flow()))
    assert [i.key for i in items] == ["SKU-1", "SKU-2", "SKU-3"]
    assert items[0].data["sku"] == "SKU-1" and items[0].data["quantity"] == 1
    assert items[0].version == 4 and items[0].object_id == 1
    prices = list(source(db, channel, clock, flow("commerce.changed_prices", "productprice")))
    assert prices[0].data["price"] == 100.0 and prices[0].data["currency"] == "TRY"


def test_only_the_channels_catalog_is_selected(db, clock):
    with db.session() as session:
        channel = make_channel(session, "shop", {"catalog_code": "main"})
        make_catalog(session.connection(), n=2, catalog_code="main")
        make_catalog(session.connection(), n=2, catalog_code="other", start=3)
    assert [i.key for i in source(db, channel, clock, flow())] == ["SKU-1", "SKU-2"]


def test_success_records_action_and_clears_penalty_failure_penalises(db, clock):
    channel = setup_shop(db, 3)
    f = flow()
    items = list(source(db, channel, clock, f))
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=1,
            clock=clock,
            config={},
            succeeded=[],
            failed=[
                (items[0], "stock rejected", "remote"),
                (items[1], "bad mapping", "mapping"),
            ],
        )
    remaining = list(source(db, channel, clock, f))
    assert [i.key for i in remaining] == ["SKU-3"], "penalised records are held back"
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=2,
            clock=clock,
            config={},
            succeeded=[(items[0], "R-1"), (items[2], None)],
            failed=[],
        )
        penalties = {p.object_key: p for p in session.scalars(select(FailedIntegration))}
        actions = {a.object_key: a for a in session.scalars(select(IntegrationAction))}
    assert set(penalties) == {"SKU-2"}, "success clears the penalty"
    assert penalties["SKU-2"].reason_type == "mapping" and penalties["SKU-2"].run_id == 1
    assert actions["SKU-1"].remote_id == "R-1" and actions["SKU-1"].version == items[0].version
    assert actions["SKU-1"].payload_hash and actions["SKU-3"].status == "success"
    assert list(source(db, channel, clock, f)) == [], (
        "integrated and penalised records are not changed"
    )


def test_penalised_record_is_retried_when_its_interval_has_passed(db, clock):
    config = {
        "failed_integration": {
            "productstock": {
                "RETRY_INTERVAL": 600,
                "EXPIRATION_DATE": 3600,
                "MAX_RETRY_COUNT": 2,
            }
        }
    }
    channel = setup_shop(db, 2, config)
    f = flow()
    items = list(source(db, channel, clock, f))
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=1,
            clock=clock,
            config=config,
            succeeded=[(items[1], None)],
            failed=[(items[0], "timeout", "remote")],
        )
    clock.advance(599)
    assert list(source(db, channel, clock, f)) == []
    clock.advance(1)
    again = list(source(db, channel, clock, f))
    assert [i.key for i in again] == ["SKU-1"]
    assert again[0].cursor is None, "a retry does not move the change stream"
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=2,
            clock=clock,
            config=config,
            succeeded=[],
            failed=[(again[0], "timeout", "remote")],
        )
    clock.advance(10_000)
    assert list(source(db, channel, clock, f)) == [], "2 of 2 attempts used: parked"


def test_in_flight_records_are_excluded_until_their_batch_ends(db, clock):
    channel = setup_shop(db, 3)
    f = flow()
    items = list(source(db, channel, clock, f))
    with db.session() as session:
        batch = open_batch(session, channel.id, STOCK_CT, f, 1, items[:2], clock=clock)
        batch_id = batch.id
    assert [i.key for i in source(db, channel, clock, f)] == ["SKU-3"]
    with db.session() as session:
        record_results(
            session,
            batch_id,
            [(1, True, "R1", None), (2, False, None, "invalid stock")],
            clock=clock,
            config={},
        )
    with db.session() as session:
        penalty = session.scalars(select(FailedIntegration)).one()
        action = session.scalars(select(IntegrationAction)).one()
    assert (
        penalty.object_key,
        penalty.reason_type,
        penalty.message,
        penalty.batch_id,
    ) == (
        "SKU-2",
        "remote",
        "invalid stock",
        batch_id,
    )
    assert (action.object_key, action.remote_id) == ("SKU-1", "R1")
    assert [i.key for i in source(db, channel, clock, f)] == ["SKU-3"]


def test_in_flight_checks_probe_the_index_of_items_in_flight_only(db, clock):
    """The in-flight index holds only items in flight (migration 0019): a check can use it
    only when its query states ``in_flight IS true`` as the index does.  Every query that
    asks "is this object in flight?" must keep doing so, or after a large push it would
    read every item ever sent instead of the few still in flight."""
    channel = setup_shop(db, 40)
    f = flow()
    items = list(source(db, channel, clock, f))
    with db.session() as session:
        done = open_batch(session, channel.id, STOCK_CT, f, 1, items[:30], clock=clock).id
        open_batch(session, channel.id, STOCK_CT, f, 1, items[30:35], clock=clock)
    with db.session() as session:
        record_results(
            session, done, [(i.object_id, True, None, None) for i in items[:30]], config={}
        )
    # Items of ended batches are not in flight: those records are selected again once they
    # change; the five of the open batch are not.
    assert len(list(source(db, channel, clock, f))) == 5
    scope = source(db, channel, clock, f).scope()
    stream = selection_query(
        "stocks", scope, now=T0, after=0, limit=10, fence=wants_fence(db.dialect)
    )
    with db.session() as session:
        if db.dialect == "postgresql":  # at this size a scan is cheaper: ask what it can use
            session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(explain(session, stream))
        floor = _in_flight_changed_floor(session, channel.id, STOCK_CT, "stocks")
    assert "ix_batch_request_items_in_flight" in plan, plan
    assert floor is None


def test_cursor_advances_and_never_skips_a_record_changed_while_in_flight(db, clock):
    channel = setup_shop(db, 4)
    f = flow()
    stocks = commerce_table("stocks")
    items = list(source(db, channel, clock, f))
    with db.session() as session:
        batch = open_batch(session, channel.id, STOCK_CT, f, 1, [items[0]], clock=clock)
        batch_id = batch.id
        # every stock changes; SKU-1 while its batch is still open
        session.execute(update(stocks).values(quantity=99, version=stocks.c.version + 95))
    later = list(source(db, channel, clock, f))
    assert [i.key for i in later] == ["SKU-2", "SKU-3", "SKU-4"]
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=1,
            clock=clock,
            config={},
            succeeded=[(i, None) for i in later],
            failed=[],
        )
        cursor = session.scalars(select(SyncCursor.version)).one()
    assert cursor == 99, "the cursor stays below SKU-1 (version 100), changed while in flight"
    with db.session() as session:
        record_results(session, batch_id, [(1, True, "R1", None)], clock=clock, config={})
    again = list(source(db, channel, clock, f))
    assert [(i.key, i.data["quantity"], i.version) for i in again] == [("SKU-1", 99, 100)]
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=2,
            clock=clock,
            config={},
            succeeded=[(again[0], None)],
            failed=[],
        )
        assert session.scalars(select(SyncCursor.version)).one() == 100
    assert list(source(db, channel, clock, f)) == []


def test_skip_unchanged_drops_identical_payloads_and_marks_them_integrated(db, clock):
    channel = setup_shop(db, 2)
    f = flow()
    ctx = StepContext(
        params={},
        flow=f,
        channel=channel,
        config={},
        templates=None,
        db=db,
        clock=clock,
    )
    items = list(source(db, channel, clock, f))
    payloads = [replace(i, data={"merchantSku": i.key, "availableStock": 5}) for i in items]
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=1,
            clock=clock,
            config={},
            succeeded=[(p, None) for p in payloads],
            failed=[],
        )
    stocks = commerce_table("stocks")
    with db.session() as session:
        session.execute(update(stocks).values(version=stocks.c.version + 10))
    changed = list(source(db, channel, clock, f))
    assert len(changed) == 2
    mapped = [
        replace(changed[0], data={"availableStock": 5, "merchantSku": changed[0].key}),
        replace(changed[1], data={"merchantSku": changed[1].key, "availableStock": 6}),
    ]
    run = Recorder()
    kept = SkipUnchanged(ctx).process(mapped, run)
    assert [i.key for i in kept] == ["SKU-2"]
    assert run.skipped == [("SKU-1", "unchanged since the last integration")]
    assert [i.key for i in source(db, channel, clock, f)] == ["SKU-2"], (
        "the skipped record is no longer changed"
    )


def test_skip_unchanged_writes_nothing_in_a_dry_run(db, clock):
    channel = setup_shop(db, 1)
    f = flow()
    item = next(iter(source(db, channel, clock, f)))
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=1,
            clock=clock,
            config={},
            succeeded=[(replace(item, data={"q": 1}), None)],
            failed=[],
        )
        stocks = commerce_table("stocks")
        session.execute(update(stocks).values(version=50))
    changed = next(iter(source(db, channel, clock, f)))
    ctx = StepContext(
        params={},
        flow=f,
        channel=channel,
        config={},
        templates=None,
        db=db,
        clock=clock,
        dry_run=True,
    )
    kept = SkipUnchanged(ctx).process([replace(changed, data={"q": 1})], Recorder(dry_run=True))
    assert kept == []
    assert [i.key for i in source(db, channel, clock, f)] == ["SKU-1"]


def test_explicit_keys_take_unchanged_records_but_not_held_back_ones(db, clock):
    channel = setup_shop(db, 3)
    f = flow()
    items = list(source(db, channel, clock, f))
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=1,
            clock=clock,
            config={},
            succeeded=[(items[0], None)],
            failed=[(items[1], "x", "mapping")],
        )
    keyed = list(source(db, channel, clock, f, keys=["SKU-1", "SKU-2", "SKU-3", "NOPE"]))
    assert [i.key for i in keyed] == ["SKU-1", "SKU-3"]
    assert all(i.cursor is None for i in keyed)
    assert [i.key for i in source(db, channel, clock, f, limit=1)] == ["SKU-3"]


def test_deleted_products_are_those_integrated_and_then_removed_from_the_catalog(db, clock):
    channel = setup_shop(db, 3)
    pf = flow("commerce.changed_products", "product")
    products = list(source(db, channel, clock, pf))
    assert [p.key for p in products] == ["SKU-1", "SKU-2", "SKU-3"]
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=pf,
            run_id=1,
            clock=clock,
            config={},
            succeeded=[(p, f"R{p.object_id}") for p in products[:2]],
            failed=[],
        )
        items = commerce_table("catalog_items")
        session.execute(
            update(items)
            .where(items.c.product_id.in_([2, 3]))
            .values(deleted=True, version=1000 + items.c.product_id)
        )
    df = flow("commerce.deleted_products", "product")
    deleted = list(source(db, channel, clock, df))
    assert [(d.key, d.deleted, d.remote_id) for d in deleted] == [("SKU-2", True, "R2")]
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=df,
            run_id=2,
            clock=clock,
            config={},
            succeeded=[(deleted[0], None)],
            failed=[],
        )
        status = session.execute(
            select(IntegrationAction.status).where(IntegrationAction.object_key == "SKU-2")
        ).scalar_one()
    assert status == "deleted"
    assert list(source(db, channel, clock, df)) == []


def test_outcomes_ignore_untracked_items_and_use_the_flow_content_type(db, clock):
    channel = setup_shop(db, 1)
    f = flow()
    with db.session() as session:
        record_batch_outcomes(
            session,
            channel_id=channel.id,
            flow=f,
            run_id=1,
            clock=clock,
            config={},
            succeeded=[(Item("ORDER-1", {"x": 1}), "R")],
            failed=[(Item("SKU-1", {}, object_id=1, version=4), "boom", "weird")],
        )
        penalty = session.scalars(select(FailedIntegration)).one()
        assert (
            session.execute(select(func.count()).select_from(IntegrationAction)).scalar_one() == 0
        )
    assert (penalty.content_type, penalty.reason_type, penalty.retry_count) == (
        STOCK_CT,
        "local",
        1,
    )
    assert penalty.first_failed_at == T0 and penalty.next_retry_at == T0 + timedelta(seconds=28800)
    _ = Boolean


def test_outcomes_of_a_large_batch_take_a_constant_number_of_statements(db, clock):
    """Set-based: recording 400 outcomes costs the same few statements as recording 4."""
    from sqlalchemy import event

    channel = setup_shop(db, 800)
    f = flow()
    items = list(source(db, channel, clock, f))

    def statements(batch: list[Item]) -> int:
        count = 0

        def before(*_args: Any) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            with db.session() as session:
                record_batch_outcomes(
                    session,
                    channel_id=channel.id,
                    flow=f,
                    run_id=1,
                    clock=clock,
                    config={},
                    succeeded=[(i, None) for i in batch[: len(batch) // 2]],
                    failed=[(i, "x", "remote") for i in batch[len(batch) // 2 :]],
                )
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        return count

    small = statements(items[:4])
    large = statements(items[4:404])
    assert large == small

"""Model-based property test: whatever sequence of changes, failures, successes,
batches and waiting happens, a run selects exactly the records a plain reading of
the rules says it should — in particular the stream cursor never hides a changed
record."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update

from pazar.models.state import (
    BatchRequest,
    BatchRequestItem,
    FailedIntegration,
    IntegrationAction,
    SyncCursor,
)
from pazar.state.batches import open_batch, record_results
from pazar.state.outcomes import record_batch_outcomes
from pazar.state.penalties import PenaltyState, is_due
from pazar.state.selection import commerce_table
from tests.engine.test_state_selection import STOCK_CT, flow, setup_shop, source


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

N = 3
POLICY = {
    "failed_integration": {
        "productstock": {
            "RETRY_INTERVAL": 100,
            "EXPIRATION_DATE": 1000,
            "MAX_RETRY_COUNT": 3,
        }
    }
}

steps = st.lists(
    st.one_of(
        st.tuples(st.just("change"), st.integers(1, N)),
        st.tuples(
            st.just("run"),
            st.lists(st.sampled_from(["ok", "fail", "defer"]), min_size=N, max_size=N),
        ),
        st.tuples(st.just("finish"), st.lists(st.booleans(), min_size=N, max_size=N)),
        st.tuples(st.just("wait"), st.integers(1, 400)),
    ),
    min_size=1,
    max_size=25,
)


def expected(db: Any, now: Any) -> list[str]:
    stocks = commerce_table("stocks")
    with db.session() as session:
        versions = dict(session.execute(select(stocks.c.product_id, stocks.c.version)).all())
        actions = {a.object_id: a.version for a in session.scalars(select(IntegrationAction))}
        penalties = {p.object_id: p for p in session.scalars(select(FailedIntegration))}
        flying = set(
            session.scalars(
                select(BatchRequestItem.object_id).where(BatchRequestItem.in_flight.is_(True))
            )
        )
    out = []
    for object_id, version in sorted(versions.items()):
        if object_id in flying:
            continue
        penalty = penalties.get(object_id)
        if penalty is not None:
            state = PenaltyState(
                penalty.retry_count,
                penalty.max_retry_count,
                penalty.retry_interval,
                penalty.first_failed_at,
                penalty.last_failed_at,
                penalty.expires_at,
            )
            if penalty.released_at is not None or is_due(state, now):
                out.append(f"SKU-{object_id}")
        elif object_id not in actions or actions[object_id] < version:
            out.append(f"SKU-{object_id}")
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(script=steps)
@example(  # a record changes while in flight, the stream moves on, then its batch ends
    script=[
        ("run", ["defer", "ok", "ok"]),
        ("change", 1),
        ("change", 2),
        ("run", ["ok", "ok", "ok"]),
        ("finish", [True, True, True]),
        ("run", ["ok", "ok", "ok"]),
    ]
)
def test_selection_matches_the_rules_after_any_history(db, clock, script):
    with db.session() as session:
        for model in (
            BatchRequestItem,
            BatchRequest,
            FailedIntegration,
            IntegrationAction,
            SyncCursor,
        ):
            session.execute(delete(model))
        for name in (
            "stocks",
            "prices",
            "catalog_items",
            "products",
            "catalogs",
            "channels",
        ):
            session.execute(text(f'DELETE FROM "{name}"'))
    channel = setup_shop(db, N, POLICY)
    f = flow()
    stocks = commerce_table("stocks")
    counter = 10 * N
    open_batches: list[int] = []
    for step in script:
        kind, arg = step
        if kind == "change":
            counter += 1
            with db.session() as session:
                session.execute(
                    update(stocks).where(stocks.c.product_id == arg).values(version=counter)
                )
        elif kind == "wait":
            clock.advance(arg)
        elif kind == "finish" and open_batches:
            batch_id = open_batches.pop(0)
            with db.session() as session:
                ids = session.scalars(
                    select(BatchRequestItem.object_id).where(BatchRequestItem.batch_id == batch_id)
                ).all()
                results = [
                    (
                        oid,
                        arg[(oid - 1) % N],
                        "R" if arg[(oid - 1) % N] else None,
                        None if arg[(oid - 1) % N] else "no",
                    )
                    for oid in ids
                ]
                record_results(session, batch_id, results, clock=clock, config=POLICY)
        elif kind == "run":
            items = list(source(db, channel, clock, f))
            assert sorted(i.key for i in items) == sorted(expected(db, clock.now()))
            outcome = {i.key: arg[(i.object_id - 1) % N] for i in items}
            deferred = [i for i in items if outcome[i.key] == "defer"]
            with db.session() as session:
                if deferred:
                    open_batches.append(
                        open_batch(session, channel.id, STOCK_CT, f, 1, deferred, clock=clock).id
                    )
                record_batch_outcomes(
                    session,
                    channel_id=channel.id,
                    flow=f,
                    run_id=1,
                    clock=clock,
                    config=POLICY,
                    succeeded=[(i, None) for i in items if outcome[i.key] == "ok"],
                    failed=[(i, "rejected", "remote") for i in items if outcome[i.key] == "fail"],
                )
    items = list(source(db, channel, clock, f))
    assert sorted(i.key for i in items) == sorted(expected(db, clock.now()))

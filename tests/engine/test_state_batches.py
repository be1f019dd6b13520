"""Batch requests: lifecycle, per-object results, expiry after sent_to_remote.EXPIRATION_HOUR."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from pazar.commerce.synthetic import T0, make_channel
from pazar.errors import PazarError
from pazar.models.state import BatchRequest, BatchRequestItem, FailedIntegration, IntegrationAction
from pazar.pipeline import Item
from pazar.state.batches import (
    batch_expired,
    expire_batches,
    mark_ongoing,
    mark_sent,
    open_batch,
    record_done,
    record_results,
)

STATUSES = ["initialized", "commit", "sent_to_remote", "ongoing", "done", "fail"]


def items(n: int) -> list[Item]:
    return [
        Item(f"SKU-{i}", {"sku": f"SKU-{i}", "stock": i}, object_id=i, version=10 + i)
        for i in range(1, n + 1)
    ]


@given(
    status=st.sampled_from(STATUSES),
    hours=st.floats(0.01, 48, allow_nan=False),
    sent_after=st.integers(0, 3600),
    waited=st.integers(0, 3 * 24 * 3600),
)
def test_a_batch_expires_exactly_when_it_waited_the_window(status, hours, sent_after, waited):
    created = T0
    sent = T0 + timedelta(seconds=sent_after) if status in ("sent_to_remote", "ongoing") else None
    start = sent or created
    now = start + timedelta(seconds=waited)
    expected = status not in ("done", "fail") and timedelta(seconds=waited) >= timedelta(
        hours=hours
    )
    assert batch_expired(status, sent, created, now, hours) is expected


def test_lifecycle_and_results(db, clock):
    with db.session() as session:
        channel = make_channel(session)
        batch = open_batch(
            session, channel.id, "productstock", "testmarket/stock", 5, items(3), clock=clock
        )
        assert (batch.status, batch.item_count, len(batch.local_batch_id)) == ("commit", 3, 36)
        clock.advance(10)
        mark_sent(batch, "REMOTE-1", clock=clock)
        mark_ongoing(batch, clock=clock)
        batch_id = batch.id
    with db.session() as session:
        record_results(
            session,
            batch_id,
            [(1, True, "HB-1", None), (2, False, None, "stock below zero")],
            clock=clock,
            final=False,
        )
        assert session.get(BatchRequest, batch_id).status == "ongoing"
        record_results(session, batch_id, [(3, True, "HB-3", None)], clock=clock)
    with db.session() as session:
        batch = session.get(BatchRequest, batch_id)
        objects = {
            i.object_key: (i.status, i.in_flight, i.remote_id, i.message)
            for i in session.scalars(select(BatchRequestItem))
        }
        actions = {
            a.object_key: (a.remote_id, a.version, a.batch_id)
            for a in session.scalars(select(IntegrationAction))
        }
        penalty = session.scalars(select(FailedIntegration)).one()
    assert (batch.status, batch.remote_batch_id, batch.finished_at) == (
        "done",
        "REMOTE-1",
        clock.now(),
    )
    assert objects == {
        "SKU-1": ("ok", False, "HB-1", None),
        "SKU-2": ("failed", False, None, "stock below zero"),
        "SKU-3": ("ok", False, "HB-3", None),
    }
    assert actions == {"SKU-1": ("HB-1", 11, batch_id), "SKU-3": ("HB-3", 13, batch_id)}
    assert (penalty.object_key, penalty.reason_type, penalty.run_id, penalty.batch_id) == (
        "SKU-2",
        "remote",
        5,
        batch_id,
    )


def test_a_finished_batch_succeeds_all_but_the_rejected_keys(db, clock):
    with db.session() as session:
        channel = make_channel(session)
        first = open_batch(
            session, channel.id, "productstock", "testmarket/stock", 4, items(3), clock=clock
        )
        # SKU-1 was integrated before (remote id known), SKU-3 failed before.
        record_results(
            session,
            first.id,
            [(1, True, "HB-1", None), (2, True, None, None), (3, False, None, "earlier")],
            clock=clock,
        )
        clock.advance(60)
        batch = open_batch(
            session, channel.id, "productstock", "testmarket/stock", 5, items(3), clock=clock
        )
        mark_sent(batch, "UP-2", clock=clock)
        batch_id = batch.id
    with db.session() as session:
        succeeded, rejected = record_done(
            session, batch_id, {"SKU-2": "stock below zero", "SKU-9": "not ours"}, clock=clock
        )
        with pytest.raises(PazarError, match="already ended"):
            record_done(session, batch_id, {}, clock=clock)
    with db.session() as session:
        batch = session.get(BatchRequest, batch_id)
        objects = {
            i.object_key: (i.status, i.in_flight, i.message)
            for i in session.scalars(
                select(BatchRequestItem).where(BatchRequestItem.batch_id == batch_id)
            )
        }
        actions = {
            a.object_key: (a.remote_id, a.version, a.batch_id, a.run_id, a.updated_at)
            for a in session.scalars(select(IntegrationAction))
        }
        penalties = {p.object_key: p.message for p in session.scalars(select(FailedIntegration))}
    assert (succeeded, rejected) == (2, {"SKU-2": "stock below zero"})
    assert (batch.status, batch.finished_at) == ("done", clock.now())
    assert objects == {
        "SKU-1": ("ok", False, None),
        "SKU-2": ("failed", False, "stock below zero"),
        "SKU-3": ("ok", False, None),
    }
    assert actions["SKU-1"] == ("HB-1", 11, batch_id, 5, clock.now())
    assert actions["SKU-3"] == (None, 13, batch_id, 5, clock.now())
    assert actions["SKU-2"][2] == first.id  # the rejection left the last success alone
    assert penalties == {"SKU-2": "stock below zero"}


def test_invalid_transitions_are_refused(db, clock):
    with db.session() as session:
        channel = make_channel(session)
        batch = open_batch(
            session, channel.id, "product", "testmarket/product", None, items(1), clock=clock
        )
        record_results(session, batch.id, [(1, True, None, None)], clock=clock)
        with pytest.raises(PazarError, match="cannot go from done to sent_to_remote"):
            mark_sent(batch, "R", clock=clock)
        with pytest.raises(PazarError, match="already ended"):
            record_results(session, batch.id, [], clock=clock)


def test_final_results_penalise_objects_the_marketplace_did_not_mention(db, clock):
    with db.session() as session:
        channel = make_channel(session)
        batch = open_batch(
            session, channel.id, "product", "testmarket/product", None, items(2), clock=clock
        )
        record_results(session, batch.id, [(1, True, "R1", None)], clock=clock)
        penalty = session.scalars(select(FailedIntegration)).one()
    assert (penalty.object_key, penalty.message) == (
        "SKU-2",
        "the marketplace reported no result for this object",
    )


def test_expired_batches_fail_and_penalise_their_objects(db, clock):
    config = {"failed_integration": {"sent_to_remote": {"EXPIRATION_HOUR": 2}}}
    with db.session() as session:
        channel = make_channel(session, "shop", config)
        waiting = open_batch(
            session, channel.id, "productstock", "testmarket/stock", 1, items(2), clock=clock
        )
        mark_sent(waiting, "R-9", clock=clock)
        done = open_batch(
            session, channel.id, "productstock", "testmarket/stock", 1, [], clock=clock
        )
        record_results(session, done.id, [], clock=clock)
        ids = (waiting.id, done.id)
    clock.advance(hours=1, minutes=59)
    with db.session() as session:
        assert expire_batches(session, now=clock.now()) == []
    clock.advance(minutes=1)
    with db.session() as session:
        expired = [b.id for b in expire_batches(session, now=clock.now())]
        statuses = {b.id: (b.status, b.error) for b in session.scalars(select(BatchRequest))}
        penalties = sorted(
            (p.object_key, p.reason_type, p.batch_id)
            for p in session.scalars(select(FailedIntegration))
        )
        in_flight = session.scalars(
            select(BatchRequestItem).where(BatchRequestItem.in_flight.is_(True))
        ).all()
    assert expired == [ids[0]]
    assert statuses[ids[0]] == (
        "fail",
        "no answer from the marketplace within 2 h (sent_to_remote.EXPIRATION_HOUR)",
    )
    assert statuses[ids[1]][0] == "done"
    assert penalties == [("SKU-1", "remote", ids[0]), ("SKU-2", "remote", ids[0])]
    assert in_flight == []
    _ = T0


AWKWARD_KEYS = ["tab\there", "line\nbreak", "back\\slash", r"\N", "çeşit-ÜRÜN", "cr\rlf", " "]


def test_batch_items_keep_every_character_of_their_keys_and_hashes(db, clock):
    """The items of a batch are written in bulk (a COPY on PostgreSQL): keys with tabs,
    line breaks, backslashes or COPY's own null marker come back as they went in."""
    batch_items = [
        Item(key, {"sku": key}, object_id=n, version=n, payload_hash=f"h\t{n}\\")
        for n, key in enumerate(AWKWARD_KEYS, start=1)
    ]
    batch_items.append(Item("untracked", {"sku": "untracked"}))  # no object: not tracked
    with db.session() as session:
        channel = make_channel(session)
        batch = open_batch(
            session,
            channel.id,
            "productstock",
            "testmarket/stock",
            None,
            batch_items,
            clock=clock,
            result_key=lambda item: item.key.upper(),
        )
        batch_id = batch.id
    with db.session() as session:
        stored = session.execute(
            select(
                BatchRequestItem.object_key,
                BatchRequestItem.result_key,
                BatchRequestItem.payload_hash,
                BatchRequestItem.version,
                BatchRequestItem.in_flight,
                BatchRequestItem.status,
            )
            .where(BatchRequestItem.batch_id == batch_id)
            .order_by(BatchRequestItem.object_id)
        ).all()
    assert [tuple(row) for row in stored] == [
        (key, key.upper() if key.upper() != key else None, f"h\t{n}\\", n, True, "pending")
        for n, key in enumerate(AWKWARD_KEYS, start=1)
    ]


def test_a_later_push_updates_integration_actions_in_place_on_postgresql(pg_url, clock):
    """Each confirmation of a later push rewrites the action of every record it carried.
    PostgreSQL keeps room in the table's pages for that (fillfactor 50, migration 0020), so
    the new row versions stay in their page and no index grows (HOT updates): without the
    room, every update went to another page and into all three indexes."""
    from sqlalchemy import text

    from pazar.db import Database

    db = Database(pg_url)
    try:
        with db.session() as session:
            channel = make_channel(session)
        for push in (1, 2):
            with db.session() as session:
                carried = [
                    Item(f"SKU-{i}", {"stock": push}, object_id=i, version=100 * push + i)
                    for i in range(1, 401)
                ]
                batch = open_batch(
                    session, channel.id, "productstock", "testmarket/stock", 5, carried, clock=clock
                )
                mark_sent(batch, f"R{push}", clock=clock)
                batch_id = batch.id
            with db.session() as session:
                succeeded, refused = record_done(session, batch_id, {}, clock=clock, config={})
                # This transaction's own counts: the server's view of what it just did.
                hot, updated = session.execute(
                    text(
                        "SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_xact_user_tables "
                        "WHERE relname = 'integration_actions' AND schemaname = current_schema()"
                    )
                ).one()
            assert (succeeded, refused) == (400, {})
        assert updated == 400
        assert hot >= 390, f"only {hot} of {updated} updates stayed in their page"
        with db.session() as session:
            versions = session.scalars(select(IntegrationAction.version)).all()
        assert sorted(versions) == [200 + i for i in range(1, 401)]
    finally:
        db.dispose()

"""Manual trigger checks: which SKUs a flow can take, with the seed's messages."""

from __future__ import annotations

import pytest

from core.flows.model import FlowDef, StepDef
from core.pipeline import Item
from core.state.batches import open_batch
from core.state.outcomes import Failure, penalize
from core.state.triggers import NOT_IN_QUEUE_MESSAGE, check_trigger
from tests.test_state_cli import EXHAUSTING
from tests.test_state_support import make_catalog, make_channel


def _commerce_tables_exist() -> bool:
    import core.models  # noqa: F401
    from core.models.base import Base

    return {"products", "catalogs", "catalog_items", "stocks", "prices"} <= set(
        Base.metadata.tables
    )


pytestmark = pytest.mark.skipif(
    not _commerce_tables_exist(),
    reason="needs the local commerce tables (migration 0002)",
)


def test_trigger_check_reports_the_seed_messages(db, clock):
    flow = FlowDef(
        flow="stock",
        title="Stock",
        plugin="testmarket",
        source=StepDef("commerce.changed_stocks", {}, "/source"),
        sink=StepDef("testmarket.collect", {}, "/sink"),
        content_type="productstock",
    )
    with db.session() as session:
        channel = make_channel(session, "shop", EXHAUSTING)
        make_catalog(session.connection(), n=4, catalog_code="shop")
        make_catalog(session.connection(), n=1, catalog_code="elsewhere", start=5)
        penalize(
            session,
            channel_id=channel.id,
            config=EXHAUSTING,
            now=clock.now(),
            failures=[Failure("productstock", 1, "SKU-1", 5, "x", "remote")],
        )
        batch = open_batch(
            session,
            channel.id,
            "productstock",
            flow,
            None,
            [Item("SKU-2", {}, {"object_id": 2, "version": 6})],
            clock=clock,
        )
        local = batch.local_batch_id
    with db.session() as session:
        check = check_trigger(
            session,
            channel=channel,
            flow=flow,
            keys=["SKU-1", "SKU-2", "SKU-3", "SKU-5", "NOPE", "SKU-3"],
            now=clock.now(),
        )
    assert check.accepted == ["SKU-3"]
    assert dict(check.rejected) == {
        "SKU-1": NOT_IN_QUEUE_MESSAGE,
        "SKU-2": f"The relevant record is processing in another queue, LocalBatchId: {local}",
        "SKU-5": NOT_IN_QUEUE_MESSAGE,
        "NOPE": "The relevant SKU not exists in the commerce backend. SKU: NOPE",
    }

"""Manual trigger checks: which SKUs a flow can take, with the seed's messages."""

from __future__ import annotations

import pytest

from pazar.commerce.synthetic import make_catalog, make_channel
from pazar.flows.model import FlowDef, StepDef
from pazar.pipeline import Item
from pazar.state.batches import open_batch
from pazar.state.outcomes import Failure, penalize
from pazar.state.triggers import NOT_IN_QUEUE_MESSAGE, check_trigger
from tests.engine.test_state_cli import EXHAUSTING


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


STOCK_FLOW = FlowDef(
    flow="stock",
    title="Stock",
    plugin="testmarket",
    source=StepDef("commerce.changed_stocks", {}, "/source"),
    sink=StepDef("testmarket.collect", {}, "/sink"),
    content_type="productstock",
)


def test_trigger_check_reports_the_seed_messages(db, clock):
    flow = STOCK_FLOW
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
            [Item("SKU-2", {}, object_id=2, version=6)],
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


FLOW_YAML = """
flow: stock
title: Stock
plugin: testmarket
content_type: productstock
source: {type: commerce.changed_stocks}
steps:
  - type: core.map
    fields:
      merchantSku: "{{ record.sku }}"
      availableStock: "{{ record.quantity }}"
sink: {type: testmarket.collect}
"""


def test_trigger_command_runs_the_flow_for_just_the_given_records(cli, db, tmp_path):
    import json

    from sqlalchemy import select

    from pazar.models.state import IntegrationAction

    overlay = tmp_path / "flows"
    (overlay / "testmarket").mkdir(parents=True)
    (overlay / "testmarket" / "stock.yaml").write_text(FLOW_YAML, encoding="utf-8")
    with db.session() as session:
        make_channel(session, "shop", {})
        make_catalog(session.connection(), n=5, catalog_code="shop")
    csv_file = tmp_path / "skus.csv"
    csv_file.write_text("sku\nSKU-2\nSKU-4\nNOPE\n", encoding="utf-8")
    env = {"PAZAR_FLOWS_PATH": str(overlay)}
    result = cli(
        "trigger",
        "testmarket/stock",
        "--channel",
        "shop",
        "--csv",
        str(csv_file),
        "--now",
        "--json",
        env=env,
    )
    assert result.exit_code == 3, result.output  # some records could not be taken
    assert "NOPE: The relevant SKU not exists in the commerce backend. SKU: NOPE" in result.output
    summary = json.loads(result.output[result.output.index("{") : result.output.rindex("}") + 1])
    assert summary["accepted"] == ["SKU-2", "SKU-4"]
    assert summary["run"]["succeeded"] == 2
    with db.session() as session:
        sent = sorted(session.scalars(select(IntegrationAction.object_key)))
    assert sent == ["SKU-2", "SKU-4"]


def test_trigger_queues_for_a_running_daemon(cli, db, tmp_path):
    import json

    from sqlalchemy import select

    from pazar.clock import SystemClock
    from pazar.models.jobs import Daemon as DaemonRow
    from pazar.models.jobs import Job

    overlay = tmp_path / "flows"
    (overlay / "testmarket").mkdir(parents=True)
    (overlay / "testmarket" / "stock.yaml").write_text(FLOW_YAML, encoding="utf-8")
    with db.session() as session:
        make_channel(session, "shop", {})
        make_catalog(session.connection(), n=5, catalog_code="shop")
    env = {"PAZAR_FLOWS_PATH": str(overlay)}
    args = ("trigger", "testmarket/stock", "--channel", "shop", "--sku", "SKU-3")
    alone = cli(*args, env=env)
    assert alone.exit_code == 0, alone.output
    assert "no daemon is running: running in the foreground" in alone.output
    now = SystemClock().now()
    with db.session() as session:  # a daemon that heartbeats: what `pazar daemon` registers
        session.add(
            DaemonRow(id="d1", host="h", pid=1, workers=1, started_at=now, heartbeat_at=now)
        )
    queued = cli(*args, "--json", env=env)
    assert queued.exit_code == 0, queued.output
    job_id = json.loads(queued.output)["job_id"]
    with db.session() as session:
        job = session.get(Job, job_id)
        assert (job.flow, job.trigger, job.payload) == (
            "testmarket/stock",
            "manual",
            {"skus": ["SKU-3"]},
        )
        assert session.scalars(select(Job.id)).all() == [job_id]


def test_a_superseding_flow_takes_a_record_whose_older_value_is_in_flight(db, clock):
    """As its own run does: only the record in flight at its current version is refused."""
    from sqlalchemy import select

    from pazar.models.commerce import Product, Stock

    flow = STOCK_FLOW
    with db.session() as session:
        channel = make_channel(session, "shop", EXHAUSTING)
        make_catalog(session.connection(), n=3, catalog_code="shop")
        version = dict(
            session.execute(
                select(Product.sku, Stock.version).join(Stock, Stock.product_id == Product.id)
            ).all()
        )
        items = [
            Item("SKU-1", {}, object_id=1, version=version["SKU-1"]),  # its current value
            Item("SKU-2", {}, object_id=2, version=version["SKU-2"] - 1),  # an older one
        ]
        local = open_batch(
            session, channel.id, "productstock", flow, None, items, clock=clock
        ).local_batch_id
    in_flight = f"The relevant record is processing in another queue, LocalBatchId: {local}"
    with db.session() as session:
        keys = ["SKU-1", "SKU-2", "SKU-3"]
        waiting = check_trigger(session, channel=channel, flow=flow, keys=keys, now=clock.now())
        superseding = check_trigger(
            session, channel=channel, flow=flow, keys=keys, now=clock.now(), supersedes=True
        )
    assert waiting.accepted == ["SKU-3"]
    assert dict(waiting.rejected) == {"SKU-1": in_flight, "SKU-2": in_flight}
    assert superseding.accepted == ["SKU-2", "SKU-3"]
    assert dict(superseding.rejected) == {"SKU-1": in_flight}

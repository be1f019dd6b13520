"""`pazar trigger`: --force re-sends unchanged records, Product Create checks its records
like the other flows, and the exit code says whether records failed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pazar.clock import SystemClock
from pazar.commerce.synthetic import make_catalog, make_channel
from pazar.models.jobs import Daemon as DaemonRow
from pazar.models.jobs import Job
from pazar.state.outcomes import Failure, penalize
from pazar.state.triggers import ALREADY_CREATED_MESSAGE, NOT_IN_QUEUE_MESSAGE

STOCK = """
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
  - type: state.skip_unchanged
sink: {type: testmarket.collect}
"""

CREATE = """
flow: create
title: Create
plugin: testmarket
content_type: product
source: {type: commerce.new_products}
steps:
  - type: core.map
    fields:
      merchantSku: "{{ record.sku }}"
sink: {type: testmarket.collect}
"""


def _overlay(tmp_path: Path) -> dict[str, str]:
    overlay = tmp_path / "flows"
    (overlay / "testmarket").mkdir(parents=True)
    (overlay / "testmarket" / "stock.yaml").write_text(STOCK, encoding="utf-8")
    (overlay / "testmarket" / "create.yaml").write_text(CREATE, encoding="utf-8")
    return {"PAZAR_FLOWS_PATH": str(overlay)}


def _summary(output: str) -> dict[str, Any]:
    return json.loads(output[output.index("{") : output.rindex("}") + 1])


def test_force_resends_records_whose_payload_did_not_change(cli: Any, db: Any, tmp_path) -> None:
    env = _overlay(tmp_path)
    with db.session() as session:
        make_channel(session, "shop", {})
        make_catalog(session.connection(), n=3, catalog_code="shop")
    args = ("trigger", "testmarket/stock", "--channel", "shop", "--sku", "SKU-2", "--now")

    first = cli(*args, "--json", env=env)
    assert first.exit_code == 0, first.output
    assert _summary(first.output)["run"]["sent"] == 1

    again = cli(*args, "--json", env=env)
    assert again.exit_code == 0, again.output
    run = _summary(again.output)["run"]
    assert (run["sent"], run["skipped"]) == (0, 1)  # unchanged since it was sent

    forced = cli(*args, "--force", env=env)
    assert forced.exit_code == 0, forced.output
    assert "sent 1, succeeded 1, failed 0, skipped 0" in forced.output


def test_a_forced_trigger_queued_for_a_daemon_carries_the_force(
    cli: Any, db: Any, tmp_path
) -> None:
    env = _overlay(tmp_path)
    with db.session() as session:
        make_channel(session, "shop", {})
        make_catalog(session.connection(), n=3, catalog_code="shop")
        now = SystemClock().now()
        session.add(
            DaemonRow(id="d1", host="h", pid=1, workers=1, started_at=now, heartbeat_at=now)
        )
    result = cli(
        "trigger", "testmarket/stock", "--channel", "shop", "--sku", "SKU-1", "--force",
        "--json", env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with db.session() as session:
        job = session.get(Job, json.loads(result.output)["job_id"])
        assert job.payload == {"skus": ["SKU-1"], "resend": True}


def _import(cli: Any, tmp_path: Path, kind: str, text: str) -> None:
    file = tmp_path / f"{kind}.csv"
    file.write_text(text, encoding="utf-8")
    result = cli("catalog", "import", kind, str(file))
    assert result.exit_code == 0, result.output


def test_product_create_trigger_checks_its_records_with_the_seed_messages(
    cli: Any, db: Any, tmp_path
) -> None:
    env = _overlay(tmp_path)
    with db.session() as session:
        channel = make_channel(session, "shop", {})
    _import(
        cli,
        tmp_path,
        "products",
        "sku,name,categories,images\n"
        "P-1,One,c1,https://img.example/1.jpg\n"
        "P-2,Two,c1,\n"  # no image: not saleable
        "P-3,Three,c1,https://img.example/3.jpg\n",
    )
    _import(cli, tmp_path, "prices", "sku,price\nP-1,10\nP-2,10\nP-3,10\n")
    _import(cli, tmp_path, "stocks", "sku,quantity\nP-1,5\nP-2,5\nP-3,5\n")
    _import(cli, tmp_path, "catalog_items", "catalog,sku\nshop,P-1\nshop,P-2\nshop,P-3\n")
    with db.session() as session:
        from pazar.models.commerce import Product

        p3 = session.scalar(select(Product.id).where(Product.sku == "P-3"))
        penalize(
            session,
            channel_id=channel.id,
            config={},
            now=SystemClock().now(),
            failures=[Failure("product", p3, "P-3", 1, "CategoryNotFound", "remote")],
        )

    args = ("trigger", "testmarket/create", "--channel", "shop", "--now")
    result = cli(*args, "--sku", "P-1", "--sku", "P-2", "--sku", "P-3", "--sku", "NOPE", env=env)
    assert result.exit_code == 3, result.output
    assert "NOPE: The relevant SKU not exists in the commerce backend. SKU: NOPE" in result.output
    assert f"P-2: {NOT_IN_QUEUE_MESSAGE}" in result.output
    assert f"P-3: {NOT_IN_QUEUE_MESSAGE}" in result.output
    assert "sent 1, succeeded 1" in result.output  # P-1 only
    assert "3 of 4 record(s) could not be taken" in result.output

    again = cli(*args, "--sku", "P-1", env=env)
    assert again.exit_code == 3
    assert f"P-1: {ALREADY_CREATED_MESSAGE}" in again.output
    assert "none of the 1 record(s) could be taken" in again.output

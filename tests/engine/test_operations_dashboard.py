"""The dashboard's eight numbers against a hand-built catalog and snapshot where every
number is known, and the dashboard and reports commands as an operator uses them."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import select, update

from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.db import Database
from pazar.models.channels import Channel
from pazar.models.ops import ListingRead, ListingSnapshot
from pazar.ops.dashboard import dashboards
from pazar.state.selection import commerce_table
from tests.conftest import Cli

NOW = FixedClock().now()


def product(sku: str, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "name": f"Product {sku}", "categories": ["c"], "images": ["i"], **fields}


# sku: (product fields, price, stock, catalog item: None | "in" | "deleted")
CATALOG: dict[str, tuple[dict[str, Any], str | None, int | None, str | None]] = {
    "A": ({}, "10.00", 5, "in"),  # saleable, listed right
    "B": ({}, "20.00", 3, "in"),  # saleable, listed at another price
    "C": ({}, "30.00", 10, "in"),  # saleable, listed with another stock
    "D": ({}, "40.00", 2, "in"),  # saleable, not listed
    "E": ({}, "50.00", 6, "in"),  # saleable, listed but locked, at another price
    "F": ({"images": []}, "60.00", 4, "in"),  # no image: not saleable, not listed
    "G": ({"categories": ["c", "d"]}, "70.00", 1, "in"),  # two categories; listed, stock 0
    "H": ({}, None, 8, "in"),  # no price: not saleable, not listed
    "I": ({}, "5.00", 0, "in"),  # no stock: not saleable, not listed
    "J": ({"active": False}, "1.00", 100, "in"),  # inactive (listed anyway)
    "K": ({"product_type": "meta"}, "1.00", 3, "in"),  # not simple
    "L": ({}, "9.00", 9, None),  # not in the catalog (listed anyway)
    "M": ({}, "9.00", 9, "deleted"),  # removed from the catalog
    "N": ({}, "15.00", -2, "in"),  # negative stock
    "O": ({}, "12.00", None, "in"),  # no stock row; listed with stock 2
}

# sku: (price, stock, status, on sale) on the marketplace
LISTINGS: dict[str, tuple[str, int, str, bool]] = {
    "A": ("10.00", 4, "on_sale", True),  # stock 5 - buffer 1
    "B": ("19.00", 2, "on_sale", True),
    "C": ("30.00", 7, "on_sale", True),  # expected 9
    "E": ("55.00", 5, "locked: PriceLock", False),
    "G": ("70.00", 0, "on_sale", True),
    "J": ("1.00", 1, "on_sale", True),
    "L": ("9.00", 9, "on_sale", True),
    "O": ("12.00", 2, "on_sale", True),  # expected 0
    "ZZ": ("1.00", 3, "on_sale", True),  # a SKU pazar does not know
}

EXPECTED = {
    "total_skus": 11,  # A B C D E F G H I N O
    "skus_on_sale": 8,  # A B C G J L O ZZ
    "sku_difference": 2,  # D E
    "price_differences": 2,  # B E
    "total_stock": 5 + 3 + 10 + 2 + 6 + 4 + 1 + 8,  # A..H; I 0, N below 0, O none
    "stock_on_sale": 4 + 2 + 7 + 0 + 1 + 9 + 2 + 3,
    "stock_difference": 2 + 6 + 4 + 8,  # D E F H
    "stock_differences": 2,  # C O
}


def build(db: Database, tmp: Path, *, snapshot: bool = True) -> int:
    products = [product(sku, **fields) for sku, (fields, _, _, _) in CATALOG.items()]
    prices = [{"sku": s, "price": p} for s, (_, p, _, _) in CATALOG.items() if p is not None]
    # An import refuses negative stock; a commerce backend may still report one (N, below).
    stocks = [
        {"sku": s, "quantity": max(q, 0)} for s, (_, _, q, _) in CATALOG.items() if q is not None
    ]
    items = [
        {"catalog": "main", "sku": s, "deleted": where == "deleted"}
        for s, (_, _, _, where) in CATALOG.items()
        if where is not None
    ]
    with db.session() as session:
        for kind, rows in (
            ("products", products),
            ("prices", prices),
            ("stocks", stocks),
            ("catalog_items", items),
        ):
            path = tmp / f"{kind}.json"
            path.write_text(json.dumps(rows))
            import_file(session, kind, path)
        products_t, stocks_t = commerce_table("products"), commerce_table("stocks")
        negative = {s: q for s, (_, _, q, _) in CATALOG.items() if q is not None and q < 0}
        for sku, quantity in negative.items():
            product_id = select(products_t.c.id).where(products_t.c.sku == sku).scalar_subquery()
            session.execute(
                update(stocks_t)
                .where(stocks_t.c.product_id == product_id)
                .values(quantity=quantity)
            )
        channel = Channel(
            slug="c1",
            name="C1",
            plugin="hepsiburada",
            status="active",
            config={"catalog_code": "main", "buffer_stock": 1},
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(channel)
        session.flush()
        if snapshot:
            read = ListingRead(channel_id=channel.id, status="complete", listings=9, started_at=NOW)
            read.finished_at = NOW
            session.add(read)
            session.flush()
            session.add_all(
                ListingSnapshot(read_id=read.id, sku=s, price=p, stock=q, status=status, on_sale=on)
                for s, (p, q, status, on) in LISTINGS.items()
            )
        return channel.id


def test_the_eight_numbers_on_a_catalog_where_each_is_known(db: Database, tmp_path: Path) -> None:
    build(db, tmp_path)
    with db.session() as session:
        board = dashboards(session, "c1")[0]
    assert board.numbers() == EXPECTED
    assert board.snapshot_listings == 9


def test_without_a_snapshot_the_marketplace_numbers_are_unknown(
    db: Database, tmp_path: Path
) -> None:
    build(db, tmp_path, snapshot=False)
    with db.session() as session:
        board = dashboards(session, "c1")[0]
    assert board.numbers() == {
        "total_skus": 11,
        "skus_on_sale": None,
        "sku_difference": None,
        "price_differences": None,
        "total_stock": EXPECTED["total_stock"],
        "stock_on_sale": None,
        "stock_difference": None,
        "stock_differences": None,
    }


@pytest.fixture
def built(cli: Cli, tmp_path: Path) -> Cli:
    database = Database(cli.database_url)
    build(database, tmp_path)
    database.dispose()
    return cli


def test_dashboard_command(built: Cli) -> None:
    result = built("dashboard", "--channel", "c1", "--json")
    assert result.exit_code == 0, result.output
    (board,) = json.loads(result.output)
    assert {k: board[k] for k in EXPECTED} == EXPECTED
    table = built("dashboard")
    assert table.exit_code == 0, table.output
    assert "Number of SKUs with price differences (corrected)" in table.output
    assert "listings snapshot of 2026-01-01 00:00:00 UTC (9 listings)" in table.output


def test_dashboard_of_an_unknown_channel(built: Cli) -> None:
    result = built("dashboard", "--channel", "c2")
    assert result.exit_code == 2
    assert result.output.strip() == "error: no channel 'c2'"


def sheet_rows(data: bytes) -> list[list[str]]:
    """The cells of an XLSX's first sheet, as text (XlsxWriter's constant-memory output)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    root = ElementTree.fromstring(
        zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    )
    rows = []
    for row in root.iterfind(".//m:row", ns):
        cells = []
        for cell in row.iterfind("m:c", ns):
            text = cell.find("m:is/m:t", ns)
            value = cell.find("m:v", ns)
            cells.append(
                text.text if text is not None else (value.text if value is not None else "")
            )
        rows.append(cells)
    width = len(rows[0]) if rows else 0  # empty cells are not written
    return [row + [""] * (width - len(row)) for row in rows]


def test_reports_in_every_format(built: Cli, tmp_path: Path) -> None:
    result = built("reports", "not_listed", "--channel", "c1", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["sku"], r["reason"], r["detail"]) for r in rows] == [
        ("D", "never_sent", ""),
        ("E", "not_salable", "locked: PriceLock"),
    ]
    assert rows[0]["price"] == "40.00" and rows[0]["stock"] == 2

    result = built("reports", "price_differences", "--channel", "c1")
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        [
            "sku",
            "name",
            "pazar_price",
            "marketplace_price",
            "listing_status",
            "state",
            "detail",
        ],
        ["B", "Product B", "20.00", "19.00", "on_sale", "correctable", ""],
        ["E", "Product E", "50.00", "55.00", "locked: PriceLock", "correctable", ""],
    ]

    out = tmp_path / "stock.xlsx"
    result = built(
        "reports", "stock_differences", "--channel", "c1", "--format", "xlsx", "--output", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "stock_differences: 2 rows written to" in result.output
    assert sheet_rows(out.read_bytes()) == [
        [
            "sku",
            "name",
            "pazar_stock",
            "expected_stock",
            "marketplace_stock",
            "listing_status",
            "state",
            "detail",
        ],
        ["C", "Product C", "10", "9", "7", "on_sale", "correctable", ""],
        ["O", "Product O", "0", "0", "2", "on_sale", "no_local_stock", ""],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("reports", "not_listd", "--channel", "c1"),
            "error: unknown report 'not_listd'; did you mean 'not_listed'?; one of not_listed, "
            "price_differences, stock_differences",
        ),
        (
            ("reports", "not_listed", "--channel", "c1", "--format", "xls"),
            "error: unknown format 'xls'; did you mean 'xlsx'?; one of csv, json, xlsx",
        ),
        (
            ("reports", "not_listed", "--channel", "c9"),
            "error: no channel 'c9'",
        ),
    ],
)
def test_bad_report_requests_change_nothing(
    built: Cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "report.csv"
    result = built(*args, "--output", str(out))
    assert result.exit_code == 2
    assert result.output.strip() == message
    assert not out.exists()


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"penalty": "no category mapping matches", "penalty_reason": "mapping"},
            ("unmapped", "no category mapping matches"),
        ),
        (
            {"penalty": "InvalidBarcode", "penalty_reason": "remote"},
            ("penalised", "InvalidBarcode"),
        ),
        ({"local_batch_id": "abc-1"}, ("in_flight", "LocalBatchId: abc-1")),
        (
            {"other_penalty": "productstock: ListingNotFound"},
            ("penalised", "productstock: ListingNotFound"),
        ),
        ({"listing_status": "suspended"}, ("not_salable", "suspended")),
        (
            {"sent_at": NOW, "sent_status": "success"},
            (
                "waiting_for_product",
                "sent 2026-01-01 00:00:00 UTC; not listed by the marketplace yet",
            ),
        ),
        ({}, ("never_sent", "")),
    ],
)
def test_not_listed_reasons_in_order(row: dict[str, Any], expected: tuple[str, str]) -> None:
    from pazar.ops.reports import not_listed_reason

    assert not_listed_reason(row) == expected


def test_not_listed_knows_mapping_penalties_and_uploads_in_flight(
    db: Database, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from pazar.models.commerce import Product
    from pazar.models.state import BatchRequest, BatchRequestItem, FailedIntegration
    from pazar.ops.reports import write_report

    channel_id = build(db, tmp_path)
    with db.session() as session:
        ids = dict(session.execute(select(Product.sku, Product.id)).all())
        session.add(
            FailedIntegration(
                channel_id=channel_id,
                content_type="product",
                object_id=ids["D"],
                object_key="D",
                reason_type="mapping",
                message="no category of the mapping matches local category 'c'",
                retry_count=1,
                max_retry_count=3,
                retry_interval=60,
                first_failed_at=NOW,
                last_failed_at=NOW,
            )
        )
        batch = BatchRequest(
            local_batch_id="lb-7",
            channel_id=channel_id,
            content_type="product",
            flow="hepsiburada/product_update",
            status="sent_to_remote",
            created_at=NOW,
            updated_at=NOW,
            sent_at=NOW,
        )
        session.add(batch)
        session.flush()
        session.add(
            BatchRequestItem(
                batch_id=batch.id,
                channel_id=channel_id,
                content_type="product",
                object_id=ids["E"],
                object_key="E",
                in_flight=True,
            )
        )
        channel = session.get(Channel, channel_id)
        session.expunge(channel)
    out = io.BytesIO()
    write_report(db, channel, "not_listed", "json", out)
    rows = json.loads(out.getvalue())
    assert [(r["sku"], r["reason"], r["detail"]) for r in rows] == [
        ("D", "unmapped", "no category of the mapping matches local category 'c'"),
        ("E", "in_flight", "LocalBatchId: lb-7"),
    ]

"""Importing the seller's catalog as an operator does it: pazar catalog import."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.commerce.local import LocalCommerce
from pazar.db import Database
from pazar.models.commerce import CancellationRequest, Price, Product, Stock
from pazar.plugins import load_plugins


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _products(tmp_path: Path, n: int = 5) -> Path:
    lines = ["sku,name,categories,images"] + [
        f'P-{i},Product {i},"[""A/B""]",https://img/{i}.jpg' for i in range(1, n + 1)
    ]
    return _write(tmp_path / "products.csv", "\n".join(lines) + "\n")


def _snapshot(url: str) -> list[tuple]:
    db = Database(url)
    with db.session() as s:
        rows = [
            tuple(r) for r in s.execute(select(Product.sku, Product.version).order_by(Product.sku))
        ]
        rows += [
            tuple(r) for r in s.execute(select(Stock.product_id, Stock.quantity, Stock.version))
        ]
        rows += [tuple(r) for r in s.execute(select(Price.product_id, Price.price, Price.version))]
    db.dispose()
    return rows


def test_import_products_prices_stocks(cli, db_url, tmp_path: Path) -> None:  # noqa: ANN001
    result = cli("catalog", "import", "products", str(_products(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "imported 5 products rows" in result.output
    prices = _write(tmp_path / "prices.csv", 'sku,price\nP-1,10.50\nP-2,"20,25"\n')
    assert cli("catalog", "import", "prices", str(prices)).exit_code == 0
    stocks = tmp_path / "stocks.jsonl"
    stocks.write_text(
        json.dumps({"sku": "P-1", "quantity": 4, "extra": {"maximumPurchasableQuantity": 2}}) + "\n"
    )
    assert cli("catalog", "import", "stocks", str(stocks)).exit_code == 0
    exported = cli("catalog", "export", "prices")
    assert exported.output.splitlines()[1:] == ["P-1,10.50,,TRY,,6", "P-2,20.25,,TRY,,7"]
    stocks_out = cli("catalog", "export", "stocks", "--format", "jsonl").output
    assert json.loads(stocks_out)["extra"] == {"maximumPurchasableQuantity": 2}


def test_a_malformed_row_in_the_middle_changes_nothing(cli, db_url, tmp_path: Path) -> None:  # noqa: ANN001
    cli("catalog", "import", "products", str(_products(tmp_path, 12000)))
    before = _snapshot(db_url)
    rows = ["sku,quantity"] + [f"P-{i},{i}" for i in range(1, 12001)]
    rows[6001] = "P-2,abc"  # line 6002 of the file, in the second chunk
    bad = _write(tmp_path / "stocks.csv", "\n".join(rows) + "\n")
    result = cli("catalog", "import", "stocks", str(bad))
    assert result.exit_code == 2
    assert "stocks.csv:6002:2: column 'quantity': 'abc' is not an integer" in result.output
    assert _snapshot(db_url) == before


def test_unknown_sku_and_bad_header_are_named(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("catalog", "import", "products", str(_products(tmp_path, 2)))
    result = cli(
        "catalog", "import", "prices", str(_write(tmp_path / "p.csv", "sku,price\nP-9,1\n"))
    )
    assert result.exit_code == 2 and "p.csv:2: column 'sku': unknown SKU 'P-9'" in result.output
    result = cli("catalog", "import", "stocks", str(_write(tmp_path / "s.csv", "sku,qty\nP-1,1\n")))
    assert result.exit_code == 2
    assert "missing column(s) quantity; unknown column(s) qty" in result.output


def test_spreadsheet_headers_are_read_whatever_their_case_and_a_misspelt_one_is_named(
    cli,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    cli("catalog", "import", "products", str(_products(tmp_path, 2)))
    stocks = _write(tmp_path / "s.csv", "SKU, Quantity \nP-1,7\n")
    result = cli("catalog", "import", "stocks", str(stocks))
    assert result.exit_code == 0, result.output
    exported = cli("catalog", "export", "stocks", "--format", "jsonl").output.splitlines()
    assert [(r["sku"], r["quantity"]) for r in map(json.loads, exported)] == [("P-1", 7)]
    prices = _write(tmp_path / "p.csv", "sku,price,curency\nP-1,5,TRY\n")
    result = cli("catalog", "import", "prices", str(prices))
    assert result.exit_code == 2
    assert "p.csv:1: unknown column(s) curency (did you mean 'currency'?)" in result.stderr


def test_reimport_and_same_value_keep_versions(cli, db_url, tmp_path: Path) -> None:  # noqa: ANN001
    products = _products(tmp_path, 3)
    cli("catalog", "import", "products", str(products))
    before = _snapshot(db_url)
    cli("catalog", "import", "products", str(products))
    assert _snapshot(db_url) == before
    cli("stock", "set", "P-1", "5")
    first = _snapshot(db_url)
    cli("stock", "set", "P-1", "5")
    assert _snapshot(db_url) == first
    cli("stock", "set", "P-1", "6")
    changed = dict((r[0], r[2]) for r in _snapshot(db_url) if len(r) == 3 and r[1] == 6)
    assert changed and max(changed.values()) > max(r[-1] for r in first)
    assert cli("stock", "set", "NOPE", "1").exit_code == 2
    assert cli("price", "set", "P-1", "-3").exit_code == 2


def test_refund_reject_takes_reason_explanation_and_photos(cli, db_url, tmp_path: Path) -> None:  # noqa: ANN001
    cli("catalog", "import", "products", str(_products(tmp_path, 1)))
    cli("channel", "add", "testmarket", "--slug", "tm")
    db = Database(db_url)
    plugins = load_plugins()
    with db.session() as s:
        channel = ChannelService(s, plugins.registry, clock=FixedClock()).get("tm")
        commerce = LocalCommerce(s, channel)
        order = {
            "remote_number": "4001",
            "package_id": "PK1",
            "number": "HB-4001-1",
            "items": [{"remote_id": "L1", "sku": "P-1", "quantity": 1, "price": "10"}],
        }
        order_id, created = commerce.create_order(order)
        assert created and commerce.create_order(order) == (order_id, False)
        item_id = s.scalar(select(CancellationRequest.id).limit(1))
        assert item_id is None
        from pazar.models.commerce import OrderItem

        item = s.scalar(select(OrderItem.id).where(OrderItem.order_id == order_id))
        request_id, _ = commerce.create_cancellation_request(
            {"order_item_id": item, "remote_id": "C1"}
        )
    db.dispose()
    result = cli(
        "refunds",
        "reject",
        str(request_id),
        "--reason",
        "Kullanılmış ürün",
        "--explanation",
        "Etiket yok",
        "--photo-url",
        "https://img/1.jpg",
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(cli("refunds", "show", str(request_id), "--json").output)
    assert (shown["status"], shown["reason"], shown["photo_urls"]) == (
        "rejected",
        "Kullanılmış ürün",
        ["https://img/1.jpg"],
    )
    again = cli("refunds", "approve", str(request_id))
    assert again.exit_code == 2 and "already rejected" in again.output
    bad = cli(
        "refunds",
        "reject",
        str(request_id),
        "--reason",
        "x",
        "--explanation",
        "y",
        "--photo-url",
        "ftp://x",
    )
    assert bad.exit_code == 2
    listed = json.loads(cli("orders", "list", "--channel", "tm", "--json").output)
    assert [o["number"] for o in listed] == ["HB-4001-1"]


def test_an_order_given_twice_in_one_batch_is_created_once(db: Database) -> None:
    from datetime import UTC, datetime

    from pazar.commerce.local import LocalCommerce
    from pazar.models.channels import Channel

    with db.session() as session:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        channel = Channel(
            slug="c",
            name="c",
            plugin="hepsiburada",
            status="active",
            config={},
            created_at=now,
            updated_at=now,
        )
        session.add(channel)
        session.flush()
        order = {"remote_number": "1", "package_id": "P", "items": []}
        results = LocalCommerce(session, channel).create_orders([order, dict(order)])
    assert results[0][1] is True and results[1] == (results[0][0], False, None)

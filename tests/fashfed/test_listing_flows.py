"""Fashfed's Product, Product Delete, Stock and Price flows end to end over real HTTP: what
Fashfed receives, what becomes integrated, what is penalised, and what an outage leaves."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from pazar.commerce.local import set_price, set_stock
from pazar.models.commerce import CatalogItem, Product
from pazar.models.state import IntegrationAction
from tests.fashfed.world import ELBISE, SKUS, World

pytest_plugins = ("tests.fashfed.world",)


def integrated(world: World, content_type: str) -> list[str]:
    with world.db.session() as session:
        return sorted(
            session.scalars(
                select(IntegrationAction.object_key).where(
                    IntegrationAction.content_type == content_type,
                    IntegrationAction.status == "success",
                )
            )
        )


def test_product_sends_mapped_products_with_price_and_stock(world: World) -> None:
    world.catalog()
    result = world.sync("product")
    assert (result.read, result.sent) == (4, 4)
    row = world.sandbox.received("products")["FF-2"]
    assert row == {
        "sku": "FF-2",
        "name": "Elbise FF-2",
        "base_code": "BC-FF-2",
        "description": "Dress FF-2",
        "category": ELBISE,
        "attributes": {"renk": "Siyah", "beden": "M"},
        "images": ["https://img/FF-2.jpg"],
        "price": "101.50",
        "retail_price": "201.00",
        "currency": "TRY",
        "stock": 1,  # 2 minus buffer_stock 1
    }
    assert integrated(world, "product") == SKUS
    assert world.run("product").read == 0  # created once


def test_a_missing_mandatory_attribute_is_the_seeds_message_and_a_mapping_penalty(
    world: World,
) -> None:
    world.catalog()
    with world.db.session() as session:
        session.execute(
            update(Product).where(Product.sku == "FF-3").values(attributes={"size": "M"})
        )
    world.sync("product")
    penalties = world.penalties()
    assert list(penalties) == ["FF-3"]
    assert penalties["FF-3"].reason_type == "mapping"
    assert "Renk attribute is required" in penalties["FF-3"].message
    assert "FF-3" not in world.sandbox.received("products")
    assert integrated(world, "product") == ["FF-1", "FF-2", "FF-4"]


def test_a_row_fashfed_rejects_penalises_only_that_sku_with_fashfeds_words(world: World) -> None:
    world.catalog()
    world.sandbox.faults(reject_skus={"FF-1": 'attributes.renk: "Siyah" is not a valid choice.'})
    world.sync("product")
    penalties = world.penalties()
    assert list(penalties) == ["FF-1"]
    assert penalties["FF-1"].reason_type == "remote"
    assert penalties["FF-1"].message == 'attributes.renk: "Siyah" is not a valid choice.'
    # Fashfed's reading: DEFAULT MAX_RETRY_COUNT 2 = two retries after the first failure.
    assert penalties["FF-1"].max_retry_count == 3
    assert integrated(world, "product") == ["FF-2", "FF-3", "FF-4"]


def test_product_update_sends_changed_products_again_and_only_those(
    world: World, tmp_path: Path
) -> None:
    world.catalog()
    world.sync("product")
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(
        "sku,name,base_code,categories,images,attributes\n"
        'FF-4,Yeni Elbise,BC-FF-4,"[""Giyim/Kadın/Elbise""]",https://img/FF-4.jpg,'
        '"{""color"": ""Siyah"", ""size"": ""M"", ""description"": ""Dress FF-4""}"\n',
        encoding="utf-8",
    )
    imported = world.cli("catalog", "import", "products", str(renamed))
    assert imported.exit_code == 0, imported.output
    result = world.sync("product_update")
    assert result.sent == 1
    bulks = world.sandbox.get("received", kind="products")["bulks"]
    assert [r["sku"] for r in bulks[-1]["rows"]] == ["FF-4"]
    assert bulks[-1]["rows"][0]["name"] == "Yeni Elbise"
    assert world.sync("product_update").sent == 0


def test_product_delete_sets_stock_zero_once(world: World) -> None:
    world.catalog()
    world.sync("product")
    with world.db.session() as session:
        product = session.scalar(select(Product.id).where(Product.sku == "FF-2"))
        session.execute(
            update(CatalogItem).where(CatalogItem.product_id == product).values(deleted=True)
        )
    result = world.run("product_delete")
    assert result.sent == 1
    assert world.sandbox.received("stocks")["FF-2"] == {"sku": "FF-2", "stock": 0}
    assert world.run("product_delete").read == 0


def sell_listings_made_elsewhere(world: World) -> None:
    """The seller's products exist on Fashfed already (made outside pazar): Product is off,
    so stock and price go out at once instead of waiting for pazar to create them."""
    world.set("feature_flags.product=false")


def test_stock_minus_buffer_never_below_zero(world: World) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    result = world.sync("stock")
    assert result.sent == 4
    sent = {sku: row["stock"] for sku, row in world.sandbox.received("stocks").items()}
    assert sent == {"FF-1": 0, "FF-2": 1, "FF-3": 2, "FF-4": 3}
    assert integrated(world, "productstock") == SKUS
    with world.db.session() as session:
        set_stock(session, "FF-1", 10)
    again = world.sync("stock")
    assert again.sent == 1 and world.sandbox.received("stocks")["FF-1"]["stock"] == 9


def test_stock_of_a_product_fashfed_does_not_have_is_penalised(world: World) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS[:3]])
    world.sync("stock")
    penalties = world.penalties()
    assert list(penalties) == ["FF-4"] and penalties["FF-4"].reason_type == "remote"
    assert penalties["FF-4"].message == "Product not found: FF-4"


def test_price_sends_decimal_strings_and_a_rejected_price_is_penalised(world: World) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    with world.db.session() as session:
        set_price(session, "FF-3", 300, retail_price=250)  # retail below price
    world.sync("price")
    rows = world.sandbox.received("prices")
    assert rows["FF-1"] == {
        "sku": "FF-1",
        "price": "100.50",
        "retail_price": "200.00",
        "currency": "TRY",
    }
    penalties = world.penalties()
    assert list(penalties) == ["FF-3"]
    assert "retail_price" in penalties["FF-3"].message


def test_a_5xx_mid_run_fails_the_run_and_penalises_nothing(world: World) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    world.sandbox.faults(http_error={"status": 503, "count": 10, "path": "/stocks/bulk/"})
    failed = world.attempt("stock")
    assert failed.status == "failed" and failed.retryable
    assert "503" in (failed.error or "")
    assert world.penalties() == {} and integrated(world, "productstock") == []
    world.sandbox.faults(http_error=None)
    retried = world.sync("stock")
    assert retried.sent == 4 and integrated(world, "productstock") == SKUS


def test_an_outage_while_checking_leaves_the_bulk_open_and_penalises_nothing(
    world: World,
) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    world.run("stock")
    world.sandbox.faults(http_error={"status": 500, "count": 10, "path": "/stocks/bulk/"})
    assert world.attempt("check_uploads").status == "failed"
    assert world.penalties() == {}
    world.sandbox.faults(http_error=None)
    world.run("check_uploads")
    world.run("check_uploads")
    assert integrated(world, "productstock") == SKUS


def test_a_429_storm_delays_but_loses_nothing(world: World) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    world.sandbox.faults(rate_limit={"count": 4, "retry_after": 3})
    result = world.sync("stock")
    assert result.failed == 0 and integrated(world, "productstock") == SKUS
    assert world.naps.calls.count(3.0) == 4 and world.penalties() == {}


def test_a_bulk_that_never_finishes_is_failed_after_expiration_hour(world: World) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    world.sandbox.faults(stuck_bulks=1)
    world.run("stock")
    world.run("check_uploads")
    world.clock.advance(hours=5)
    world.run("check_uploads")
    assert world.penalties() == {}  # EXPIRATION_HOUR 6: still waiting
    world.clock.advance(hours=1)
    world.run("check_uploads")
    penalties = world.penalties()
    assert sorted(penalties) == SKUS
    assert "no answer from the marketplace within 6 h" in penalties["FF-1"].message


def test_the_seeds_csv_trigger_messages(world: World, tmp_path: Path) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("SKU;\nFF-1\n", encoding="utf-8")
    refused = world.cli("trigger", "fashfed/stock", "--channel", "ff", "--csv", str(wrong), "--now")
    assert refused.exit_code == 2
    assert (
        "sku cannot identify please check your csv file. Header value should be set this: sku"
        in refused.output
    )
    assert "Traceback" not in refused.output
    world.run("stock")  # FF-1..4 now in flight in an open bulk
    good = tmp_path / "skus.csv"
    good.write_text("sku\nFF-1\nNOPE\n", encoding="utf-8")
    result = world.cli("trigger", "fashfed/stock", "--channel", "ff", "--csv", str(good), "--now")
    assert "NOPE: The relevant SKU not exists in the commerce backend. SKU: NOPE" in result.output
    assert (
        "FF-1: The relevant record is processing in another queue, LocalBatchId:" in result.output
    )


def test_a_newer_price_goes_out_while_the_older_bulk_is_unconfirmed(world: World) -> None:
    sell_listings_made_elsewhere(world)
    world.sandbox.post("seed", products=[{"sku": s} for s in SKUS])
    world.sandbox.faults(stuck_bulks=1)  # the first price bulk never finishes
    world.run("price")
    world.clock.advance(hours=3)
    with world.db.session() as session:
        set_price(session, "FF-2", 150)
    again = world.run("price")
    assert (again.read, again.sent) == (1, 1)  # FF-2's older bulk is unanswered: no matter
    for _ in range(2):
        world.run("check_uploads")
    fashfed = {p["sku"]: p for p in world.sandbox.get("products")["products"]}
    assert fashfed["FF-2"]["price"] == "150.00"
    assert integrated(world, "productprice") == ["FF-2"]
    assert world.run("price").read == 0
    world.clock.advance(hours=3)  # the first bulk is 6 h old: failed
    world.run("check_uploads")
    assert sorted(world.penalties()) == ["FF-1", "FF-3", "FF-4"]  # FF-2 went out since

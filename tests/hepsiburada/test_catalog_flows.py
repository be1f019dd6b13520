"""Hepsiburada catalog and product flows end to end, over real HTTP against the sandbox:
category tree and attributes into the store, the mapping, Product Create / Update / Delete,
Compare Attributes, and the category flows queued by a config change and run by the daemon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.daemon import Daemon
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.mapping.service import apply_mapping
from pazar.models.marketplace import MarketplaceAttribute, MarketplaceCategory
from pazar.models.runs import Run, RunLog
from pazar.models.state import BatchRequest, IntegrationAction, IntegrationWait
from pazar.templating import TemplateEnv
from tests.hepsiburada.helpers import ChannelFlows, SandboxHandle, sleepless_plugins

pytest_plugins = ("tests.hepsiburada.helpers",)

PRODUCTS = {
    # sku: (local category, attributes)
    "TS-1": ("Giyim/Tişört", {"color": "Lacivert", "size": "M"}),
    "TS-2": ("Giyim/Tişört", {"color": "Navy", "size": "L"}),  # Navy -> Lacivert by value map
    "TS-3": ("Giyim/Tişört", {"color": "Siyah"}),  # no size: Beden is mandatory
    "MUG-1": ("Ev/Kupa", {"color": "Beyaz", "volume": "350 ml"}),
}

MAPPING = """\
version: 1
defaults:
  merchantSku: "{{ product.sku }}"
  Barcode: "{{ product.attributes.barcode }}"
  UrunAdi: "{{ product.name }}"
  UrunAciklamasi: "{{ product.name }} açıklaması"
  Marka: Pazar
  GarantiSuresi: 24
  kg: 1
  tax_vat_rate: "{{ product.tax_rate | int }}"
categories:
  - category: 60001001
    match: {local_category: "Giyim/Tişört"}
    attributes:
      Renk: {value: "{{ product.attributes.color }}", values: colours}
      Beden: "{{ product.attributes.size }}"
  - category: 60003001
    match: {local_category: "Ev/*"}
    attributes:
      Renk: "{{ product.attributes.color }}"
      Hacim: "{{ product.attributes.volume }}"
value_maps:
  colours: {Navy: Lacivert}
"""


class CatalogWorld(ChannelFlows):
    """A Hepsiburada channel on the sandbox with four products, and its flows."""

    def __init__(self, db: Database, sandbox: SandboxHandle, clock: FixedClock, tmp: Path) -> None:
        self.db, self.sandbox, self.clock, self.tmp = db, sandbox, clock, tmp
        plugins = sleepless_plugins(lambda channel: channel.config)
        self.hook = plugins.hook
        registry = plugins.registry
        self.registry = registry
        self.flows = load_flows(registry)
        rows = [
            f'{sku},Ürün {sku},"[""{cat}""]",https://img/{sku}.jpg,"{json.dumps({**attrs, "barcode": "869" + sku}, ensure_ascii=False).replace(chr(34), chr(34) * 2)}"'
            for sku, (cat, attrs) in PRODUCTS.items()
        ]
        self.load("products", "sku,name,categories,images,attributes\n" + "\n".join(rows))
        self.load("prices", "sku,price,tax_rate\n" + "".join(f"{s},130.5,20\n" for s in PRODUCTS))
        self.load("stocks", "sku,quantity\n" + "".join(f"{s},10\n" for s in PRODUCTS))
        self.load("catalog_items", "catalog,sku\n" + "".join(f"hb,{s}\n" for s in PRODUCTS))
        self.config = sandbox.config(
            category_ids=[2147, 3000],
            default_reason_id=1,
            cancellation_reason_id=1,
            cargo_company_mapping={"default": 1},
            feature_flags={"product_create": True, "product_update": True, "delete_product": True},
            catalog_code="hb",
            buffer_stock=3,
            product_shipping_info_extra_data={"claimAddressLabel": "IKINCIL"},
        )
        with db.session() as session:
            ChannelService(session, registry, clock=clock).apply(
                {
                    "channel": "hb",
                    "plugin": "hepsiburada",
                    "config": self.config,
                    "status": "active",
                }
            )

    def load(self, kind: str, text: str) -> None:
        path = self.tmp / f"{kind}.csv"
        path.write_text(text + "\n", encoding="utf-8")
        with self.db.session() as session:
            import_file(session, kind, path)

    def prepare(self) -> None:
        self.run("category_node")
        self.run("category_attributes")
        with self.db.session() as session:
            channel = ChannelService(session, self.registry, clock=self.clock).get("hb")
            apply_mapping(
                session, channel, MAPPING, "mapping.yaml", TemplateEnv(), self.clock.now()
            )

    def service_set(self, *assignments: str) -> None:
        with self.db.session() as session:
            ChannelService(session, self.registry, clock=self.clock).set("hb", list(assignments))

    def waits(self) -> dict[tuple[str, str], str]:
        """(content type, SKU) → what each waiting record waits for."""
        with self.db.session() as session:
            rows = session.execute(
                select(
                    IntegrationWait.content_type, IntegrationWait.object_key, IntegrationWait.needs
                )
            ).all()
        return {(ct, key): needs for ct, key, needs in rows}

    def cli_trigger(self, flow: str, *skus: str) -> Any:
        from click.testing import CliRunner

        from pazar.cli import cli
        from pazar.plugins import reset_plugin_system

        reset_plugin_system()
        args = ["trigger", flow, "--channel", "hb", *(a for s in skus for a in ("--sku", s))]
        return CliRunner().invoke(cli, args, env={"PAZAR_DATABASE_URL": self.db.url})

    def imported(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for batch in self.sandbox.received("products")["batches"]:
            for row in batch["rows"]:
                out[row["attributes"]["merchantSku"]] = row
        return out


@pytest.fixture
def world(
    db: Database, hb_sandbox: SandboxHandle, clock: FixedClock, tmp_path: Path
) -> CatalogWorld:
    return CatalogWorld(db, hb_sandbox, clock, tmp_path)


def test_category_node_and_attributes_fill_the_store(world: CatalogWorld) -> None:
    nodes = world.run("category_node")
    assert nodes.read == 10  # Moda's and Ev & Yaşam's subtrees, including the archived leaf
    with world.db.session() as session:
        paths = dict(
            session.execute(select(MarketplaceCategory.remote_id, MarketplaceCategory.path)).all()
        )
        available = dict(
            session.execute(
                select(MarketplaceCategory.remote_id, MarketplaceCategory.available)
            ).all()
        )
    assert paths["60001001"] == "Moda > Giyim > Tişört"
    assert paths["60003001"] == "Ev & Yaşam > Kupa"
    assert available["60003002"] is False  # archived on Hepsiburada: no products go there

    attrs = world.run("category_attributes")
    assert attrs.read == 6 and attrs.failed == 0  # 5 usable leaf categories + the defaults
    with world.db.session() as session:
        rows = session.execute(
            select(
                MarketplaceAttribute.category_remote_id,
                MarketplaceAttribute.name,
                MarketplaceAttribute.mandatory,
            )
        ).all()
    by_category: dict[str, set[str]] = {}
    for category, name, _ in rows:
        by_category.setdefault(category, set()).add(name)
    assert by_category["60003001"] == {"Materyal", "Renk", "Hacim"}
    assert "Satıcı Stok Kodu" in by_category[""] and "Fiyat" not in by_category[""]

    # the same pull again changes nothing
    again = world.run("category_node")
    assert again.read == 10
    with world.db.session() as session:
        assert (
            session.scalar(
                select(MarketplaceCategory.path).where(MarketplaceCategory.remote_id == "60001001")
            )
            == "Moda > Giyim > Tişört"
        )


def test_product_create_sends_mapped_products_and_tracks_them_until_matched(
    world: CatalogWorld,
) -> None:
    world.prepare()
    created = world.run("product_create")
    assert (created.read, created.sent, created.failed) == (4, 3, 1)
    assert world.penalties()["TS-3"].reason_type == "mapping"
    assert world.penalties()["TS-3"].message == "Beden attribute is required"

    sent = world.imported()
    assert set(sent) == {"TS-1", "TS-2", "MUG-1"}
    assert sent["TS-2"]["categoryId"] == 60001001
    assert sent["TS-2"]["merchant"] == world.config["merchant_id"]
    attributes = sent["TS-2"]["attributes"]
    assert attributes["renk_variant_property"] == "Lacivert"
    assert attributes["ebatlar_variant_property"] == "L"
    assert attributes["price"] == "130,50" and attributes["stock"] == "7"  # 10 minus buffer 3
    assert attributes["Image1"] == "https://img/TS-2.jpg"
    assert attributes["Barcode"] == "869TS-2" and attributes["tax_vat_rate"] == 20

    # in flight: a second run sends nothing until Hepsiburada answers
    assert world.run("product_create").read == 0
    for _ in range(3):
        world.run("check_uploads")
    with world.db.session() as session:
        actions = dict(
            session.execute(
                select(IntegrationAction.object_key, IntegrationAction.status).where(
                    IntegrationAction.content_type == "product"
                )
            ).all()
        )
        statuses = set(session.scalars(select(BatchRequest.status)))
    assert actions == {"TS-1": "success", "TS-2": "success", "MUG-1": "success"}
    assert statuses == {"done"}
    assert set(world.sandbox.listings()) >= {"TS-1", "TS-2", "MUG-1"}
    assert world.run("product_create").read == 0


def test_an_import_status_that_lists_no_products_is_not_an_acceptance(
    world: CatalogWorld,
) -> None:
    world.prepare()
    world.run("product_create")
    world.sandbox.faults(empty_import_status=3)

    def product_states() -> tuple[set[str], set[str]]:
        with world.db.session() as session:
            actions = set(
                session.scalars(
                    select(IntegrationAction.status).where(
                        IntegrationAction.content_type == "product"
                    )
                )
            )
            return actions, set(session.scalars(select(BatchRequest.status)))

    for _ in range(3):
        world.run("check_uploads")
        actions, batches = product_states()
        assert "success" not in actions and batches == {"ongoing"}
    assert world.penalties().keys() == {"TS-3"}  # only the record that cannot map

    world.run("check_uploads")  # Hepsiburada lists them now
    world.run("check_uploads")
    assert product_states() == ({"success"}, {"done"})


def test_a_rejected_import_penalises_only_that_sku(world: CatalogWorld) -> None:
    world.prepare()
    world.sandbox.faults(import_rejections={"TS-1": "Barkod başka bir üründe kullanılıyor"})
    world.sync("product_create")
    penalties = world.penalties()
    assert penalties["TS-1"].reason_type == "remote"
    assert penalties["TS-1"].message == "Barkod başka bir üründe kullanılıyor"
    assert "TS-2" not in penalties and "MUG-1" not in penalties


def test_product_update_resends_changed_products_with_shipping_info(world: CatalogWorld) -> None:
    world.prepare()
    world.sync("product_create")
    assert world.run("product_update").sent == 0  # nothing changed since the create

    world.load(
        "products",
        "sku,name,categories,images,attributes\n"
        'TS-1,Yeni ad,"[""Giyim/Tişört""]",https://img/TS-1.jpg,'
        '"{""color"": ""Lacivert"", ""size"": ""M"", ""barcode"": ""869TS-1"", ""dispatchTime"": 2}"',
    )
    update = world.sync("product_update")
    assert (update.read, update.sent) == (1, 1)
    assert world.imported()["TS-1"]["attributes"]["UrunAdi"] == "Yeni ad"
    shipping = world.sandbox.received("shipping-info")["batches"][-1]["rows"]
    assert shipping == [{"merchantSku": "TS-1", "claimAddressLabel": "IKINCIL", "dispatchTime": 2}]
    with world.db.session() as session:
        assert set(session.scalars(select(BatchRequest.status))) == {"done"}


def test_product_delete_sets_stock_zero_once(world: CatalogWorld) -> None:
    world.prepare()
    world.sync("product_create")
    world.load("catalog_items", "catalog,sku,deleted\nhb,TS-2,true")
    deleted = world.run("product_delete")
    assert (deleted.read, deleted.succeeded) == (1, 1)
    rows = world.sandbox.received("stock")["batches"][-1]["rows"]
    assert rows == [{"merchantSku": "TS-2", "availableStock": 0}]
    assert world.run("product_delete").read == 0


def test_before_the_first_category_pull_compare_reads_nothing_and_a_pull_says_why_it_cannot(
    world: CatalogWorld,
) -> None:
    """A new channel's first daemon pass may find compare_attributes due before category_node
    has run: nothing is stored to compare, which is not a failure; the attribute pull asked
    for by hand still says what to run first."""
    compared = world.run("compare_attributes")
    assert (compared.status, compared.read, compared.failed) == ("success", 0, 0)
    pulled = world.attempt("category_attributes")
    assert pulled.status == "error"
    assert "run the category_node flow first" in (pulled.error or "")


def test_compare_attributes_marks_what_changed_on_the_marketplace(world: CatalogWorld) -> None:
    world.prepare()
    mug = {
        "baseAttributes": [],
        "attributes": [],  # Materyal is gone
        "variantAttributes": [
            {"id": "renk_variant_property", "name": "Renk", "mandatory": True, "type": "enum"},
            {"id": "hacim_variant_property", "name": "Hacim", "mandatory": True, "type": "enum"},
        ],
    }
    world.sandbox.seed(attributes={"60003001": mug})
    world.clock.advance(3600)
    result = world.run("compare_attributes")
    assert result.failed == 0
    with world.db.session() as session:
        status = dict(
            session.execute(
                select(MarketplaceAttribute.name, MarketplaceAttribute.status).where(
                    MarketplaceAttribute.category_remote_id == "60003001"
                )
            ).all()
        )
        logs = [
            m
            for (m,) in session.execute(
                select(RunLog.message).where(RunLog.run_id == result.run_id)
            )
        ]
    assert status == {"Renk": "active", "Hacim": "changed", "Materyal": "removed"}
    assert "attribute 'Hacim' changed: mandatory: False → True" in logs
    assert "attribute 'Materyal' was removed on the marketplace" in logs


def test_category_ids_change_runs_node_then_attributes_through_the_daemon(
    world: CatalogWorld,
) -> None:
    with world.db.session() as session:
        ChannelService(session, world.registry, clock=world.clock, hook=world.hook).set(
            "hb", ["category_ids=[3000]"]
        )
    Daemon(world.db, world.registry, clock=world.clock, say=lambda _m: None).drain()
    with world.db.session() as session:
        runs = session.execute(select(Run.flow, Run.trigger, Run.status).order_by(Run.id)).all()
        leaf = session.scalar(
            select(MarketplaceAttribute.name).where(
                MarketplaceAttribute.category_remote_id == "60003001",
                MarketplaceAttribute.name == "Hacim",
            )
        )
    assert [(flow, status) for flow, _trigger, status in runs] == [
        ("category_node", "success"),
        ("category_attributes", "success"),
    ]
    assert leaf == "Hacim"


def test_a_fresh_go_live_sends_stock_and_price_only_for_products_hepsiburada_has(
    world: CatalogWorld,
) -> None:
    """Stock and price run before the products exist (as at a first go-live): they wait,
    unpenalised, and go out in the first run after their product is accepted."""
    world.prepare()
    world.service_set(
        "feature_flags.stock=true", "feature_flags.price=true", "feature_flags.product_create=true"
    )
    for flow in ("price", "stock"):  # alphabetical, as the daemon once ran them
        assert world.run(flow).sent == 0
    trigger = world.sandbox.received("stock")
    assert trigger["count"] == 0
    assert world.penalties() == {}
    waiting = world.waits()
    assert set(waiting) == {("productprice", sku) for sku in PRODUCTS} | {
        ("productstock", sku) for sku in PRODUCTS
    }

    world.run("product_create")  # TS-3 fails its mapping (penalty on product only)
    for _ in range(3):
        world.run("check_uploads")
    stock, price = world.run("stock"), world.run("price")
    assert (stock.sent, price.sent) == (3, 3)
    for _ in range(3):
        world.run("check_uploads")
    penalties = world.penalties()
    assert list(penalties) == ["TS-3"] and penalties["TS-3"].content_type == "product"
    assert not any("ListingNotFound" in p.message for p in penalties.values())
    # the product that was never created keeps its stock and price waiting
    assert set(world.waits()) == {("productprice", "TS-3"), ("productstock", "TS-3")}
    sent = {
        row["merchantSku"]: row
        for b in world.sandbox.received("stock")["batches"]
        for row in b["rows"]
    }
    assert set(sent) == {"TS-1", "TS-2", "MUG-1"}
    # nothing waits twice: an idle run reads nothing
    assert world.run("stock").read == 0


def test_a_waiting_record_is_named_by_a_trigger_and_stock_goes_at_once_without_product_create(
    world: CatalogWorld,
) -> None:
    world.service_set("feature_flags.stock=true", "feature_flags.product_create=true")
    checked = world.cli_trigger("hepsiburada/stock", "TS-1")
    assert "TS-1: The relevant record waits for its product to be created on the marketplace" in (
        checked.output
    )
    # A seller whose listings were made elsewhere: no product flow, no waiting.
    world.service_set("feature_flags.product_create=false")
    world.sandbox.seed(listings=[{"merchantSku": sku} for sku in PRODUCTS])
    assert world.run("stock").sent == 4 and world.waits() == {}


def test_the_daemon_queues_a_ticks_product_flow_before_the_flows_that_need_it(
    world: CatalogWorld,
) -> None:
    from pazar.jobs.scheduler import enqueue_due
    from pazar.models.jobs import Job

    world.service_set(
        "feature_flags.stock=true", "feature_flags.price=true", "feature_flags.product_create=true"
    )
    world.clock.set(world.clock.now().replace(minute=0, second=0))  # every schedule is due
    with world.db.session() as session:
        enqueue_due(session, world.flows.all(), world.clock.now())
    with world.db.session() as session:
        order = list(session.scalars(select(Job.flow).order_by(Job.id)))
    assert order.index("hepsiburada/product_create") < order.index("hepsiburada/price")
    assert order.index("hepsiburada/product_create") < order.index("hepsiburada/stock")


def _run_lines(world: CatalogWorld, run_id: int | None) -> list[tuple[str | None, str, str]]:
    with world.db.session() as session:
        return [
            (r.object_id, r.level, r.message)
            for r in session.execute(
                select(RunLog.object_id, RunLog.level, RunLog.message)
                .where(RunLog.run_id == run_id)
                .order_by(RunLog.id)
            )
        ]


def test_a_product_without_price_or_stock_data_waits_with_the_seeds_errors_once(
    world: CatalogWorld,
) -> None:
    """Seed section 8: "Price data not found" / "Stock data not found" in the logs; the
    product is created in the first run after its data arrives, never held back for hours."""
    world.prepare()
    attrs = '"{""color"": ""Lacivert"", ""size"": ""S"", ""barcode"": ""8690001""}"'
    world.load(
        "products",
        "sku,name,categories,images,attributes\n"
        + "".join(
            f'{s},Ürün {s},"[""Giyim/Tişört""]",https://img/{s}.jpg,{attrs}\n'
            for s in ("NODATA-1", "NOSTOCK-1")
        ),
    )
    world.load("prices", "sku,price,tax_rate\nNOSTOCK-1,99.9,20")
    world.load("catalog_items", "catalog,sku\nhb,NODATA-1\nhb,NOSTOCK-1")

    first = world.run("product_create")
    assert (first.waiting, first.failed) == (2, 1)  # TS-3's mapping fails, as ever
    errors = [line for line in _run_lines(world, first.run_id) if "data not found" in line[2]]
    assert errors == [
        ("NODATA-1", "error", "Price data not found"),
        ("NODATA-1", "error", "Stock data not found"),
        ("NOSTOCK-1", "error", "Stock data not found"),
    ]
    assert world.waits() == {
        ("product", "NODATA-1"): "price and stock data",
        ("product", "NOSTOCK-1"): "stock data",
    }
    assert list(world.penalties()) == ["TS-3"]
    assert "NODATA-1" not in world.imported()
    said = world.cli_trigger("hepsiburada/product_create", "NODATA-1")
    assert "NODATA-1: Price data not found; Stock data not found" in said.output

    again = world.run("product_create")  # said once: nothing new to say
    assert (again.read, again.waiting) == (0, 0)
    assert not [line for line in _run_lines(world, again.run_id) if line[1] == "error"]

    world.load("stocks", "sku,quantity\nNOSTOCK-1,7\nNODATA-1,4")
    third = world.run("product_create")
    assert (third.sent, third.waiting) == (1, 1)  # NOSTOCK-1 goes; NODATA-1 lacks a price
    assert "NOSTOCK-1" in world.imported()
    # what NODATA-1 lacks changed: said again, for what it still lacks
    assert [line for line in _run_lines(world, third.run_id) if "data not" in line[2]] == [
        ("NODATA-1", "error", "Price data not found")
    ]
    assert world.waits() == {("product", "NODATA-1"): "price data"}

    world.load("catalog_items", "catalog,sku,deleted\nhb,NODATA-1,true")
    world.run("product_create")
    assert world.waits() == {}  # left the catalog: nothing waits for it any more

"""The dashboard in a real Chromium, end to end (issue 18's acceptance): log in; add a
Hepsiburada channel against the sandbox and fill its form; activate it; see a run appear
in the logs; release a penalty by CSV upload; reject a refund with a photo and see the
sandbox receive it; create an alarm and see its e-mail arrive; download a report; a viewer
cannot change anything.  Every screen is photographed (``$PAZAR_SCREENSHOTS``).

One site serves the module: a database (SQLite, and PostgreSQL when configured), the
Hepsiburada sandbox, an SMTP server on loopback and the dashboard over real HTTP.  Runs
are made by a daemon the test drives (``drain``), never by waiting for time to pass.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.daemon import Daemon
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.http_trigger import create_app
from pazar.models.channels import Channel
from pazar.models.commerce import CancellationRequest, Product
from pazar.models.state import FailedIntegration
from pazar.plugins import load_plugins, reset_plugin_system
from pazar.runner import RunOptions, run_flow
from pazar.sandbox_server import serve_in_thread
from pazar.state.outcomes import Failure, penalize
from pazar.testing import database_params, empty_database
from pazar.web.auth import add_user
from tests.dbdigest import digest
from tests.engine.test_operations_alarms import Mailbox, free_port
from tests.hepsiburada.helpers import SandboxHandle
from tests.web.browser import Shots
from tests.web.conftest import PASSWORDS

pytest_plugins = ("tests.hepsiburada.helpers", "tests.web.browser")
pytestmark = pytest.mark.postgres

WAIT = 20_000  # ms Playwright waits for an element before failing (it polls, never sleeps)
PRODUCTS = ["HB-1", "HB-2", "HB-3"]


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG (the evidence photo)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xc0\x30\x30" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class World:
    db: Database
    url: str
    clock: FixedClock
    plugins: Any
    sandbox: SandboxHandle
    mailbox: Mailbox
    site: str
    shots: Shots
    tmp: Path

    def daemon(self) -> Daemon:
        return Daemon(self.db, self.plugins.registry, clock=self.clock, hook=self.plugins.hook)

    def run(self, flow: str, slug: str = "hb") -> Any:
        with self.db.session() as session:
            channel = ChannelService(session, self.plugins.registry, clock=self.clock).get(slug)
            session.expunge(channel)
        result = run_flow(
            self.db,
            self.plugins.registry,
            load_flows(self.plugins.registry).get(f"hepsiburada/{flow}"),
            channel,
            clock=self.clock,
            options=RunOptions(hook=self.plugins.hook),
        )
        assert result.status != "error", result.error
        return result

    def channel_id(self, slug: str = "hb") -> int:
        with self.db.session() as session:
            return int(session.scalar(select(Channel.id).where(Channel.slug == slug)))


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _import(db: Database, tmp: Path, files: dict[str, str]) -> None:
    with db.session() as session:
        for kind, text in files.items():
            path = tmp / f"{kind}.csv"
            path.write_text(text, encoding="utf-8")
            import_file(session, kind, path)


def _prepare(
    db: Database, clock: FixedClock, plugins: Any, sandbox: SandboxHandle, tmp: Path
) -> None:
    """Channel ``hb`` live on the sandbox: products, reasons, an order with an open claim,
    a listings snapshot (for the dashboard and reports) and a few runs."""
    sandbox.seed(settings={"now": _iso(clock.now())}, listings=[{"merchantSku": "HB-1"}])
    _import(
        db,
        tmp,
        {
            "products": "sku,name,categories,images\n"
            + "".join(f'{s},Ürün {s},"[""A""]",https://img/{s}.jpg\n' for s in PRODUCTS),
            "prices": "sku,price\n"
            + "".join(f"{s},{100 + i}.50\n" for i, s in enumerate(PRODUCTS)),
            "stocks": "sku,quantity\n" + "".join(f"{s},{i + 5}\n" for i, s in enumerate(PRODUCTS)),
            "catalog_items": "catalog,sku\n" + "".join(f"hb,{s}\n" for s in PRODUCTS),
            "cargo_companies": "code,name\nhepsijet,HepsiJet\n",
            "cancellation_reasons": "kind,code,name\ncancel,hb,Cancelled\nrefund,other,Other\n",
            "addresses": "city,township,district\nİstanbul,Kadıköy,Caferağa\nAnkara,Çankaya,\n",
        },
    )
    config = sandbox.config(
        category_ids=[60001001],
        default_reason_id=2,
        cancellation_reason_id=1,
        cargo_company_mapping={"HepsiJet": 1, "default": 1},
        catalog_code="hb",
        feature_flags={
            "get_orders": True,
            "get_refund_orders": True,
            "reject_refund": True,
            "listings": True,
            "stock": True,
        },
    )
    with db.session() as session:
        ChannelService(session, plugins.registry, clock=clock, hook=plugins.hook).apply(
            {
                "channel": "hb",
                "plugin": "hepsiburada",
                "name": "Hepsiburada",
                "config": config,
                "status": "active",
            }
        )
    order = {
        "orderNumber": "3001",
        "orderDate": _iso(clock.now() - timedelta(hours=1)),
        "customer": {"id": "c-1", "name": "Ayşe Yılmaz", "email": "ayse@example.com"},
        "shippingAddress": {
            "name": "Ayşe Yılmaz",
            "address": "Moda Cd. 1",
            "city": "İstanbul",
            "town": "Kadıköy",
            "district": "Caferağa",
            "phoneNumber": "5550000000",
        },
        "invoice": {
            "taxNumber": "1234567890",
            "address": {"name": "Ayşe Yılmaz", "city": "Ankara"},
        },
        "lines": [{"merchantSku": "HB-2", "quantity": 1, "price": 50}],
        "packaged": True,
        "cargoCompany": "HepsiJet",
        "packagedAt": _iso(clock.now() - timedelta(minutes=30)),
    }
    sandbox.add_orders([order])
    world = World(db, "", clock, plugins, sandbox, Mailbox(), "", Shots(tmp, ""), tmp)
    world.run("get_orders")
    line = next(x for x in sandbox.oms()["lines"] if x["orderNumber"] == "3001")
    sandbox.claim(line["id"], reason="PoorQuality", explanation="arrived broken")
    world.run("get_refund_orders")
    world.run("listings")
    for change in ({"price": 1}, {"stock": 3}, {"price": 100.5}):  # a trend to show
        clock.advance(hours=1)
        answer = sandbox.http.post(
            "/_sandbox/listings", json={"listings": [{"merchantSku": "HB-1", **change}]}
        )
        assert answer.status_code == 200, answer.text
        world.run("listings")


@pytest.fixture(scope="module", params=database_params())
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_base_url: str | None,
    hb_sandbox_server: SandboxHandle,
    chromium: Any,
    screenshots: Path,
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("web")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PAZAR_DISABLE_PLUGIN_AUTOLOAD", "1")
        env.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed")
        mailbox = Mailbox()
        port = free_port()
        smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
        smtp.start()
        for name, value in {
            "PAZAR_SMTP_HOST": "127.0.0.1",
            "PAZAR_SMTP_PORT": str(port),
            "PAZAR_SMTP_TLS": "none",
            "PAZAR_SMTP_FROM": "pazar@shop.example",
        }.items():
            env.setenv(name, value)
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'pazar.db'}"
        else:
            assert pg_base_url is not None
            empty_database(pg_base_url)
            url = pg_base_url
        db = Database(url)
        db.upgrade()
        reset_plugin_system()
        plugins = load_plugins()
        clock = FixedClock()
        hb_sandbox_server.reset()
        with db.session() as session:
            for role, password in PASSWORDS.items():
                add_user(session, role, password, role, now=clock.now())
        _prepare(db, clock, plugins, hb_sandbox_server, tmp)
        app = create_app(db, plugins.registry, clock=clock, hook=plugins.hook)
        server = serve_in_thread(app)
        try:
            yield World(
                db=db,
                url=url,
                clock=clock,
                plugins=plugins,
                sandbox=hb_sandbox_server,
                mailbox=mailbox,
                site=server.url,
                shots=Shots(screenshots, f"{request.param}-"),
                tmp=tmp,
            )
        finally:
            server.stop()
            smtp.stop()
            db.dispose()


@pytest.fixture
def browser_page(world: World, chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=world.site, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(WAIT)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def log_in(page: Any, role: str) -> None:
    page.goto("/ui/login")
    page.get_by_label("User name").fill(role)
    page.get_by_label("Password").fill(PASSWORDS[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/ui/dashboard"))


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=WAIT)
    return playwright_expect(locator)


# --------------------------------------------------------------------------- the stories


def test_log_in_add_a_hepsiburada_channel_fill_its_form_activate_and_see_a_run(
    world: World, browser_page: Any
) -> None:
    page = browser_page
    page.goto("/ui/channels")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    world.shots(page, "login")
    log_in(page, "admin")

    page.goto("/ui/channels")
    page.get_by_label("Marketplace").select_option("hepsiburada")
    page.get_by_label("Slug").fill("hb-web")
    page.get_by_label("Name", exact=True).fill("Hepsiburada (web)")
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator(".flash.ok")).to_contain_text("Channel hb-web created, inactive")
    # the form is the schema's: labels, required marks, data types
    expect(page.locator("label[for=f-merchant_id]")).to_contain_text("Merchant Id")
    expect(page.locator("label[for=f-merchant_id] .req")).to_have_text("*")
    expect(page.locator("label[for=f-category_ids] .dtype")).to_have_text("list")
    expect(page.locator("#f-password")).to_have_attribute("type", "password")

    creds = world.sandbox.info()["config"]
    for key in ("base_url", "oms_url", "listing_url"):
        page.locator(f"#f-{key}").fill(world.sandbox.url)
    page.locator("#f-username").fill(creds["username"])
    page.locator("#f-password").fill(creds["password"])
    page.locator("#f-merchant_id").fill(creds["merchant_id"])
    page.locator("#f-user_agent").fill(creds["user_agent"])
    page.locator("#f-category_ids").fill("60001001")
    page.locator("#f-default_reason_id").fill("2")
    page.locator("#f-cancellation_reason_id").fill("1")
    page.locator("#f-cargo_company_mapping").fill('{"default": 1')  # a typo first:
    page.locator("#f-buffer_stock").fill("2")
    page.get_by_role("button", name="Save", exact=True).click()  # one clear message, nothing saved
    expect(page.locator("#field-cargo_company_mapping .field-error")).to_contain_text(
        "cargo_company_mapping"
    )
    assert world.channel_id("hb-web")
    with world.db.session() as session:
        assert (
            session.scalar(select(Channel.config).where(Channel.slug == "hb-web"))["username"] == ""
        )
    page.locator("#f-password").fill(creds["password"])  # secrets are never sent back
    page.locator("#f-cargo_company_mapping").fill('{"default": 1}')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text(
        "Queued flows: category_node, category_attributes"
    )
    assert creds["password"] not in page.content()
    world.shots(page, "channel-form")

    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".flash.ok")).to_contain_text("Channel hb-web activated.")
    expect(page.locator("h1 .badge")).to_have_text("active")

    page.goto("/ui/channels/hb-web/history")
    expect(page.locator("table")).to_contain_text("buffer_stock")
    expect(page.locator("table")).to_contain_text("password")
    assert creds["password"] not in page.content()
    world.shots(page, "channel-history")
    page.goto("/ui/channels")
    world.shots(page, "channels")

    # The saved category ids queued Category Node and Category Attributes; the logs page
    # refreshes itself while they wait, and shows them once a daemon has run them.
    page.goto("/ui/logs?channel=hb-web")
    expect(page.locator(".live")).to_be_visible()
    world.daemon().drain()
    row = page.locator("#runs-body tr", has_text="Category Node")
    expect(row).to_contain_text("success")
    expect(page.locator("#runs-body")).to_contain_text("Category Attribute and Values")
    world.shots(page, "logs")
    row.get_by_role("link").first.click()
    expect(page.locator("h1")).to_contain_text("Category Node")
    world.shots(page, "run")


def test_release_a_penalty_by_csv_upload(world: World, browser_page: Any) -> None:
    channel_id = world.channel_id()
    with world.db.session() as session:
        ids = dict(session.execute(select(Product.sku, Product.id)).all())
        config = session.scalar(select(Channel.config).where(Channel.id == channel_id))
        for _ in range(3):  # three failures: exhausted (MAX_RETRY_COUNT 3)
            penalize(
                session,
                channel_id=channel_id,
                config=config,
                now=world.clock.now(),
                failures=[
                    Failure("productstock", ids[s], s, 1, "ListingNotFound: no listing", "remote")
                    for s in ("HB-2", "HB-3")
                ],
            )
    page = browser_page
    log_in(page, "operator")
    page.goto("/ui/penalties?channel=hb")
    expect(page.locator("table").first).to_contain_text("productstock")
    world.shots(page, "penalties")

    bad = world.tmp / "wrong-header.csv"
    bad.write_text("code\nHB-2\n", encoding="utf-8")
    good = world.tmp / "release.csv"
    good.write_text("sku\nHB-2\nNOPE-1\n", encoding="utf-8")
    form = page.locator("form[action='/ui/penalties/csv']")
    form.get_by_label("Content type").fill("productstock")
    form.get_by_label("CSV file").set_input_files(str(bad))
    form.get_by_role("button", name="Upload and release").click()
    expect(page.locator(".flash.error")).to_contain_text(
        "sku cannot identify please check your csv file. Header value should be set this: sku"
    )

    form = page.locator("form[action='/ui/penalties/csv']")
    form.get_by_label("Content type").fill("productstock")
    form.get_by_label("CSV file").set_input_files(str(good))
    form.get_by_role("button", name="Upload and release").click()
    result = page.locator("section.panel")
    expect(result).to_contain_text("released 1 penalty(ies) (productstock)")
    expect(result).to_contain_text("NOPE-1: no penalty on channel hb for content type productstock")
    world.shots(page, "penalties-csv")
    with world.db.session() as session:
        released = dict(
            session.execute(
                select(FailedIntegration.object_key, FailedIntegration.released_at).where(
                    FailedIntegration.channel_id == channel_id
                )
            ).all()
        )
    assert released["HB-2"] is not None and released["HB-3"] is None

    page.goto("/ui/trigger?channel=hb&flow=hepsiburada/stock")
    page.get_by_label("SKUs").fill("HB-1\nHB-3\nNOPE-2")
    page.get_by_role("button", name="Trigger").click()
    panel = page.locator("section.panel")
    expect(panel).to_contain_text("Queued job")
    expect(panel).to_contain_text("NOPE-2: The relevant SKU not exists in the commerce backend.")
    expect(panel).to_contain_text("HB-3: The relevant record is not in queue.")
    world.shots(page, "trigger")


def test_reject_a_refund_with_a_photo_and_the_sandbox_receives_it(
    world: World, browser_page: Any
) -> None:
    page = browser_page
    log_in(page, "operator")
    page.goto("/ui/refunds")
    world.shots(page, "refunds")
    page.locator("tbody tr", has_text="HB-2").get_by_role("link").first.click()
    world.shots(page, "refund")
    photo = world.tmp / "broken-box.png"
    photo.write_bytes(png())
    page.locator("#reason").fill("ProductHasBeenUsed")
    page.get_by_label("Explanation").fill("the box came back opened and used")
    page.get_by_label("Photos").set_input_files(str(photo))
    page.get_by_role("button", name="Reject refund").click()
    expect(page.locator(".flash.ok")).to_contain_text("rejected; the Reject Refund flow sends it")

    with world.db.session() as session:
        urls = session.scalar(select(CancellationRequest.photo_urls))
    assert len(urls) == 1 and urls[0].startswith(world.site + "/files/")
    assert httpx.get(urls[0]).content == photo.read_bytes()  # served to whoever has the URL

    world.run("reject_refund")
    claim = next(c for c in world.sandbox.oms()["claims"] if c["status"] == "Rejected")
    assert claim["ClaimRejectionReason"] == "ProductHasBeenUsed"
    assert claim["merchantRejectionStatement"] == "the box came back opened and used"
    assert {"ImageUrl": urls[0], "ReportedBy": "Merchant"} in claim["Reports"]
    fetched = httpx.get(claim["Reports"][-1]["ImageUrl"])
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.content == photo.read_bytes()


def test_create_an_alarm_and_its_email_arrives(world: World, browser_page: Any) -> None:
    page = browser_page
    log_in(page, "operator")
    page.goto("/ui/alarms")
    page.get_by_role("link", name="+ New Alarm").click()
    page.locator("#name").fill("stock-errors")
    page.get_by_label("Flow Name").select_option("hepsiburada/stock")
    page.get_by_label("Channel").select_option("hb")
    page.locator("#kind").select_option("error_rate")
    page.get_by_label("Interval").fill("1h")
    page.get_by_label("Value").fill("0")
    page.get_by_label("E-mail recipients").fill("ops@shop.example\nlead@shop.example")
    world.shots(page, "alarm-new")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("Alarm stock-errors saved.")
    page.get_by_role("button", name="Send a test").click()
    expect(page.locator(".flash.ok")).to_contain_text("Test notice sent to 2 recipient(s).")
    expect(page.locator("table")).to_contain_text("ops@shop.example: ok")
    world.shots(page, "alarm")
    (recipients, message), *_ = world.mailbox.take()
    assert sorted(recipients) == ["lead@shop.example", "ops@shop.example"]
    assert message["Subject"].startswith("[pazar] TEST: stock-errors")
    page.goto("/ui/alarms")
    world.shots(page, "alarms")


def test_download_a_report(world: World, browser_page: Any) -> None:
    page = browser_page
    log_in(page, "viewer")
    page.goto("/ui/dashboard")
    board = page.locator("section.board", has_text="Hepsiburada").first
    expect(board).to_contain_text("Number of SKUs with price differences (corrected)")
    world.shots(page, "dashboard")
    board.locator("a", has_text="Total SKU difference").click()
    expect(page.get_by_label("Report")).to_have_value("not_listed")
    world.shots(page, "reports")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    path = download.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert download.value.suggested_filename == "hb-not_listed.csv"
    assert {r["sku"] for r in rows} == {"HB-2", "HB-3"}
    with page.expect_download() as xlsx:
        page.get_by_role("link", name="Download XLSX").click()
    assert Path(xlsx.value.path()).read_bytes()[:2] == b"PK"


def test_a_viewer_cannot_change_anything(world: World, browser_page: Any) -> None:
    page = browser_page
    log_in(page, "viewer")
    page.goto("/ui/channels/hb")
    expect(page.locator("#f-buffer_stock")).to_be_disabled()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Deactivate")).to_have_count(0)
    world.shots(page, "viewer-channel")
    before = digest(world.url)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    # What a viewer could forge from this page: the server refuses each (403).
    for path, form in (
        ("/ui/channels/hb", {"present": "buffer_stock", "buffer_stock": "9"}),
        ("/ui/channels/hb/status", {"status": "inactive"}),
        ("/ui/penalties/release", {"all": "1", "channel": "hb", "content_type": "productstock"}),
        ("/ui/refunds/1/approve", {}),
        (
            "/ui/alarms/new",
            {"name": "x", "kind": "error_rate", "threshold": "0", "emails": "a@b.co"},
        ),
    ):
        response = page.request.post(path, form={"csrf": csrf, **form}, max_redirects=0)
        assert response.status == 403, path
        assert "may not change this" in response.text()
    assert digest(world.url) == before


def test_every_screen_in_turkish_and_by_keyboard(world: World, browser_page: Any) -> None:
    page = browser_page
    log_in(page, "admin")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.locator("a.skip")).to_be_focused()
    page.get_by_role("button", name="Türkçe").click()
    expect(page.get_by_role("heading", name="Gösterge Paneli")).to_be_visible()
    world.shots(page, "dashboard-tr")
    page.goto("/ui/logs")
    expect(page.get_by_role("heading", name="İzleme → Loglar")).to_be_visible()
    world.shots(page, "logs-tr")
    page.goto("/ui/penalties?channel=hb")
    expect(page.get_by_role("heading", name="Cezalar")).to_be_visible()
    page.get_by_role("button", name="English").click()
    screens = {
        "daemons": "/ui/daemons",
        "batches": "/ui/batches",
        "mapping": "/ui/mapping?channel=hb",
        "mapping-default-attributes": "/ui/mapping/hb/categories/default",
        "report-preview": "/ui/reports?channel=hb&report=price_differences&preview=1",
        "audit": "/ui/audit",
        "users": "/ui/users",
    }
    for name, path in screens.items():
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        assert world.sandbox.info()["config"]["password"] not in page.content()
        world.shots(page, name)
    expect(page.locator("main")).not_to_contain_text("Traceback")
    data = json.dumps([str(p) for p in world.shots.taken])
    assert ".png" in data

"""``pazar demo``: the whole loop on one machine, over real HTTP, in seconds.

It exists so that a newcomer sees what pazar does before configuring anything:
a marketplace sandbox on loopback, a generated catalog imported through the
same importers operators use, a channel pointed at the sandbox, every enabled
flow queued as a job and worked by a daemon (``--once`` style: it drains the
queue and returns), the marketplace's upload checks, a second round after some stocks
and prices change (only those are sent), and what ended where.  Nothing here is
marketplace-specific: the plugin's ``demo_setup`` prepares its sandbox.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from core.channels import ChannelService
from core.daemon import Daemon
from core.db import Database
from core.errors import PazarError
from core.flows.loader import load_flows
from core.flows.model import FlowDef
from core.jobs.queue import enqueue
from core.models.runs import Run
from core.models.state import (
    OPEN_BATCH_STATUSES,
    BatchRequest,
    BatchRequestItem,
    FailedIntegration,
)
from core.sandbox_server import serve_in_thread

DEMO_SLUG = "demo"
DEMO_CATALOG = "demo"
CATEGORIES = ("Giyim/Kadın/Tişört", "Giyim/Erkek/Gömlek", "Ev/Mutfak/Bardak", "Elektronik/Kulaklık")
MAX_CHECK_ROUNDS = 5


@dataclass
class FlowTally:
    runs: int = 0
    read: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass
class DemoReport:
    sandbox_url: str
    products: int
    channel: str
    flows: dict[str, FlowTally] = field(default_factory=dict)
    penalized: dict[str, int] = field(default_factory=dict)
    open_batches: int = 0


def sku(n: int) -> str:
    return f"DEMO-{n:05d}"


def write_catalog(directory: Path, count: int) -> dict[str, Path]:
    """Generate the demo catalog as the CSV files ``pazar catalog import`` reads."""
    files = {
        kind: directory / f"{kind}.csv"
        for kind in ("products", "prices", "stocks", "catalog_items")
    }
    with (
        files["products"].open("w", newline="") as products,
        files["prices"].open("w", newline="") as prices,
        files["stocks"].open("w", newline="") as stocks,
        files["catalog_items"].open("w", newline="") as items,
    ):
        p, pr, st, it = (csv.writer(f) for f in (products, prices, stocks, items))
        p.writerow(["sku", "name", "product_type", "categories", "images", "attributes", "active"])
        pr.writerow(["sku", "price", "retail_price", "currency", "tax_rate"])
        st.writerow(["sku", "quantity", "extra"])
        it.writerow(["catalog", "sku"])
        for n in range(1, count + 1):
            code = sku(n)
            category = CATEGORIES[n % len(CATEGORIES)]
            images = [f"https://img.example.com/{code}/{i}.jpg" for i in range(1, 1 + n % 3 + 1)]
            p.writerow(
                [
                    code,
                    f"Demo product {n}",
                    "simple",
                    f'["{category}"]',
                    "[" + ",".join(f'"{u}"' for u in images) + "]",
                    f'{{"color": "{("Kırmızı", "Lacivert", "Siyah")[n % 3]}"}}',
                    "true",
                ]
            )
            price = 50 + (n * 37) % 950
            pr.writerow([code, f"{price}.90", f"{price + 20}.90", "TRY", "20"])
            extra = '{"maximumPurchasableQuantity": 5}' if n % 10 == 0 else "{}"
            st.writerow([code, n % 25, extra])
            it.writerow([DEMO_CATALOG, code])
    return files


def _flows(registry: Any, marketplace: str) -> tuple[list[FlowDef], list[FlowDef]]:
    """The plugin's flagged flows (the work) and its batch-check flows (the follow-up)."""
    flows = load_flows(registry).for_plugin(marketplace)
    work = [f for f in flows if f.feature_flag]
    checks = [f for f in flows if not f.feature_flag and f.source.type == "state.open_batches"]
    return work, checks


def run_demo(
    db: Database,
    registry: Any,
    *,
    clock: Any,
    marketplace: str = "hepsiburada",
    products: int = 300,
    hook: Any = None,
    say: Callable[[str], None] = print,
    import_file: Callable[[Any, str, Path], Any],
    change_stock: Callable[[Any, str, int], Any],
    change_price: Callable[[Any, str, str], Any],
) -> DemoReport:
    """Run the demo against ``db`` (expected empty) and return what happened.

    The catalog writers are passed in so the demo uses exactly the code paths of
    ``pazar catalog import``, ``pazar stock set`` and ``pazar price set``.
    """
    market = registry.marketplace(marketplace)
    if market.sandbox_app is None or market.demo_setup is None:
        raise PazarError(f"marketplace {marketplace!r} has no sandbox demo")
    app = market.sandbox_app()
    sandbox = serve_in_thread(app)
    try:
        say(f"sandbox: {market.title} imitation serving at {sandbox.url}")
        with tempfile.TemporaryDirectory(prefix="pazar-demo-") as tmp:
            files = write_catalog(Path(tmp), products)
            with db.session() as session:
                for kind in ("products", "prices", "stocks", "catalog_items"):
                    import_file(session, kind, files[kind])
        say(f"catalog: {products} products with prices and stocks imported")
        skus = [sku(n) for n in range(1, products + 1)]
        config = dict(market.demo_setup(app, sandbox.url, skus))
        config["catalog_code"] = DEMO_CATALOG
        with db.session() as session:
            channels = ChannelService(session, registry, clock=clock, hook=hook)
            channels.apply(
                {
                    "channel": DEMO_SLUG,
                    "plugin": marketplace,
                    "name": f"{market.title} demo",
                    "config": config,
                    "status": "active",
                }
            )
        say(f"channel: {DEMO_SLUG!r} ({marketplace}) active, pointed at the sandbox")
        report = DemoReport(sandbox_url=sandbox.url, products=products, channel=DEMO_SLUG)
        work, checks = _flows(registry, marketplace)
        _round(db, registry, clock, hook, work, checks, say, "first sync")
        with db.session() as session:
            for n in range(5, products + 1, 5):
                change_stock(session, sku(n), (n * 7) % 40)
            for n in range(7, products + 1, 7):
                change_price(session, sku(n), f"{60 + (n * 53) % 900}.50")
        say("changed: every 5th stock and every 7th price")
        _round(db, registry, clock, hook, work, checks, say, "after changes")
        channel_id = _channel(db, registry, clock).id
        _tally_runs(db, channel_id, report)
        _count_outcomes(db, channel_id, work, report)
        return report
    finally:
        sandbox.stop()


def _round(
    db: Database,
    registry: Any,
    clock: Any,
    hook: Any,
    work: list[FlowDef],
    checks: list[FlowDef],
    say: Callable[[str], None],
    label: str,
) -> None:
    """Queue the enabled flows and let a daemon work the queue, then check uploads."""
    channel = _channel(db, registry, clock)
    daemon = Daemon(db, registry, clock=clock, hook=hook, say=lambda _msg: None)

    def queue(flows: list[FlowDef]) -> None:
        with db.session() as session:
            for flow in flows:
                enqueue(
                    session, channel_id=channel.id, flow=flow.ref, trigger="demo", now=clock.now()
                )

    queue([f for f in work if channel.config.get("feature_flags", {}).get(f.feature_flag)])
    daemon.drain()
    for _ in range(MAX_CHECK_ROUNDS):
        if not _open_batches(db, channel.id):
            break
        queue(checks)
        daemon.drain()
    say(f"round: {label} done")


def _channel(db: Database, registry: Any, clock: Any) -> Any:
    with db.session() as session:
        channel = ChannelService(session, registry, clock=clock).get(DEMO_SLUG)
        session.expunge(channel)
        return channel


def _open_batches(db: Database, channel_id: int) -> int:
    with db.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(BatchRequest)
            .where(
                BatchRequest.channel_id == channel_id, BatchRequest.status.in_(OPEN_BATCH_STATUSES)
            )
        )


def _tally_runs(db: Database, channel_id: int, report: DemoReport) -> None:
    """Per flow, what its runs did, from the run log (what `pazar logs` shows)."""
    r = Run.__table__
    with db.session() as session:
        rows = session.execute(
            select(
                r.c.plugin,
                r.c.flow,
                func.count(),
                func.sum(r.c.read),
                func.sum(r.c.sent),
                func.sum(r.c.succeeded),
                func.sum(r.c.failed),
                func.sum(r.c.skipped),
            )
            .where(r.c.channel_id == channel_id)
            .group_by(r.c.plugin, r.c.flow)
            .order_by(r.c.plugin, r.c.flow)
        ).all()
    for plugin, flow, runs, read, sent, succeeded, failed, skipped in rows:
        report.flows[f"{plugin}/{flow}"] = FlowTally(
            runs,
            int(read or 0),
            int(sent or 0),
            int(succeeded or 0),
            int(failed or 0),
            int(skipped or 0),
        )


def _count_outcomes(db: Database, channel_id: int, work: list[FlowDef], report: DemoReport) -> None:
    """Per flow: uploads accepted or rejected by the marketplace, and penalties now held."""
    flow_of = {f.content_type: f.ref for f in work}
    with db.session() as session:
        items = session.execute(
            select(BatchRequestItem.content_type, BatchRequestItem.status, func.count())
            .where(BatchRequestItem.channel_id == channel_id)
            .group_by(BatchRequestItem.content_type, BatchRequestItem.status)
        ).all()
        penalties = session.execute(
            select(FailedIntegration.content_type, func.count())
            .where(FailedIntegration.channel_id == channel_id)
            .group_by(FailedIntegration.content_type)
        ).all()
    for content_type, status, count in items:
        tally = report.flows.get(flow_of.get(content_type, ""))
        if tally is None:
            continue
        if status == "ok":
            tally.succeeded += count
        elif status == "failed":
            tally.failed += count
    for content_type, count in penalties:
        report.penalized[flow_of.get(content_type, content_type)] = count
    report.open_batches = _open_batches(db, channel_id)

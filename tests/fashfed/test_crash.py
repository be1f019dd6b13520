"""SIGKILL real ``pazar daemon`` processes in the middle of Fashfed's stock push, its order
import and its outbound order side, restart, and compare Fashfed with the commerce data:
nothing lost, nothing duplicated, nothing penalised.

The pattern of ``tests/engine/test_daemon_crash.py`` (PostgreSQL, kill points drawn from a
seeded random generator: right after a job was leased, or after some progress) against the
Fashfed sandbox.  A stock bulk whose result the killed daemon never read is read by the next
one's ``check_uploads``; a package read twice is one order; a refund decision or a seller
cancellation whose answer was lost is made again, refused by Fashfed, and recognised.
"""

from __future__ import annotations

import random
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from pazar.channels import ChannelService
from pazar.clock import SystemClock
from pazar.commerce.importers import import_file
from pazar.commerce.local import decide_refund
from pazar.commerce.requests import cancel_locally
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.jobs.queue import enqueue
from pazar.models.commerce import CancellationReason, CancellationRequest, CargoCompany, Order
from pazar.models.runs import Run
from pazar.models.state import BatchRequestItem, FailedIntegration
from pazar.plugins import load_plugins
from pazar.runner import run_flow
from pazar.sandbox_server import serve_in_thread
from pazar_fashfed.sandbox import create_app
from pazar_fashfed.sandbox_state import KADIN
from tests.engine.test_daemon_crash import Daemons, _busy, _leased, _until

INTERRUPTED = "interrupted: the daemon running it stopped"


def _channel(db: Database, registry: Any, connection: dict[str, Any], **config: Any) -> int:
    """An active Fashfed channel ``ff`` on the sandbox; its id."""
    full = {
        **connection,
        "category_ids": [KADIN],
        "default_reason_id": 1,
        "cancellation_reason_id": 1,
        "cargo_company_mapping": {"default": 1},
        **config,
    }
    with db.session() as session:
        service = ChannelService(session, registry, clock=SystemClock())
        service.apply({"channel": "ff", "plugin": "fashfed", "config": full, "status": "active"})
        return service.get("ff").id


def _queue(db: Database, channel_id: int, *flows: str) -> None:
    with db.session() as session:
        for flow in flows:
            enqueue(
                session,
                channel_id=channel_id,
                flow=f"fashfed/{flow}",
                trigger="manual",
                now=datetime.now(UTC),
            )


def _kill(
    daemons: Daemons, db: Database, rng: random.Random, progress: Any, step: int, what: str
) -> None:
    """Start a daemon and SIGKILL it after a lease, or after some progress."""
    process = daemons.start()
    if rng.random() < 0.25:
        _until(lambda p=process.pid: _leased(db, p), "a job to be leased")
    else:
        target = progress() + rng.randint(1, step)
        _until(lambda t=target: progress() >= t or not _busy(db), what)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _interrupted(db: Database) -> int:
    with db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(Run).where(Run.error == INTERRUPTED))
            or 0
        )


STOCKS, CHANGED, STOCK_KILLS = 3_000, 300, 10


def _stocks(path: Path, rng: random.Random, skus: list[int]) -> None:
    path.write_text("sku,quantity\n" + "".join(f"F{i:06d},{rng.randrange(500)}\n" for i in skus))


def test_sigkilled_daemons_push_every_stock_to_fashfed(pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(20261202)
    app = create_app(pending_polls=0)
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    state.seed({"settings": {"accept_unknown_skus": True}})
    db = Database(pg_url)
    registry = load_plugins().registry
    (tmp_path / "products.csv").write_text(
        "sku,name\n" + "".join(f"F{i:06d},P{i}\n" for i in range(STOCKS))
    )
    (tmp_path / "catalog_items.csv").write_text(
        "catalog,sku\n" + "".join(f"ff,F{i:06d}\n" for i in range(STOCKS))
    )
    _stocks(tmp_path / "stocks.csv", rng, list(range(STOCKS)))
    with db.session() as session:
        for kind in ("products", "stocks", "catalog_items"):
            import_file(session, kind, tmp_path / f"{kind}.csv")
    channel_id = _channel(
        db,
        registry,
        state.info(sandbox.url)["config"],
        catalog_code="ff",
        feature_flags={"stock": True},
    )
    daemons = Daemons(pg_url, tmp_path)

    def bulks() -> int:
        with state.lock:
            return len(state.bulks)

    def settled() -> bool:
        with db.engine.connect() as conn:
            return not conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM batch_requests WHERE status NOT IN "
                    "('done', 'fail')) + (SELECT count(*) FROM stocks s LEFT JOIN "
                    "integration_actions a ON a.object_id = s.product_id AND a.content_type = "
                    "'productstock' WHERE a.id IS NULL OR a.version < s.version)"
                )
            ).scalar()

    try:
        for kill in range(STOCK_KILLS):
            if kill:  # new changes arrive while the previous push may be half done
                _stocks(tmp_path / "changed.csv", rng, rng.sample(range(STOCKS), CHANGED))
                with db.session() as session:
                    import_file(session, "stocks", tmp_path / "changed.csv")
            _queue(db, channel_id, "stock", "check_uploads")
            _kill(daemons, db, rng, bulks, 2, f"bulks to reach Fashfed (kill {kill + 1})")
        daemons.finish(db, lambda: _queue(db, channel_id, "stock", "check_uploads"), settled)
        with db.engine.connect() as conn:
            local = dict(
                conn.execute(
                    text(
                        "SELECT p.sku, s.quantity FROM stocks s JOIN products p "
                        "ON p.id = s.product_id"
                    )
                ).all()
            )
        with state.lock:
            remote = {sku: product["stock"] for sku, product in state.products.items()}
            rows = sum(len(b["rows"]) for b in state.bulks.values() if b["kind"] == "stocks")
        with db.session() as session:
            penalties = session.scalar(select(func.count()).select_from(FailedIntegration))
            in_flight = session.scalar(
                select(func.count())
                .select_from(BatchRequestItem)
                .where(BatchRequestItem.in_flight.is_(True))
            )
        interrupted = _interrupted(db)
    finally:
        sandbox.stop()
        db.dispose()
        daemons.close()

    assert remote == local  # Fashfed holds every current stock
    assert (penalties, in_flight) == (0, 0)
    # each change sent, plus at most the bulk (1,000 rows) each kill interrupted
    assert rows <= STOCKS + (STOCK_KILLS - 1) * CHANGED + STOCK_KILLS * 1000
    assert interrupted >= 1


PACKAGES, NEW_PER_ROUND, IMPORT_KILLS = 1_500, 100, 10


def _packages(rng: random.Random, start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "number": f"{5_000_000 + n}",
            "order_number": f"FF{n}",
            "items": [
                {"sku": f"F{rng.randrange(50):06d}", "quantity": rng.randint(1, 3)}
                for _ in range(rng.randint(1, 3))
            ],
        }
        for n in range(start, start + count)
    ]


def _order_world(db: Database, tmp_path: Path) -> dict[str, int]:
    """Cargo, places, products and reasons the imported orders point at; reason ids."""
    (tmp_path / "cargo.csv").write_text("code,name\nyurtici,Yurtiçi\n")
    (tmp_path / "addresses.csv").write_text("city,township\nİstanbul,Kadıköy\n")
    (tmp_path / "products.csv").write_text(
        "sku,name\n" + "".join(f"F{i:06d},P{i}\n" for i in range(50))
    )
    (tmp_path / "reasons.csv").write_text(
        "kind,code,name\ncancel,ff,Fashfed\ncancel,stock,Out of stock\nrefund,other,Other\n"
    )
    with db.session() as session:
        for kind, name in (
            ("cargo_companies", "cargo"),
            ("addresses", "addresses"),
            ("products", "products"),
            ("cancellation_reasons", "reasons"),
        ):
            import_file(session, kind, tmp_path / f"{name}.csv")
        reasons = dict(
            session.execute(select(CancellationReason.code, CancellationReason.id)).all()
        )
        return {"cargo": int(session.scalar(select(CargoCompany.id)) or 0), **reasons}


def test_sigkilled_daemons_import_every_fashfed_package_exactly_once(
    pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261203)
    app = create_app()
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    db = Database(pg_url)
    registry = load_plugins().registry
    state.add_packages(_packages(rng, 0, PACKAGES))
    ids = _order_world(db, tmp_path)
    channel_id = _channel(
        db,
        registry,
        state.info(sandbox.url)["config"],
        cargo_company_mapping={"default": ids["cargo"]},
        feature_flags={"get_orders": True},
    )
    daemons = Daemons(pg_url, tmp_path)

    def stored() -> int:
        with db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Order)) or 0)

    try:
        total = PACKAGES
        for kill in range(IMPORT_KILLS):
            if kill:  # new packages arrive while the previous import may be half done
                state.add_packages(_packages(rng, total, NEW_PER_ROUND))
                total += NEW_PER_ROUND
            _queue(db, channel_id, "get_orders")
            _kill(daemons, db, rng, stored, 200, f"orders to be stored (kill {kill + 1})")
        killed_at = stored()
        daemons.finish(db, lambda: _queue(db, channel_id, "get_orders"), lambda: stored() >= total)
        with state.lock:
            remote = {
                number: sorted((i["id"], i["sku"], i["quantity"]) for i in package["items"])
                for number, package in state.packages.items()
            }
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT o.remote_number, o.package_id, i.remote_id, i.sku, i.quantity "
                    "FROM orders o JOIN order_items i ON i.order_id = o.id"
                )
            ).all()
            still_running = conn.execute(
                text("SELECT count(*) FROM runs WHERE status = 'running'")
            ).scalar()
        interrupted = _interrupted(db)
    finally:
        sandbox.stop()
        db.dispose()
        daemons.close()

    local: dict[str, list[tuple[str, str, int]]] = {}
    for number, package, line, sku, quantity in rows:
        assert number == package
        local.setdefault(number, []).append((line, sku, quantity))
    # every package is one order with exactly its lines, none twice
    assert {k: sorted(v) for k, v in local.items()} == remote
    assert len(remote) == total and still_running == 0
    assert 0 < killed_at < total  # the kills did land in the middle of the import
    assert interrupted >= 1


ORDERS, OUTBOUND_KILLS = 300, 8
OUTBOUND = ("get_refund_orders", "approve_refund", "send_cancel_order_items")


def test_sigkilled_daemons_decide_refunds_and_cancel_lines_on_fashfed_once(
    pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261204)
    app = create_app()
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    db = Database(pg_url)
    registry = load_plugins().registry
    state.add_packages(
        [
            {"number": f"{6_000_000 + n}", "items": [{"sku": "F000001"}, {"sku": "F000002"}]}
            for n in range(ORDERS)
        ]
    )
    ids = _order_world(db, tmp_path)
    flags = (
        "get_orders",
        "get_refund_orders",
        "send_refund_order_status",
        "send_cancel_order_items",
    )
    channel_id = _channel(
        db,
        registry,
        state.info(sandbox.url)["config"],
        cargo_company_mapping={"default": ids["cargo"]},
        default_reason_id=ids["other"],
        cancellation_reason_id=ids["ff"],
        send_cancel_reason_id=ids["stock"],
        feature_flags=dict.fromkeys(flags, True),
    )
    with db.session() as session:
        channel = ChannelService(session, registry, clock=SystemClock()).get("ff")
        session.expunge(channel)
    result = run_flow(
        db, registry, load_flows(registry).get("fashfed/get_orders"), channel, clock=SystemClock()
    )
    assert result.succeeded == ORDERS
    state.add_claims(
        [
            {"package_item": f"{6_000_000 + n}-1", "type": "refund", "status": "open"}
            for n in range(ORDERS)
        ]
    )
    with db.session() as session:
        for order in session.scalars(select(Order)):
            order.status = "preparing"
        session.flush()
        for n in range(ORDERS):
            number = f"{6_000_000 + n}"
            cancel_locally(
                session, channel_id, number, [f"{number}-2"], ids["stock"], now=datetime.now(UTC)
            )

    def approve_open() -> None:
        with db.session() as session:
            open_ids = list(
                session.scalars(
                    select(CancellationRequest.id).where(
                        CancellationRequest.kind == "refund", CancellationRequest.status == "open"
                    )
                )
            )
            for request_id in open_ids:
                decide_refund(session, request_id, "approved")

    def decided() -> tuple[int, int]:
        with state.lock:
            approved = sum(c["status"] == "approved" for c in state.claims.values())
            return approved, len(state.seller_cancels)

    def progress() -> int:
        approve_open()
        return sum(decided())

    daemons = Daemons(pg_url, tmp_path)
    try:
        for kill in range(OUTBOUND_KILLS):
            approve_open()
            _queue(db, channel_id, *OUTBOUND)
            _kill(daemons, db, rng, progress, 80, f"refunds and cancels (kill {kill + 1})")

        def done() -> bool:
            approve_open()
            return decided() == (ORDERS, ORDERS)

        daemons.finish(db, lambda: _queue(db, channel_id, *OUTBOUND), done)
        with db.session() as session:
            requests = session.execute(
                select(CancellationRequest.kind, CancellationRequest.origin, func.count()).group_by(
                    CancellationRequest.kind, CancellationRequest.origin
                )
            ).all()
            penalties = session.scalar(select(func.count()).select_from(FailedIntegration))
        interrupted = _interrupted(db)
        with state.lock:
            refunds = sorted(c["status"] for c in state.claims.values() if c["type"] == "refund")
            cancels = dict(state.seller_cancels)
    finally:
        sandbox.stop()
        db.dispose()
        daemons.close()

    assert sorted(requests) == [("cancel", "local", ORDERS), ("refund", "marketplace", ORDERS)]
    assert refunds == ["approved"] * ORDERS
    assert set(cancels.values()) == {1} and len(cancels) == ORDERS  # each line once
    assert penalties == 0
    assert interrupted >= 1  # some kills did land mid-run and were cleaned up

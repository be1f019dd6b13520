"""SIGKILL daemons in the middle of refunds and outbound cancellations, restart, and compare
Hepsiburada with the commerce data: every claim is one refund request and accepted once,
every line the seller cancelled is cancelled on Hepsiburada once, nothing is penalised.

Real ``pazar daemon`` processes on PostgreSQL, killed with SIGKILL at seeded random points
(right after a job was leased, or after some progress), as the order-import crash test in
``tests/engine/test_daemon_crash.py`` does.  A call whose answer the killed daemon never
recorded is made again by the next one; Hepsiburada answers 409 and the sink recognises
the decision or cancellation as its own instead of penalising it.
"""

from __future__ import annotations

import random
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from pazar.commerce.importers import import_file
from pazar.commerce.local import decide_refund
from pazar.commerce.requests import cancel_locally
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.jobs.queue import enqueue
from pazar.models.commerce import CancellationReason, CancellationRequest, CargoCompany, Order
from pazar.models.runs import Run
from pazar.models.state import FailedIntegration
from pazar.plugins import load_plugins
from pazar.runner import run_flow
from pazar.sandbox_server import serve_in_thread
from pazar_hepsiburada.sandbox import create_app
from tests.engine.test_daemon_crash import Daemons, _busy, _hb_channel, _leased, _until

ORDERS, KILLS = 400, 10
FLOWS = ("get_refund_orders", "approve_refund", "send_cancel_order_items")


def _orders(packaged_at: str) -> list[dict]:
    return [
        {
            "orderNumber": f"{5_000_000 + n}",
            "customer": {"id": f"c{n}", "name": "Deniz Kaya"},
            "shippingAddress": {"name": "Deniz Kaya", "address": "Cd. 1"},
            "lines": [
                {"merchantSku": "S000001", "quantity": 1, "price": 40},
                {"merchantSku": "S000002", "quantity": 1, "price": 60},
            ],
            "packaged": True,
            "packagedAt": packaged_at,
        }
        for n in range(ORDERS)
    ]


def test_sigkilled_daemons_send_refunds_and_cancels_exactly_once(
    pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261201)
    app = create_app()
    sandbox = serve_in_thread(app)
    state = app.state.sandbox
    state.seed({"settings": {"cancel_daily_limit": 10 * ORDERS}})
    db = Database(pg_url)
    registry = load_plugins().registry
    now = datetime.now(UTC)
    with state.lock:
        state.oms.add_orders(
            _orders((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")), lambda s: s
        )
    (tmp_path / "cargo.csv").write_text("code,name\nhepsijet,HepsiJet\n")
    (tmp_path / "reasons.csv").write_text(
        "kind,code,name\ncancel,hb,Hepsiburada\ncancel,stock,Out of stock\nrefund,other,Other\n"
    )
    with db.session() as session:
        import_file(session, "cargo_companies", tmp_path / "cargo.csv")
        import_file(session, "cancellation_reasons", tmp_path / "reasons.csv")
        cargo = session.scalar(select(CargoCompany.id))
        reasons = dict(
            session.execute(select(CancellationReason.code, CancellationReason.id)).all()
        )
    channel_id = _hb_channel(
        db,
        registry,
        state.channel_config(sandbox.url),
        cargo=cargo,
        settings={"send_cancellation_reason_id": 83},  # send_cancel_order_items needs it
        get_orders=True,
        **dict.fromkeys(FLOWS, True),
    )
    from pazar.channels import ChannelService
    from pazar.clock import SystemClock

    with db.session() as session:
        service = ChannelService(session, registry, clock=SystemClock())
        channel = service.get("hb")
        config = dict(channel.config)
        config.update(
            default_reason_id=reasons["other"],
            cancellation_reason_id=reasons["hb"],
            send_cancellation_reason_id=83,
        )
        service.apply(
            {"channel": "hb", "plugin": "hepsiburada", "config": config, "status": "active"}
        )
        channel = service.get("hb")
        session.expunge(channel)
    flows = load_flows(registry)
    assert (
        run_flow(
            db, registry, flows.get("hepsiburada/get_orders"), channel, clock=SystemClock()
        ).succeeded
        == ORDERS
    )
    with state.lock:
        lines = [p["items"] for p in state.oms.packages.values()]
        for first, _ in lines:
            state.claims.open({"lineItemId": first["lineItemId"], "reason": "Other"})
    with db.session() as session:
        for order in session.scalars(select(Order)):
            order.status = "preparing"
        session.flush()
        for first, second in lines:
            cancel_locally(
                session,
                channel_id,
                first["orderNumber"],
                [second["lineItemId"]],
                reasons["stock"],
                now=datetime.now(UTC),
            )

    def queue() -> None:
        with db.session() as session:
            for flow in FLOWS:
                enqueue(
                    session,
                    channel_id=channel_id,
                    flow=f"hepsiburada/{flow}",
                    trigger="manual",
                    now=datetime.now(UTC),
                )

    def approve_open() -> None:
        with db.session() as session:
            ids = list(
                session.scalars(
                    select(CancellationRequest.id).where(
                        CancellationRequest.kind == "refund", CancellationRequest.status == "open"
                    )
                )
            )
            for request_id in ids:
                decide_refund(session, request_id, "approved")

    def progress() -> int:
        with state.lock:
            accepted = sum(c["status"] == "Accepted" for c in state.claims.claims.values())
            return accepted + sum(state.oms.merchant_cancels.values()) + len(state.claims.claims)

    daemons = Daemons(pg_url, tmp_path)

    def done() -> bool:
        approve_open()
        with state.lock:
            accepted = sum(c["status"] == "Accepted" for c in state.claims.claims.values())
            cancelled = sum(state.oms.merchant_cancels.values())
        return accepted == ORDERS and cancelled == ORDERS

    try:
        for kill in range(KILLS):
            approve_open()
            queue()
            process = daemons.start()
            if rng.random() < 0.25:
                _until(lambda p=process.pid: _leased(db, p), "a job to be leased")
            else:
                target = progress() + rng.randint(1, 120)
                _until(
                    lambda t=target: progress() >= t or not _busy(db),
                    f"refunds and cancels to progress (kill {kill + 1})",
                )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        daemons.finish(db, queue, done)

        with db.session() as session:
            requests = session.execute(
                select(CancellationRequest.kind, CancellationRequest.origin, func.count()).group_by(
                    CancellationRequest.kind, CancellationRequest.origin
                )
            ).all()
            penalties = session.scalar(select(func.count()).select_from(FailedIntegration))
            interrupted = session.scalar(
                select(func.count())
                .select_from(Run)
                .where(Run.error == "interrupted: the daemon running it stopped")
            )
        with state.lock:
            claims = [c["status"] for c in state.claims.claims.values()]
            cancels = sum(state.oms.merchant_cancels.values())
            merchant_lines = sum(
                line["status"] == "CancelledByMerchant" for line in state.oms.lines.values()
            )
    finally:
        sandbox.stop()
        db.dispose()
        daemons.close()

    assert sorted(requests) == [("cancel", "local", ORDERS), ("refund", "marketplace", ORDERS)]
    assert claims == ["Accepted"] * ORDERS
    assert cancels == merchant_lines == ORDERS  # each line cancelled once, none twice
    assert penalties == 0
    assert interrupted >= 1  # some kills did land mid-run and were cleaned up

"""The order story of ``pazar demo``: what happens to orders after they are imported.

The demo plays the seller through the commerce backend (the same calls as ``pazar orders
update``, ``pazar orders cancel-items``, ``pazar refunds approve/reject`` and an OMS's
split trigger) and lets the marketplace plugin play its customers and carriers in the
sandbox (``Marketplace.demo_story``); the order flows carry each change across, and the
story ends with one line per order that says where it ended.  Flows a marketplace does
not have are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from pazar.commerce.local import decide_refund
from pazar.commerce.order_updates import update_order
from pazar.commerce.requests import cancel_locally
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.models.commerce import CancellationRequest, Order, OrderItem
from pazar.runner import RunOptions, run_flow

# The demo catalog's cancellation reasons (pazar.demo.write_catalog): ids on a fresh database.
SELLER_CANCEL_REASON = 2
REJECT_PHOTO = "https://img.example.com/evidence/box-opened.jpg"


def order_story(
    db: Database,
    registry: Any,
    clock: Any,
    market: Any,
    app: Any,
    channel: Any,
    say: Callable[[str], None],
) -> list[str]:
    """Play the story and return its summary lines (empty when there are too few orders)."""
    flows = load_flows(registry)

    def run(name: str, **options: Any) -> Any:
        ref = f"{market.name}/{name}"
        if ref not in flows:
            return None
        return run_flow(
            db,
            registry,
            flows.get(ref),
            channel,
            clock=clock,
            options=RunOptions(trigger="demo", force=True, **options),
        )

    with db.session() as session:
        orders = list(
            session.scalars(
                select(Order).where(Order.channel_id == channel.id).order_by(Order.remote_number)
            )
        )
        lines = {
            o.id: list(
                session.scalars(
                    select(OrderItem).where(OrderItem.order_id == o.id).order_by(OrderItem.id)
                )
            )
            for o in orders
        }
        session.expunge_all()
    multi = [o for o in orders if len(lines[o.id]) > 1]
    if len(orders) < 6 or len(multi) < 2:
        return []
    partial, split = multi[0], multi[1]
    rest = [o for o in orders if o.id not in (partial.id, split.id)]
    cancelled, approved, rejected = rest[0], rest[1], rest[2]
    shipped = [o for o in orders if o.id not in (cancelled.id, partial.id, split.id)]
    now = clock.now()
    with db.session() as session:
        for n, order in enumerate(shipped):
            row = session.get(Order, order.id)
            update_order(
                session,
                row,
                now=now,
                status="shipped",
                tracking_number=f"7{order.remote_number}{n:02d}",
                invoice_url=f"https://invoices.example.com/{order.number}.pdf",
                invoice_number=f"INV-{order.remote_number}",
                invoice_date=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        update_order(session, session.get(Order, partial.id), now=now, status="preparing")
        cancel_locally(
            session,
            channel.id,
            partial.number,
            [lines[partial.id][-1].remote_id],
            SELLER_CANCEL_REASON,
            now=now,
        )
    acted = dict(
        market.demo_story(
            app,
            "customer",
            {
                "cancel": cancelled.remote_number,
                "claims": [approved.remote_number, rejected.remote_number],
            },
        )
        if market.demo_story is not None
        else {}
    )
    for name in (
        "get_cancel_orders",
        "send_update_orders",
        "send_invoice_link",
        "send_cancel_order_items",
        "get_refund_orders",
    ):
        run(name)
    with db.session() as session:
        requests = dict(
            session.execute(
                select(CancellationRequest.remote_id, CancellationRequest.id).where(
                    CancellationRequest.channel_id == channel.id,
                    CancellationRequest.kind == "refund",
                )
            ).all()
        )
        claims = acted.get("claims") or {}
        keep = requests.get(claims.get(approved.remote_number))
        refuse = requests.get(claims.get(rejected.remote_number))
        if keep is not None:
            decide_refund(session, keep, "approved", clock=clock)
        if refuse is not None:
            decide_refund(
                session,
                refuse,
                "rejected",
                reason="ProductHasBeenUsed",
                explanation="the product came back used",
                photo_urls=[REJECT_PHOTO],
                clock=clock,
            )
    run("approve_refund")
    run("reject_refund")
    split_run = run(
        "split_packages",
        payload={
            "order_number": split.number,
            "packages": [{"lines": [{"line_id": lines[split.id][0].remote_id}]}],
        },
    )
    say("round: order story done")
    return _summary(
        db,
        channel.id,
        shipped=shipped,
        cancelled=cancelled,
        partial=partial,
        approved=approved,
        rejected=rejected,
        split=split,
        split_ok=split_run is not None and split_run.succeeded > 0,
        claims=acted.get("claims") or {},
    )


def _summary(db: Database, channel_id: int, **story: Any) -> list[str]:
    with db.session() as session:

        def order(o: Any) -> Any:
            return session.get(Order, o.id)

        def items(o: Any) -> list[str]:
            return list(
                session.scalars(
                    select(OrderItem.status)
                    .where(OrderItem.order_id == o.id)
                    .order_by(OrderItem.id)
                )
            )

        shipped = [order(o) for o in story["shipped"]]
        first = shipped[0]
        out = [
            f"{len(shipped)} orders invoiced and shipped (e.g. {first.number}: tracking "
            f"{first.tracking_number}, marketplace told)",
            f"order {story['cancelled'].number}: cancelled by the customer → items "
            f"{', '.join(items(story['cancelled']))}",
            f"order {story['partial'].number}: one line cancelled by the seller → items "
            f"{', '.join(items(story['partial']))}, sent to the marketplace",
        ]
        for key, verb in (("approved", "approved"), ("rejected", "rejected with a photo")):
            o = story[key]
            claim = story["claims"].get(o.remote_number, "-")
            status = session.scalar(
                select(CancellationRequest.status).where(
                    CancellationRequest.channel_id == channel_id,
                    CancellationRequest.remote_id == claim,
                )
            )
            out.append(f"order {o.number}: refund (claim {claim}) {verb} → request {status}")
        parts = list(
            session.scalars(
                select(Order.package_id).where(
                    Order.channel_id == channel_id,
                    Order.remote_number == story["split"].remote_number,
                )
            )
        )
        out.append(
            f"order {story['split'].number}: package split into {', '.join(parts)}"
            if story["split_ok"]
            else f"order {story['split'].number}: package split did not run"
        )
    return out

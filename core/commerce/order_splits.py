"""A local order follows its package when the marketplace splits it.

pazar keeps one order per marketplace package (``channel, order number, package``).  When
a package is split into new packages, the order made of it keys to the first new package
and each other new package becomes an order of its own holding the items moved there, so
the order import that reads the new packages finds them stored instead of importing the
same items twice.  Splits come one trigger at a time; the work per split is a handful of
statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.commerce.versioning import reserve_versions
from pazar.models.commerce import Address, Order, OrderItem


def split_orders(
    session: Session, channel_id: int, splits: Sequence[Mapping[str, Any]], *, now: datetime
) -> list[tuple[int | None, bool, str | None]]:
    """Per split ``{remote_number, package_id, packages: [{package_id, item_remote_ids}]}``:
    ``(order id, split now, problem)``."""
    return [_split(session, channel_id, split, now) for split in splits]


def _split(
    session: Session, channel_id: int, split: Mapping[str, Any], now: datetime
) -> tuple[int | None, bool, str | None]:
    number = str(split["remote_number"])
    packages = [dict(p) for p in split.get("packages") or []]
    new_ids = [str(p["package_id"]) for p in packages]
    order = session.scalar(
        select(Order).where(
            Order.channel_id == channel_id,
            Order.remote_number == number,
            Order.package_id == str(split["package_id"]),
        )
    )
    if order is None:
        done = session.scalar(
            select(Order.id).where(
                Order.channel_id == channel_id,
                Order.remote_number == number,
                Order.package_id.in_(new_ids),
            )
        )
        return (done, False, None)
    items = {
        i.remote_id: i
        for i in session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))
    }
    wanted = [str(x) for p in packages for x in p.get("item_remote_ids") or []]
    unknown = sorted(set(wanted) - set(items))
    if unknown:
        return (order.id, False, f"order {order.number} has no item {', '.join(unknown)}")
    addresses = list(session.scalars(select(Address).where(Address.order_id == order.id)))
    first = reserve_versions(session, len(packages))
    owner: dict[str, Order] = {remote_id: order for remote_id in items}
    for n, package in enumerate(packages):
        if n == 0:
            order.package_id = str(package["package_id"])
            order.extra = {**dict(order.extra or {}), "split_from": split["package_id"]}
            target = order
        else:
            target = Order(
                channel_id=channel_id,
                remote_number=order.remote_number,
                package_id=str(package["package_id"]),
                number=f"{order.number}-{n + 1}",
                status=order.status,
                remote_status=order.remote_status,
                customer_id=order.customer_id,
                currency=order.currency,
                amount=Decimal(0),
                cargo_company_id=order.cargo_company_id,
                extra={**dict(order.extra or {}), "split_from": split["package_id"]},
                version=first + n,
                created_at=now,
                updated_at=now,
            )
            session.add(target)
            session.flush()
            for address in addresses:
                session.add(
                    Address(order_id=target.id, **{c: getattr(address, c) for c in ADDRESS_COPY})
                )
        for remote_id in package.get("item_remote_ids") or []:
            owner[str(remote_id)] = target
        target.version = first + n
        target.updated_at = now
    totals: dict[int, Decimal] = {}
    for remote_id, item in items.items():
        target = owner[remote_id]
        item.order_id = target.id
        totals[target.id] = totals.get(target.id, Decimal(0)) + Decimal(item.price) * item.quantity
    for target in {id(t): t for t in owner.values()}.values():
        target.amount = totals.get(target.id, Decimal(0))
    session.flush()
    return (order.id, True, None)


ADDRESS_COPY = (
    "kind",
    "first_name",
    "last_name",
    "phone",
    "line",
    "city_id",
    "township_id",
    "district_id",
    "postcode",
    "extra",
)

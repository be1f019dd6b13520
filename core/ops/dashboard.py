"""The Dashboard screen's eight numbers (seed 7.1), per channel, and their history.

Each number is computed in SQL from the commerce backend and the channel's
listings snapshot: one pass over the channel's catalog (joined to stocks, prices
and the snapshot by SKU) and one over the snapshot, so a million-SKU catalog
costs two scans, never a row in Python.  Definitions (also in docs/operations.md):

1. ``total_skus`` — products of type simple, active, in the channel's catalog.
2. ``skus_on_sale`` — listings on sale in the snapshot.
3. ``sku_difference`` — saleable products (``pazar.commerce.saleability``: price,
   stock > 0, one category, an image, in the catalog, simple, active) not on sale.
4. ``price_differences`` — catalog products whose listing price differs from the
   local price.
5. ``total_stock`` — stock (above zero) of the catalog products of (1).
6. ``stock_on_sale`` — stock of the listings on sale.
7. ``stock_difference`` — stock (above zero) of catalog products not on sale.
8. ``stock_differences`` — catalog products whose listing stock differs from the
   stock the stock flows send (local stock minus ``buffer_stock``, never below 0).

Without a snapshot yet, the numbers that need one are ``None`` (unknown, not zero).
A snapshot that could not see prices or stocks (``ListingRead.unavailable``: the
marketplace's listings show none) leaves the numbers that need them ``None`` too, and
``unavailable`` says why per number (``not available for <Marketplace>: ...``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, false, func, literal, or_, select, true
from sqlalchemy.orm import Session

from pazar.models.channels import Channel
from pazar.models.commerce import Catalog, CatalogItem, Price, Product, Stock
from pazar.models.ops import DashboardHistory, ListingRead, ListingSnapshot
from pazar.ops.settings import buffer_stock
from pazar.ops.snapshot import current_read, unavailable_kinds
from pazar.state.selection import catalog_code

NUMBERS = (
    "total_skus",
    "skus_on_sale",
    "sku_difference",
    "price_differences",
    "total_stock",
    "stock_on_sale",
    "stock_difference",
    "stock_differences",
)

# The numbers that need the marketplace's prices or stocks.
NEEDS = {
    "price": ("price_differences",),
    "stock": ("stock_on_sale", "stock_differences"),
}

TITLES = {
    "total_skus": "Total SKU in catalog",
    "skus_on_sale": "Number of SKUs on sale",
    "sku_difference": "Total SKU difference",
    "price_differences": "Number of SKUs with price differences (corrected)",
    "total_stock": "Total stock in catalog",
    "stock_on_sale": "Total stock on sale",
    "stock_difference": "Total stock difference",
    "stock_differences": "Number of SKUs with stock differences",
}


@dataclass
class Dashboard:
    """One channel's eight numbers, the snapshot they come from and the last corrections."""

    channel: str
    plugin: str
    catalog: str
    total_skus: int = 0
    skus_on_sale: int | None = None
    sku_difference: int | None = None
    price_differences: int | None = None
    total_stock: int = 0
    stock_on_sale: int | None = None
    stock_difference: int | None = None
    stock_differences: int | None = None
    snapshot_id: int | None = None
    snapshot_at: datetime | None = None
    snapshot_listings: int | None = None
    corrections: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # number → why it is None

    def numbers(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in NUMBERS}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _length(dialect: str) -> Any:
    return func.jsonb_array_length if dialect == "postgresql" else func.json_array_length


def _catalog_id(session: Session, channel: Any) -> int | None:
    return session.scalar(select(Catalog.id).where(Catalog.code == catalog_code(channel)))


def _positive(value: Any) -> Any:
    return case((value > 0, value), else_=0)


def catalog_pass(
    session: Session, *, catalog_id: int | None, read_id: int | None, buffer: int
) -> dict[str, int]:
    """Numbers 1, 3, 4, 5, 7 and 8: one pass over the catalog, joined to the snapshot."""
    p, ci, st, pr = (
        Product.__table__,
        CatalogItem.__table__,
        Stock.__table__,
        Price.__table__,
    )
    s = ListingSnapshot.__table__
    length = _length(session.get_bind().dialect.name)
    quantity = func.coalesce(st.c.quantity, 0)
    expected = _positive(quantity - buffer)
    listed = s.c.sku.is_not(None)
    not_on_sale = or_(s.c.on_sale.is_(None), s.c.on_sale.is_(false()))
    # saleability.saleable_clause, on the joined rows (simple, active and in the catalog
    # are the WHERE below): a price, stock above zero, one category, an image.
    saleable = and_(
        pr.c.id.is_not(None),
        st.c.quantity > 0,
        length(p.c.categories) == 1,
        length(p.c.images) >= 1,
    )
    one = literal(1, Integer)
    stmt = (
        select(
            func.count().label("total_skus"),
            func.coalesce(func.sum(_positive(st.c.quantity)), 0).label("total_stock"),
            func.coalesce(
                func.sum(case((and_(not_on_sale, st.c.quantity > 0), st.c.quantity), else_=0)),
                0,
            ).label("stock_difference"),
            func.coalesce(func.sum(case((and_(not_on_sale, saleable), one), else_=0)), 0).label(
                "sku_difference"
            ),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(
                                listed,
                                pr.c.price.is_not(None),
                                s.c.price.is_not(None),
                                pr.c.price != s.c.price,
                            ),
                            one,
                        ),
                        else_=0,
                    )
                ),
                0,
            ).label("price_differences"),
            func.coalesce(
                func.sum(
                    case(
                        (and_(listed, s.c.stock.is_not(None), s.c.stock != expected), one),
                        else_=0,
                    )
                ),
                0,
            ).label("stock_differences"),
        )
        .select_from(
            ci.join(p, p.c.id == ci.c.product_id)
            .outerjoin(st, st.c.product_id == p.c.id)
            .outerjoin(pr, pr.c.product_id == p.c.id)
            .outerjoin(s, and_(s.c.read_id == (read_id or 0), s.c.sku == p.c.sku))
        )
        .where(
            ci.c.catalog_id == (catalog_id if catalog_id is not None else -1),
            ci.c.deleted.is_(false()),
            p.c.product_type == "simple",
            p.c.active.is_(true()),
        )
    )
    row = session.execute(stmt).mappings().one()
    return {k: int(v or 0) for k, v in row.items()}


def snapshot_pass(session: Session, read_id: int) -> dict[str, int]:
    """Numbers 2 and 6: one pass over the snapshot."""
    s = ListingSnapshot.__table__
    row = (
        session.execute(
            select(
                func.count().label("skus_on_sale"),
                func.coalesce(func.sum(s.c.stock), 0).label("stock_on_sale"),
            ).where(s.c.read_id == read_id, s.c.on_sale.is_(true()))
        )
        .mappings()
        .one()
    )
    return {k: int(v or 0) for k, v in row.items()}


def last_corrections(session: Session, channel_id: int) -> dict[str, int]:
    """The corrections the latest history row recorded (the last reconciliation)."""
    row = session.execute(
        select(DashboardHistory.price_corrections, DashboardHistory.stock_corrections)
        .where(DashboardHistory.channel_id == channel_id)
        .order_by(DashboardHistory.recorded_at.desc(), DashboardHistory.id.desc())
        .limit(1)
    ).first()
    return {"price": int(row[0]) if row else 0, "stock": int(row[1]) if row else 0}


def compute(session: Session, channel: Any, *, read: ListingRead | None = None) -> Dashboard:
    """The eight numbers of ``channel`` now (from its current snapshot unless ``read``)."""
    if read is None:
        read = current_read(session, channel.id)
    board = Dashboard(channel=channel.slug, plugin=channel.plugin, catalog=catalog_code(channel))
    catalog = catalog_pass(
        session,
        catalog_id=_catalog_id(session, channel),
        read_id=read.id if read else None,
        buffer=buffer_stock(channel.config),
    )
    board.total_skus = catalog["total_skus"]
    board.total_stock = catalog["total_stock"]
    board.corrections = last_corrections(session, channel.id)
    if read is None:
        return board
    board.snapshot_id, board.snapshot_at, board.snapshot_listings = (
        read.id,
        read.finished_at,
        read.listings,
    )
    for name in ("sku_difference", "price_differences", "stock_difference", "stock_differences"):
        setattr(board, name, catalog[name])
    on_sale = snapshot_pass(session, read.id)
    board.skus_on_sale = on_sale["skus_on_sale"]
    board.stock_on_sale = on_sale["stock_on_sale"]
    board.unavailable = unavailable_numbers(read)
    for name in board.unavailable:
        setattr(board, name, None)  # unknown, never a zero the marketplace did not show
    return board


def unavailable_numbers(read: ListingRead | None) -> dict[str, str]:
    """The numbers ``read`` cannot give (those needing a kind it could not see), with why."""
    return {name: why for kind, why in unavailable_kinds(read).items() for name in NEEDS[kind]}


def channels_for(session: Session, slug: str | None) -> list[Channel]:
    """One channel by slug (NotFoundError naming it) or every channel, by slug."""
    if slug is None:
        return list(session.scalars(select(Channel).order_by(Channel.slug)))
    from pazar.errors import NotFoundError
    from pazar.suggest import did_you_mean

    channel = session.scalar(select(Channel).where(Channel.slug == slug))
    if channel is None:
        known = list(session.scalars(select(Channel.slug)))
        raise NotFoundError(f"no channel {slug!r}{did_you_mean(slug, known)}")
    return [channel]


def dashboards(session: Session, slug: str | None = None) -> list[Dashboard]:
    return [compute(session, channel) for channel in channels_for(session, slug)]


def record(
    session: Session,
    board: Dashboard,
    channel_id: int,
    *,
    now: datetime,
    corrections: dict[str, int] | None = None,
) -> None:
    """Keep the numbers as a history row (the trend)."""
    fixes = corrections or {}
    session.add(
        DashboardHistory(
            channel_id=channel_id,
            read_id=board.snapshot_id,
            recorded_at=now,
            price_corrections=int(fixes.get("price", 0)),
            stock_corrections=int(fixes.get("stock", 0)),
            **board.numbers(),
        )
    )


def history(session: Session, channel_id: int, limit: int = 24) -> list[dict[str, Any]]:
    """The latest ``limit`` history rows, oldest first."""
    rows: Iterable[DashboardHistory] = session.scalars(
        select(DashboardHistory)
        .where(DashboardHistory.channel_id == channel_id)
        .order_by(DashboardHistory.recorded_at.desc(), DashboardHistory.id.desc())
        .limit(limit)
    )
    out = [
        {
            "recorded_at": row.recorded_at,
            **{name: getattr(row, name) for name in NUMBERS},
            "corrections": {"price": row.price_corrections, "stock": row.stock_corrections},
        }
        for row in rows
    ]
    out.reverse()
    return out

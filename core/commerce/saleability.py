"""The seed's "saleable" rule (Dashboard screen), in SQL and in words.

A product is saleable on a channel when it is active, of simple type, in the
channel's catalog (not removed), has a price, has stock above zero, sits in
exactly one category and has at least one image.  The SQL form lets the
product flows select only saleable products inside the selection query; the
word form tells an operator why one SKU is not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from pazar.models.commerce import Catalog, CatalogItem, Price, Product, Stock

MAX_IMAGES = 10  # seed section 6: at most 10 images are sent


def catalog_code(channel: Any) -> str:
    """The catalog a channel sells: config ``catalog_code``, else the channel slug."""
    return str((channel.config or {}).get("catalog_code") or channel.slug)


# The seed's log errors (section 8) for a product its catalog offers without that data.
PRICE_DATA_NOT_FOUND = "Price data not found"
STOCK_DATA_NOT_FOUND = "Stock data not found"


def listable_clause(dialect: str, catalog_id: Any) -> ColumnElement[bool]:
    """Saleable in ``catalog_id`` but for price and stock: what the product itself and its
    catalog entry decide (use in a query over ``products``)."""
    # Aliased so the clause also works in a query that already joins prices or stocks.
    p = Product.__table__
    i = CatalogItem.__table__.alias("saleable_item")
    length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
    in_catalog = (
        select(i.c.id)
        .where(i.c.catalog_id == catalog_id, i.c.product_id == p.c.id, i.c.deleted.is_(False))
        .exists()
    )
    return and_(
        p.c.active.is_(True),
        p.c.product_type == "simple",
        length(p.c.categories) == 1,
        length(p.c.images) >= 1,
        in_catalog,
    )


def saleable_clause(dialect: str, catalog_id: Any) -> ColumnElement[bool]:
    """True for products saleable in ``catalog_id`` (use in a query over ``products``)."""
    p = Product.__table__
    pr = Price.__table__.alias("saleable_price")
    st = Stock.__table__.alias("saleable_stock")
    priced = select(pr.c.id).where(pr.c.product_id == p.c.id).exists()
    stocked = select(st.c.id).where(st.c.product_id == p.c.id, st.c.quantity > 0).exists()
    return and_(listable_clause(dialect, catalog_id), priced, stocked)


# What a product of the catalog may lack to be saleable (``lacking_data``'s words), and
# the seed's messages for each.
MISSING_DATA = {
    "price data": [PRICE_DATA_NOT_FOUND],
    "stock data": [STOCK_DATA_NOT_FOUND],
    "price and stock data": [PRICE_DATA_NOT_FOUND, STOCK_DATA_NOT_FOUND],
}


def lacking_data(has_price: Any, has_stock: Any) -> Any:
    """SQL: what a product lacks to be saleable, in words (``price data``, ``stock data``,
    ``price and stock data``), given two boolean expressions; NULL when it lacks neither."""
    return case(
        (and_(~has_price, ~has_stock), "price and stock data"),
        (~has_price, "price data"),
        (~has_stock, "stock data"),
        else_=None,
    )


def reasons_not_saleable(session: Session, channel: Any, sku: str) -> list[str]:
    """Every reason ``sku`` is not saleable on ``channel``; empty when it is."""
    p = Product.__table__
    product = session.execute(select(p).where(p.c.sku == sku)).mappings().first()
    if product is None:
        return [f"unknown SKU {sku!r}"]
    reasons: list[str] = []
    if not product["active"]:
        reasons.append("product is not active")
    if product["product_type"] != "simple":
        reasons.append(f"product type is {product['product_type']}, not simple")
    categories = product["categories"] or []
    if len(categories) == 0:
        reasons.append("product has no category")
    elif len(categories) > 1:
        reasons.append(
            f"product is in {len(categories)} categories ({', '.join(map(str, categories))}); "
            "a product must be in exactly one"
        )
    if not product["images"]:
        reasons.append("product has no image")
    code = catalog_code(channel)
    item = session.execute(
        select(CatalogItem.deleted)
        .join(Catalog, Catalog.id == CatalogItem.catalog_id)
        .where(Catalog.code == code, CatalogItem.product_id == product["id"])
    ).first()
    if item is None or item.deleted:
        reasons.append(f"product is not in catalog {code!r}")
    if session.scalar(select(Price.id).where(Price.product_id == product["id"])) is None:
        reasons.append(f"product has no price ({PRICE_DATA_NOT_FOUND})")
    quantity = session.scalar(select(Stock.quantity).where(Stock.product_id == product["id"]))
    if quantity is None:
        reasons.append(f"product has no stock ({STOCK_DATA_NOT_FOUND})")
    elif quantity <= 0:
        reasons.append("product has no stock")
    return reasons


def images_to_send(images: list[Any]) -> list[Any]:
    """At most ten images reach a marketplace (seed section 6)."""
    return list(images or [])[:MAX_IMAGES]

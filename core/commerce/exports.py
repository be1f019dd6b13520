"""``pazar catalog export KIND``: every kind out in the shape ``catalog import KIND`` reads.

The export is the import's inverse (re-importing it changes nothing), plus
read-only columns an operator needs to see: the ``version`` of versioned rows,
and the local ``id`` of cargo companies and cancellation reasons — the ids that
``cargo_company_mapping``, ``cancellation_reason_id`` and ``default_reason_id``
in a channel config point at.  Rows stream out; nothing is held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pazar.models.channels import Channel
from pazar.models.commerce import (
    AddressMapping,
    CancellationReason,
    CargoCompany,
    Catalog,
    CatalogItem,
    City,
    District,
    Price,
    Product,
    Stock,
    Township,
)

Rows = Iterator[tuple[Any, ...]]
ADDRESS_COLUMNS = [
    "city",
    "township",
    "district",
    "postcode",
    "channel",
    "city_code",
    "township_code",
    "district_code",
]


def _stream(session: Session, stmt: Any) -> Rows:
    for row in session.execute(stmt.execution_options(yield_per=2000)):
        yield tuple(row)


def _products(session: Session) -> Rows:
    p = Product.__table__
    parent = p.alias("parent")
    return _stream(
        session,
        select(
            p.c.sku,
            p.c.name,
            p.c.base_code,
            p.c.product_type,
            parent.c.sku,
            p.c.categories,
            p.c.images,
            p.c.attributes,
            p.c.active,
            p.c.version,
        )
        .select_from(p.outerjoin(parent, parent.c.id == p.c.parent_id))
        .order_by(p.c.id),
    )


def _prices(session: Session) -> Rows:
    return _stream(
        session,
        select(
            Product.sku,
            Price.price,
            Price.retail_price,
            Price.currency,
            Price.tax_rate,
            Price.version,
        )
        .join(Product, Product.id == Price.product_id)
        .order_by(Price.id),
    )


def _stocks(session: Session) -> Rows:
    return _stream(
        session,
        select(Product.sku, Stock.quantity, Stock.extra, Stock.version)
        .join(Product, Product.id == Stock.product_id)
        .order_by(Stock.id),
    )


def _catalog_items(session: Session) -> Rows:
    return _stream(
        session,
        select(Catalog.code, Product.sku, CatalogItem.deleted, CatalogItem.version)
        .join(Catalog, Catalog.id == CatalogItem.catalog_id)
        .join(Product, Product.id == CatalogItem.product_id)
        .order_by(CatalogItem.id),
    )


def _cargo_companies(session: Session) -> Rows:
    return _stream(
        session,
        select(
            CargoCompany.id, CargoCompany.code, CargoCompany.name, CargoCompany.tracking_url
        ).order_by(CargoCompany.id),
    )


def _cancellation_reasons(session: Session) -> Rows:
    r = CancellationReason
    return _stream(session, select(r.id, r.kind, r.code, r.name, r.active).order_by(r.kind, r.id))


def _addresses(session: Session) -> Rows:
    """One row per district (or township without districts), then one row per
    marketplace code, naming the place it maps to the way the import reads it."""
    base = (
        select(City.name, Township.name, District.name, District.postcode)
        .select_from(Township)
        .join(City, City.id == Township.city_id)
        .outerjoin(District, District.township_id == Township.id)
        .order_by(City.id, Township.id, District.id)
    )
    for city, township, district, postcode in _stream(session, base):
        yield (city, township, district, postcode, None, None, None, None)
    first_township = (
        select(Township.city_id, func.min(Township.id).label("township_id"))
        .group_by(Township.city_id)
        .subquery()
    )
    m = AddressMapping
    district_cols = (District.name, District.postcode)
    levels = {
        # a city-level code is written on the city's first township (the import needs one)
        "city": select(m.id, Channel.slug, m.remote_code, City.name, Township.name)
        .join(City, City.id == m.local_id)
        .join(first_township, first_township.c.city_id == City.id)
        .join(Township, Township.id == first_township.c.township_id),
        "township": select(m.id, Channel.slug, m.remote_code, City.name, Township.name)
        .join(Township, Township.id == m.local_id)
        .join(City, City.id == Township.city_id),
        "district": select(
            m.id, Channel.slug, m.remote_code, City.name, Township.name, *district_cols
        )
        .join(District, District.id == m.local_id)
        .join(Township, Township.id == District.township_id)
        .join(City, City.id == Township.city_id),
    }
    for level, stmt in levels.items():
        stmt = stmt.outerjoin(Channel, Channel.id == m.channel_id).where(m.level == level)
        for row in _stream(session, stmt.order_by(m.id)):
            _id, slug, code, city, township, *rest = row
            district, postcode = rest if rest else (None, None)
            codes = {"city": None, "township": None, "district": None, level: code}
            yield (
                city,
                township,
                district,
                postcode,
                slug,
                codes["city"],
                codes["township"],
                codes["district"],
            )


EXPORTS: dict[str, tuple[list[str], Callable[[Session], Rows]]] = {
    "products": (
        [
            "sku",
            "name",
            "base_code",
            "product_type",
            "parent_sku",
            "categories",
            "images",
            "attributes",
            "active",
            "version",
        ],
        _products,
    ),
    "prices": (["sku", "price", "retail_price", "currency", "tax_rate", "version"], _prices),
    "stocks": (["sku", "quantity", "extra", "version"], _stocks),
    "catalog_items": (["catalog", "sku", "deleted", "version"], _catalog_items),
    "cargo_companies": (["id", "code", "name", "tracking_url"], _cargo_companies),
    "cancellation_reasons": (["id", "kind", "code", "name", "active"], _cancellation_reasons),
    "addresses": (ADDRESS_COLUMNS, _addresses),
}


def export_rows(session: Session, kind: str) -> tuple[list[str], Rows]:
    """(column names, rows) of ``kind``, in the import's column order."""
    columns, rows = EXPORTS[kind]
    return columns, rows(session)

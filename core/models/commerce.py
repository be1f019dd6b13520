"""The local commerce backend's tables: what the seller has (the seed's Omnitron side).

Every row that a flow may send carries ``version``, taken from one global
counter on each real change, so "changed since the last integration" is an
indexed comparison against the integration actions rather than a scan.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pazar.models.base import Base, JSONType, UTCDateTime


class CommerceVersion(Base):
    """The one-row global version counter (see ``pazar.commerce.versioning``)."""

    __tablename__ = "commerce_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(255), unique=True)
    base_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str] = mapped_column(String(512), default="")
    product_type: Mapped[str] = mapped_column(String(16), default="simple")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    categories: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    images: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Catalog(Base):
    __tablename__ = "catalogs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")


class CatalogItem(Base):
    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("catalog_id", "product_id"),
        Index("ix_catalog_items_product", "product_id", "catalog_id"),
    )


class Price(Base):
    __tablename__ = "prices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, unique=True)  # no FK: see migration 0018
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    retail_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="TRY")
    tax_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), nullable=True)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Stock(Base):
    __tablename__ = "stocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, unique=True)  # no FK: see migration 0018
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CargoCompany(Base):
    __tablename__ = "cargo_companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    tracking_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)


class CancellationReason(Base):
    """Why an order item is cancelled or refunded (seed: Cancellation / Default Reason Id)."""

    __tablename__ = "cancellation_reasons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # cancel | refund
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("kind", "code"),)


class City(Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)


class Township(Base):
    __tablename__ = "townships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))

    __table_args__ = (UniqueConstraint("city_id", "name"),)


class District(Base):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    postcode: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (UniqueConstraint("township_id", "name"),)


class AddressMapping(Base):
    """A marketplace's name for a local city/township/district.

    ``channel_id`` NULL is the shared mapping; a channel-specific row wins when
    the channel uses the seed's "Use Channel Id In Address Mapping".
    """

    __tablename__ = "address_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), nullable=True
    )
    level: Mapped[str] = mapped_column(String(16))  # city | township | district
    remote_code: Mapped[str] = mapped_column(String(255))
    local_id: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_address_mappings_lookup", "level", "remote_code", "channel_id"),)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (UniqueConstraint("channel_id", "remote_id"),)


class Order(Base):
    """One marketplace package as an order; (channel, number, package) is its identity."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    remote_number: Mapped[str] = mapped_column(String(128))
    package_id: Mapped[str] = mapped_column(String(128), default="")
    number: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(32), default="new")
    # The status the marketplace last reported (shipped, delivered, ...): an order update
    # never tells the marketplace what it said itself.
    remote_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="TRY")
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    cargo_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("cargo_companies.id"), nullable=True
    )
    tracking_number: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tracking_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    invoice_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel_id", "remote_number", "package_id"),
        Index("ix_orders_number", "number"),
    )


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # shipping | billing
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    line: Mapped[str] = mapped_column(Text, default="")
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id"), nullable=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), nullable=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    remote_id: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    sku: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    status: Mapped[str] = mapped_column(String(32), default="new")
    cancellation_reason_id: Mapped[int | None] = mapped_column(
        ForeignKey("cancellation_reasons.id"), nullable=True
    )

    __table_args__ = (UniqueConstraint("order_id", "remote_id"),)


class CancellationRequest(Base):
    """A refund (or cancel) request on an order item, as the seed's Reject Refund screen."""

    __tablename__ = "cancellation_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), default="refund")  # cancel | refund
    # Who asked: ``marketplace`` (read from it) or ``local`` (made in the commerce backend,
    # to be sent to the marketplace).  A marketplace's own cancellation is never sent back.
    origin: Mapped[str] = mapped_column(String(16), default="marketplace")
    remote_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | approved | rejected
    reason_id: Mapped[int | None] = mapped_column(
        ForeignKey("cancellation_reasons.id"), nullable=True
    )
    remote_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    explanation: Mapped[str | None] = mapped_column(Text, nullable=True)
    photo_urls: Mapped[list[str]] = mapped_column(JSONType, default=list)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel_id", "kind", "remote_id"),
        Index("ix_cancellation_requests_status", "channel_id", "status"),
    )

"""Operations: what is on sale (listing snapshots), the dashboard's history, the
corrections reconciliation queued, and alarm rules with their history.

A channel's listing snapshot is the rows of its latest *complete* read: a read
writes its rows under its own id and becomes the truth only when the marketplace
was read to the end, so a read that fails half way never replaces a whole one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pazar.models.base import Base, JSONType, UTCDateTime

READ_STATUSES = ("reading", "complete", "abandoned")


class ListingRead(Base):
    """One read of a channel's listings; its id is the generation of its snapshot rows."""

    __tablename__ = "listing_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="reading")
    listings: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What this read could not see, with why: ``{"price": "not available for X: ...",
    # "stock": ...}`` (the flow's ``unavailable`` sink param); None when it saw everything.
    unavailable: Mapped[dict[str, str] | None] = mapped_column(JSONType, nullable=True)

    __table_args__ = (Index("ix_listing_reads_channel_status", "channel_id", "status", "id"),)


class ListingSnapshot(Base):
    """One listing as the marketplace showed it: SKU, price, stock, status.

    Keyed by (read, SKU) without a surrogate id: a million-row read writes one
    B-tree, and every question is "this read's rows" or "this SKU in this read".
    """

    __tablename__ = "listing_snapshots"

    read_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    remote_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    stock: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(64), default="on_sale")
    on_sale: Mapped[bool] = mapped_column(Boolean, default=True)


class DashboardHistory(Base):
    """The eight numbers of one channel at one moment, for trends."""

    __tablename__ = "dashboard_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    read_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total_skus: Mapped[int] = mapped_column(BigInteger, default=0)
    skus_on_sale: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sku_difference: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    price_differences: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total_stock: Mapped[int] = mapped_column(BigInteger, default=0)
    stock_on_sale: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stock_difference: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stock_differences: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    price_corrections: Mapped[int] = mapped_column(Integer, default=0)
    stock_corrections: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_dashboard_history_channel_at", "channel_id", "recorded_at"),)


class ReconcileCorrection(Base):
    """A price or stock difference that reconciliation queued to be sent again."""

    __tablename__ = "reconcile_corrections"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    read_id: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(255))
    local_value: Mapped[str | None] = mapped_column(String(64), nullable=True)
    remote_value: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_reconcile_corrections_channel", "channel_id", "content_type", "created_at"),
    )


class AlarmRule(Base):
    """An alarm: a condition over runs, penalties, batches, schedules or daemons, and
    whom to tell.  The rule row also carries its state (firing since, last notice),
    moved with a compare-and-set on ``state_version`` so two daemons never both notify.
    """

    __tablename__ = "alarm_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), nullable=True
    )
    flow: Mapped[str | None] = mapped_column(String(160), nullable=True)
    threshold: Mapped[float] = mapped_column(Float, default=0.0)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    repeat_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    webhooks: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    firing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlarmEvent(Base):
    """A notice an alarm sent (fire, repeat, resolve, test) and how each delivery went."""

    __tablename__ = "alarm_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alarm_rules.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    deliveries: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)

    __table_args__ = (Index("ix_alarm_events_rule_at", "rule_id", "at"),)

"""What a marketplace says about its own catalog, per channel, and the channel's mapping.

The category tree, each category's attributes and the allowed values are pulled
from the marketplace (Category Node / Category Attributes flows) and kept here so
that mapping checks and product payloads never call the marketplace.  Rows are
never deleted when the marketplace drops them: they turn ``removed`` so a mapping
that still points at them gets a clear finding instead of a silent gap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pazar.models.base import Base, UTCDateTime

# Category and attribute lifecycle on the marketplace side (Compare Attributes).
MP_STATUSES = ("active", "changed", "removed")

# Attributes every product payload carries whatever its category (the seed's
# "Default Attributes"); they are stored under this pseudo category.
DEFAULT_CATEGORY = ""


class MarketplaceCategory(Base):
    __tablename__ = "mp_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(64))
    parent_remote_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text, default="")
    leaf: Mapped[bool] = mapped_column(Boolean, default=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel_id", "remote_id", name="uq_mp_categories_remote"),
        Index("ix_mp_categories_parent", "channel_id", "parent_remote_id"),
    )


class MarketplaceAttribute(Base):
    __tablename__ = "mp_attributes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    category_remote_id: Mapped[str] = mapped_column(String(64))
    remote_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    group: Mapped[str] = mapped_column(String(32), default="attribute")
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str] = mapped_column(String(32), default="string")
    multi_value: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    change_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint(
            "channel_id", "category_remote_id", "remote_id", name="uq_mp_attributes_remote"
        ),
    )


class MarketplaceAttributeValue(Base):
    __tablename__ = "mp_attribute_values"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    category_remote_id: Mapped[str] = mapped_column(String(64))
    attribute_remote_id: Mapped[str] = mapped_column(String(128))
    remote_id: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(512))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint(
            "channel_id",
            "category_remote_id",
            "attribute_remote_id",
            "remote_id",
            name="uq_mp_attribute_values_remote",
        ),
    )


class ChannelMapping(Base):
    """The channel's mapping document: parsed (what runs) and as written (what exports)."""

    __tablename__ = "channel_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), unique=True
    )
    # Plain JSON, not JSONB: PostgreSQL keeps the key order the operator wrote.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

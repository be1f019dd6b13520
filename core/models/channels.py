"""Channels: one seller account on one marketplace, and its config history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pazar.models.base import Base, JSONType, UTCDateTime


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    plugin: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="inactive")
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.status == "active"


class ConfigChange(Base):
    """A saved config change: which keys changed and which flows plugins asked for."""

    __tablename__ = "config_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), index=True
    )
    changed_keys: Mapped[list[str]] = mapped_column(JSONType, default=list)
    requested_flows: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # [{"key": dotted key, "old": value, "new": value}], secrets already masked;
    # None for changes saved before pazar kept values (migration 0007)
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    source: Mapped[str] = mapped_column(String(32), default="cli")
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

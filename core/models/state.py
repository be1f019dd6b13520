"""Integration state: what was sent where, what failed, what waits on a marketplace.

``object_id`` is the commerce row id (a product id for products, prices and
stocks, an order id for orders) and deliberately has no foreign key: the
commerce backend may live outside pazar's database.  ``object_key`` (a SKU, an
order number) is kept next to it so operators can read and release by key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pazar.models.base import Base, JSONType, UTCDateTime

OPEN_BATCH_STATUSES = ("initialized", "commit", "sent_to_remote", "ongoing")
WAITING_BATCH_STATUSES = ("sent_to_remote", "ongoing")
FINAL_BATCH_STATUSES = ("done", "fail")


class IntegrationAction(Base):
    """The last successful integration of one object on one channel and content type."""

    __tablename__ = "integration_actions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(255))
    remote_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    version: Mapped[int] = mapped_column(BigInteger)
    payload_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="success")
    # What the marketplace now holds of the object, for flows that must never send it
    # backwards (an order's status last sent); None: nothing such.
    state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    batch_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel_id", "content_type", "object_id"),
        Index("ix_integration_actions_channel_key", "channel_id", "content_type", "object_key"),
        # Room in each page for the next push's update of its rows (migration 0020).
        {"postgresql_with": {"fillfactor": 50}},
    )


class FailedIntegration(Base):
    """A penalty: the object is held back until its snapshot policy allows a retry.

    The policy values are copied from the channel config at every failure, so a
    config change applies from the object's next failure on.  ``next_retry_at``
    is NULL once no retry can ever happen (count or time exhausted), which keeps
    the retry scan to the penalties that are actually due.

    A record with no local object yet (a package read from a marketplace, before it
    became an order) is penalised by its key: ``object_id`` NULL, one row per
    (channel, content type, key), and ``payload`` keeps the record as last read so a
    released penalty can be retried after the marketplace stopped listing it.
    """

    __tablename__ = "failed_integrations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    object_key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payload: Mapped[Any] = mapped_column(JSONType, nullable=True)
    reason_type: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    batch_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retry_count: Mapped[int] = mapped_column(Integer, default=1)
    max_retry_count: Mapped[int] = mapped_column(Integer)
    retry_interval: Mapped[int] = mapped_column(Integer)
    expiration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("channel_id", "content_type", "object_id"),
        Index("ix_failed_integrations_due", "channel_id", "content_type", "next_retry_at"),
        Index("ix_failed_integrations_channel_key", "channel_id", "content_type", "object_key"),
        Index(
            "uq_failed_integrations_keyed",
            "channel_id",
            "content_type",
            "object_key",
            unique=True,
            sqlite_where=text("object_id IS NULL"),
            postgresql_where=text("object_id IS NULL"),
        ),
    )


class BatchRequest(Base):
    """One asynchronous marketplace call and its lifecycle.

    initialized → commit → sent_to_remote → ongoing → done | fail.
    """

    __tablename__ = "batch_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_batch_id: Mapped[str] = mapped_column(String(36), unique=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(32))
    flow: Mapped[str] = mapped_column(String(160))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="initialized")
    remote_batch_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The upload sink (registered step type) that sent it and which of its uploads it is:
    # the engine polls the batch through that sink.
    sink: Mapped[str | None] = mapped_column(String(160), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_batch_requests_channel_status", "channel_id", "status"),
        Index("ix_batch_requests_status_sent", "status", "sent_at"),
    )


class BatchRequestItem(Base):
    """One object inside a batch; ``in_flight`` is true until the batch ends."""

    __tablename__ = "batch_request_items"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("batch_requests.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(255))
    # What the marketplace calls the record in its results, when not object_key.
    result_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payload_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    in_flight: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    remote_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)

    # Only the items in flight: what every in-flight check probes (migration 0019 says why).
    __table_args__ = (
        Index(
            "ix_batch_request_items_in_flight",
            "channel_id",
            "content_type",
            "object_id",
            sqlite_where=column("in_flight", Boolean).is_(True),
            postgresql_where=column("in_flight", Boolean).is_(True),
        ),
    )


class IntegrationWait(Base):
    """A record that waits for its object to be integrated as another content type first
    (a stock for its product), or for data the commerce backend lacks (``needs`` "price
    data": Product Create, see ``pazar.state.lifecycle``): not a penalty; it goes out in the
    first run after that, and its row goes then."""

    __tablename__ = "integration_waits"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(255))
    needs: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        UniqueConstraint("channel_id", "content_type", "object_id"),
        Index("ix_integration_waits_needs", "channel_id", "needs", "object_id"),
    )


class SyncCursor(Base):
    """How far a change stream was read for one channel, content type and source.

    Only a lower bound that spares re-reading old versions: selection still
    compares each record with its integration action, so a cursor that lags
    costs time, never correctness.
    """

    __tablename__ = "sync_cursors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("channel_id", "content_type", "source"),)

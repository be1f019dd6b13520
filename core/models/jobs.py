"""The work queue: jobs, the schedule ticks that enqueued them, and the daemons.

Schedules, config changes and manual triggers all become job rows; daemons
lease them.  A tick row unique per (channel, flow, tick) is written in the same
transaction as its job, so any number of schedulers enqueue a tick exactly once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pazar.models.base import Base, JSONType, UTCDateTime

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(160))  # plugin/flow
    trigger: Mapped[str] = mapped_column(String(32))  # schedule | config_change | manual | http
    status: Mapped[str] = mapped_column(String(16), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    after_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_jobs_status_not_before_id", "status", "not_before", "id"),
        Index("ix_jobs_channel_flow_status", "channel_id", "flow", "status"),
        Index("ix_jobs_run_id", "run_id"),  # pazar logs: the job of each run
        # At most one running job per (channel, flow), enforced by the database itself.
        Index(
            "uq_jobs_one_running",
            "channel_id",
            "flow",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )


class ScheduleTick(Base):
    __tablename__ = "schedule_ticks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(160))
    tick: Mapped[datetime] = mapped_column(UTCDateTime)
    # schedule (a cron tick) | change | upload (a wake-up): pruning keeps the newest cron tick
    trigger: Mapped[str] = mapped_column(String(16), server_default="schedule")
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("channel_id", "flow", "tick"),)


class ChangeMark(Base):
    """The last change to one kind of commerce record (``stocks``, ``prices``, ``products``).

    Written in the transaction of the change itself, so a daemon that reads a new
    ``serial`` knows the change is committed and wakes the flows that send it
    (:mod:`pazar.jobs.wake`).  One row per kind: a burst of changes is one row.
    """

    __tablename__ = "change_marks"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Daemon(Base):
    __tablename__ = "daemons"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    workers: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiToken(Base):
    """A token for the HTTP trigger API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # None: any channel / any flow; else the slugs / flow names (or plugin/flow refs) allowed.
    channels: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    flows: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)


class ApiTokenEvent(Base):
    """A token's creation or revocation, kept after the token is gone (the audit trail)."""

    __tablename__ = "api_token_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_name: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(16))  # created | revoked
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

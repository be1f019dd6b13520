"""The web dashboard's own tables: users, the audit log of changes made through it,
its session-signing key, and files uploaded through it (refund evidence photos).

Passwords are kept only as scrypt hashes with a salt of their own (``pazar.web.auth``).
An audit row is written in the same transaction as the change it describes, so the
log never claims a change that was rolled back, nor misses one that was saved.
Uploaded files live in the database, not on a disk, so every daemon serving the
dashboard (PostgreSQL: several machines) serves the same file at the same URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pazar.models.base import Base, JSONType, UTCDateTime

ROLES = ("viewer", "operator", "admin")


class WebUser(Base):
    """Someone who may log in to the dashboard, with one role."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # "scrypt$n$r$p$salt-hex$hash-hex": parameters travel with the hash, so they can grow
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    # bumped by a password change or a role change: older session cookies stop working
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebAudit(Base):
    """One change made through the web (or to web users by the CLI): who, what, old → new."""

    __tablename__ = "web_audit"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), default="")
    # [{"key", "old", "new"}] with secrets masked, or a free-form dict for other actions
    changes: Mapped[Any] = mapped_column(JSONType, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_web_audit_at", "at"),)


class WebSecret(Base):
    """Keys the web needs across restarts and daemons (the session-signing key)."""

    __tablename__ = "web_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoredFile(Base):
    """A file uploaded to pazar and served at an unguessable URL (``pazar.files``)."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    purpose: Mapped[str] = mapped_column(String(64), default="")
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

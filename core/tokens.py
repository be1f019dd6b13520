"""API tokens for the HTTP trigger endpoint.

A token is shown once when created; only its SHA-256 is stored, and a presented
token is compared with ``hmac.compare_digest`` so response timing reveals
nothing about stored hashes.  Tokens are random (256 bits), so a plain hash is
enough: there is nothing to brute-force as there would be with passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.errors import NotFoundError, ValidationError
from pazar.models.jobs import ApiToken

PREFIX = "pzr_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, now: datetime) -> str:
    """Create a token named ``name``; returns the token (the only time it is visible)."""
    if not _NAME.match(name):
        raise ValidationError(f"token name {name!r}: use letters, digits, '.', '_' or '-'")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise ValidationError(f"a token named {name!r} exists; revoke it first")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_digest(token), created_at=now))
    session.flush()
    return token


def revoke_token(session: Session, name: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFoundError(f"no token named {name!r}")
    session.delete(row)


def verify_token(session: Session, presented: str, now: datetime) -> str | None:
    """The name of the token ``presented`` is, or None."""
    digest = _digest(presented)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    row.last_used_at = now
    return row.name


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))

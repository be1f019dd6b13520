"""API tokens for the HTTP trigger endpoint.

A token is shown once when created; only its SHA-256 is stored, and a presented
token is compared with ``hmac.compare_digest`` so response timing reveals
nothing about stored hashes.  Tokens are random (256 bits), so a plain hash is
enough: there is nothing to brute-force as there would be with passwords.

A token may be limited to some channels and flows, so the OMS that sends
warehouse updates cannot also trigger product uploads.  Creating and revoking
leave a row in ``api_token_events`` that outlives the token (the audit trail).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.errors import NotFoundError, ValidationError
from pazar.models.jobs import ApiToken, ApiTokenEvent

PREFIX = "pzr_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenGrant:
    """Who presented a valid token and what it may trigger (None: anything)."""

    name: str
    channels: tuple[str, ...] | None = None
    flows: tuple[str, ...] | None = None

    def allows(self, channel: str, flow_ref: str) -> bool:
        """``flow_ref`` is ``plugin/flow``; a scope may name either form."""
        if self.channels is not None and channel not in self.channels:
            return False
        if self.flows is not None:
            bare = flow_ref.split("/", 1)[-1]
            return flow_ref in self.flows or bare in self.flows
        return True

    def scope(self) -> str:
        channels = ", ".join(self.channels) if self.channels is not None else "any channel"
        flows = ", ".join(self.flows) if self.flows is not None else "any flow"
        return f"{channels}; {flows}"


def _scope(values: Sequence[str] | None, what: str) -> list[str] | None:
    if not values:
        return None
    cleaned = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    for value in cleaned:
        if len(value) > 160 or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$", value):
            raise ValidationError(f"--{what} {value!r} is not a {what} name")
    return cleaned or None


def create_token(
    session: Session,
    name: str,
    now: datetime,
    *,
    channels: Sequence[str] | None = None,
    flows: Sequence[str] | None = None,
) -> str:
    """Create a token named ``name``, optionally limited to ``channels`` and ``flows``;
    returns the token (the only time it is visible)."""
    if not _NAME.match(name):
        raise ValidationError(f"token name {name!r}: use letters, digits, '.', '_' or '-'")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise ValidationError(f"a token named {name!r} exists; revoke it first")
    scope_channels, scope_flows = _scope(channels, "channel"), _scope(flows, "flow")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            token_hash=_digest(token),
            created_at=now,
            channels=scope_channels,
            flows=scope_flows,
        )
    )
    session.add(
        ApiTokenEvent(
            token_name=name,
            event="created",
            detail={"channels": scope_channels, "flows": scope_flows},
            created_at=now,
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, name: str, now: datetime | None = None) -> None:
    """Delete the token (requests with it get 401) and keep an audit row saying when."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFoundError(f"no token named {name!r}")
    session.add(
        ApiTokenEvent(
            token_name=name,
            event="revoked",
            detail={
                "created_at": row.created_at.isoformat(),
                "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
                "channels": row.channels,
                "flows": row.flows,
            },
            created_at=now or row.created_at,
        )
    )
    session.delete(row)


def verify_token(session: Session, presented: str, now: datetime) -> TokenGrant | None:
    """What the token ``presented`` may do, or None when it is no valid token."""
    digest = _digest(presented)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    row.last_used_at = now
    return TokenGrant(
        row.name,
        tuple(row.channels) if row.channels is not None else None,
        tuple(row.flows) if row.flows is not None else None,
    )


def token_events(session: Session, name: str | None = None) -> list[ApiTokenEvent]:
    stmt = select(ApiTokenEvent).order_by(ApiTokenEvent.id)
    if name is not None:
        stmt = stmt.where(ApiTokenEvent.token_name == name)
    return list(session.scalars(stmt))


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))

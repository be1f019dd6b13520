"""The audit log of changes made through the web: who, what, old → new, when.

Every handler that changes something calls :func:`record` inside the transaction of
the change, so a rolled-back change leaves no audit row and a saved one always has
one.  Values are what the engine already masks (channel config history masks
secrets when it is stored); nothing here ever receives a secret in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.models.web import WebAudit

PAGE = 100


def record(
    session: Session,
    *,
    who: str,
    action: str,
    target: str = "",
    changes: Any = None,
    detail: str | None = None,
    now: datetime,
) -> WebAudit:
    row = WebAudit(
        at=now,
        username=who,
        action=action,
        target=target[:255],
        changes=changes,
        detail=detail,
    )
    session.add(row)
    return row


def entries(
    session: Session,
    *,
    before: int | None = None,
    user: str | None = None,
    action: str | None = None,
    limit: int = PAGE,
) -> list[WebAudit]:
    """Newest first, keyset paged by id."""
    stmt = select(WebAudit).order_by(WebAudit.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(WebAudit.id < before)
    if user:
        stmt = stmt.where(WebAudit.username == user)
    if action:
        stmt = stmt.where(WebAudit.action == action)
    return list(session.scalars(stmt))

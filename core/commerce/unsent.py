"""Which local records an outbound flow sends next: changed since it last sent them.

The order updates (``commerce.changed_orders``) and the refund decisions and local
cancellations (``commerce.refund_decisions``, ``commerce.local_cancellations``) page
their records by version with the same rule: a record counts when its version is past
the page's cursor, newer than what this content type last sent of it (or never sent),
and no penalty holds it back now.  Keeping the rule in one place keeps those flows
agreeing on what "unsent" means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_

from pazar.models.state import FailedIntegration, IntegrationAction
from pazar.state.penalties import sql_holds_back


@dataclass(frozen=True)
class Unsent:
    """``sent``: the integration actions alias (its columns may be selected; outer-join it
    ``on``); ``where``: the conditions that keep the records to send."""

    sent: Any
    on: Any
    where: list[Any]


def unsent_changes(
    channel_id: int, content_type: str, object_id: Any, version: Any, *, now: datetime, after: int
) -> Unsent:
    """The rule for the records whose id column is ``object_id`` and version column is
    ``version`` (past ``after``, newer than last sent, not held back by a penalty)."""
    a = IntegrationAction.__table__.alias("sent")
    f = FailedIntegration.__table__.alias("held")
    return Unsent(
        sent=a,
        on=and_(
            a.c.channel_id == channel_id,
            a.c.content_type == content_type,
            a.c.object_id == object_id,
        ),
        where=[
            version > after,
            or_(a.c.id.is_(None), a.c.version < version),
            ~exists().where(
                f.c.channel_id == channel_id,
                f.c.content_type == content_type,
                f.c.object_id == object_id,
                sql_holds_back(f, now),
            ),
        ],
    )

"""Deleting a channel, and saying first what goes with it.

Everything pazar keeps for a channel hangs off ``channels.id`` (``ON DELETE
CASCADE``): runs and their logs, jobs, integration state, penalties, batch
requests, the marketplace catalog and mapping, and the orders imported from it.
The operator sees those counts before anything is deleted, and a channel whose
jobs are running is not deleted under them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from pazar.errors import PazarError
from pazar.models.base import Base
from pazar.models.channels import Channel
from pazar.models.commerce import Order
from pazar.models.jobs import Job


@dataclass
class ChannelState:
    """Rows per table that deleting the channel removes (tables with none left out)."""

    slug: str
    rows: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [f"{table}: {count}" for table, count in self.rows.items()]


def _channel_tables() -> list[tuple[Table, Any]]:
    """(table, its channel id column) for every table that hangs off ``channels``."""
    import pazar.models  # noqa: F401 - every table on the metadata

    out = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "channels" and fk.parent.name == "channel_id":
                out.append((table, fk.parent))
    return out


def _child_tables(parents: list[Table]) -> list[tuple[Table, Any, Table]]:
    """(table, fk column, parent) for rows that go with a channel's rows (run logs, items)."""
    names = {t.name for t in parents}
    out = []
    for table in Base.metadata.sorted_tables:
        if any(fk.parent.name == "channel_id" for fk in table.foreign_keys):
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name in names and (fk.ondelete or "").upper() == "CASCADE":
                out.append((table, fk.parent, fk.column.table))
    return out


def channel_state(session: Session, channel: Channel) -> ChannelState:
    """What deleting ``channel`` would remove, counted (one count per table)."""
    state = ChannelState(channel.slug)
    direct = _channel_tables()
    for table, column in direct:
        count = session.scalar(select(func.count()).select_from(table).where(column == channel.id))
        if count:
            state.rows[table.name] = int(count)
    for table, column, parent in _child_tables([t for t, _ in direct]):
        ids = select(parent.c.id).where(parent.c.channel_id == channel.id)
        count = session.scalar(select(func.count()).select_from(table).where(column.in_(ids)))
        if count:
            state.rows[table.name] = int(count)
    return state


def running_jobs(session: Session, channel: Channel, *, lock: bool = False) -> list[str]:
    """The channel's running jobs.  With ``lock`` (PostgreSQL) its job rows stay locked
    until the transaction ends, so no daemon leases one between this check and the delete."""
    stmt = select(Job.id, Job.flow, Job.status).where(Job.channel_id == channel.id)
    if lock:
        stmt = stmt.with_for_update()
    rows = session.execute(stmt.order_by(Job.id))
    return [f"job {job_id} {flow}" for job_id, flow, status in rows if status == "running"]


def delete_channel(session: Session, channel: Channel) -> ChannelState:
    """Delete the channel and everything that hangs off it; refused while its jobs run."""
    busy = running_jobs(session, channel, lock=True)
    if busy:
        raise PazarError(
            f"channel {channel.slug!r} has {len(busy)} running job(s) ({', '.join(busy)}): "
            f"run `pazar channel deactivate {channel.slug}`, wait for them to finish "
            "(pazar status), then delete it",
        )
    state = channel_state(session, channel)
    # Orders first: their customers go with the channel too, and the order → customer
    # reference does not cascade.
    session.execute(delete(Order).where(Order.channel_id == channel.id))
    session.execute(delete(Channel).where(Channel.id == channel.id))
    session.flush()
    return state

"""``pazar batches``: asynchronous marketplace requests and the objects in them."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import emit, json_option, print_json, print_table
from pazar.errors import ValidationError
from pazar.models.channels import Channel
from pazar.models.state import BatchRequest, BatchRequestItem
from pazar.number_input import NumberError, parse_integer


def _summary(batch: BatchRequest, slug: str, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": batch.id,
        "local_batch_id": batch.local_batch_id,
        "channel": slug,
        "content_type": batch.content_type,
        "flow": batch.flow,
        "run_id": batch.run_id,
        "status": batch.status,
        "remote_batch_id": batch.remote_batch_id,
        "items": batch.item_count,
        "ok": counts.get("ok", 0),
        "failed": counts.get("failed", 0),
        "pending": counts.get("pending", 0),
        "created_at": batch.created_at,
        "sent_at": batch.sent_at,
        "finished_at": batch.finished_at,
        "error": batch.error,
    }


def _counts(session: Any, ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if not ids:
        return out
    stmt = (
        select(BatchRequestItem.batch_id, BatchRequestItem.status, func.count())
        .where(BatchRequestItem.batch_id.in_(ids))
        .group_by(BatchRequestItem.batch_id, BatchRequestItem.status)
    )
    for batch_id, status, count in session.execute(stmt):
        out.setdefault(batch_id, {})[status] = count
    return out


@click.group("batches")
def batches_group() -> None:
    """Batch requests: uploads waiting on a marketplace, per-object outcomes."""


@batches_group.command("list")
@click.option("--channel", "channel_slug", default=None, help="Only this channel.")
@click.option(
    "--status",
    default=None,
    help="initialized, commit, sent_to_remote, ongoing, done, fail, or 'open'.",
)
@click.option("--limit", type=Integer(min=1), default=100, show_default=True, help="Newest N.")
@json_option
def list_cmd(channel_slug: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Newest batch requests first, with per-object counts."""
    from pazar.models.state import OPEN_BATCH_STATUSES
    from pazar.state.batches import STATUSES

    if status and status != "open" and status not in STATUSES:
        raise ValidationError(f"--status {status!r} is not one of: open, {', '.join(STATUSES)}")
    a = app()
    with a.db.session() as session:
        stmt = select(BatchRequest).order_by(BatchRequest.id.desc()).limit(limit)
        if channel_slug:
            from pazar.channels import ChannelService

            channel = ChannelService(session, a.registry, clock=a.clock).get(channel_slug)
            stmt = stmt.where(BatchRequest.channel_id == channel.id)
        if status == "open":
            stmt = stmt.where(BatchRequest.status.in_(OPEN_BATCH_STATUSES))
        elif status:
            stmt = stmt.where(BatchRequest.status == status)
        batches = list(session.scalars(stmt))
        counts = _counts(session, [b.id for b in batches])
        slugs = dict(session.execute(select(Channel.id, Channel.slug)).all())
    data = [
        _summary(b, slugs.get(b.channel_id, str(b.channel_id)), counts.get(b.id, {}))
        for b in batches
    ]
    emit(
        as_json,
        data,
        [
            "id",
            "channel",
            "type",
            "flow",
            "status",
            "remote id",
            "items",
            "ok",
            "failed",
            "pending",
            "created",
            "sent",
        ],
        [
            [
                d["id"],
                d["channel"],
                d["content_type"],
                d["flow"],
                d["status"],
                d["remote_batch_id"],
                d["items"],
                d["ok"],
                d["failed"],
                d["pending"],
                d["created_at"],
                d["sent_at"],
            ]
            for d in data
        ],
        empty="no batch requests",
    )


@batches_group.command("show")
@click.argument("batch_id")
@json_option
def show_cmd(batch_id: str, as_json: bool) -> None:
    """One batch (by number or local batch id) and every object in it."""
    from pazar.state.batches import get_batch

    if batch_id.strip().isdigit():  # a number: ASCII digits that fit an id, not '٥'
        try:
            batch_id = str(parse_integer(batch_id))
        except NumberError as exc:
            raise ValidationError(f"batch {exc}") from None
    a = app()
    with a.db.session() as session:
        batch = get_batch(session, batch_id)
        items = list(
            session.scalars(
                select(BatchRequestItem)
                .where(BatchRequestItem.batch_id == batch.id)
                .order_by(BatchRequestItem.id)
            )
        )
        slug = session.execute(
            select(Channel.slug).where(Channel.id == batch.channel_id)
        ).scalar_one_or_none()
        counts = _counts(session, [batch.id]).get(batch.id, {})
    data = _summary(batch, slug or str(batch.channel_id), counts)
    data["objects"] = [
        {
            "sku": i.object_key,
            "object_id": i.object_id,
            "version": i.version,
            "status": i.status,
            "in_flight": i.in_flight,
            "remote_id": i.remote_id,
            "message": i.message,
        }
        for i in items
    ]
    if as_json:
        print_json(data)
        return
    for key in (
        "id",
        "local_batch_id",
        "channel",
        "content_type",
        "flow",
        "run_id",
        "status",
        "remote_batch_id",
        "created_at",
        "sent_at",
        "finished_at",
        "error",
    ):
        if data[key] is not None:
            click.echo(f"{key.replace('_', ' ')}: {data[key]}")
    click.echo(
        f"objects: {data['items']} (ok {data['ok']}, failed {data['failed']}, pending {data['pending']})"
    )
    print_table(
        ["sku", "version", "status", "remote id", "message"],
        [
            [o["sku"], o["version"], o["status"], o["remote_id"], o["message"]]
            for o in data["objects"]
        ],
        empty="no objects",
    )


@batches_group.command("expire")
@click.option("--channel", "channel_slug", default=None, help="Only this channel.")
@json_option
def expire_cmd(channel_slug: str | None, as_json: bool) -> None:
    """Fail batches that waited longer than sent_to_remote.EXPIRATION_HOUR; penalise their objects.

    The daemon does this on its own; the command is for runs without one.
    """
    from pazar.state.batches import expire_batches

    a = app()
    with a.db.session() as session:
        channel_id = None
        if channel_slug:
            from pazar.channels import ChannelService

            channel_id = ChannelService(session, a.registry, clock=a.clock).get(channel_slug).id
        expired = expire_batches(session, now=a.clock.now(), channel_id=channel_id)
        lines = [
            f"batch {b.id} ({b.content_type}, {b.item_count} objects): {b.error}" for b in expired
        ]
        data = [
            {
                "id": b.id,
                "local_batch_id": b.local_batch_id,
                "content_type": b.content_type,
                "objects": b.item_count,
                "error": b.error,
            }
            for b in expired
        ]
    if as_json:
        print_json({"expired": data})
        return
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} batch request(s) expired")


COMMANDS = [batches_group]

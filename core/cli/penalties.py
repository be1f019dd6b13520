"""``pazar penalties``: records held back after a failure (failed integrations)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import emit, json_option, print_json
from pazar.errors import NotFoundError, ValidationError
from pazar.models.channels import Channel
from pazar.suggest import did_you_mean


def _channel(session: Any, slug: str) -> Any:
    from pazar.channels import ChannelService

    a = app()
    return ChannelService(session, a.registry, clock=a.clock).get(slug)


def _slugs(session: Any) -> dict[int, str]:
    return dict(session.execute(select(Channel.id, Channel.slug)).all())


@click.group("penalties")
def penalties_group() -> None:
    """Failed integrations: records held back after a failure, and releasing them."""


@penalties_group.command("list")
@click.option("--channel", "channel_slug", default=None, help="Only this channel.")
@click.option(
    "--content-type", default=None, help="Only this content type (product, productstock, ...)."
)
@click.option("--exhausted", is_flag=True, help="Only records that will not be retried again.")
@click.option(
    "--limit", type=Integer(min=1), default=1000, show_default=True, help="Show at most N."
)
@json_option
def list_cmd(
    channel_slug: str | None, content_type: str | None, exhausted: bool, limit: int, as_json: bool
) -> None:
    """Penalised records: attempts, policy snapshot, next retry, reason and message.

    Status: waiting (retry interval not over), due (taken by the next run),
    exhausted (parked until released), released (queued for the next run).
    """
    from pazar.state.penalties import list_penalties, penalty_status

    a = app()
    now = a.clock.now()
    with a.db.session() as session:
        channel = _channel(session, channel_slug) if channel_slug else None
        if content_type is not None:  # a typo listed nothing, as if nothing were penalised
            _check_content_type(session, channel, content_type)
        channel_id = channel.id if channel else None
        rows = list_penalties(
            session,
            now=now,
            channel_id=channel_id,
            content_type=content_type,
            exhausted=exhausted,
            limit=limit,
        )
        slugs = _slugs(session)
    data = [
        {
            "channel": slugs.get(r.channel_id, str(r.channel_id)),
            "content_type": r.content_type,
            "sku": r.object_key,
            "object_id": r.object_id,
            "status": penalty_status(r, now),
            "reason_type": r.reason_type,
            "message": r.message,
            "retry_count": r.retry_count,
            "max_retry_count": r.max_retry_count,
            "retry_interval": r.retry_interval,
            "expiration_seconds": r.expiration_seconds,
            "first_failed_at": r.first_failed_at,
            "last_failed_at": r.last_failed_at,
            "next_retry_at": r.next_retry_at,
            "expires_at": r.expires_at,
            "run_id": r.run_id,
            "batch_id": r.batch_id,
            "version": r.version,
        }
        for r in rows
    ]
    emit(
        as_json,
        data,
        ["channel", "type", "sku", "status", "attempts", "reason", "next retry", "message"],
        [
            [
                d["channel"],
                d["content_type"],
                d["sku"],
                d["status"],
                f"{d['retry_count']}/{d['max_retry_count']}",
                d["reason_type"],
                d["next_retry_at"] if d["status"] in ("waiting", "due", "released") else None,
                d["message"],
            ]
            for d in data
        ],
        empty="no penalties",
    )


@penalties_group.command("release")
@click.option("--channel", "channel_slug", required=True, help="Channel slug.")
@click.option(
    "--content-type",
    required=True,
    help="Content type of the penalties (product, productstock, ...).",
)
@click.option("--sku", "skus", multiple=True, help="SKU to release (repeatable).")
@click.option(
    "--csv", "csv_file", default=None, help="CSV file whose header is 'sku', one SKU per line."
)
@click.option("--all", "release_all", is_flag=True, help="Every penalty of the content type.")
@click.option(
    "--reason",
    "reason_type",
    default=None,
    help="Every penalty of the content type with this reason type (mapping, remote, local).",
)
@json_option
def release_cmd(
    channel_slug: str,
    content_type: str,
    skus: tuple[str, ...],
    csv_file: str | None,
    release_all: bool,
    reason_type: str | None,
    as_json: bool,
) -> None:
    """Release penalised records: the next run of the flow takes them again.

    Name the records (--sku, --csv) or take them all (--all), or all of one reason
    type (--reason mapping, e.g. after fixing the mapping). The retry count starts
    over and the time limit is lifted; a success clears the penalty, a new failure
    records a fresh one under the current policy.
    """
    from pazar.state.penalties import release_matching, release_penalties
    from pazar.state.triggers import gather_keys

    bulk = release_all or reason_type is not None
    if bulk and (skus or csv_file):
        raise ValidationError("give either --sku/--csv or --all/--reason, not both")
    if release_all and reason_type is not None:
        raise ValidationError("give either --all or --reason TYPE, not both")
    keys = [] if bulk else gather_keys(skus, csv_file)
    a = app()
    with a.db.session() as session:
        channel = _channel(session, channel_slug)
        _check_content_type(session, channel, content_type)
        if reason_type is not None:
            _check_reason(session, reason_type)
        if bulk:
            count = release_matching(
                session,
                channel_id=channel.id,
                content_type=content_type,
                reason_type=reason_type,
                now=a.clock.now(),
            )
            released, missing = [], []
        else:
            released, missing = release_penalties(
                session,
                channel_id=channel.id,
                content_type=content_type,
                keys=keys,
                now=a.clock.now(),
            )
            count = len(released)
    what = f"{content_type}{f', reason {reason_type}' if reason_type else ''}"
    if as_json:
        print_json(
            {
                "channel": channel_slug,
                "content_type": content_type,
                "reason_type": reason_type,
                "released": count,
                "skus": released,
                "not_penalised": missing,
            }
        )
    for key in missing:
        click.echo(
            f"{key}: no penalty on channel {channel_slug} for content type {content_type}", err=True
        )
    if not count:
        scope = "nothing matched" if bulk else f"none of the {len(keys)} SKU(s) is penalised"
        raise NotFoundError(f"no penalty released: {scope} on {channel_slug} ({what})")
    if not as_json:
        click.echo(
            f"released {count} penalt{'y' if count == 1 else 'ies'} on {channel_slug} ({what}); "
            "the next run takes them again"
        )


def _check_content_type(session: Any, channel: Any, content_type: str) -> None:
    """The content types the channel's flows write (every marketplace's without a
    channel), plus those it has penalties for."""
    from pazar.flows.loader import scan_flows
    from pazar.models.state import FailedIntegration as F

    catalog, _errors = scan_flows(app().registry)
    flows = catalog.for_plugin(channel.plugin) if channel is not None else catalog.all()
    known = {str(f.content_type) for f in flows if f.content_type}
    held = select(F.content_type).distinct()
    if channel is not None:
        held = held.where(F.channel_id == channel.id)
    known |= set(session.scalars(held))
    if content_type not in known:
        whose = f"no {channel.plugin} flow" if channel is not None else "no flow"
        raise ValidationError(
            f"--content-type {content_type!r}: {whose} uses it"
            f"{did_you_mean(content_type, known)} (one of {', '.join(sorted(known))})"
        )


def _check_reason(session: Any, reason_type: str) -> None:
    from pazar.models.state import FailedIntegration as F
    from pazar.state.outcomes import REASON_TYPES

    known = list(REASON_TYPES) + [
        r for r in session.scalars(select(F.reason_type).distinct()) if r not in REASON_TYPES
    ]
    if reason_type not in known:
        raise ValidationError(
            f"--reason {reason_type!r}: not a reason type{did_you_mean(reason_type, known)} "
            f"(one of {', '.join(known)})"
        )


COMMANDS = [penalties_group]

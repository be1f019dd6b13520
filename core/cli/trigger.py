"""``pazar trigger``: run a flow for explicit records (the seed's product trigger and CSV upload)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pazar.cli.context import app
from pazar.cli.output import json_option, print_json
from pazar.errors import PazarError, RecordsFailed

if TYPE_CHECKING:
    from typing import Any


@click.command("trigger")
@click.argument("flow_ref", metavar="PLUGIN/FLOW")
@click.option("--channel", "channel_slug", required=True, help="Channel slug.")
@click.option("--sku", "skus", multiple=True, help="SKU to send (repeatable).")
@click.option(
    "--csv", "csv_file", default=None, help="CSV file whose header is 'sku', one SKU per line."
)
@click.option(
    "--now",
    "foreground",
    is_flag=True,
    help="Run in the foreground now, even when a daemon is running "
    "(default: queue for a running daemon, else run in the foreground).",
)
@click.option(
    "--payload",
    "payload_file",
    default=None,
    help="JSON file with the trigger body an OMS would POST to /flow-trigger "
    '(e.g. {"payload": {"order_number": ..., "stock_location": {"erp_code": ...}}}).',
)
@click.option("--dry-run", is_flag=True, help="Render the payloads, send and record nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Send the records even when their payload equals the last one sent "
    "(default: those are skipped as unchanged).",
)
@json_option
def trigger_cmd(
    flow_ref: str,
    channel_slug: str,
    skus: tuple[str, ...],
    csv_file: str | None,
    payload_file: str | None,
    foreground: bool,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Run PLUGIN/FLOW on CHANNEL for just the given records, changed or not, or with the
    data an OMS would send (--payload FILE.json: Update Warehouse, Split Packages).

    A record whose payload equals the last one sent is skipped as unchanged,
    unless --force. Records that cannot be taken are listed with the reason:
    unknown SKU, in flight in an open batch request, or not in queue (penalised
    or not saleable on the channel; release penalties with `pazar penalties
    release`). Exit code 3 when some records could not be taken or failed, 1 when the
    run stopped (an outage), as `pazar run`.
    """
    from pazar.channels import ChannelService
    from pazar.flows.loader import load_flows
    from pazar.runner import check_marketplace
    from pazar.state.sources import dependency_in_force, sink_supersedes
    from pazar.state.triggers import check_trigger, gather_keys

    a = app()
    registry = a.registry
    with a.db.session() as session:
        target = ChannelService(session, registry, clock=a.clock).get(channel_slug)
        session.expunge(target)
    # A bare name is the channel's own flow; another marketplace's flow is refused.
    flow = load_flows(registry).get(flow_ref, within=target.plugin)
    check_marketplace(flow, target)
    body: dict[str, Any] = {}
    if payload_file is not None:
        from pazar.trigger_payloads import read_payload_file

        body = read_payload_file(payload_file, flow.plugin, flow.flow)
        skus = tuple(skus) + tuple(body.get("skus") or ())
    keys = gather_keys(skus, csv_file) if (skus or csv_file or not body) else []
    with a.db.session() as session:
        channel = ChannelService(session, registry, clock=a.clock).get(channel_slug)
        check = check_trigger(
            session,
            channel=channel,
            flow=flow,
            keys=keys,
            now=a.clock.now(),
            needs=dependency_in_force(registry, channel, flow),
            supersedes=sink_supersedes(registry, flow),
        )
    data = body.get("payload")
    for key, message in check.rejected:
        click.echo(f"{key}: {message}", err=True)
    result = None
    runnable = bool(check.accepted) or (data is not None and not keys)
    if runnable and not foreground and not dry_run:
        from pazar.daemon import live_daemons
        from pazar.jobs.queue import enqueue

        with a.db.session() as session:
            if live_daemons(session, a.clock.now()):
                job_id = enqueue(
                    session,
                    channel_id=channel.id,
                    flow=flow.ref,
                    trigger="manual",
                    now=a.clock.now(),
                    payload={
                        **({"skus": list(check.accepted)} if check.accepted else {}),
                        **({"payload": data} if data is not None else {}),
                        **({"resend": True} if force else {}),
                    },
                    dedupe=False,
                )
                queued = {"flow": flow.ref, "channel": channel_slug, "job_id": job_id}
                if as_json:
                    print_json({**queued, "accepted": check.accepted, "rejected": check.rejected})
                else:
                    click.echo(
                        f"queued job {job_id}: {flow.ref} for "
                        + (f"{len(check.accepted)} record(s)" if keys else "its payload")
                        + " on the running daemon (see `pazar status`, `pazar logs`)"
                    )
                if check.rejected:
                    raise RecordsFailed(
                        f"{len(check.rejected)} of {len(keys)} record(s) could not be taken "
                        "(listed above)"
                    )
                return
        if not as_json:
            click.echo("no daemon is running: running in the foreground", err=True)
    if runnable:
        from pazar.runner import RunOptions, run_flow

        result = run_flow(
            a.db,
            registry,
            flow,
            channel,
            clock=a.clock,
            options=RunOptions(
                trigger="manual",
                dry_run=dry_run,
                keys=check.accepted or None,
                hook=a.plugins.hook,
                resend=force,
                payload=data,
            ),
        )
    summary = {
        "flow": flow.ref,
        "channel": channel_slug,
        "requested": len(keys),
        "accepted": check.accepted,
        "rejected": [{"sku": k, "message": m} for k, m in check.rejected],
        "run": None
        if result is None
        else {
            "run_id": result.run_id,
            "status": result.status,
            "read": result.read,
            "sent": result.sent,
            "succeeded": result.succeeded,
            "failed": result.failed,
            "skipped": result.skipped,
            "duration_ms": result.duration_ms,
            "error": result.error,
        },
    }
    if as_json:
        print_json(summary)
    elif result is not None:
        for key, message in result.failures:
            click.echo(f"{key}: {message}", err=True)
        click.echo(
            f"run {result.run_id}: {result.status} — read {result.read}, sent {result.sent}, "
            f"succeeded {result.succeeded}, failed {result.failed}, skipped {result.skipped}"
        )
    if result is not None and result.status == "error":
        raise PazarError(f"run {result.run_id} failed: {result.error}")
    if not runnable:
        raise RecordsFailed(
            f"none of the {len(keys)} record(s) could be taken by {flow.ref} on {channel_slug}"
        )
    problems = []
    if check.rejected:
        problems.append(f"{len(check.rejected)} of {len(keys)} record(s) could not be taken")
    if result is not None and result.failed:
        problems.append(f"{result.failed} record(s) failed (pazar logs show {result.run_id})")
    if problems:
        raise RecordsFailed("; ".join(problems))


COMMANDS = [trigger_cmd]

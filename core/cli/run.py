"""``pazar run``: run one flow for one channel by hand, with a summary at the end."""

from __future__ import annotations

import sys
from typing import Any

import click

from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import console, guard_pipe, print_json
from pazar.runner import RunOptions, RunResult, check_marketplace, run_flow


def load_flow_and_channel(ref: str, slug: str) -> tuple[Any, Any]:
    """The flow definition and the channel (detached, usable after the session); a flow of
    another marketplace than the channel's is refused (exit 2) before anything runs."""
    from pazar.channels import ChannelService
    from pazar.flows.loader import load_flows

    ctx = app()
    with ctx.db.session() as session:
        channel = ChannelService(session, ctx.registry, clock=ctx.clock).get(slug)
        session.expunge(channel)
    # A bare name is the channel's own flow: `run stock --channel ff` is fashfed/stock.
    flow = load_flows(ctx.registry).get(ref, within=channel.plugin)
    check_marketplace(flow, channel)
    return flow, channel


def print_summary(result: RunResult) -> None:
    """One screen: status, counts, duration, the first failures, where to look next."""
    out = console()
    colour = {"success": "green", "partial": "yellow", "failed": "red", "error": "red"}.get(
        result.status, ""
    )
    title = f"run {result.run_id}" if result.run_id else "dry run"
    out.print(
        f"{title}: {result.flow} for {result.channel} — [{colour}]{result.status}[/{colour}] "
        f"in {result.duration_ms / 1000:.2f} s"
    )
    out.print(
        "  read {read}  sent {sent}  succeeded {succeeded}  failed {failed}  "
        "skipped {skipped}".format(**result.counts())
    )
    if result.error:
        out.print(f"  error: {result.error}", markup=False)
    for key, message in result.failures:
        out.print(f"  failed {key}: {message}", markup=False)
    if result.failed > len(result.failures):
        out.print(f"  … and {result.failed - len(result.failures)} more failures")
    if result.run_id:
        out.print(f"  details: pazar logs show {result.run_id}")


@click.command("run")
@click.argument("ref", metavar="PLUGIN/FLOW")
@click.option("--channel", "slug", required=True, help="Channel slug.")
@click.option(
    "--dry-run", is_flag=True, help="Print the payloads the flow would send; write nothing."
)
@click.option("--limit", type=Integer(min=1), help="Read at most N records.")
@click.option("--force", is_flag=True, help="Run even if the channel is inactive or the flag off.")
@click.option("--json", "as_json", is_flag=True, help="Print the result (or payloads) as JSON.")
def run_command(
    ref: str, slug: str, dry_run: bool, limit: int | None, force: bool, as_json: bool
) -> None:
    """Run a flow for one channel now, in the foreground.

    Exit code 0 when every record went well, 1 when the run ends in error, 3 when
    it finished but some records failed (2: bad input, nothing ran). With
    --dry-run the rendered payloads are printed as JSON lines and nothing is
    written, not even a run row.
    """
    ctx = app()
    flow, channel = load_flow_and_channel(ref, slug)
    payloads: list[Any] = []
    write = guard_pipe(click.echo)

    def echo(payload: Any) -> None:
        if as_json:
            payloads.append(payload)
        else:
            write(_line(payload))

    progress = _progress(enabled=sys.stderr.isatty() and not dry_run and not as_json)
    with progress as bar:
        task = bar.add_task(f"{flow.ref} → {slug}", total=limit) if bar else None
        result = run_flow(
            ctx.db,
            ctx.registry,
            flow,
            channel,
            clock=ctx.clock,
            options=RunOptions(
                trigger="manual",
                dry_run=dry_run,
                limit=limit,
                hook=ctx.plugins.hook,
                echo=echo,
                force=force,
                on_progress=(lambda r: bar.update(task, completed=r.read)) if bar else None,
            ),
        )
    if as_json:
        data: dict[str, Any] = {
            "run_id": result.run_id,
            "flow": result.flow,
            "channel": result.channel,
            "status": result.status,
            **result.counts(),
            "duration_ms": result.duration_ms,
            "error": result.error,
            "failures": [{"key": k, "message": m} for k, m in result.failures],
        }
        if dry_run:
            data["payloads"] = payloads
        print_json(data)
    elif dry_run:
        click.echo(
            f"dry run: {result.sent} payloads rendered from {result.read} records "
            f"({result.skipped} skipped, {result.failed} failed); nothing was written",
            err=True,
        )
        for key, message in result.failures:
            click.echo(f"  would fail {key}: {message}", err=True)
        if result.failed > len(result.failures):
            click.echo(f"  … and {result.failed - len(result.failures)} more", err=True)
        if result.error:
            click.echo(f"error: {result.error}", err=True)
    else:
        print_summary(result)
    sys.exit(exit_code(result))


# Exit codes of `pazar run` and `pazar trigger` (docs/runs.md): 2 is bad input, raised
# before anything runs.
EXIT_OK, EXIT_RUN_ERROR, EXIT_RECORDS_FAILED = 0, 1, 3


def exit_code(result: RunResult) -> int:
    """0 all good, 1 the run stopped (error, or failed on an outage), 3 it finished but some
    records failed."""
    if result.status in ("error", "failed"):
        return EXIT_RUN_ERROR
    if result.failed:
        return EXIT_RECORDS_FAILED
    return EXIT_OK


def _line(payload: Any) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False, default=str, separators=(",", ":"))


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    )


COMMANDS = [run_command]

"""``pazar reports``: the Reports screen (seed 7.2.2) as CSV, JSON or XLSX, streamed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pazar.cli.context import app
from pazar.cli.output_file import output_file


@click.command("reports")
@click.argument("name")
@click.option("--channel", "slug", required=True, help="The channel to report on.")
@click.option(
    "--format",
    "fmt",
    default="csv",
    show_default=True,
    help="csv, json or xlsx.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (replaced only once the report is complete; a device or pipe is written "
    "through); default: standard output.",
)
def reports_command(name: str, slug: str, fmt: str, output: Path | None) -> None:
    """Write report NAME for a channel: not_listed (saleable, not on sale, and why),
    price_differences or stock_differences (with each difference's correction state).

    Reports read the channel's latest listings snapshot and the catalog as they are now.
    """
    from pazar.errors import ValidationError
    from pazar.ops.dashboard import channels_for
    from pazar.ops.reports import check_format, report, report_scope, write_report

    spec = report(name)
    check_format(fmt)
    ctx = app()
    with ctx.db.session() as session:
        channel = channels_for(session, slug)[0]
        report_scope(session, channel, spec.name)  # no snapshot: say so before touching any file
    if output is None:
        stream = sys.stdout.buffer
        if fmt == "xlsx" and stream.isatty():
            raise ValidationError("xlsx is a binary format; pass --output FILE.xlsx")
        rows = write_report(ctx.db, channel, spec.name, fmt, stream)
        stream.flush()
        click.echo(f"{spec.name}: {rows} rows", err=True)
        return
    with output_file(output) as out:
        rows = write_report(ctx.db, channel, spec.name, fmt, out)
    click.echo(f"{spec.name}: {rows} rows written to {output}", err=True)


COMMANDS = [reports_command]

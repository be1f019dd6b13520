"""``pazar dashboard``: the Dashboard screen's eight numbers per channel (seed 7.1)."""

from __future__ import annotations

import click

from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import fmt, json_option, print_json, print_table


@click.command("dashboard")
@click.option("--channel", "slug", default=None, help="Only this channel.")
@click.option(
    "--history",
    "history_rows",
    type=Integer(1, 10000),
    default=None,
    help="Instead of the numbers now: the last N recorded (one per listings run), for a trend.",
)
@json_option
def dashboard_command(slug: str | None, history_rows: int | None, as_json: bool) -> None:
    """The eight numbers: SKUs in the catalog and on sale, saleable SKUs not on sale, price
    and stock differences, stock in the catalog and on sale (see docs/operations.md).

    Numbers that need the marketplace's side are empty until the channel's listings flow
    has read its listings once.
    """
    from pazar.ops.dashboard import NUMBERS, TITLES, channels_for, dashboards, history

    ctx = app()
    with ctx.db.session() as session:
        if history_rows is not None:
            trends = [
                {"channel": c.slug, "history": history(session, c.id, history_rows)}
                for c in channels_for(session, slug)
            ]
        else:
            boards = dashboards(session, slug)
    if history_rows is not None:
        if as_json:
            print_json(trends)
            return
        for trend in trends:
            print_table(
                ("recorded", *NUMBERS, "corrections"),
                [
                    (
                        row["recorded_at"],
                        *(row[n] for n in NUMBERS),
                        f"{row['corrections']['price']} price, {row['corrections']['stock']} stock",
                    )
                    for row in trend["history"]
                ],
                title=f"{trend['channel']}: dashboard history",
                empty=f"{trend['channel']}: nothing recorded yet (the listings flow records)",
            )
        return
    if as_json:
        print_json([board.as_dict() for board in boards])
        return
    if not boards:
        click.echo("no channels")
        return
    for board in boards:
        values = board.numbers()
        print_table(
            ("#", "number", "value"),
            [
                (n, TITLES[name], "-" if values[name] is None else f"{values[name]:,}")
                for n, name in enumerate(NUMBERS, start=1)
            ],
            title=f"{board.channel} ({board.plugin}, catalog {board.catalog})",
        )
        if board.snapshot_id is None:
            click.echo(
                f"no listings snapshot yet: run `pazar run {board.plugin}/listings "
                f"--channel {board.channel}` (flag feature_flags.listings)"
            )
        else:
            click.echo(
                f"listings snapshot of {fmt(board.snapshot_at)} UTC "
                f"({board.snapshot_listings:,} listings); corrections queued by it: "
                f"{board.corrections['price']} price, {board.corrections['stock']} stock"
            )


COMMANDS = [dashboard_command]

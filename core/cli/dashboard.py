"""``pazar dashboard``: the Dashboard screen's eight numbers per channel (seed 7.1)."""

from __future__ import annotations

from typing import Any

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
        print_table(
            ("#", "number", "value"),
            [
                (n, TITLES[name], shown_number(board, name))
                for n, name in enumerate(NUMBERS, start=1)
            ],
            title=f"{board.channel} ({board.plugin}, catalog {board.catalog})",
        )
        if board.snapshot_id is None:
            click.echo(
                f"no listings snapshot yet: run `pazar run {board.plugin}/listings "
                f"--channel {board.channel}` (flag feature_flags.listings)"
            )
            continue
        reasons: dict[str, list[str]] = {}  # why → the numbers it empties
        for n, name in enumerate(NUMBERS, start=1):
            if name in board.unavailable:
                reasons.setdefault(board.unavailable[name], []).append(str(n))
        for why, numbers in reasons.items():
            click.echo(f"{', '.join(numbers)}: {why}")
        fixes = ", ".join(
            f"{board.corrections[kind]} {kind}"
            for kind in ("price", "stock")
            if f"{kind}_differences" not in board.unavailable
        )
        click.echo(
            f"listings snapshot of {fmt(board.snapshot_at)} UTC "
            f"({board.snapshot_listings:,} listings); corrections queued by it: "
            + (fixes or "none (no price or stock differences can be seen)")
        )


def shown_number(board: Any, name: str) -> str:
    """A number as the table shows it: ``-`` until known, the reason's head when the
    marketplace cannot show it (``not available for Fashfed``)."""
    why = board.unavailable.get(name)
    if why is not None:
        return why.split(":", 1)[0]
    value = getattr(board, name)
    return "-" if value is None else f"{value:,}"


COMMANDS = [dashboard_command]

"""The Dashboard screen (seed 7.1): the eight numbers per channel, with trends.

The numbers are the ones the last complete listings read recorded
(:func:`pazar.ops.dashboard.history`), so the page costs an index lookup per
channel however large the catalog; ``pazar dashboard`` computes the same numbers
live.  Each number links to the report that lists the SKUs behind it.  A number the
marketplace cannot show (Fashfed's prices and stocks) says "not available for <it>", the
reason in its title.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pazar.web.app import Page, url

# The report behind each number (None: the reports page of the channel).
REPORT_OF = {
    "total_skus": None,
    "skus_on_sale": None,
    "sku_difference": "not_listed",
    "price_differences": "price_differences",
    "total_stock": None,
    "stock_on_sale": None,
    "stock_difference": "not_listed",
    "stock_differences": "stock_differences",
}
TREND_POINTS = 24
CHANNELS_PER_PAGE = 20


def dashboard_page(page: Page) -> Response:
    from pazar.ops.dashboard import NUMBERS, TITLES, channels_for, history, unavailable_numbers
    from pazar.ops.snapshot import current_read, unavailable_kinds

    wanted = page.q("channel") or None
    boards: list[dict[str, Any]] = []
    with page.session_scope() as session:
        channels = channels_for(session, wanted)[:CHANNELS_PER_PAGE]
        for channel in channels:  # two indexed lookups per channel shown (at most 20)
            rows = history(session, channel.id, TREND_POINTS)
            # What the marketplace cannot show (Fashfed: prices, stocks), with why.
            read = current_read(session, channel.id)
            unseen_kinds, unseen = unavailable_kinds(read), unavailable_numbers(read)
            last = rows[-1] if rows else None
            before = rows[-2] if len(rows) > 1 else None
            numbers = []
            for n, name in enumerate(NUMBERS, start=1):
                value = last[name] if last else None
                previous = before[name] if before else None
                delta = (
                    None if value is None or previous is None else value - previous  # type: ignore[operator]
                )
                report = REPORT_OF[name]
                numbers.append(
                    {
                        "n": n,
                        "name": name,
                        "title": TITLES[name],
                        "value": value,
                        "delta": delta,
                        "trend": [r[name] for r in rows],
                        "unavailable": unseen.get(name),
                        "link": url("/reports", channel=channel.slug, report=report)
                        if report
                        else url("/reports", channel=channel.slug),
                    }
                )
            boards.append(
                {
                    "slug": channel.slug,
                    "name": channel.name,
                    "plugin": channel.plugin,
                    "status": channel.status,
                    "recorded_at": last["recorded_at"] if last else None,
                    # only the kinds the marketplace shows: none is corrected otherwise
                    "corrections": {
                        kind: count
                        for kind, count in last["corrections"].items()
                        if kind not in unseen_kinds
                    }
                    if last
                    else None,
                    "numbers": numbers,
                    "listings_flow": f"{channel.plugin}/listings",
                }
            )
    return page.render("dashboard.html", boards=boards, wanted=wanted)

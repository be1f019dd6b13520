"""Monitoring → Logs (seed 7.2.1) and Monitoring → Reports (seed 7.2.2).

Logs list runs through :mod:`pazar.ops.runs` (the ``pazar logs`` queries), keyset
paged; while a run is going or a job waits the page re-reads its table every few
seconds (``static/app.js``; the ``?part=rows`` fragment).  Reports stream through
:func:`pazar.ops.reports.write_report`, as ``pazar reports`` and the JSON API do.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from pazar.errors import PazarError, ValidationError
from pazar.web.app import Page

PAGE = 50
PREVIEW = 100


def _flow_choices(page: Page, plugins: set[str] | None = None) -> list[dict[str, str]]:
    """Every loaded flow (of ``plugins``, when given) with its seed title ("Product
    Create"), by title; ``label`` tells apart two flows of a marketplace that share a title
    (Fashfed's two Split Packages flows, one per flag the seed names)."""
    choices = [
        {"ref": f.ref, "title": f.title or f.flow, "plugin": f.plugin}
        for f in page.web.flows.all()
        if plugins is None or f.plugin in plugins
    ]
    seen = Counter((c["title"], c["plugin"]) for c in choices)
    for c in choices:
        shared = seen[(c["title"], c["plugin"])] > 1
        c["label"] = f"{c['title']} ({c['ref'] if shared else c['plugin']})"
    return sorted(choices, key=lambda f: (f["title"].lower(), f["plugin"], f["ref"]))


def _loaded(page: Page, flow: str) -> bool:
    """A loaded flow (``plugin/flow`` or a bare name): no need to ask the runs table."""
    return any(f.ref == flow or f.flow == flow for f in page.web.flows.all())


def _filters(page: Page) -> tuple[Any, dict[str, str]]:
    from pazar.ops.runs import STATUSES, RunFilter, parse_since

    raw = {k: page.q(k) for k in ("channel", "flow", "status", "since", "sku")}
    if raw["status"] and raw["status"] not in STATUSES:
        raise ValidationError(f"status {raw['status']!r}: one of {', '.join(STATUSES)}")
    since = parse_since(raw["since"], page.now()) if raw["since"] else None
    return (
        RunFilter(
            channel=raw["channel"] or None,
            flow=raw["flow"] or None,
            status=raw["status"] or None,
            since=since,
            sku=raw["sku"] or None,
            before=page.int_q("before"),
        ),
        raw,
    )


def _runs(page: Page) -> dict[str, Any]:
    from pazar.models.channels import Channel
    from pazar.models.jobs import Job
    from pazar.ops.runs import check_channel, check_flow, list_runs

    filters, raw = _filters(page)
    with page.session_scope() as session:
        if filters.channel:
            check_channel(session, filters.channel)
        if filters.flow and not _loaded(page, filters.flow):
            check_flow(session, page.web.registry, filters.flow)  # a typo, or a flow now gone
        runs = list_runs(session, filters, limit=PAGE)
        pending = select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
        if filters.channel:
            pending = pending.join(Channel, Channel.id == Job.channel_id).where(
                Channel.slug == filters.channel
            )
        waiting = session.scalar(pending)
        channels = list(session.scalars(select(Channel.slug).order_by(Channel.slug)))
    titles = {f.ref: f.title for f in page.web.flows.all()}
    for run in runs:
        run["title"] = titles.get(run["flow"], run["flow"])
    live = filters.before is None and (bool(waiting) or any(r["status"] == "running" for r in runs))
    older = runs[-1]["id"] if len(runs) == PAGE else None
    return {
        "runs": runs,
        "raw": raw,
        "live": live,
        "older": older,
        "waiting": waiting,
        "channels": channels,
        "flows": _flow_choices(page),
    }


def logs_page(page: Page) -> Response:
    from pazar.ops.runs import STATUSES

    context = _runs(page)
    if page.q("part") == "rows":
        response = page.render("_runs_rows.html", **context)
        response.headers["X-Live"] = "1" if context["live"] else "0"
        return response
    return page.render("logs.html", statuses=STATUSES, **context)


def run_page(page: Page) -> Response:
    from pazar.ops.runs import LEVELS, run_detail

    run_id = page.path("run_id")
    if not run_id.isdigit():
        raise ValidationError(f"no run {run_id!r}")
    level = page.q("level") or None
    if level and level not in LEVELS:
        raise ValidationError(f"level {level!r}: one of {', '.join(LEVELS)}")
    with page.session_scope() as session:
        run = run_detail(session, int(run_id), level=level, limit=1000)
    titles = {f.ref: f.title for f in page.web.flows.all()}
    run["title"] = titles.get(run["flow"], run["flow"])
    if page.q("part") == "rows":
        response = page.render("_run_entries.html", run=run)
        response.headers["X-Live"] = "1" if run["status"] == "running" else "0"
        return response
    return page.render("run.html", run=run, level=level, levels=LEVELS)


# -- reports --------------------------------------------------------------------------------
def _keep(report: str, page: Page) -> tuple[Any, dict[str, str]]:
    """The row filter of the reports screen (SKU contains, reason or state)."""
    sku = page.q("sku").lower()
    value = page.q("kind")
    column = "reason" if report == "not_listed" else "state"

    def keep(row: dict[str, Any]) -> bool:
        if sku and sku not in str(row.get("sku", "")).lower():
            return False
        return not (value and str(row.get(column) or "") != value)

    return (keep if sku or value else None), {"sku": sku, "kind": value, "column": column}


def reports_page(page: Page) -> Response:
    from pazar.ops.dashboard import channels_for
    from pazar.ops.reconcile import STATES
    from pazar.ops.reports import REPORTS, report_scope

    slug, name = page.q("channel"), page.q("report") or "not_listed"
    if name not in REPORTS:
        from pazar.ops.reports import report as spec_of

        spec_of(name)  # the engine's message, with a did-you-mean
    spec = REPORTS[name]
    keep, filters = _keep(name, page)
    rows: list[dict[str, Any]] = []
    problem = None
    with page.session_scope() as session:
        channels = [c.slug for c in channels_for(session, None)]
    counts = None
    preview = page.q("preview") == "1"
    if slug:
        with page.session_scope() as session:
            channel = channels_for(session, slug)[0]
            session.expunge(channel)
            try:
                scope = report_scope(session, channel, name)
            except PazarError as exc:
                problem, scope = exc.message, None
            counts = _recorded_counts(session, channel.id)
        # A report is computed over the whole catalog: only when asked (like a download).
        if scope is not None and preview:
            source = spec.rows(page.web.db, scope)
            wanted = source if keep is None else (r for r in source if keep(r))
            rows = list(itertools.islice(wanted, PREVIEW + 1))
            close = getattr(source, "close", None)
            if close is not None:
                close()
    reasons = (
        "unmapped",
        "penalised",
        "in_flight",
        "not_salable",
        "waiting_for_product",
        "never_sent",
    )
    return page.render(
        "reports.html",
        channels=channels,
        slug=slug,
        name=name,
        reports=REPORTS,
        spec=spec,
        rows=rows[:PREVIEW],
        more=len(rows) > PREVIEW,
        problem=problem,
        filters=filters,
        kinds=reasons if name == "not_listed" else STATES,
        preview=preview,
        counts=counts,
    )


# The dashboard number that counts each report's rows (as the last listings read recorded it).
COUNTED_BY = {
    "not_listed": "sku_difference",
    "price_differences": "price_differences",
    "stock_differences": "stock_differences",
}


def _recorded_counts(session: Any, channel_id: int) -> dict[str, Any] | None:
    from pazar.ops.dashboard import history

    rows = history(session, channel_id, 1)
    if not rows:
        return None
    last = rows[-1]
    return {name: last[number] for name, number in COUNTED_BY.items()} | {
        "recorded_at": last["recorded_at"]
    }


def report_download(page: Page) -> Response:
    from pazar.ops.dashboard import channels_for
    from pazar.ops.reports import MEDIA_TYPES, check_format, report_scope, write_report
    from pazar.ops.reports import report as spec_of

    slug = page.q("channel")
    spec = spec_of(page.q("report") or "not_listed")
    fmt = check_format(page.q("format") or "csv")
    if fmt == "json":
        raise ValidationError("download CSV or XLSX here; JSON is the HTTP API's (/reports)")
    if not slug:
        raise ValidationError("choose a channel")
    keep, _filters = _keep(spec.name, page)
    with page.session_scope() as session:
        channel = channels_for(session, slug)[0]
        session.expunge(channel)
        report_scope(session, channel, spec.name)  # a clear error before the download starts
    handle, path = tempfile.mkstemp(suffix=f".{fmt}")
    try:
        with os.fdopen(handle, "wb") as out:
            write_report(page.web.db, channel, spec.name, fmt, out, keep=keep)
    except BaseException:
        os.unlink(path)
        raise
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        filename=f"{channel.slug}-{spec.name}.{fmt}",
        background=BackgroundTask(os.unlink, path),
    )

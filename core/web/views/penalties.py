"""Penalties and triggers (seed section 8): penalised records by content type and
reason; release one, a selection, all (of a reason) or a CSV; trigger a flow for SKUs
or a CSV; batch requests and their items.

Releases go through :func:`pazar.state.penalties.release_penalties` /
``release_matching`` and triggers through :func:`pazar.state.triggers.check_trigger`
and the job queue, as ``pazar penalties release`` and ``pazar trigger`` do, with the
seed's messages (the CSV header message, "not in queue", "processing in another
queue, LocalBatchId: ...").  A trigger from the web is always queued for a daemon:
a page never runs a flow itself.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from pazar.errors import NotFoundError, ValidationError
from pazar.web import audit
from pazar.web.app import Page, url

PAGE = 100
MAX_TRIGGER_KEYS = 100_000


def _channels(session: Any) -> dict[int, str]:
    from pazar.models.channels import Channel

    return dict(session.execute(select(Channel.id, Channel.slug).order_by(Channel.slug)).all())


def _channel(page: Page, session: Any, slug: str) -> Any:
    from pazar.channels import ChannelService

    if not slug:
        raise ValidationError(page._("Choose a channel."))
    return ChannelService(session, page.web.registry, clock=page.web.clock).get(slug)


def content_types(page: Page, session: Any, channel: Any) -> list[str]:
    """The content types the channel's flows write, plus those it has penalties for."""
    from pazar.models.state import FailedIntegration as F

    known = {
        str(f.content_type) for f in page.web.flows.for_plugin(channel.plugin) if f.content_type
    }
    known |= set(
        session.scalars(select(F.content_type).where(F.channel_id == channel.id).distinct())
    )
    return sorted(known)


def penalties_page(
    page: Page, *, status: int = 200, result: Any = None, error: Any = None
) -> Response:
    from pazar.state.outcomes import REASON_TYPES
    from pazar.state.penalties import list_penalties, penalty_counts, penalty_status

    now = page.now()
    slug = page.q("channel") or page.f("channel")
    content_type = page.q("content_type") or None
    reason = page.q("reason") or None
    sku = page.q("sku") or None
    offset = page.int_q("offset") or 0
    with page.session_scope() as session:
        slugs = _channels(session)
        channel = _channel(page, session, slug) if slug else None
        channel_id = channel.id if channel is not None else None
        summary = penalty_counts(session, now=now, channel_id=channel_id)
        rows = list_penalties(
            session,
            now=now,
            channel_id=channel_id,
            content_type=content_type,
            reason_type=reason,
            key=sku,
            exhausted=page.q("exhausted") == "1",
            limit=PAGE + 1,
            offset=offset,
        )
        types = (
            content_types(page, session, channel)
            if channel is not None
            else sorted({str(f.content_type) for f in page.web.flows.all() if f.content_type})
        )
        items = [
            {
                "channel": slugs.get(r.channel_id, str(r.channel_id)),
                "channel_id": r.channel_id,
                "content_type": r.content_type,
                "sku": r.object_key,
                "status": penalty_status(r, now),
                "reason_type": r.reason_type,
                "message": r.message,
                "attempts": f"{r.retry_count}/{r.max_retry_count}",
                "next_retry_at": r.next_retry_at,
                "last_failed_at": r.last_failed_at,
                "run_id": r.run_id,
            }
            for r in rows[:PAGE]
        ]
    for row in summary:
        row["channel"] = slugs.get(row["channel_id"], str(row["channel_id"]))
    return page.render(
        "penalties.html",
        status,
        channels=list(slugs.values()),
        slug=slug,
        content_type=content_type,
        reason=reason,
        sku=sku,
        exhausted=page.q("exhausted") == "1",
        summary=summary,
        items=items,
        more=len(rows) > PAGE,
        offset=offset,
        page_size=PAGE,
        types=types,
        reasons=REASON_TYPES,
        result=result,
        error=error,
    )


def _audit_release(
    page: Page, session: Any, slug: str, what: str, count: int, keys: list[str]
) -> None:
    audit.record(
        session,
        who=page.who,
        action="penalties.release",
        target=f"{slug} {what}",
        changes={"released": count, "skus": keys[:1000], "more": max(0, len(keys) - 1000)},
        now=page.now(),
    )


def penalties_release(page: Page) -> Response:
    """Release one (``one``), the selection (``key``), all of a type/reason (``all``)."""
    from pazar.state.penalties import release_matching, release_penalties

    now = page.now()
    released: list[str] = []
    missing: list[str] = []
    count = 0
    with page.session_scope() as session:
        slugs = _channels(session)
        by_id = {v: k for k, v in slugs.items()}
        if page.f("all"):
            slug = page.f("channel")
            channel = _channel(page, session, slug)
            content_type = page.f("content_type")
            if content_type not in content_types(page, session, channel):
                raise ValidationError(f"content type {content_type!r}: not used on {slug}")
            reason = page.f("reason") or None
            count = release_matching(
                session,
                channel_id=channel.id,
                content_type=content_type,
                reason_type=reason,
                now=now,
            )
            what = f"{content_type}{f', reason {reason}' if reason else ''}, all"
            _audit_release(page, session, slug, what, count, [])
        else:
            chosen = [page.f("one")] if page.f("one") else page.fl("key")
            if not chosen:
                raise ValidationError(page._("Select the penalties to release."))
            groups: dict[tuple[str, str], list[str]] = defaultdict(list)
            for value in chosen:
                slug, _, rest = value.partition("|")
                content_type, _, key = rest.partition("|")
                if slug not in by_id or not key:
                    raise ValidationError(f"unknown penalty {value[:100]!r}")
                groups[(slug, content_type)].append(key)
            for (slug, content_type), keys in groups.items():
                done, absent = release_penalties(
                    session, channel_id=by_id[slug], content_type=content_type, keys=keys, now=now
                )
                released += done
                missing += absent
                _audit_release(page, session, slug, content_type, len(done), done)
            count = len(released)
    return page.redirect(
        url("/penalties", channel=page.f("channel") or None),
        page._("Released {n} penalty(ies); the next run takes them again.").format(n=count)
        + (
            " " + page._("No penalty for: {keys}.").format(keys=", ".join(missing[:20]))
            if missing
            else ""
        ),
        "ok" if count else "error",
    )


def penalties_csv(page: Page) -> Response:
    """The seed's "Update by Uploading Files": a CSV with the header ``sku``."""
    from pazar.state.penalties import release_penalties
    from pazar.state.triggers import parse_sku_csv

    slug, content_type = page.f("channel"), page.f("content_type")
    upload = (page.files.get("file") or [None])[0]
    try:
        if upload is None:
            raise ValidationError(page._("Choose a CSV file (header: sku)."))
        keys = parse_sku_csv(_text(upload), upload.filename)
        if not keys:
            raise ValidationError(f"{upload.filename}: no SKU below the header")
        with page.session_scope() as session:
            channel = _channel(page, session, slug)
            if content_type not in content_types(page, session, channel):
                raise ValidationError(f"content type {content_type!r}: not used on {slug}")
            released, missing = release_penalties(
                session,
                channel_id=channel.id,
                content_type=content_type,
                keys=keys,
                now=page.now(),
            )
            if released:
                _audit_release(
                    page,
                    session,
                    slug,
                    f"{content_type}, CSV {upload.filename}",
                    len(released),
                    released,
                )
    except ValidationError as exc:
        return penalties_page(page, status=422, error=exc)
    result = {
        "file": upload.filename,
        "content_type": content_type,
        "released": released,
        "messages": [
            f"{key}: no penalty on channel {slug} for content type {content_type}"
            for key in missing
        ],
    }
    return penalties_page(page, status=200 if released else 422, result=result)


def _text(upload: Any) -> str:
    from pazar.textfiles import decode_text

    return decode_text(upload.content, upload.filename)


# -- triggers --------------------------------------------------------------------------------
def _trigger_flows(page: Page, plugins: set[str]) -> list[dict[str, str]]:
    """The flows a trigger can run, of the marketplaces that have a channel: a flow runs
    only on a channel of its own marketplace."""
    from pazar.state.triggers import source_of

    return sorted(
        (
            {"ref": f.ref, "title": f.title or f.flow, "plugin": f.plugin}
            for f in page.web.flows.all()
            if f.plugin in plugins and (source_of(f) is not None or "manual" in f.triggers)
        ),
        key=lambda f: (f["plugin"], f["title"].lower()),
    )


def trigger_template(page: Page) -> Response:
    """The seed's CSV template for the trigger screen: the header ``sku``, then a SKU a line."""
    return Response(
        "sku\n",
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="trigger-skus.csv"'},
    )


def trigger_page(
    page: Page, *, status: int = 200, result: Any = None, error: Any = None, form: Any = None
) -> Response:
    from pazar.models.channels import Channel

    with page.session_scope() as session:
        rows = session.execute(select(Channel.slug, Channel.plugin).order_by(Channel.slug)).all()
    channels = [slug for slug, _ in rows]
    return page.render(
        "trigger.html",
        status,
        channels=channels,
        flows=_trigger_flows(page, {plugin for _, plugin in rows}),
        result=result,
        error=error,
        form=form or {"channel": page.q("channel"), "flow": page.q("flow")},
    )


def trigger_run(page: Page) -> Response:
    from pazar.daemon import live_daemons
    from pazar.jobs.queue import enqueue
    from pazar.state.sources import dependency_in_force, sink_supersedes
    from pazar.state.triggers import check_trigger, parse_sku_csv

    form = {k: page.f(k) for k in ("channel", "flow", "skus")} | {"force": bool(page.f("force"))}
    try:
        flow = page.web.flows.get(form["flow"]) if form["flow"] else None
        if flow is None:
            raise ValidationError(page._("Choose a flow."))
        keys = [k.strip() for k in form["skus"].replace(",", "\n").splitlines() if k.strip()]
        for upload in page.files.get("file") or []:
            keys += parse_sku_csv(_text(upload), upload.filename)
        keys = list(dict.fromkeys(keys))
        if not keys:
            raise ValidationError(
                page._("No records given: type SKUs or upload a CSV whose header is sku.")
            )
        if len(keys) > MAX_TRIGGER_KEYS:
            raise ValidationError(f"at most {MAX_TRIGGER_KEYS} SKUs per trigger")
        with page.session_scope() as session:
            channel = _channel(page, session, form["channel"])
            if channel.plugin != flow.plugin:
                raise ValidationError(
                    f"flow {flow.ref} is not a flow of channel {channel.slug} ({channel.plugin})"
                )
            registry = page.web.registry
            check = check_trigger(
                session,
                channel=channel,
                flow=flow,
                keys=keys,
                now=page.now(),
                needs=dependency_in_force(registry, channel, flow),
                supersedes=sink_supersedes(registry, flow),
            )
            job_id = None
            if check.accepted:
                job_id = enqueue(
                    session,
                    channel_id=channel.id,
                    flow=flow.ref,
                    trigger="manual",
                    now=page.now(),
                    payload={
                        "skus": list(check.accepted),
                        **({"resend": True} if form["force"] else {}),
                    },
                    dedupe=False,
                )
                audit.record(
                    session,
                    who=page.who,
                    action="flow.trigger",
                    target=f"{channel.slug} {flow.ref}",
                    changes={
                        "job_id": job_id,
                        "accepted": len(check.accepted),
                        "rejected": len(check.rejected),
                        "force": form["force"],
                    },
                    now=page.now(),
                )
            daemons = bool(live_daemons(session, page.now()))
    except (ValidationError, NotFoundError) as exc:
        return trigger_page(page, status=422, error=exc, form=form)
    result = {
        "flow": flow.ref,
        "title": flow.title,
        "channel": form["channel"],
        "job_id": job_id,
        "requested": len(keys),
        "accepted": check.accepted,
        "rejected": check.rejected,
        "daemons": daemons,
    }
    return trigger_page(page, status=200 if job_id else 422, result=result, form=form)


# -- batch requests --------------------------------------------------------------------------
def batches_page(page: Page) -> Response:
    from pazar.models.state import OPEN_BATCH_STATUSES, BatchRequest, BatchRequestItem
    from pazar.state.batches import STATUSES

    status = page.q("status")
    if status and status != "open" and status not in STATUSES:
        raise ValidationError(f"status {status!r}: open or one of {', '.join(STATUSES)}")
    with page.session_scope() as session:
        slugs = _channels(session)
        stmt = select(BatchRequest).order_by(BatchRequest.id.desc()).limit(PAGE)
        if page.q("channel"):
            channel = _channel(page, session, page.q("channel"))
            stmt = stmt.where(BatchRequest.channel_id == channel.id)
        if status == "open":
            stmt = stmt.where(BatchRequest.status.in_(OPEN_BATCH_STATUSES))
        elif status:
            stmt = stmt.where(BatchRequest.status == status)
        before = page.int_q("before")
        if before is not None:
            stmt = stmt.where(BatchRequest.id < before)
        batches = list(session.scalars(stmt))
        counts: dict[int, dict[str, int]] = {}
        if batches:
            for batch_id, item_status, n in session.execute(
                select(BatchRequestItem.batch_id, BatchRequestItem.status, func.count())
                .where(BatchRequestItem.batch_id.in_([b.id for b in batches]))
                .group_by(BatchRequestItem.batch_id, BatchRequestItem.status)
            ):
                counts.setdefault(batch_id, {})[item_status] = n
        rows = [_batch(b, slugs, counts.get(b.id, {})) for b in batches]
    older = rows[-1]["id"] if len(rows) == PAGE else None
    return page.render(
        "batches.html",
        rows=rows,
        channels=list(slugs.values()),
        status=status,
        statuses=("open", *STATUSES),
        channel=page.q("channel"),
        older=older,
    )


def _batch(b: Any, slugs: dict[int, str], counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": b.id,
        "local_batch_id": b.local_batch_id,
        "channel": slugs.get(b.channel_id, str(b.channel_id)),
        "content_type": b.content_type,
        "flow": b.flow,
        "run_id": b.run_id,
        "status": b.status,
        "remote_batch_id": b.remote_batch_id,
        "items": b.item_count,
        "ok": counts.get("ok", 0),
        "failed": counts.get("failed", 0),
        "pending": counts.get("pending", 0),
        "created_at": b.created_at,
        "sent_at": b.sent_at,
        "finished_at": b.finished_at,
        "error": b.error,
    }


def batch_page(page: Page) -> Response:
    from pazar.models.state import BatchRequestItem
    from pazar.state.batches import get_batch

    with page.session_scope() as session:
        batch = get_batch(session, page.path("batch_id"))
        slugs = _channels(session)
        counts = dict(
            session.execute(
                select(BatchRequestItem.status, func.count())
                .where(BatchRequestItem.batch_id == batch.id)
                .group_by(BatchRequestItem.status)
            ).all()
        )
        offset = page.int_q("offset") or 0
        items = [
            {
                "sku": i.object_key,
                "status": i.status,
                "remote_id": i.remote_id,
                "message": i.message,
                "in_flight": i.in_flight,
            }
            for i in session.scalars(
                select(BatchRequestItem)
                .where(BatchRequestItem.batch_id == batch.id)
                .order_by(BatchRequestItem.id)
                .offset(offset)
                .limit(PAGE + 1)
            )
        ]
        info = _batch(batch, slugs, counts)
    return page.render(
        "batch.html",
        batch=info,
        items=items[:PAGE],
        more=len(items) > PAGE,
        offset=offset,
        page_size=PAGE,
    )

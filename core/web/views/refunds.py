"""Reject Refund (seed 7.4): open refund requests; reject with reason, explanation and
photos, or approve.

Decisions go through :func:`pazar.commerce.local.decide_refund`, as ``pazar refunds``
does; the marketplace's Reject Refund / Approve Refunds flows send each once.  Photos
uploaded here are kept by :mod:`pazar.files` and the request carries their URLs, which
the marketplace fetches (``PAZAR_PUBLIC_URL`` must be an address it can reach).  A bad
photo refuses the whole decision: nothing is stored, the message names the file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from starlette.responses import Response

from pazar.errors import ValidationError
from pazar.web import audit
from pazar.web.app import Page, url

PAGE = 50
MAX_PHOTOS = 10


def _rows(page: Page, session: Any, *, request_id: int | None = None) -> list[dict[str, Any]]:
    from pazar.commerce.requests import refund_query, refund_rows
    from pazar.models.channels import Channel
    from pazar.models.commerce import CancellationRequest as R

    stmt = refund_query()
    if request_id is not None:
        return refund_rows(session, stmt.where(R.id == request_id))
    status = page.q("status") or "open"
    if status != "all":
        stmt = stmt.where(R.status == status)
    if page.q("channel"):
        stmt = stmt.where(Channel.slug == page.q("channel"))
    before = page.int_q("before")
    if before is not None:
        stmt = stmt.where(R.id < before)
    return refund_rows(session, stmt.order_by(R.id.desc()).limit(PAGE))


def refunds_page(page: Page) -> Response:
    from pazar.models.channels import Channel

    with page.session_scope() as session:
        rows = _rows(page, session)
        channels = list(session.scalars(select(Channel.slug).order_by(Channel.slug)))
    older = rows[-1]["id"] if len(rows) == PAGE else None
    return page.render(
        "refunds.html",
        rows=rows,
        channels=channels,
        status=page.q("status") or "open",
        channel=page.q("channel"),
        older=older,
    )


def _one(page: Page, session: Any) -> dict[str, Any]:
    from pazar.errors import NotFoundError

    raw = page.path("request_id")
    rows = _rows(page, session, request_id=int(raw)) if raw.isdigit() else []
    if not rows:
        raise NotFoundError(f"no refund request {raw}")
    return rows[0]


def refund_page(page: Page, *, status: int = 200, error: Any = None, form: Any = None) -> Response:
    with page.session_scope() as session:
        row = _one(page, session)
    return page.render(
        "refund.html", status, refund=row, error=error, form=form or {}, max_photos=MAX_PHOTOS
    )


def refund_approve(page: Page) -> Response:
    from pazar.commerce.local import decide_refund

    with page.session_scope() as session:
        row = _one(page, session)
        decide_refund(session, row["id"], "approved", clock=page.web.clock)
        audit.record(
            session,
            who=page.who,
            action="refund.approve",
            target=f"refund {row['id']} (order {row['order']}, {row['sku']})",
            changes=[{"key": "status", "old": row["status"], "new": "approved"}],
            now=page.now(),
        )
    return page.redirect(
        url("/refunds"), page._("Refund request {id} approved.").format(id=row["id"])
    )


def refund_reject(page: Page) -> Response:
    from pazar.commerce.local import decide_refund
    from pazar.files import file_url, store_image

    reason, explanation = page.f("reason").strip(), page.f("explanation").strip()
    links = [u.strip() for u in page.f("photo_urls").splitlines() if u.strip()]
    photos = page.files.get("photos") or []
    form = {"reason": reason, "explanation": explanation, "photo_urls": "\n".join(links)}
    problems = []
    if not reason:
        problems.append(page._("Reason: required."))
    if not explanation:
        problems.append(page._("Explanation: required."))
    for link in links:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(page._("Photo URL {url!r}: not an http(s) URL.").format(url=link[:200]))
    if len(photos) + len(links) > MAX_PHOTOS:
        problems.append(page._("At most {n} photos.").format(n=MAX_PHOTOS))
    if problems:
        error = ValidationError(page._("The refund was not rejected."), details=problems)
        return refund_page(page, status=422, error=error, form=form)
    try:
        with page.session_scope() as session:
            row = _one(page, session)
            urls = list(links)
            for photo in photos:
                stored = store_image(
                    session, photo, purpose="refund", uploaded_by=page.who, now=page.now()
                )
                urls.append(file_url(stored, page.base_url))
            decide_refund(
                session,
                row["id"],
                "rejected",
                reason=reason,
                explanation=explanation,
                photo_urls=urls,
                clock=page.web.clock,
            )
            audit.record(
                session,
                who=page.who,
                action="refund.reject",
                target=f"refund {row['id']} (order {row['order']}, {row['sku']})",
                changes=[
                    {"key": "status", "old": row["status"], "new": "rejected"},
                    {"key": "reason", "new": reason},
                    {"key": "explanation", "new": explanation},
                    {"key": "photo_urls", "new": urls},
                ],
                now=page.now(),
            )
    except ValidationError as exc:
        error = ValidationError(page._("The refund was not rejected."), details=[exc.message])
        return refund_page(page, status=422, error=error, form=form)
    return page.redirect(
        url("/refunds"),
        page._("Refund request {id} rejected; the Reject Refund flow sends it.").format(
            id=row["id"]
        ),
    )

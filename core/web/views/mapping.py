"""Mapping (seed sections 4–6): the categories and attributes pulled from the marketplace,
the mapping check per category with its failing products, and the value maps.

Reads go through the marketplace catalog store and :mod:`pazar.mapping` (the
``pazar mapping`` commands' functions); saving value maps is ``pazar mapping values
import`` (every bad row named, nothing changed on error) and saving the document is
``pazar mapping apply``.  The check evaluates every saleable product, so it runs when
asked for (a button), never on page load.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from starlette.responses import Response

from pazar.config_schema import schema_for
from pazar.errors import PazarError, ValidationError
from pazar.web import audit
from pazar.web.app import Page, url

PAGE = 100
SHOW_FAILING = 200


def _templates(page: Page) -> Any:
    from pazar.templating import build_template_env

    cached = getattr(page.web, "_template_env", None)
    if cached is None:
        cached = build_template_env(page.web.registry)
        page.web._template_env = cached  # type: ignore[attr-defined]
    return cached


def _channel(page: Page, session: Any, slug: str) -> Any:
    from pazar.channels import ChannelService

    return ChannelService(session, page.web.registry, clock=page.web.clock).get(slug)


def mapping_page(
    page: Page, *, status: int = 200, error: Any = None, texts: Any = None
) -> Response:
    from pazar.mapping.engine import Mapper
    from pazar.mapping.service import export_value_maps
    from pazar.models.channels import Channel
    from pazar.models.marketplace import ChannelMapping
    from pazar.models.marketplace import MarketplaceCategory as C

    slug = page.q("channel") or page.f("channel")
    search, leaf = page.q("search"), page.q("leaf") == "1"
    offset = page.int_q("offset") or 0
    context: dict[str, Any] = {"slug": slug, "search": search, "leaf": leaf, "offset": offset}
    with page.session_scope() as session:
        context["channels"] = list(session.scalars(select(Channel.slug).order_by(Channel.slug)))
        if not slug:
            return page.render("mapping.html", status, **context, error=error)
        channel = _channel(page, session, slug)
        query = select(C).where(C.channel_id == channel.id, C.status != "removed")
        if search:
            like = f"%{search.lower()}%"
            query = query.where(or_(func.lower(C.path).like(like), C.remote_id == search))
        if leaf:
            query = query.where(C.leaf.is_(True))
        context["category_total"] = session.scalar(
            select(func.count()).select_from(query.subquery())
        )
        context["categories"] = [
            {
                "remote_id": c.remote_id,
                "path": c.path or c.name,
                "leaf": c.leaf,
                "available": c.available,
                "status": c.status,
            }
            for c in session.scalars(query.order_by(C.path).offset(offset).limit(PAGE))
        ]
        row = session.scalar(select(ChannelMapping).where(ChannelMapping.channel_id == channel.id))
        entries = []
        if row is not None:
            mapper = Mapper.load(session, channel.id, row.document, _templates(page))
            for cat in mapper.categories:
                entry = row.document["categories"][cat.index]
                entries.append(
                    {
                        "category": cat.remote_id,
                        "path": cat.spec.path or entry.get("title") or "",
                        "attributes": list(entry.get("attributes") or {}),
                        "status": cat.spec.problem() or "ok",
                    }
                )
            context["warnings"] = mapper.warnings()
        context["mapping"] = (
            {"revision": row.revision, "updated_at": row.updated_at, "entries": entries}
            if row is not None
            else None
        )
        texts = texts or {}
        context["values_csv"] = texts.get(
            "values", export_value_maps(row.document) if row is not None else ""
        )
        context["document"] = texts.get("document", row.source if row is not None else "")
    return page.render("mapping.html", status, **context, error=error)


def category_page(page: Page) -> Response:
    from pazar.mapping.engine import load_specs

    slug, category = page.path("slug"), page.path("category")
    with page.session_scope() as session:
        channel = _channel(page, session, slug)
        specs, defaults = load_specs(session, channel.id, [category])
    if category == "default":
        attributes, label = defaults, page._("Default attributes")
    else:
        spec = specs[category]
        if not spec.known:
            raise ValidationError(f"category {category} is not stored for {slug}")
        attributes, label = spec.attributes, spec.path or spec.name
    rows = [
        {
            "remote_id": s.remote_id,
            "name": s.name,
            "mandatory": s.mandatory,
            "type": s.type,
            "multi_value": s.multi_value,
            "status": s.status,
            "values": sorted(s.values)[:500],
            "value_count": len(s.values),
        }
        for s in attributes.values()
    ]
    return page.render("category.html", slug=slug, category=category, label=label, rows=rows)


def mapping_check(page: Page) -> Response:
    from pazar.mapping.check import check_mapping
    from pazar.pipeline import channel_view

    slug = page.q("channel")
    with page.session_scope() as session:
        channel = _channel(page, session, slug)
        context = {
            "config": dict(channel.config or {}),
            "channel": channel_view(channel),
            "now": page.now(),
        }
        report = check_mapping(session, channel, _templates(page), context)
    wanted = page.q("category")
    failing = [e for e in report.failing if not wanted or (e.category or "-") == wanted]
    return page.render(
        "mapping_check.html",
        slug=slug,
        report=report,
        categories=sorted(report.categories.items()),
        failing=failing[:SHOW_FAILING],
        failing_total=len(failing),
        wanted=wanted,
    )


def values_save(page: Page) -> Response:
    from pazar.mapping.document import parse_mapping
    from pazar.mapping.service import (
        dump_document,
        export_value_maps,
        import_value_maps,
        save_mapping,
        stored_mapping,
    )

    slug, text = page.f("channel"), page.f("values")
    try:
        with page.session_scope() as session:
            channel = _channel(page, session, slug)
            current = stored_mapping(session, channel)
            before = export_value_maps(current.document)
            doc, counts = import_value_maps(current.document, text, "value maps (web)")
            source = dump_document(doc)
            parse_mapping(source, "value maps (web) (merged mapping)", _templates(page))
            row = save_mapping(session, channel, doc, source, page.now())
            audit.record(
                session,
                who=page.who,
                action="mapping.values",
                target=slug,
                changes=[{"key": "value maps", "old": before, "new": export_value_maps(doc)}],
                detail=f"revision {row.revision}: "
                + ", ".join(f"{k} {n}" for k, n in counts.items()),
                now=page.now(),
            )
            revision = row.revision
    except PazarError as exc:
        return mapping_page(page, status=422, error=exc, texts={"values": text})
    return page.redirect(
        url("/mapping", channel=slug),
        page._("Value maps saved (mapping revision {n}).").format(n=revision),
    )


def document_save(page: Page) -> Response:
    from pazar.mapping.service import apply_mapping
    from pazar.models.marketplace import ChannelMapping

    slug, text = page.f("channel"), page.f("document")
    try:
        with page.session_scope() as session:
            channel = _channel(page, session, slug)
            old = session.scalar(
                select(ChannelMapping.source).where(ChannelMapping.channel_id == channel.id)
            )
            row, warnings = apply_mapping(
                session,
                channel,
                text,
                "mapping (web)",
                _templates(page),
                page.now(),
                schema_for(page.web.registry, channel.plugin),
            )
            audit.record(
                session,
                who=page.who,
                action="mapping.apply",
                target=slug,
                changes=[{"key": "document", "old": old, "new": text}],
                detail=f"revision {row.revision}; {len(warnings)} warning(s)",
                now=page.now(),
            )
            revision = row.revision
    except PazarError as exc:
        return mapping_page(page, status=422, error=exc, texts={"document": text})
    return page.redirect(
        url("/mapping", channel=slug),
        page._("Mapping saved (revision {n}).").format(n=revision),
    )

"""Channels: list, add, the schema-generated config form, validate, activate, history.

Every change goes through :class:`pazar.channels.ChannelService`, as the CLI's do:
typed and validated as a whole, nothing stored on a problem, config-change flows
queued in the same transaction.  The audit row carries the engine's own masked
old → new values (the config history never holds a secret either).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from pazar.channels import MAX_NAME
from pazar.errors import ValidationError
from pazar.web import audit
from pazar.web.app import Forbidden, Page, url
from pazar.web.forms import field_of, fields_for, read_form


def _service(page: Page, session: Any) -> Any:
    from pazar.channels import ChannelService

    return ChannelService(session, page.web.registry, clock=page.web.clock, hook=page.web.hook)


def channels_page(page: Page) -> Response:
    from pazar.models.channels import ConfigChange

    with page.session_scope() as session:
        service = _service(page, session)
        rows = []
        counts = dict(
            session.execute(
                select(ConfigChange.channel_id, func.count()).group_by(ConfigChange.channel_id)
            ).all()
        )
        for channel in service.list():
            rows.append(
                {
                    "slug": channel.slug,
                    "name": channel.name,
                    "plugin": channel.plugin,
                    "status": channel.status,
                    "updated_at": channel.updated_at,
                    "missing": len(service.missing(channel)),
                    "changes": counts.get(channel.id, 0),
                }
            )
    return page.render("channels.html", channels=rows, plugins=_plugins(page))


def _plugins(page: Page) -> list[tuple[str, str]]:
    return sorted((name, m.title) for name, m in page.web.registry.marketplaces.items())


def channel_add(page: Page) -> Response:
    plugin, slug, name = page.f("plugin"), page.f("slug").strip(), page.f("name").strip()
    try:
        with page.session_scope() as session:
            channel = _service(page, session).add(plugin, slug, name or None)
            audit.record(
                session,
                who=page.who,
                action="channel.add",
                target=channel.slug,
                changes=[
                    {"key": "plugin", "new": channel.plugin},
                    {"key": "name", "new": channel.name},
                    {"key": "status", "new": channel.status},
                ],
                now=page.now(),
            )
    except ValidationError as exc:
        with page.session_scope() as session:
            service = _service(page, session)
            rows = [
                {"slug": c.slug, "name": c.name, "plugin": c.plugin, "status": c.status}
                for c in service.list()
            ]
        return page.render(
            "channels.html",
            422,
            channels=rows,
            plugins=_plugins(page),
            error=exc,
            form={"plugin": plugin, "slug": slug, "name": name},
        )
    return page.redirect(
        url(f"/channels/{slug}"),
        page._("Channel {slug} created, inactive. Fill its settings, then activate it.").format(
            slug=slug
        ),
    )


def _channel_context(page: Page, session: Any, slug: str) -> dict[str, Any]:
    service = _service(page, session)
    channel = service.get(slug)
    schema = service.schema(channel)
    return {
        "channel": channel,
        "schema": schema,
        "fields": fields_for(schema, channel.config or {}, page.lang),
        "missing": service.missing(channel),
        "policies": service.effective_policies(channel),
        "title": page.web.registry.marketplaces[channel.plugin].title
        if channel.plugin in page.web.registry.marketplaces
        else channel.plugin,
    }


def channel_page(page: Page) -> Response:
    slug = page.path("slug")
    with page.session_scope() as session:
        context = _channel_context(page, session, slug)
        return page.render("channel.html", **context, problems=[], field_errors={})


def channel_save(page: Page) -> Response:
    slug = page.path("slug")
    note = page.f("note").strip() or None
    with page.session_scope() as session:
        service = _service(page, session)
        channel = service.get(slug)
        schema = service.schema(channel)
        submitted = read_form(schema, channel.config or {}, page.form)
    if submitted.secrets and not page.can("admin"):
        raise Forbidden(
            page._("Only an admin may change secrets ({keys}); nothing was saved.").format(
                keys=", ".join(submitted.secrets)
            )
        )
    name = page.f("name").strip()
    if len(name) > MAX_NAME:
        raise ValidationError(f"channel name: at most {MAX_NAME} characters, not {len(name)}")
    if not submitted.assignments and (not name or name == channel.name):
        return page.redirect(url(f"/channels/{slug}"), page._("Nothing changed."), "info")
    try:
        with page.session_scope() as session:
            service = _service(page, session)
            changes: list[dict[str, Any]] = []
            requested: list[str] = []
            if submitted.assignments:
                saved = service.set(
                    slug, submitted.assignments, source="web", note=note or f"web: {page.who}"
                )
                requested = saved.requested_flows
                if saved.change_id is not None:
                    from pazar.models.channels import ConfigChange

                    change = session.get(ConfigChange, saved.change_id)
                    changes = list(change.changes or []) if change is not None else []
            channel = service.get(slug)
            if name and name != channel.name:
                changes.append({"key": "name", "old": channel.name, "new": name})
                channel.name = name
                channel.updated_at = page.now()
            audit.record(
                session,
                who=page.who,
                action="channel.config",
                target=slug,
                changes=changes,
                detail=("requested flows: " + ", ".join(requested)) if requested else note,
                now=page.now(),
            )
    except ValidationError as exc:
        with page.session_scope() as session:
            context = _channel_context(page, session, slug)
            errors: dict[str, list[str]] = {}
            for problem in exc.details:
                errors.setdefault(field_of(problem), []).append(problem)
            # Keep what the user typed (never a secret) so a typo costs one fix, not a retype.
            for item in context["fields"]:
                if item.key in submitted.changed and item.kind not in ("password",):
                    typed = page.form.get(item.key)
                    if item.kind in ("text", "number", "textarea", "select") and typed:
                        item.value = typed[0]
            return page.render(
                "channel.html",
                422,
                **context,
                problems=[exc.message, *exc.details],
                field_errors=errors,
            )
    message = page._("Saved: {keys}.").format(keys=", ".join(submitted.changed or ["name"]))
    if requested:
        message += " " + page._("Queued flows: {flows}.").format(flows=", ".join(requested))
    return page.redirect(url(f"/channels/{slug}"), message)


def channel_validate(page: Page) -> Response:
    slug = page.path("slug")
    with page.session_scope() as session:
        service = _service(page, session)
        problems = service.validate(slug)
        warnings = service.warnings(slug)
        context = _channel_context(page, session, slug)
    return page.render(
        "channel.html",
        **context,
        problems=[],
        field_errors={},
        validation={"problems": problems, "warnings": warnings},
    )


def _refused(page: Page, session: Any, slug: str, exc: ValidationError) -> Response:
    """The channel page again (422) with why the change was refused; nothing was saved."""
    return page.render(
        "channel.html",
        422,
        **_channel_context(page, session, slug),
        problems=[exc.message, *exc.details],
        field_errors={},
    )


def channel_resave(page: Page) -> Response:
    """The seed's "re-save the channel settings": the flows a change would queue, queued."""
    slug = page.path("slug")
    with page.session_scope() as session:
        service = _service(page, session)
        try:
            saved = service.resave(slug, source="web", note=f"web: {page.who}: re-saved")
        except ValidationError as exc:
            return _refused(page, session, slug, exc)
        flows = ", ".join(saved.requested_flows)
        audit.record(
            session,
            who=page.who,
            action="channel.resave",
            target=slug,
            changes=[],
            detail=f"requested flows: {flows}" if flows else "no flow requested",
            now=page.now(),
        )
    if flows:
        return page.redirect(
            url(f"/channels/{slug}"), page._("Re-saved. Queued flows: {flows}.").format(flows=flows)
        )
    return page.redirect(
        url(f"/channels/{slug}"), page._("Re-saved; the config asks for no flow."), "info"
    )


def channel_status(page: Page) -> Response:
    slug = page.path("slug")
    target = page.f("status")
    if target not in ("active", "inactive"):
        raise ValidationError(f"status {target!r}: active or inactive")
    with page.session_scope() as session:
        service = _service(page, session)
        before = service.get(slug).status
        try:
            channel = service.activate(slug) if target == "active" else service.deactivate(slug)
        except ValidationError as exc:
            return _refused(page, session, slug, exc)
        audit.record(
            session,
            who=page.who,
            action="channel.activate" if target == "active" else "channel.deactivate",
            target=slug,
            changes=[{"key": "status", "old": before, "new": channel.status}],
            now=page.now(),
        )
    word = page._("activated") if target == "active" else page._("deactivated")
    return page.redirect(
        url(f"/channels/{slug}"), page._("Channel {slug} {word}.").format(slug=slug, word=word)
    )


def channel_history(page: Page) -> Response:
    slug = page.path("slug")
    with page.session_scope() as session:
        service = _service(page, session)
        channel = service.get(slug)
        changes = [
            {
                "id": c.id,
                "at": c.created_at,
                "source": c.source,
                "note": c.note,
                "keys": c.changed_keys,
                "changes": c.changes,
                "flows": c.requested_flows,
            }
            for c in service.changes(slug)[:200]
        ]
        name = channel.name
    return page.render("channel_history.html", slug=slug, name=name, changes=changes)

"""Alarms (seed 7.3): the rules with their state, "+ New Alarm", history, "send a test".

Rules are validated and stored by :func:`pazar.ops.alarms.add_rule` (every problem
listed, nothing stored on one), tests go out through :func:`pazar.ops.alarms.send_test`
with the SMTP and webhook settings of the process serving the page — the daemon's
environment when the web is served by ``pazar daemon --http``.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from pazar.errors import ValidationError
from pazar.web import audit
from pazar.web.app import Page, url

# The seed's form: Flow Name, condition (error rate / average flow time), interval, value,
# recipients.  The engine's other kinds are offered after them.
SEED_KINDS = ("error_rate", "flow_time")


def _choices(page: Page) -> dict[str, Any]:
    from pazar.ops.alarms import KINDS, channel_slugs
    from pazar.web.views.monitoring import _flow_choices

    with page.session_scope() as session:
        slugs = sorted(channel_slugs(session).values())
    kinds = list(SEED_KINDS) + [k for k in KINDS if k not in SEED_KINDS]
    return {"kinds": kinds, "kind_specs": KINDS, "channels": slugs, "flows": _flow_choices(page)}


def alarms_page(page: Page) -> Response:
    from pazar.ops.alarms import channel_slugs, list_rules, rule_view

    with page.session_scope() as session:
        slugs = channel_slugs(session)
        rules = [rule_view(rule, slugs) for rule in list_rules(session)]
    return page.render("alarms.html", rules=rules)


def alarm_new_form(
    page: Page, *, status: int = 200, error: Any = None, form: Any = None
) -> Response:
    return page.render(
        "alarm_new.html", status, error=error, form=form or {"interval": "1h"}, **_choices(page)
    )


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text.strip()) if part]


def alarm_create(page: Page) -> Response:
    from pazar.ops.alarms import RuleInput, add_rule

    form = {
        k: page.f(k).strip()
        for k in (
            "name",
            "kind",
            "channel",
            "flow",
            "threshold",
            "interval",
            "repeat",
            "emails",
            "webhooks",
        )
    }
    threshold: float | None = None
    problems = []
    if form["threshold"]:
        try:
            threshold = float(form["threshold"].replace(",", "."))
        except ValueError:
            problems.append(f"value {form['threshold']!r}: a number")
    spec = RuleInput(
        name=form["name"],
        kind=form["kind"],
        channel=form["channel"] or None,
        flow=form["flow"] or None,
        threshold=threshold,
        interval=form["interval"] or None,
        repeat=form["repeat"] or None,
        emails=_split(form["emails"]),
        webhooks=_split(form["webhooks"]),
    )
    try:
        if problems:
            raise ValidationError(f"alarm {spec.name!r} not saved", details=problems)
        with page.session_scope() as session:
            rule = add_rule(session, spec, flows=page.web.flows, now=page.now())
            audit.record(
                session,
                who=page.who,
                action="alarm.add",
                target=rule.name,
                changes=[
                    {"key": key, "new": value}
                    for key, value in (
                        ("kind", rule.kind),
                        ("channel", spec.channel),
                        ("flow", rule.flow),
                        ("threshold", rule.threshold),
                        ("interval_seconds", rule.interval_seconds),
                        ("repeat_seconds", rule.repeat_seconds),
                        ("emails", list(rule.recipients)),
                        ("webhooks", [h["url"] for h in rule.webhooks]),
                    )
                    if value not in (None, [], "")
                ],
                now=page.now(),
            )
    except ValidationError as exc:
        return alarm_new_form(page, status=422, error=exc, form=form)
    return page.redirect(
        url(f"/alarms/{spec.name}"), page._("Alarm {name} saved.").format(name=spec.name)
    )


def alarm_page(page: Page) -> Response:
    from pazar.ops.alarms import channel_slugs, events, get_rule, rule_view

    with page.session_scope() as session:
        rule = get_rule(session, page.path("name"))
        view = rule_view(rule, channel_slugs(session))
        view["events"] = [
            {
                "event": e.event,
                "at": e.at,
                "value": e.value,
                "message": e.message,
                "deliveries": e.deliveries,
            }
            for e in reversed(events(session, rule.id, 50))
        ]
    return page.render("alarm.html", rule=view)


def alarm_test(page: Page) -> Response:
    from pazar.ops.alarms import send_test

    name = page.path("name")
    deliveries = send_test(page.web.db, name, now=page.now(), flows=page.web.flows)
    failed = [d for d in deliveries if not d.get("ok")]
    with page.session_scope() as session:
        audit.record(
            session,
            who=page.who,
            action="alarm.test",
            target=name,
            detail=f"{len(deliveries) - len(failed)} of {len(deliveries)} deliveries ok",
            now=page.now(),
        )
    if failed:
        text = "; ".join(str(d.get("error") or d.get("to") or "") for d in failed)
        return page.redirect(
            url(f"/alarms/{name}"),
            page._("Test sent; {n} delivery(ies) failed: {what}").format(n=len(failed), what=text),
            "error",
        )
    return page.redirect(
        url(f"/alarms/{name}"),
        page._("Test notice sent to {n} recipient(s).").format(n=len(deliveries)),
    )


def alarm_delete(page: Page) -> Response:
    from pazar.ops.alarms import channel_slugs, delete_rule, get_rule, rule_view

    name = page.path("name")
    with page.session_scope() as session:
        old = rule_view(get_rule(session, name), channel_slugs(session))
        delete_rule(session, name)
        audit.record(
            session,
            who=page.who,
            action="alarm.delete",
            target=name,
            changes=[{"key": "condition", "old": old["condition"]}],
            now=page.now(),
        )
    return page.redirect(url("/alarms"), page._("Alarm {name} deleted.").format(name=name))

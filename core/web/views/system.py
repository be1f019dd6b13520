"""Logging in and out, the language switch, the audit log, users, daemons and the queue,
and the public file URLs (uploaded refund photos)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pazar.web import audit
from pazar.web.app import Forbidden, Page, url
from pazar.web.i18n import LANGUAGES


def _safe_next(target: str) -> str:
    """Only a path of this dashboard (no other host, no scheme): no open redirect."""
    if target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return url("/")


def login_form(page: Page) -> Response:
    if page.user is not None:
        return page.redirect(_safe_next(page.q("next")))
    return page.render("login.html", next=page.q("next"))


def login(page: Page) -> Response:
    from pazar.web.auth import authenticate

    client = page.request.client.host if page.request.client else "unknown"
    wait = page.web.login_failures.wait(client)
    if wait is not None:
        return page.render(
            "login.html",
            429,
            error=page._("Too many failed log-ins from this address; try again in a minute."),
            next=page.f("next"),
        )
    username = page.f("username").strip()
    with page.session_scope() as session:
        user = authenticate(session, username, page.f("password"), now=page.now())
        if user is not None:
            page.session.clear()
            page.session.update({"uid": user.id, "epoch": user.session_epoch})
            page.session["lang"] = page.f("lang") or "en"
    if user is None:
        page.web.login_failures.take(client)
        return page.render(
            "login.html", 401, error=page._("Wrong user name or password."), next=page.f("next")
        )
    from pazar.web.app import csrf_token

    csrf_token(page.session)
    return page.redirect(_safe_next(page.f("next")))


def logout(page: Page) -> Response:
    lang = page.lang
    page.session.clear()
    page.session["lang"] = lang
    return page.redirect(url("/login"))


def set_language(page: Page) -> Response:
    lang = page.f("lang")
    if lang in LANGUAGES:
        page.session["lang"] = lang
    return page.redirect(_safe_next(page.f("next")))


def home(page: Page) -> Response:
    return page.redirect(url("/dashboard"))


def audit_page(page: Page) -> Response:
    before = page.int_q("before")
    with page.session_scope() as session:
        rows = audit.entries(
            session, before=before, user=page.q("user") or None, action=page.q("action") or None
        )
        entries = [
            {
                "id": r.id,
                "at": r.at,
                "user": r.username,
                "action": r.action,
                "target": r.target,
                "changes": r.changes,
                "detail": r.detail,
            }
            for r in rows
        ]
    older = entries[-1]["id"] if len(entries) == audit.PAGE else None
    return page.render("audit.html", entries=entries, older=older)


# -- users (admin) --------------------------------------------------------------------------
def users_page(page: Page, *, status: int = 200, error: Any = None) -> Response:
    from pazar.models.web import ROLES
    from pazar.web.auth import list_users, user_view

    with page.session_scope() as session:
        users = [user_view(u) for u in list_users(session)]
    return page.render("users.html", status, users=users, roles=ROLES, error=error)


def users_add(page: Page) -> Response:
    from pazar.errors import ValidationError
    from pazar.web.auth import add_user

    username, role = page.f("username").strip(), page.f("role")
    try:
        with page.session_scope() as session:
            add_user(session, username, page.f("password"), role, now=page.now())
            audit.record(
                session,
                who=page.who,
                action="user.add",
                target=username,
                changes=[{"key": "role", "new": role}],
                now=page.now(),
            )
    except ValidationError as exc:
        return users_page(page, status=422, error=exc)
    return page.redirect(url("/users"), page._("User {name} added.").format(name=username))


def users_role(page: Page) -> Response:
    from pazar.web.auth import set_role

    username = page.path("username")
    if page.user and username == page.user["username"]:
        raise Forbidden(page._("You cannot change your own role."))
    with page.session_scope() as session:
        old, new = set_role(session, username, page.f("role"), now=page.now())
        audit.record(
            session,
            who=page.who,
            action="user.role",
            target=username,
            changes=[{"key": "role", "old": old, "new": new}],
            now=page.now(),
        )
    return page.redirect(url("/users"), page._("Role of {name} saved.").format(name=username))


def users_delete(page: Page) -> Response:
    from pazar.web.auth import delete_user

    username = page.path("username")
    if page.user and username == page.user["username"]:
        raise Forbidden(page._("You cannot delete yourself."))
    with page.session_scope() as session:
        delete_user(session, username)
        audit.record(session, who=page.who, action="user.delete", target=username, now=page.now())
    return page.redirect(url("/users"), page._("User {name} deleted.").format(name=username))


# -- daemons and queue -----------------------------------------------------------------------
def daemons_page(page: Page) -> Response:
    from pazar.daemon import STALE_AFTER
    from pazar.ops.status import daemon_status

    now = page.now()
    with page.session_scope() as session:
        data = daemon_status(session, page.web.flows.all(), now)
    for d in data["daemons"]:
        age = (now - d["heartbeat_at"]).total_seconds() if d["heartbeat_at"] else None
        d["age"] = None if age is None else round(age, 1)
        d["fresh"] = age is not None and age <= STALE_AFTER.total_seconds()
    titles = {f.ref: f.title for f in page.web.flows.all()}
    return page.render("daemons.html", data=data, titles=titles, now=now)


# -- uploaded files (public by unguessable URL) ---------------------------------------------
async def serve_file(request: Request) -> Response:
    """``/files/<token>/<name>``: the marketplace fetches refund photos here (no login)."""
    from pazar.files import find_file

    web = request.app.state.web
    token = request.path_params["token"]

    def load() -> Any:
        with web.db.session() as session:
            row = find_file(session, token)
            if row is None:
                return None
            return row.media_type, bytes(row.content), row.filename

    found = await run_in_threadpool(load)
    if found is None or found[2] != request.path_params["name"]:
        return Response("not found", status_code=404, media_type="text/plain")
    media, content, name = found
    return Response(
        content,
        media_type=media,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Disposition": f'inline; filename="{name}"',
        },
    )


async def root(request: Request) -> Response:
    return RedirectResponse(url("/"), status_code=307)

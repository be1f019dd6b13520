"""The web dashboard's application: sessions, CSRF, roles, rendering, and the routes.

Every screen is a server-rendered Jinja page over the engine's own functions (the
same ones the CLI and the JSON API call); a little JavaScript only refreshes a live
table.  What every request goes through, in order:

1. the session cookie (signed with itsdangerous by Starlette's ``SessionMiddleware``;
   HttpOnly, SameSite=Lax, Secure over HTTPS) names a user and the user's session
   epoch — a password or role change ends older sessions;
2. a POST must carry the session's CSRF token (``csrf`` form field, compared in
   constant time) or it is refused with 403 before anything is read;
3. a POST needs the role ``operator`` (``admin`` for users and secrets) or it is
   refused with 403 — the server refuses, not only the page;
4. the handler runs in a worker thread (database calls never block the event loop),
   and a change it makes is written to the audit log in the same transaction.

Answers carry a strict Content-Security-Policy (no inline script or style), and
pages are never cached.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pazar.errors import NotFoundError, PazarError, ValidationError
from pazar.files import Upload
from pazar.http_guard import BodyLimit, RateLimiter
from pazar.web import i18n
from pazar.web.auth import at_least

log = logging.getLogger("pazar.web")

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "/ui"
STATIC = PREFIX + "/static/"
SESSION_COOKIE = "pazar_session"
SESSION_MAX_AGE = 12 * 3600
DEFAULT_MAX_BODY = 25 * 1024 * 1024
FLASH_MAX = 4  # the session is a cookie (at most 4 KB): a few short notes
FLASH_CHARS = 400

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class Forbidden(PazarError):
    """A request the user's role or session does not allow (403)."""


@dataclass
class Web:
    """What every handler shares: the engine's database, plugins and clock."""

    db: Any
    registry: Any
    clock: Any
    hook: Any = None
    env: Environment = field(default=None)  # type: ignore[assignment]
    login_failures: RateLimiter = field(default=None)  # type: ignore[assignment]
    _flows: Any = None

    @property
    def flows(self) -> Any:
        """The loaded flow catalog (loaded once: flows change with a restart, as for daemons)."""
        if self._flows is None:
            from pazar.flows.loader import load_flows

            self._flows = load_flows(self.registry)
        return self._flows


@dataclass
class Page:
    """One request as a handler sees it."""

    web: Web
    request: Request
    session: dict[str, Any]
    user: dict[str, Any] | None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    # -- reading ---------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return str(self.session.get("lang") or "en")

    def _(self, text: str) -> str:
        return i18n.translate(text, self.lang)

    def q(self, name: str, default: str = "") -> str:
        """A query-string parameter, stripped."""
        return (self.request.query_params.get(name) or default).strip()

    def f(self, name: str, default: str = "") -> str:
        """A form field (the first value)."""
        values = self.form.get(name)
        return values[0] if values else default

    def fl(self, name: str) -> list[str]:
        return list(self.form.get(name) or [])

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def int_q(self, name: str) -> int | None:
        raw = self.q(name)
        return int(raw) if raw.isdigit() else None

    @property
    def who(self) -> str:
        return self.user["username"] if self.user else "-"

    def can(self, role: str) -> bool:
        return self.user is not None and at_least(self.user["role"], role)

    @property
    def base_url(self) -> str:
        """Where this server was reached (scheme, host, port), for URLs given to others."""
        return str(self.request.base_url).rstrip("/")

    # -- answering -------------------------------------------------------------------
    def flash(self, message: str, kind: str = "ok") -> None:
        notes = list(self.session.get("flash") or [])[-(FLASH_MAX - 1) :]
        notes.append(
            [kind, message if len(message) <= FLASH_CHARS else message[:FLASH_CHARS] + "…"]
        )
        self.session["flash"] = notes

    def render(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        flashes = self.session.pop("flash", None) or []
        html = self.web.env.get_template(template).render(
            page=self,
            _=self._,
            user=self.user,
            csrf=self.session.get("csrf", ""),
            flashes=flashes,
            url=url,
            **context,
        )
        return HTMLResponse(html, status_code=code)

    def redirect(self, to: str, message: str | None = None, kind: str = "ok") -> Response:
        if message:
            self.flash(message, kind)
        return RedirectResponse(to, status_code=303)

    def session_scope(self) -> Any:
        return self.web.db.session()

    def now(self) -> Any:
        return self.web.clock.now()


def url(path: str, **query: Any) -> str:
    """A dashboard URL: ``url("/logs", flow="stock")`` → ``/ui/logs?flow=stock``."""
    base = PREFIX + path
    params = {k: v for k, v in query.items() if v not in (None, "", False)}
    return f"{base}?{urlencode(params, doseq=True)}" if params else base


Handler = Callable[[Page], Response]


def _load_user(web: Web, session: dict[str, Any]) -> dict[str, Any] | None:
    from pazar.models.web import WebUser

    uid, epoch = session.get("uid"), session.get("epoch")
    if not isinstance(uid, int):
        return None
    with web.db.session() as db_session:
        row = db_session.execute(
            select(WebUser.username, WebUser.role, WebUser.session_epoch).where(WebUser.id == uid)
        ).first()
    if row is None or row.session_epoch != epoch:
        session.pop("uid", None)
        session.pop("epoch", None)
        return None
    return {"id": uid, "username": row.username, "role": row.role}


def csrf_token(session: dict[str, Any]) -> str:
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _run(web: Web, handler: Handler, page: Page, role: str | None, write: bool) -> Response:
    page.user = _load_user(web, page.session)
    if role is not None and page.user is None:
        if page.request.method == "GET":
            target = page.request.url.path + (
                f"?{page.request.url.query}" if page.request.url.query else ""
            )
            return RedirectResponse(url("/login", next=target), status_code=303)
        return page.render("error.html", 403, message=page._("Log in first."))
    if write and role is not None and not page.can(role):
        log.info("web: %s (%s) refused %s", page.who, page.user["role"], page.request.url.path)
        return page.render(
            "error.html",
            403,
            message=page._("Your role ({role}) may not change this.").format(
                role=page._(page.user["role"])
            ),
        )
    if not write and role is not None and not page.can(role):
        return page.render("error.html", 403, message=page._("Your role may not see this page."))
    try:
        return handler(page)
    except Forbidden as exc:
        return page.render("error.html", 403, message=exc.message)
    except NotFoundError as exc:
        return page.render("error.html", 404, message=exc.message, details=exc.details)
    except ValidationError as exc:
        return page.render("error.html", 422, message=exc.message, details=exc.details)
    except PazarError as exc:
        return page.render("error.html", 409, message=exc.message, details=exc.details)


def view(web: Web, handler: Handler, *, role: str | None = "viewer", write: bool = False) -> Any:
    """A Starlette endpoint around ``handler``: session, CSRF, role, worker thread.

    ``role=None`` for pages anyone may open (the login page); ``write=True`` for
    POSTs that change something (CSRF and role are checked first)."""

    async def endpoint(request: Request) -> Response:
        session = request.session
        csrf_token(session)
        page = Page(web, request, session, None)
        if request.method == "POST":
            try:
                form = await request.form(max_files=20, max_fields=2000)
            except Exception:  # noqa: BLE001 - a malformed body is the sender's problem
                return HTMLResponse("malformed form", status_code=400)
            try:
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        if value.filename:
                            data = await value.read()
                            page.files.setdefault(key, []).append(Upload(value.filename, data))
                    else:
                        page.form.setdefault(key, []).append(str(value))
            finally:
                await form.close()
            sent = page.f("csrf")
            if not sent or not secrets.compare_digest(sent, str(session.get("csrf", ""))):
                page.user = None
                return page.render(
                    "error.html",
                    403,
                    message=page._(
                        "The form has expired or did not come from this site (CSRF check). "
                        "Reload the page and try again."
                    ),
                )
        response: Response = await run_in_threadpool(_run, web, handler, page, role, write)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return endpoint


class SecurityHeaders:
    """ASGI middleware adding the dashboard's security headers to every answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                for name, value in (
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ):
                    if name not in names:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class LazySessions:
    """Starlette's ``SessionMiddleware``, built at the first request: its key lives in the
    database, and the API around the dashboard must start (and answer ``/health``)
    even while the database is down."""

    def __init__(self, app: Any, db: Any, clock: Any, https_only: bool) -> None:
        self.app, self.db, self.clock, self.https_only = app, db, clock, https_only
        self.inner: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if scope.get("type") != "http" or not path.startswith(PREFIX) or path.startswith(STATIC):
            await self.app(scope, receive, send)  # static files and /files need no session
            return
        if self.inner is None:
            key = await run_in_threadpool(session_key, self.db, self.clock)
            self.inner = SessionMiddleware(
                self.app,
                secret_key=key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=self.https_only,
            )
        await self.inner(scope, receive, send)


def session_key(db: Any, clock: Any) -> str:
    """``PAZAR_WEB_SECRET_KEY``, else a random key kept in the database (shared by
    every daemon, stable across restarts)."""
    from pazar.models.web import WebSecret

    configured = os.environ.get("PAZAR_WEB_SECRET_KEY", "")
    if configured:
        if configured.startswith("env:"):
            configured = os.environ.get(configured[4:], "")
        if len(configured) < 32:
            raise ValidationError("PAZAR_WEB_SECRET_KEY: at least 32 characters")
        return configured
    with db.session() as session:
        found = session.scalar(select(WebSecret.value).where(WebSecret.name == "session_key"))
    if found:
        return str(found)
    try:
        with db.session() as session:
            session.add(
                WebSecret(
                    name="session_key", value=secrets.token_urlsafe(48), created_at=clock.now()
                )
            )
    except IntegrityError:  # another daemon made it first
        pass
    with db.session() as session:
        return str(session.scalar(select(WebSecret.value).where(WebSecret.name == "session_key")))


def template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(os.path.join(HERE, "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from pazar.web import format as fmt

    env.filters.update(fmt.FILTERS)
    env.globals["quote"] = quote
    return env


def create_web_app(
    db: Any,
    registry: Any,
    *,
    clock: Any,
    hook: Any = None,
    https_only: bool = False,
    max_body: int | None = None,
) -> Any:
    """The dashboard as an ASGI app: ``/ui/...`` pages, ``/files/...`` uploads, static files.

    Mounted at the root of the HTTP API (``pazar.http_trigger.create_app``) so one
    server answers both; its paths never collide with the API's."""
    from pazar.web import routes

    web = Web(db=db, registry=registry, clock=clock, hook=hook)
    web.env = template_env()
    failures = int(os.environ.get("PAZAR_HTTP_AUTH_FAILURES", "10") or 10)
    web.login_failures = RateLimiter(failures, clock)
    limit = max_body or int(os.environ.get("PAZAR_WEB_MAX_BODY", "0") or 0) or DEFAULT_MAX_BODY
    app = Starlette(
        routes=[
            *routes.routes(web),
            Mount(
                PREFIX + "/static",
                app=StaticFiles(directory=os.path.join(HERE, "static")),
                name="static",
            ),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit, max_bytes=limit),
            Middleware(LazySessions, db=db, clock=clock, https_only=https_only),
        ],
    )
    app.state.web = web
    return app


def route(web: Web, path: str, handler: Handler, **options: Any) -> Route:
    methods = ["POST"] if options.get("write") else ["GET"]
    return Route(PREFIX + path, view(web, handler, **options), methods=methods)

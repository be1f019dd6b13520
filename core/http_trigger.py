"""``POST /flow-trigger/{channel}/{flow}``: remote systems (an OMS) queue flow runs.

The seed's Update Warehouse and Split Packages flows are started this way.  The
request is checked in the order a caller can fix it — body size (413), token
(401, 429 after too many failures or requests), channel and flow (404), the
token's scope (403), feature flag (409), body encoding and syntax (400/422),
payload against the flow's trigger schema (422) — and only a valid one becomes
a job (202 with its id) that a daemon runs.  Nothing is stored before that.
Tokens never reach a log line; error bodies never echo more than a few hundred
characters of the request.  The shared pieces live in :mod:`pazar.http_guard`.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from pazar.api_ops import ops_routes
from pazar.channels import feature_enabled
from pazar.flows.loader import load_flows
from pazar.http_guard import (
    BodyLimit,
    HttpLimits,
    HTTPProblem,
    TokenGuard,
    parse_json_body,
    problem_handler,
    short,
)
from pazar.jobs.queue import enqueue
from pazar.models.channels import Channel
from pazar.trigger_payloads import payload_problems

log = logging.getLogger("pazar.http")


def create_app(
    db: Any,
    registry: Any,
    *,
    clock: Any,
    limits: HttpLimits | None = None,
    hook: Any = None,
    web: bool = True,
    https: bool = False,
) -> Starlette:
    """The trigger API over one database and the loaded plugins.

    ``limits`` default to :meth:`HttpLimits.from_env`.  Other routes can be added
    to the returned app (``app.router.routes``) and share its body limit and,
    through ``app.state.guard``, its token authentication.  With ``web`` the
    dashboard (:mod:`pazar.web`, ``/ui/...``) is mounted beside the API; ``hook`` lets
    its channel saves queue the flows plugins ask for, as the CLI's do.
    """
    limits = limits or HttpLimits.from_env()
    flows = load_flows(registry)
    guard = TokenGuard(db, clock, limits)

    async def trigger(request: Request) -> JSONResponse:
        slug = request.path_params["channel_slug"]
        name = request.path_params["flow"]
        grant = guard.authenticate(request)
        with db.session() as session:
            channel = session.query(Channel).filter(Channel.slug == slug).one_or_none()
            if channel is None:
                raise HTTPProblem(404, f"no channel {short(slug, 80)!r}")
            ref = f"{channel.plugin}/{name}"
            if ref not in flows or "http" not in flows.get(ref).triggers:
                raise HTTPProblem(
                    404, f"no flow {short(name, 80)!r} triggerable over HTTP for {channel.plugin}"
                )
            if not grant.allows(channel.slug, ref):
                log.info("flow-trigger %s %s: token %s out of scope", slug, ref, grant.name)
                raise HTTPProblem(
                    403,
                    f"token {grant.name!r} may not trigger {ref} on channel {slug!r} "
                    f"(it is limited to {grant.scope()})",
                )
            flow = flows.get(ref)
            if channel.status != "active" or not feature_enabled(channel, flow.feature_flag):
                raise HTTPProblem(
                    409,
                    f"flow {ref} is off for channel {slug!r} "
                    f"(status {channel.status}, flag {flow.feature_flag or '-'})",
                )
            body = parse_json_body(await request.body())
            problems = payload_problems(body, channel.plugin, name)
            if problems:
                raise HTTPProblem(422, "invalid payload", details=problems)
            job_id = enqueue(
                session,
                channel_id=channel.id,
                flow=ref,
                trigger="http",
                now=clock.now(),
                payload=body,
                dedupe=not body,
            )
        log.info("flow-trigger %s %s by token %s: job %s", slug, ref, grant.name, job_id)
        return JSONResponse({"job_id": job_id}, status_code=202)

    dashboard = []
    if web:
        from pazar.web import create_web_app

        dashboard = [
            Mount("", app=create_web_app(db, registry, clock=clock, hook=hook, https_only=https))
        ]
    app = Starlette(
        routes=[
            Route("/flow-trigger/{channel_slug}/{flow}", trigger, methods=["POST"]),
            *ops_routes(db, registry, clock=clock, flows=flows),
            *dashboard,
        ],
        # the dashboard has its own, larger limit (photo uploads); see pazar.web.app
        middleware=[Middleware(BodyLimit, max_bytes=limits.max_body, exempt=("/ui/",))],
        exception_handlers={HTTPProblem: problem_handler},
    )
    app.state.guard = guard
    app.state.limits = limits
    return app

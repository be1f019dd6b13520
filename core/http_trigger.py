"""``POST /flow-trigger/{channel}/{flow}``: remote systems (an OMS) queue flow runs.

The seed's Update Warehouse and Split Packages flows are started this way.  The
request is checked in the order a caller can fix it — token (401), channel and
flow (404), feature flag (409), payload (422) — and a valid one becomes a job
(202 with its id) that a daemon runs.  Tokens never reach a log line.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pazar.api_ops import ops_routes
from pazar.channels import feature_enabled
from pazar.flows.loader import load_flows
from pazar.jobs.queue import enqueue
from pazar.models.channels import Channel
from pazar.paths import schemas_dir
from pazar.tokens import verify_token

log = logging.getLogger("pazar.http")


def _schema_for(plugin: str, flow: str) -> dict[str, Any]:
    base = schemas_dir() / "triggers"
    specific = base / plugin / f"{flow}.json"
    path: Path = specific if specific.is_file() else base / "default.json"
    return json.loads(path.read_text())


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def create_app(db: Any, registry: Any, *, clock: Any) -> Starlette:
    """The trigger API over one database and the loaded plugins."""
    flows = load_flows(registry)

    async def trigger(request: Request) -> JSONResponse:
        slug = request.path_params["channel_slug"]
        name = request.path_params["flow"]
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        now = clock.now()
        with db.session() as session:
            who = verify_token(session, presented.strip(), now) if scheme == "Token" else None
        if who is None:
            log.info("flow-trigger %s/%s: refused (no valid token)", slug, name)
            return _error(401, "missing or invalid token; send 'Authorization: Token <token>'")
        with db.session() as session:
            channel = session.query(Channel).filter(Channel.slug == slug).one_or_none()
            if channel is None:
                return _error(404, f"no channel {slug!r}")
            ref = f"{channel.plugin}/{name}"
            if ref not in flows or "http" not in flows.get(ref).triggers:
                return _error(404, f"no flow {name!r} triggerable over HTTP for {channel.plugin}")
            flow = flows.get(ref)
            if channel.status != "active" or not feature_enabled(channel, flow.feature_flag):
                return _error(
                    409,
                    f"flow {ref} is off for channel {slug!r} "
                    f"(status {channel.status}, flag {flow.feature_flag or '-'})",
                )
            try:
                body = await request.json() if await request.body() else {}
            except json.JSONDecodeError as exc:
                return _error(422, f"body is not valid JSON: {exc.msg} at line {exc.lineno}")
            validator = Draft202012Validator(_schema_for(channel.plugin, name))
            problems = [
                f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(body)
            ]
            if problems:
                return _error(422, "invalid payload", details=problems)
            job_id = enqueue(
                session,
                channel_id=channel.id,
                flow=ref,
                trigger="http",
                now=now,
                payload=body,
                dedupe=not body,
            )
        log.info("flow-trigger %s %s by token %s: job %s", slug, ref, who, job_id)
        return JSONResponse({"job_id": job_id}, status_code=202)

    return Starlette(
        routes=[
            Route("/flow-trigger/{channel_slug}/{flow}", trigger, methods=["POST"]),
            *ops_routes(db, registry, clock=clock, flows=flows),
        ]
    )

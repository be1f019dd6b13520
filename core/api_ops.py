"""The operations half of the HTTP API: health, metrics, jobs, dashboard, reports, alarms.

Mounted into the flow-trigger app (``pazar serve --http``, ``pazar daemon --http``).
``GET /health`` answers anyone (a load balancer asks it); everything else wants the
same ``Authorization: Token <token>`` as the trigger endpoint — Prometheus sends it
with ``authorization: {type: Token, credentials_file: ...}``.  Answers are JSON, except
``/metrics`` (Prometheus text) and reports in CSV or XLSX.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from pazar.errors import NotFoundError, PazarError, ValidationError
from pazar.tokens import verify_token

log = logging.getLogger("pazar.http")

Handler = Callable[[Request], Awaitable[Response]]


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return format(obj, "f")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, default=_default, ensure_ascii=False)
    return Response(body, status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def ops_routes(db: Any, registry: Any, *, clock: Any, flows: Any = None) -> list[Route]:
    """The routes, over one database and the loaded plugins."""
    if flows is None:
        from pazar.flows.loader import load_flows

        flows = load_flows(registry)
    from pazar.ops.metrics import registry_for

    metrics_registry = registry_for(db, clock)

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            scheme, _, presented = request.headers.get("authorization", "").partition(" ")
            try:
                with db.session() as session:
                    who = (
                        verify_token(session, presented.strip(), clock.now())
                        if scheme == "Token"
                        else None
                    )
            except PazarError as exc:
                return _error(503, exc.message)
            if who is None:
                return _error(401, "missing or invalid token; send 'Authorization: Token <token>'")
            try:
                return await handler(request)
            except (NotFoundError, ValidationError) as exc:
                status = 404 if isinstance(exc, NotFoundError) else 422
                return _error(status, exc.message)
            except PazarError as exc:
                return _error(409, exc.message)

        return endpoint

    async def health(request: Request) -> Response:
        from pazar.daemon import STALE_AFTER
        from pazar.models.jobs import Daemon

        now: datetime = clock.now()
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                beat = conn.execute(
                    select(func.max(Daemon.heartbeat_at)).where(Daemon.stopped_at.is_(None))
                ).scalar()
        except Exception as exc:  # noqa: BLE001 - any failure means the database is gone
            log.warning("health: database unreachable: %s", type(exc).__name__)
            return _json(
                {
                    "status": "down",
                    "database": {"ok": False, "error": f"unreachable ({type(exc).__name__})"},
                    "daemon": {"ok": False, "heartbeat_age_seconds": None},
                },
                503,
            )
        if beat is not None and beat.tzinfo is None:
            from pazar.models.base import UTCDateTime

            beat = UTCDateTime().process_result_value(beat, None)
        age = None if beat is None else round((now - beat).total_seconds(), 1)
        fresh = age is not None and age <= STALE_AFTER.total_seconds()
        body = {
            "status": "ok" if fresh else "degraded",
            "database": {"ok": True},
            "daemon": {"ok": fresh, "heartbeat_age_seconds": age},
        }
        return _json(body, 200 if fresh else 503)

    async def metrics(request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    async def job(request: Request) -> Response:
        from pazar.ops.jobs import job_status

        raw = request.path_params["job_id"]
        if not raw.isdigit():
            return _error(404, f"no job {raw!r}")
        limit = _int(request, "limit", 1000, 1, 100000)
        with db.session() as session:
            found = job_status(session, int(raw), limit=limit)
        if found is None:
            return _error(404, f"no job {raw}")
        return _json(found)

    async def dashboard(request: Request) -> Response:
        from pazar.ops.dashboard import dashboards

        with db.session() as session:
            boards = dashboards(session, request.query_params.get("channel") or None)
        return _json([board.as_dict() for board in boards])

    async def dashboard_history(request: Request) -> Response:
        from pazar.ops.dashboard import channels_for, history

        limit = _int(request, "limit", 24, 1, 10000)
        with db.session() as session:
            channel = channels_for(session, request.path_params["channel"])[0]
            rows = history(session, channel.id, limit)
        return _json({"channel": channel.slug, "history": rows})

    async def report(request: Request) -> Response:
        from pazar.ops.dashboard import channels_for
        from pazar.ops.reports import MEDIA_TYPES, check_format, report_scope, write_report
        from pazar.ops.reports import report as report_spec

        spec = report_spec(request.path_params["name"])
        fmt = check_format(request.query_params.get("format") or "json")
        slug = request.query_params.get("channel")
        if not slug:
            raise ValidationError("give the channel: ?channel=SLUG")
        with db.session() as session:
            channel = channels_for(session, slug)[0]
            session.expunge(channel)
            report_scope(session, channel, spec.name)
        filename = f"{channel.slug}-{spec.name}.{fmt}"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if fmt == "xlsx":  # a zip file: built on disk in constant memory, then sent
            handle, path = tempfile.mkstemp(suffix=".xlsx")
            with os.fdopen(handle, "wb") as out:
                write_report(db, channel, spec.name, fmt, out)
            return FileResponse(
                path,
                media_type=MEDIA_TYPES[fmt],
                headers=headers,
                background=BackgroundTask(os.unlink, path),
            )
        return StreamingResponse(
            _chunks(db, channel, spec.name, fmt), media_type=MEDIA_TYPES[fmt], headers=headers
        )

    async def alarms(request: Request) -> Response:
        from pazar.ops.alarms import channel_slugs, list_rules, rule_view

        with db.session() as session:
            slugs = channel_slugs(session)
            return _json([rule_view(rule, slugs) for rule in list_rules(session)])

    async def alarm(request: Request) -> Response:
        from pazar.ops.alarms import channel_slugs, events, get_rule, rule_view

        with db.session() as session:
            rule = get_rule(session, request.path_params["name"])
            view = rule_view(rule, channel_slugs(session))
            view["events"] = [
                {
                    "event": e.event,
                    "at": e.at,
                    "value": e.value,
                    "message": e.message,
                    "deliveries": e.deliveries,
                }
                for e in events(session, rule.id, _int(request, "limit", 20, 1, 1000))
            ]
        return _json(view)

    return [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", guarded(metrics), methods=["GET"]),
        Route("/jobs/{job_id}", guarded(job), methods=["GET"]),
        Route("/dashboard", guarded(dashboard), methods=["GET"]),
        Route("/dashboard/{channel}/history", guarded(dashboard_history), methods=["GET"]),
        Route("/reports/{name}", guarded(report), methods=["GET"]),
        Route("/alarms", guarded(alarms), methods=["GET"]),
        Route("/alarms/{name}", guarded(alarm), methods=["GET"]),
    ]


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError(f"?{name}={raw!r}: a whole number from {low} to {high}")
    return int(raw)


def _chunks(db: Any, channel: Any, name: str, fmt: str) -> Iterator[bytes]:
    """A CSV or JSON report in pieces of about 64 KiB, written row by row as it is read."""
    from pazar.ops.reports import REPORTS, report_scope, text_chunks

    spec = REPORTS[name]
    with db.session() as session:
        scope = report_scope(session, channel, name)
    parts: list[bytes] = []
    size = 0
    for chunk in text_chunks(fmt, spec.columns, spec.rows(db, scope)):
        parts.append(chunk)
        size += len(chunk)
        if size >= 65536:
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        yield b"".join(parts)

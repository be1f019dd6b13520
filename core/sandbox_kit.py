"""What every marketplace sandbox shares: fault injection, the request log, control endpoints.

A sandbox imitates one marketplace's API for tests, the demo and ``pazar sandbox``; its paths,
auth and envelopes are the marketplace's own, but the ways a real service misbehaves are the
same everywhere: latency, timeouts, 5xx in the service's error shapes, 429 with
``Retry-After``, a rate window running out, malformed bodies.  :class:`SandboxKit` holds those
faults and the log of requests, wraps a marketplace's handlers so every request passes through
them, and serves the generic control endpoints (``/_sandbox/faults``, ``/_sandbox/requests``).

A fault is set with ``POST /_sandbox/faults``: ``{"http_error": {"status": 503, "count": 2,
"path": "stock-uploads", "body": "json"}}`` answers the next two requests whose path contains
``stock-uploads`` with a 503; ``"after": N`` lets the first N matching requests through
first (a failure in the middle of a paged read); ``null`` clears a fault.  A marketplace declares its own extra
fault names (e.g. rows to reject) and reads them with :meth:`SandboxKit.fault`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

# "request": answers one request (spends its ``count``, default 1; ``path`` filters);
# "object" / "number" / "list": a setting the marketplace's handlers read.
FaultShape = Literal["request", "object", "number", "list"]
# Faults that answer one request (spending their ``count``, default 1; ``path`` filters).
REQUEST_FAULTS = ("http_error", "rate_limit", "timeout", "malformed")
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

Endpoint = Callable[[Request], Awaitable[Response]]


class SandboxReply(Exception):
    """Raised inside a sandbox handler to answer at once (auth failures, bad parameters)."""

    def __init__(self, response: Response) -> None:
        super().__init__("reply")
        self.response = response


def error_response(fault: Mapping[str, Any]) -> Response:
    """An error in one of the usual service shapes: ``body`` text | empty | string | json."""
    status = int(fault.get("status", 500))
    message = str(fault.get("message", "Internal Server Error"))
    shape = fault.get("body", "text")
    if shape == "empty":
        return Response(b"", status_code=status, media_type="application/json")
    if shape == "string":
        return JSONResponse(message, status_code=status)
    if shape == "json":
        return JSONResponse({"statusCode": status, "code": str(status), "message": message}, status)
    return PlainTextResponse(message, status_code=status)


async def json_body(request: Request) -> Any:
    """The request's JSON body ({} when empty); a 400 reply when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise SandboxReply(
            JSONResponse({"error": "body is not valid JSON"}, status_code=400)
        ) from None


class SandboxKit:
    """Faults and the request log of one sandbox app; every access holds ``lock``.

    ``extra_faults`` names the marketplace's own faults and their shape; ``rate_headers``
    are the (limit, remaining, reset) headers a rate-limited service sends;
    ``rate_limit_body`` is what its 429 says.
    """

    def __init__(
        self,
        *,
        extra_faults: Mapping[str, FaultShape] | None = None,
        rate_headers: tuple[str, str, str] = RATE_HEADERS,
        rate_limit_body: Any = "TooManyRequests",
        correlation_prefix: str = "sbx",
    ) -> None:
        self.lock = threading.RLock()
        self.shapes: dict[str, FaultShape] = {
            **{name: "request" for name in REQUEST_FAULTS},
            "latency_ms": "number",
            "rate_window": "object",
            **dict(extra_faults or {}),
        }
        self.rate_headers = rate_headers
        self.rate_limit_body = rate_limit_body
        self.correlation_prefix = correlation_prefix
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.faults: dict[str, Any] = {}
            self.requests: deque[dict[str, Any]] = deque(maxlen=2000)
            self.correlation = 0

    # -- faults ------------------------------------------------------------------------------
    def set_faults(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Set (or with ``null`` clear) faults; everything is checked before anything changes."""
        if not isinstance(doc, Mapping):
            raise ValueError("faults body must be a JSON object")
        unknown = sorted(set(doc) - set(self.shapes))
        if unknown:
            raise ValueError(
                f"unknown fault {', '.join(unknown)}; one of {', '.join(sorted(self.shapes))}"
            )
        for key, value in doc.items():
            shape = self.shapes[key]
            if value is None:
                continue
            if shape in ("request", "object") and not isinstance(value, Mapping):
                raise ValueError(f"fault {key} must be an object")
            if shape == "list" and not isinstance(value, list):
                raise ValueError(f"fault {key} must be a list")
            if shape == "number" and (
                not isinstance(value, int | float) or isinstance(value, bool)
            ):
                raise ValueError(f"fault {key} must be a number")
        with self.lock:
            for key, value in doc.items():
                if value is None:
                    self.faults.pop(key, None)
                elif self.shapes[key] == "request":
                    self.faults[key] = {"count": 1, **value}
                else:
                    self.faults[key] = copy.deepcopy(value)
            return copy.deepcopy(self.faults)

    def fault(self, key: str) -> Any:
        """A fault's current setting (a copy), or None."""
        with self.lock:
            return copy.deepcopy(self.faults.get(key))

    def take_fault(self, kind: str, path: str) -> dict[str, Any] | None:
        """The fault to apply to this request, spending one of its ``count``."""
        with self.lock:
            fault = self.faults.get(kind)
            if not fault or int(fault.get("count", 0)) <= 0:
                return None
            match = fault.get("path")
            if match and match not in path:
                return None
            if int(fault.get("after", 0)) > 0:
                fault["after"] = int(fault["after"]) - 1
                return None
            fault["count"] = int(fault["count"]) - 1
            return dict(fault)

    def take_fault_count(self, key: str) -> bool:
        """Spend one of an integer fault counter (e.g. uploads that never finish)."""
        with self.lock:
            left = int(self.faults.get(key) or 0)
            if left <= 0:
                return False
            self.faults[key] = left - 1
            return True

    # -- requests ----------------------------------------------------------------------------
    def endpoint(
        self,
        handler: Callable[[Request, bytes], Any],
        *,
        lock: Any = None,
        authorize: Callable[[Request], None] | None = None,
        after_ok: Callable[[Request], Response | None] | None = None,
    ) -> Endpoint:
        """Wrap an API handler: faults, ``authorize`` (raise :class:`SandboxReply` to refuse),
        the handler under ``lock`` (the marketplace state's), the request log.

        ``after_ok(request)`` may replace a successful answer (a marketplace's own faults,
        e.g. an error inside a 200)."""
        held = lock if lock is not None else threading.RLock()

        async def serve(request: Request) -> Response:
            path = request.url.path
            response = await self._answer(request, path, handler, held, authorize, after_ok)
            with self.lock:
                self.requests.append(
                    {
                        "method": request.method,
                        "path": path,
                        "query": request.url.query,
                        "status": response.status_code,
                    }
                )
                self.correlation += 1
                response.headers["x-correlation-id"] = (
                    f"{self.correlation_prefix}-{self.correlation:08d}"
                )
                self._rate_window(response)
            return response

        return serve

    def _rate_window(self, response: Response) -> None:
        """A request window like real services announce it: the counter starts again after
        the answer that says 0 remain (the sandbox assumes the client waited the reset)."""
        window = self.faults.get("rate_window")
        if not window or response.status_code == 429:
            return
        limit = max(1, int(window.get("limit", 1000)))
        used = int(window.get("used", 0)) + 1
        window["used"] = 0 if used >= limit else used
        limit_h, remaining_h, reset_h = self.rate_headers
        response.headers[limit_h] = str(limit)
        response.headers[remaining_h] = str(limit - used)
        response.headers[reset_h] = str(window.get("reset", 1))

    async def _answer(
        self,
        request: Request,
        path: str,
        handler: Callable[[Request, bytes], Any],
        lock: Any,
        authorize: Callable[[Request], None] | None,
        after_ok: Callable[[Request], Response | None] | None,
    ) -> Response:
        latency = self.faults.get("latency_ms")
        if latency:
            await asyncio.sleep(float(latency) / 1000)
        # A request held back by a timeout fault is answered normally afterwards (the service
        # did the work, the client gave up) and spends no other fault.
        timeout = self.take_fault("timeout", path)
        if timeout:
            await asyncio.sleep(float(timeout.get("seconds", 1.0)))
        error = None if timeout else self.take_fault("http_error", path)
        if error:
            return error_response(error)
        limited = None if timeout else self.take_fault("rate_limit", path)
        if limited:
            return self._too_many(limited)
        try:
            body = await request.body()
            with lock:
                if authorize is not None:
                    authorize(request)
                result = handler(request, body)
        except SandboxReply as reply:
            return reply.response
        response = result if isinstance(result, Response) else JSONResponse(result)
        if 200 <= response.status_code < 300 and not timeout:
            if self.take_fault("malformed", path):
                return Response(b'{"success": tru', status_code=200, media_type="application/json")
            if after_ok is not None:
                replaced = after_ok(request)
                if replaced is not None:
                    return replaced
        return response

    def _too_many(self, fault: Mapping[str, Any]) -> Response:
        retry_after = fault.get("retry_after", 1)
        limit_h, remaining_h, reset_h = self.rate_headers
        headers = {
            limit_h: str(fault.get("limit", 1000)),
            remaining_h: "0",
            reset_h: str(retry_after),
        }
        if fault.get("retry_after_header", True):
            headers["Retry-After"] = str(retry_after)
        return JSONResponse(self.rate_limit_body, status_code=429, headers=headers)

    # -- control -----------------------------------------------------------------------------
    @staticmethod
    def control(func: Callable[[Request, Any], Any]) -> Endpoint:
        """A control endpoint: ``func(request, json_body_or_None)``; a ValueError is a 400."""

        async def serve(request: Request) -> Response:
            try:
                doc = await json_body(request) if request.method in ("POST", "PUT") else None
                result = func(request, doc)
            except SandboxReply as reply:
                return reply.response
            except (ValueError, TypeError, AttributeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return result if isinstance(result, Response) else JSONResponse(result)

        return serve

    def control_routes(self, prefix: str = "/_sandbox") -> list[Route]:
        """``GET|POST|DELETE {prefix}/faults`` and ``GET {prefix}/requests``."""

        def faults(request: Request, doc: Any) -> Any:
            if request.method == "DELETE":
                with self.lock:
                    self.faults.clear()
                return {}
            if request.method == "POST":
                return self.set_faults(doc)
            with self.lock:
                return copy.deepcopy(self.faults)

        def requests(request: Request, doc: Any) -> Any:
            with self.lock:
                return {"requests": list(self.requests)}

        return [
            Route(f"{prefix}/faults", self.control(faults), methods=["GET", "POST", "DELETE"]),
            Route(f"{prefix}/requests", self.control(requests), methods=["GET"]),
        ]

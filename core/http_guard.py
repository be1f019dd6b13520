"""What every pazar HTTP endpoint shares: body limits, token auth, rate limits, errors.

The trigger API is meant to be reachable by another system (an OMS), so it is
input from the network.  The pieces here are independent of any one route, so
other routes mounted into the same app (operations endpoints) reuse them:

- :class:`BodyLimit`, ASGI middleware: a body over ``max_body`` bytes is
  answered 413 before any route reads it (declared length or streamed).
- :class:`TokenGuard`: ``Authorization: Token <token>`` checked against the
  stored hashes, failed attempts rate-limited per client address, valid
  tokens rate-limited per token (429 with ``Retry-After``); it raises
  :class:`HTTPProblem`, which :func:`problem_response` turns into JSON.
- :func:`parse_json_body`: invalid UTF-8 → 400, invalid JSON (NaN, a key
  named twice included) → 422, nesting past ``json_input.MAX_DEPTH`` → 400;
  never a 500.
- :func:`error` bounds everything an error body echoes (messages, details,
  values from the request), so an error can never be used to reflect
  megabytes back.

Limits come from :class:`HttpLimits` (environment variables, see
``docs/daemon.md``); the clock is injected so tests never sleep.
"""

from __future__ import annotations

import ipaddress
import math
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from pazar import json_input
from pazar.errors import ConfigError, short
from pazar.json_input import unstorable_text

MAX_ECHO = 200  # characters of a request value an error repeats (errors.short's default)
MAX_DETAILS = 20
_MAX_KEYS = 10_000


@dataclass(frozen=True)
class HttpLimits:
    """The API's limits; every one can be set from the environment."""

    max_body: int = 1_048_576
    """Bytes of one request body (413 past it). PAZAR_HTTP_MAX_BODY."""
    token_rate: int = 120
    """Requests per minute per token (429 past it). PAZAR_HTTP_TOKEN_RATE."""
    auth_failures: int = 10
    """Failed authentications per minute per client address. PAZAR_HTTP_AUTH_FAILURES."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HttpLimits:
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field, variable in (
            ("max_body", "PAZAR_HTTP_MAX_BODY"),
            ("token_rate", "PAZAR_HTTP_TOKEN_RATE"),
            ("auth_failures", "PAZAR_HTTP_AUTH_FAILURES"),
        ):
            raw = env.get(variable, "").strip()
            if not raw:
                continue
            try:
                values[field] = int(raw)
            except ValueError:
                raise ConfigError(f"{variable}={raw!r} is not a whole number") from None
            if values[field] < 1:
                raise ConfigError(f"{variable}={raw!r} must be at least 1")
        return cls(**values)


# --------------------------------------------------------------------------- errors


class HTTPProblem(Exception):
    """An expected refusal: status, one message, optional details and headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


def error(
    status: int,
    message: str,
    *,
    details: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": short(message, 2 * MAX_ECHO)}
    if details:
        shown = [short(d, 2 * MAX_ECHO) for d in details[:MAX_DETAILS]]
        if len(details) > MAX_DETAILS:
            shown.append(f"… and {len(details) - MAX_DETAILS} more")
        body["details"] = shown
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def problem_response(problem: HTTPProblem) -> JSONResponse:
    return error(problem.status, problem.message, details=problem.details, headers=problem.headers)


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette exception handler for :class:`HTTPProblem`."""
    assert isinstance(exc, HTTPProblem)
    return problem_response(exc)


# --------------------------------------------------------------------------- body


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, before any route reads it.

    The body is read here (up to the limit) and replayed to the app, so a client
    that lies about ``Content-Length`` or streams forever is cut off all the same.
    """

    def __init__(self, app: Any, max_bytes: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # path prefixes with a limit of their own (the web dashboard's photo uploads)
        self.exempt = exempt

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any
    ) -> None:
        if scope.get("type") != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        response = error(413, f"request body is larger than {self.max_bytes} bytes")
        await response(scope, receive, send)


def parse_json_body(body: bytes) -> Any:
    """The body as JSON (an empty body is ``{}``); 400/422 for anything else."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPProblem(
            400, f"body is not UTF-8 text (byte 0x{body[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        value = json_input.loads(text, unique_keys=True)
    except json_input.JsonTooDeep as exc:
        raise HTTPProblem(400, f"body is nested too deeply ({exc.msg})") from None
    except json_input.JsonProblem as exc:
        # NaN/Infinity, or a key named twice (json.loads kept the last)
        raise HTTPProblem(
            422, f"body is not valid JSON: {short(exc.msg, 120)}{exc.where}"
        ) from None
    problem = unstorable_text(value)
    if problem:
        raise HTTPProblem(422, f"body {problem}")
    return value


# --------------------------------------------------------------------------- rate limits


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, refilled continuously.

    In memory, per process: a limit per daemon, which is what protects it.
    ``clock`` is pazar's (``now()`` → aware datetime), so tests move time by hand.
    """

    def __init__(self, per_minute: int, clock: Any) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        level, at = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, level + (now - at) * self.rate)

    def wait(self, key: str) -> float | None:
        """Seconds until ``key`` may make a request, or None if it may now (nothing taken)."""
        now = self.clock.now().timestamp()
        with self._lock:
            level = self._level(key, now)
        return None if level >= 1 else (1 - level) / self.rate

    def take(self, key: str) -> float | None:
        """Take one request for ``key``: None if allowed, else the seconds to wait."""
        now = self.clock.now().timestamp()
        with self._lock:
            level = self._level(key, now)
            if level < 1:
                self._buckets[key] = (level, now)
                return (1 - level) / self.rate
            self._buckets[key] = (level - 1, now)
            if len(self._buckets) > _MAX_KEYS:
                self._forget_full(now)
        return None

    def _forget_full(self, now: float) -> None:
        for key in [k for k in self._buckets if self._level(k, now) >= self.capacity]:
            del self._buckets[key]


def too_many(wait: float, what: str) -> HTTPProblem:
    seconds = max(1, math.ceil(wait))
    return HTTPProblem(
        429, f"too many {what}; retry in {seconds}s", headers={"Retry-After": str(seconds)}
    )


# --------------------------------------------------------------------------- auth


class TokenGuard:
    """``Authorization: Token <token>`` for any route: call :meth:`authenticate`."""

    def __init__(self, db: Any, clock: Any, limits: HttpLimits) -> None:
        from pazar.tokens import verify_token

        self.db = db
        self.clock = clock
        self.failures = RateLimiter(limits.auth_failures, clock)
        self.per_token = RateLimiter(limits.token_rate, clock)
        self._verify = verify_token

    def authenticate(self, request: Request) -> Any:
        """The :class:`pazar.tokens.TokenGrant` of the request, or HTTPProblem 401/429."""
        client = request.client.host if request.client else "unknown"
        wait = self.failures.wait(client)
        if wait is not None:
            raise too_many(wait, "failed authentication attempts from this address")
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        grant = None
        if scheme == "Token" and presented.strip():
            with self.db.session() as session:
                grant = self._verify(session, presented.strip(), self.clock.now())
        if grant is None:
            self.failures.take(client)
            raise HTTPProblem(401, "missing or invalid token; send 'Authorization: Token <token>'")
        wait = self.per_token.take(grant.name)
        if wait is not None:
            raise too_many(wait, f"requests for token {grant.name!r}")
        return grant


# --------------------------------------------------------------------------- serving


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # another host name, or empty (all interfaces): assume exposed


def exposure_warning(host: str, tls: bool, what: str = "the flow-trigger API") -> str | None:
    """The warning to print when ``what`` listens beyond this machine without TLS."""
    if tls or is_loopback(host):
        return None
    return (
        f"warning: serving {what} on {host} without TLS: tokens and payloads cross the network "
        "in clear text; pass --tls-cert/--tls-key or put it behind a TLS reverse proxy "
        "(docs/daemon.md)"
    )

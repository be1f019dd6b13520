"""The marketplace HTTP client base: one retry policy and one error type for every marketplace.

A marketplace plugin supplies endpoints, authentication and how its service words an error;
the engine supplies the rest, the same for every marketplace:

- connection errors, timeouts and 5xx answers are retried a bounded number of times with
  exponential backoff; 429 answers are waited out (``Retry-After``, or the reset header of an
  exhausted rate window) and retried without counting as a failed attempt; a window that says
  it is exhausted is waited out *before* the next call instead of provoking a 429;
- what still fails becomes a :class:`MarketplaceError` whose ``kind`` says whose fault it is:
  only ``rejected`` (the marketplace refused the request for its content) is a record's fault
  and may become a penalty; ``transport``, ``rate_limited`` and ``malformed`` are transient
  (the run fails, its records stay eligible, the job is retried later) and ``auth`` is the
  channel's config;
- messages name the method, the path (never the query or a header) and the marketplace's own
  words, so credentials cannot leak into a log line or a penalty;
- all waiting goes through the injectable ``sleep``, so tests never sleep.

Every client shares the process's pooled ``httpx.Client`` (:mod:`pazar.http_pool`) and sends
its channel's credentials with each request, so calls reuse connections across channels and
runs and the number of open sockets stays bounded.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pazar.errors import PazarError
from pazar.http_pool import shared_http_client
from pazar.secret_policy import MASK, MIN_REDACTED_LENGTH
from pazar.tls import shared_tls_context

if TYPE_CHECKING:  # httpx is imported when a client is built: plugins load without it
    import httpx

log = logging.getLogger("pazar.http")

# How clients wait (backoff, Retry-After) unless given their own ``sleep``; tests replace it
# (``pazar.testing``'s ``pazar_no_waits``) so nothing ever sleeps for real in a test.
SLEEP: Callable[[float], None] = time.sleep

ErrorKind = Literal["transport", "auth", "rate_limited", "rejected", "malformed"]
ERROR_KINDS: tuple[ErrorKind, ...] = ("transport", "auth", "rate_limited", "rejected", "malformed")
TRANSIENT_KINDS = frozenset({"transport", "rate_limited", "malformed"})

_EXCERPT = 200


def excerpt(text: str | bytes, limit: int = _EXCERPT) -> str:
    """A short one-line preview of a body, for an error message."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class MarketplaceError(PazarError):
    """A failed marketplace call, or a record the marketplace refused.

    ``kind``: ``transport`` (connection, timeout, 5xx after the retries), ``auth`` (401/403),
    ``rate_limited`` (429 after the allowed waits), ``rejected`` (the marketplace said no to
    what was sent: a 4xx, an error inside a 200, a rejected row), ``malformed`` (an answer that
    breaks the documented contract).  ``remote_message`` is the marketplace's own text, fit
    for a penalty reason; ``key`` names the record when the marketplace named one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status: int | None = None,
        remote_message: str | None = None,
        code: Any = None,
        key: str | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.kind = kind
        self.status = status
        self.remote_message = remote_message
        self.code = code
        self.key = key

    @property
    def transient(self) -> bool:
        """True when the same request may succeed later: nobody's record is at fault."""
        return self.kind in TRANSIENT_KINDS

    @property
    def record_fault(self) -> bool:
        """True when the marketplace refused what was sent: the records' own fault."""
        return self.kind == "rejected"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind!r}, status={self.status!r}, "
            f"message={self.message!r})"
        )


# Header names that carry credentials (matched as parts of the lower-cased name).
CREDENTIAL_HEADER_WORDS = ("authorization", "token", "key", "secret", "password", "cookie")


def credential_texts(headers: Mapping[str, str], auth: Any) -> list[str]:
    """The credential header values a client sends, and each value after its scheme word,
    longest first.  ``auth`` (an httpx auth) is asked to sign a request, so the header it
    adds (Basic: base64 of user and password) is known without reading its internals."""
    sent = dict(headers)
    if auth is not None:
        import httpx

        try:
            signed = next(auth.sync_auth_flow(httpx.Request("GET", "https://pazar.invalid/")))
            sent.update(signed.headers)
        except Exception:  # noqa: BLE001 - an auth that needs an answer first signs later
            pass
    texts: set[str] = set()
    for name, value in sent.items():
        if not value or not any(word in name.lower() for word in CREDENTIAL_HEADER_WORDS):
            continue
        texts.add(value)
        _scheme, _, token = value.partition(" ")
        if token.strip():
            texts.add(token.strip())
    return sorted((t for t in texts if len(t) >= MIN_REDACTED_LENGTH), key=len, reverse=True)


def remote_message_of(body: bytes, content_type: str = "") -> str | None:
    """The service's own message from the usual error body shapes, or None for an empty body.

    Shapes: a JSON object with ``message``/``msg``/``detail``/``title``/``error``
    (or ``errors``), a bare JSON string, or plain text.
    """
    if not body or not body.strip():
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return excerpt(body)
    if isinstance(value, str):
        return excerpt(value)
    if isinstance(value, dict):
        for key in ("message", "Message", "msg", "detail", "title", "defaultMessage", "error"):
            text = value.get(key)
            if isinstance(text, str) and text.strip():
                return excerpt(text)
        errors = value.get("errors")
        if errors:
            return excerpt(json.dumps(errors, ensure_ascii=False))
    return excerpt(json.dumps(value, ensure_ascii=False))


def _seconds(value: str | None) -> float | None:
    """A Retry-After value: seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class MarketplaceClient:
    """Base of a marketplace's HTTP client; use as a context manager or call :meth:`close`.

    Subclasses set ``title`` (the marketplace's name in messages) and ``error_type`` (their
    :class:`MarketplaceError` subclass), pass ``auth`` and ``headers`` for their channel, and
    may override :meth:`remote_message` and :meth:`error_code` for their service's error
    shapes.  ``RATE_REMAINING_HEADER``/``RATE_RESET_HEADER`` name the rate-window headers
    (None: the service sends none); ``AUTH_REFUSED`` is what an empty 401/403 says;
    ``BUSY_WORDS`` are fragments of the service's own words that make a 4xx mean "not now"
    (too many uploads in progress, an allowance used up) rather than "not this".  Call
    :meth:`request` and :meth:`json_body`.
    """

    title: ClassVar[str] = "marketplace"
    error_type: ClassVar[type[MarketplaceError]] = MarketplaceError
    RATE_REMAINING_HEADER: ClassVar[str | None] = "X-RateLimit-Remaining"
    RATE_RESET_HEADER: ClassVar[str | None] = "X-RateLimit-Reset"
    # What a 401/403 with an empty body says (a marketplace may name more than credentials).
    AUTH_REFUSED: ClassVar[str] = "credentials refused"
    # Some services refuse with a 4xx when they are busy, not when the content is wrong; such
    # an answer is throttling (retry the job), never the records' fault.  Matched in the
    # service's own message, case-insensitively.
    BUSY_WORDS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_rate_limit_waits: int = 100,
        max_wait: float = 120.0,
        default_retry_after: float = 1.0,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_rate_limit_waits = max_rate_limit_waits
        self.max_wait = max_wait
        self.default_retry_after = default_retry_after
        self.sleep = sleep if sleep is not None else (lambda seconds: SLEEP(seconds))
        # Seconds slept for rate limits and backoff, so callers can report the delay.
        self.waited_rate_limit = 0.0
        self.waited_backoff = 0.0
        self._pending_wait = 0.0
        self._auth = auth
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._credentials: list[str] | None = None
        import httpx

        # A transport (tests) gets a client of its own; otherwise the process's shared pool.
        self._owns_http = transport is not None
        self._http = (
            httpx.Client(
                timeout=httpx.Timeout(timeout), verify=shared_tls_context(), transport=transport
            )
            if transport is not None
            else shared_http_client(timeout)
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connections of a client built with its own transport; the shared pool
        stays open for the next client."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> MarketplaceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a subclass may refine ----------------------------------------------------------
    def remote_message(self, response: httpx.Response) -> str | None:
        """The service's own words in an error answer."""
        return remote_message_of(response.content, response.headers.get("content-type", ""))

    def error_code(self, response: httpx.Response) -> Any:
        """The service's error code in an error answer, if it sends one."""
        try:
            body = response.json()
        except ValueError:
            return None
        return body.get("code") if isinstance(body, dict) else None

    def error(self, message: str, *, kind: ErrorKind, **fields: Any) -> MarketplaceError:
        """This marketplace's error, its message prefixed with the marketplace's name.

        Any credential this client sends is masked in it: a service (or a proxy) that
        quotes the request's ``Authorization`` header in its answer must not put the
        Basic-encoded password into a run log, a penalty or a web page.
        """
        scrub = self._scrub
        if isinstance(fields.get("remote_message"), str):
            fields["remote_message"] = scrub(fields["remote_message"])
        if fields.get("details"):
            fields["details"] = [scrub(str(d)) for d in fields["details"]]
        return self.error_type(scrub(f"{self.title} {message}"), kind=kind, **fields)

    def credentials(self) -> list[str]:
        """The texts by which this client proves who it is, as they travel: each
        credential header's value (``Authorization`` as ``auth`` builds it, API keys,
        tokens) and the value after its scheme word — never to be shown."""
        if self._credentials is None:
            self._credentials = credential_texts(self._headers, self._auth)
        return self._credentials

    def _scrub(self, text: str) -> str:
        for value in self.credentials():
            if value in text:
                text = text.replace(value, MASK)
        return text

    # -- transport ---------------------------------------------------------------------------
    def _wait(self, seconds: float, *, rate_limit: bool) -> None:
        seconds = min(max(0.0, seconds), self.max_wait)
        if rate_limit:
            self.waited_rate_limit += seconds
        else:
            self.waited_backoff += seconds
        self.sleep(seconds)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        json_body: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request with the retry policy; return a 2xx/3xx answer or raise."""
        import httpx

        what = f"{method} {httpx.URL(url).path}"
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        failures = 0
        waits = 0
        while True:
            if self._pending_wait > 0:
                pending, self._pending_wait = self._pending_wait, 0.0
                self._wait(pending, rate_limit=True)
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    content=content,
                    files=files,
                    headers={**self._headers, **headers} if headers else self._headers,
                    auth=self._auth,
                )
            except httpx.TimeoutException:
                failures += 1
                problem = "timed out"
            except httpx.TransportError as exc:
                failures += 1
                problem = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                log.debug(
                    "%s -> %s in %.0f ms", what, status, (time.perf_counter() - started) * 1000
                )
                if status == 429:
                    waits += 1
                    if waits > self.max_rate_limit_waits:
                        raise self.error(
                            f"{what}: still rate limited after {waits - 1} waits",
                            kind="rate_limited",
                            status=429,
                            remote_message=self.remote_message(response),
                        )
                    delay = self._retry_after(response)
                    log.info("%s rate limited, waiting %.2f s", what, delay)
                    self._wait(delay, rate_limit=True)
                    continue
                if status >= 500:
                    failures += 1
                    remote = self.remote_message(response)
                    problem = f"HTTP {status}" + (f": {remote}" if remote else "")
                    if failures >= self.max_attempts:
                        raise self.error(
                            f"{what} failed after {failures} attempts: {problem}",
                            kind="transport",
                            status=status,
                            remote_message=remote,
                        )
                    self._backoff(failures, what, problem)
                    continue
                self._note_rate_window(response)
                if status >= 400:
                    raise self._http_error(what, response)
                return response
            if failures >= self.max_attempts:
                raise self.error(f"{what} {problem} after {failures} attempts", kind="transport")
            self._backoff(failures, what, problem)

    def _retry_after(self, response: httpx.Response) -> float:
        seconds = _seconds(response.headers.get("Retry-After"))
        if seconds is None and self.RATE_RESET_HEADER:
            seconds = _seconds(response.headers.get(self.RATE_RESET_HEADER))
        return self.default_retry_after if seconds is None else seconds

    def _backoff(self, failures: int, what: str, problem: str) -> None:
        delay = min(self.backoff * (2 ** (failures - 1)), self.max_backoff)
        log.info("%s %s, retry %d in %.2f s", what, problem, failures, delay)
        self._wait(delay, rate_limit=False)

    def _note_rate_window(self, response: httpx.Response) -> None:
        """Wait out an exhausted window before the next call instead of provoking a 429."""
        if not self.RATE_REMAINING_HEADER:
            return
        remaining = response.headers.get(self.RATE_REMAINING_HEADER)
        if remaining is None:
            return
        try:
            if int(float(remaining)) > 0:
                return
            reset = response.headers.get(self.RATE_RESET_HEADER or "", "0") or 0
            self._pending_wait = float(reset)
        except ValueError:
            return

    def _http_error(self, what: str, response: httpx.Response) -> MarketplaceError:
        status = response.status_code
        remote = self.remote_message(response)
        kind: ErrorKind = "auth" if status in (401, 403) else "rejected"
        if kind == "rejected" and remote and self._busy(remote):
            kind = "rate_limited"
        text = remote or (self.AUTH_REFUSED if kind == "auth" else "no message")
        correlation = response.headers.get("x-correlation-id")
        return self.error(
            f"{what}: HTTP {status}: {text}",
            kind=kind,
            status=status,
            remote_message=remote,
            code=self.error_code(response),
            details=[f"correlation id: {correlation}"] if correlation else None,
        )

    def _busy(self, remote: str) -> bool:
        lowered = remote.lower()
        return any(word.lower() in lowered for word in self.BUSY_WORDS)

    def json_body(self, response: httpx.Response) -> Any:
        """The answer's JSON; an empty or unparsable body is ``malformed`` (transient)."""
        what = f"{response.request.method} {response.request.url.path}"
        if not response.content.strip():
            raise self.error(
                f"{what}: empty body where JSON was expected (HTTP {response.status_code})",
                kind="malformed",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise self.error(
                f"{what}: malformed JSON (HTTP {response.status_code}): "
                f"{excerpt(response.content, 80)!r}",
                kind="malformed",
                status=response.status_code,
            ) from None

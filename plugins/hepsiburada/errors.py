"""One error type for everything Hepsiburada can answer wrongly.

Hepsiburada's services disagree on how they fail (plain text, empty body, a bare JSON string,
``success:false`` inside a 200, per-row errors in upload results); flows and penalties only
need the marketplace's own words and a coarse ``kind`` to decide whether to retry, so every
shape ends up here.  Messages never carry credentials: they are built from the marketplace's
answer and the request path only.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pazar.errors import PazarError

ErrorKind = Literal["transport", "auth", "rate_limited", "rejected", "malformed"]
KINDS: tuple[str, ...] = ("transport", "auth", "rate_limited", "rejected", "malformed")

_EXCERPT = 200


def excerpt(text: str | bytes, limit: int = _EXCERPT) -> str:
    """A short one-line preview of a body for an error message."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class HepsiburadaError(PazarError):
    """A failed Hepsiburada call or a rejected record.

    ``kind``: ``transport`` (connection, timeout, 5xx after the retries), ``auth`` (401/403),
    ``rate_limited`` (429 after the allowed waits), ``rejected`` (the marketplace said no:
    4xx, ``success:false``, a rejected row), ``malformed`` (an answer that breaks the contract).
    ``remote_message`` is the marketplace's own text, suitable for a penalty reason.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status: int | None = None,
        remote_message: str | None = None,
        code: Any = None,
        sku: str | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.kind = kind
        self.status = status
        self.remote_message = remote_message
        self.code = code
        self.sku = sku

    @property
    def retryable(self) -> bool:
        """True when trying the same request later may succeed."""
        return self.kind in ("transport", "rate_limited")

    def __repr__(self) -> str:
        return f"HepsiburadaError(kind={self.kind!r}, status={self.status!r}, message={self.message!r})"


def remote_message_of(body: bytes, content_type: str = "") -> str | None:
    """The marketplace's own message from any error body shape, or None for an empty body.

    Shapes: a JSON object with ``message``/``msg``/``detail``/``title``/``error`` (mpop, OMS,
    shipping, finance), a bare JSON string (claims/OMS Go services), or plain text (listing).
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

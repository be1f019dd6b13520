"""Webhook URLs without their secrets.

An alarm's webhook URL is stored and shown (``alarms list``, the web, the delivery log).
pazar stores no webhook secret (the token is an ``env:`` reference), so a URL that carries
one — a password in ``user:password@host``, or a query parameter named like a key
(``?token=...``) — is refused when a rule is saved, and any such URL already stored is
shown and logged with the secret masked.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from pazar.secret_policy import MASK

_SECRET_PARAM = re.compile(
    r"(token|secret|passw|pwd|key|sig|auth|credential|session)", re.IGNORECASE
)


def _split(url: str) -> tuple[SplitResult, list[tuple[str, str]]] | None:
    try:
        parts = urlsplit(url)
        return parts, parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return None


def url_secrets(url: str) -> list[str]:
    """What in ``url`` is a secret: ``a password``, ``query parameter 'token'``, ..."""
    split = _split(url)
    if split is None:
        return []
    parts, query = split
    found = ["a password"] if parts.password else []
    found += [f"query parameter {k!r}" for k, _ in query if _SECRET_PARAM.search(k)]
    return found


def masked_url(url: str) -> str:
    """``url`` with its password and secret-named query values replaced by pazar's mask."""
    split = _split(url)
    if split is None:
        return url
    parts, query = split
    netloc = parts.netloc
    if parts.password:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    if any(_SECRET_PARAM.search(k) for k, _ in query):
        masked = [(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in query]
        query_text = urlencode(masked, safe="*")
    else:
        query_text = parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query_text, parts.fragment))

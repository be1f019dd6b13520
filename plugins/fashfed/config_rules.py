"""Fashfed config rules its JSON Schema cannot express (``pazar_check_channel_config``).

A ``base_url`` that already ends with the API path is refused (the client adds it).

Seed section 2, Send Cancel Reason ID: "This ID must be different from the Cancellation
Reason Id and the IDs listed under Cancel Reason Mapping, because cancellation requests
coming from Fashfed are distinguished based on the reason."  A local cancellation carrying
an inbound reason would be taken for one Fashfed made and never sent back, so such a config
is refused when it is saved, not discovered when a cancellation goes missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def _same(a: Any, b: Any) -> bool:
    return a not in (None, "") and b not in (None, "") and str(a).strip() == str(b).strip()


def _api_path(base_url: Any) -> str | None:
    """The API path a base URL already ends with (``/api``, ``/api/i2``), if any: the client
    adds ``/api/i2`` itself, so it would call ``/api/api/i2/...`` and get 404 for
    everything."""
    if not isinstance(base_url, str):
        return None
    path = urlsplit(base_url.strip()).path.rstrip("/")
    for tail in ("/api/i2", "/api/i1", "/api"):
        if path.endswith(tail):
            return tail
    return None


def config_problems(config: Mapping[str, Any]) -> list[str]:
    """Every broken cross-field rule of a Fashfed config, one message each."""
    problems: list[str] = []
    tail = _api_path(config.get("base_url"))
    if tail:
        problems.append(
            f"base_url: ends with {tail}; give the address alone (as the seed's "
            "https://<id>.lb.akinoncloud.com): pazar adds /api/i2/... itself"
        )
    send = config.get("send_cancel_reason_id")
    if send in (None, ""):
        return problems
    if _same(send, config.get("cancellation_reason_id")):
        problems.append(
            f"send_cancel_reason_id: {send} is also cancellation_reason_id; cancellations "
            "Fashfed reports get that reason, so a local cancellation with it would never be "
            "sent to Fashfed: choose a reason id of its own"
        )
    mapping = config.get("cancel_reason_mapping") or {}
    if isinstance(mapping, Mapping):
        for remote, local in mapping.items():
            if _same(send, local):
                problems.append(
                    f"send_cancel_reason_id: {send} is also the local reason of "
                    f"cancel_reason_mapping[{remote!r}]; cancellations with it are taken for "
                    "Fashfed's own and never sent: choose a reason id of its own"
                )
    return problems

"""Template filters for the seed's order-number and tracking-URL rules.

The seed configures these per channel (``order_number_format``,
``shipping_provider``); the special cases are cargo-company habits rather than
marketplace ones, so they live in the engine for every marketplace to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from core.errors import ValidationError
from core.registry import TemplateFilter
from core.templating import render_format

DEFAULT_ORDER_NUMBER_FORMAT = "{orderNumber}-{id}"


def order_number(fmt: str | None, **fields: Any) -> str:
    """The order number pazar writes: the channel's format, or the seed's default.

    ``"HB-{orderNumber}-{id}"`` with orderNumber=123, id=9 gives ``HB-123-9``.
    """
    return render_format(fmt or DEFAULT_ORDER_NUMBER_FORMAT, **fields)


def _provider_config(mapping: Mapping[str, Any], provider: str) -> Mapping[str, Any]:
    lowered = {str(k).lower(): v for k, v in (mapping or {}).items()}
    config = lowered.get(provider.lower())
    if not isinstance(config, Mapping):
        known = ", ".join(sorted(lowered)) or "none"
        raise ValidationError(
            f"shipping provider {provider!r} has no tracking_url in the mapping (known: {known})"
        )
    return config


def ptt_tracking_url(tracking_number: str, url: str) -> str:
    """PTT numbers are ``BARCODE-GUID``: the seed sends ``barkod=...&barkod_guid=...``.

    A URL with ``{barkod}``/``{barkod_guid}`` placeholders is filled in; any other
    URL gets the query string appended.
    """
    barcode, sep, guid = str(tracking_number).partition("-")
    if not sep:
        raise ValidationError(
            f"PTT tracking number {tracking_number!r} is not of the form BARCODE-GUID"
        )
    if "{barkod" in url:
        return render_format(url, barkod=barcode, barkod_guid=guid, tracking_number=tracking_number)
    query = f"barkod={quote(barcode)}&barkod_guid={quote(guid)}"
    if not url:
        return query
    if url.endswith(("?", "&")):
        return url + query
    return f"{url}{'&' if '?' in url else '?'}{query}"


def loomis_tracking_url(tracking_number: str, urls: Mapping[str, str]) -> str:
    """Loomis numbers are ``PREFIX-NUMBER``: the prefix picks the URL from the mapping."""
    prefix = str(tracking_number).partition("-")[0]
    url = (urls or {}).get(prefix)
    if url is None:
        known = ", ".join(sorted(urls or {})) or "none"
        raise ValidationError(
            f"Loomis tracking number {tracking_number!r}: no tracking_url for prefix "
            f"{prefix!r} (known prefixes: {known})"
        )
    return render_format(url, tracking_number=tracking_number)


def tracking_url(tracking_number: str, provider: str, mapping: Mapping[str, Any]) -> str:
    """The tracking URL for a package, from the channel's ``shipping_provider`` mapping."""
    config = _provider_config(mapping, provider)
    url = config.get("tracking_url") or ""
    if isinstance(url, Mapping) or provider.lower() == "loomis":
        return loomis_tracking_url(tracking_number, url if isinstance(url, Mapping) else {})
    if provider.lower() == "ptt":
        return ptt_tracking_url(tracking_number, str(url))
    return render_format(str(url), tracking_number=tracking_number)


FILTERS = [
    TemplateFilter(name="order_number", func=lambda fields, fmt=None: order_number(fmt, **fields)),
    TemplateFilter(name="tracking_url", func=tracking_url),
    TemplateFilter(name="ptt_tracking_url", func=ptt_tracking_url),
    TemplateFilter(name="loomis_tracking_url", func=loomis_tracking_url),
]

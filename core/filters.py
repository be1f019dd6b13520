"""Template filters for the seed's order-number and tracking-URL rules.

The seed configures these per channel (``order_number_format``,
``shipping_provider``); the special cases are cargo-company habits rather than
marketplace ones, so they live in the engine for every marketplace to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from pazar.errors import ValidationError
from pazar.registry import TemplateFilter

DEFAULT_ORDER_NUMBER_FORMAT = "{orderNumber}-{id}"


def render_format(fmt: str, **values: Any) -> str:
    """:func:`pazar.templating.render_format`, whose module (and Jinja) is imported when a
    filter first runs rather than whenever the plugins load."""
    from pazar.templating import render_format as render

    return render(fmt, **values)


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
            f"shipping provider {provider!r} is not in the shipping_provider mapping "
            f"(known: {known})"
        )
    return config


def ptt_tracking_url(tracking_number: str, url: str) -> str:
    """PTT numbers are ``BARCODE-GUID``: the seed sends ``barkod=...&barkod_guid=...``.

    The number is split at the first ``-`` only, because the GUID has dashes of
    its own.  A URL that spells the parts out (``{barkod}``/``${barkod}``,
    ``{barkod_guid}``) is filled in; any other URL gets the seed's query string
    appended, so ``https://ptt.example/track`` plus ``ABC123-5f2c`` gives
    ``https://ptt.example/track?barkod=ABC123&barkod_guid=5f2c``.
    """
    number = str(tracking_number)
    barcode, sep, guid = number.partition("-")
    if not sep or not barcode or not guid:
        raise ValidationError(f"PTT tracking number {number!r} is not of the form BARCODE-GUID")
    url = str(url or "")
    values = {"barkod": barcode, "barkod_guid": guid, "tracking_number": number}
    if "{barkod" in url:
        return render_format(url, **values)
    query = f"barkod={quote(barcode, safe='')}&barkod_guid={quote(guid, safe='')}"
    base = render_format(url, **values) if "{" in url else url
    if not base:
        return query
    if base.endswith(("?", "&")):
        return base + query
    return f"{base}{'&' if '?' in base else '?'}{query}"


def loomis_tracking_url(tracking_number: str, urls: Mapping[str, str]) -> str:
    """Loomis numbers are ``PREFIX-NUMBER``: the prefix picks the URL from the mapping.

    The seed's example: ``tur-1234566`` with ``{"tur": "https://xxx.com?tracking_number=
    {tracking_number}"}`` gives ``https://xxx.com?tracking_number=tur-1234566``.  The URL
    may also use ``{prefix}`` and ``{number}`` (the part after the dash).  Prefixes match
    exactly first, then ignoring case; an unknown prefix is an error naming the known
    ones, so a missing mapping entry shows up in the run log instead of a dead link.
    """
    number = str(tracking_number)
    prefix, _, rest = number.partition("-")
    urls = urls or {}
    url = urls.get(prefix)
    if url is None:
        url = {str(k).lower(): v for k, v in urls.items()}.get(prefix.lower())
    if not url:
        known = ", ".join(sorted(map(str, urls))) or "none"
        raise ValidationError(
            f"Loomis tracking number {number!r}: no tracking_url for prefix "
            f"{prefix!r} (known prefixes: {known})"
        )
    return render_format(str(url), tracking_number=number, prefix=prefix, number=rest)


def tracking_url(
    tracking_number: str | None, provider: str | None, mapping: Mapping[str, Any] | None
) -> str | None:
    """The tracking URL for a package, from the channel's ``shipping_provider`` mapping.

    ``mapping`` is the seed's ``{"aras": {"tracking_url": "...{tracking_number}"}, ...}``;
    the provider is looked up ignoring case.  ``ptt`` and ``loomis`` (or any provider
    whose ``tracking_url`` is a prefix mapping) follow their special rules.  No
    tracking number, or no mapping configured at all (the seed's default), gives
    None: there is nothing to link to yet.  A provider missing from a configured
    mapping is an error, because the operator meant to link and forgot one.
    """
    if tracking_number is None or str(tracking_number).strip() == "" or not mapping:
        return None
    name = str(provider or "")
    config = _provider_config(mapping, name)
    url = config.get("tracking_url") or ""
    if isinstance(url, Mapping) or name.lower() == "loomis":
        return loomis_tracking_url(tracking_number, url if isinstance(url, Mapping) else {})
    if name.lower() == "ptt":
        return ptt_tracking_url(tracking_number, str(url))
    if not url:
        raise ValidationError(f"shipping provider {name!r} has an empty tracking_url")
    return render_format(str(url), tracking_number=str(tracking_number))


def _order_number_filter(fields: Mapping[str, Any], fmt: str | None = None) -> str:
    """``{{ record | order_number(config.order_number_format) }}``."""
    return order_number(fmt, **dict(fields))


FILTERS = [
    TemplateFilter(name="order_number", func=_order_number_filter),
    TemplateFilter(name="tracking_url", func=tracking_url),
    TemplateFilter(name="ptt_tracking_url", func=ptt_tracking_url),
    TemplateFilter(name="loomis_tracking_url", func=loomis_tracking_url),
]

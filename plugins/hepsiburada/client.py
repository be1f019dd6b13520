"""The HTTP client of one Hepsiburada channel: catalog (mpop), listing and orders (OMS).

Retries, backoff, 429 waits and the classification of failures come from the engine's
client base (``pazar.plugin.MarketplaceClient``); this module adds Hepsiburada's
authentication (Basic: merchant id and service key, plus the mandatory User-Agent) and the
three services' calls, each in its own module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from pazar.plugin import ChannelInfo, ConfigError, MarketplaceError
from pazar_hepsiburada import api
from pazar_hepsiburada.client_catalog import CatalogCalls
from pazar_hepsiburada.client_claims import ClaimCalls
from pazar_hepsiburada.client_listing import ListingCalls
from pazar_hepsiburada.client_orders import OrderCalls, oms_date
from pazar_hepsiburada.client_packages import PackageCalls
from pazar_hepsiburada.errors import HepsiburadaError
from pazar_hepsiburada.results import ImportResult, RowError, UploadStatus, parse_upload_status

__all__ = [
    "HepsiburadaClient",
    "ImportResult",
    "RowError",
    "UploadStatus",
    "client_for_channel",
    "oms_date",
    "parse_upload_status",
]

REQUIRED_CONFIG = ("base_url", "listing_url", "password", "merchant_id", "user_agent")


class HepsiburadaClient(CatalogCalls, ListingCalls, OrderCalls, PackageCalls, ClaimCalls):
    """The merchant API for one channel.  Use as a context manager or call :meth:`close`.

    ``options`` are the engine client's (``timeout``, ``max_attempts``, ``backoff``,
    ``sleep``, ``transport``, ...).
    """

    title: ClassVar[str] = "Hepsiburada"
    error_type: ClassVar[type[MarketplaceError]] = HepsiburadaError
    RATE_REMAINING_HEADER: ClassVar[str | None] = api.HEADER_RL_REMAINING
    RATE_RESET_HEADER: ClassVar[str | None] = api.HEADER_RL_RESET
    AUTH_REFUSED: ClassVar[str] = "credentials or User-Agent refused"
    BUSY_WORDS: ClassVar[tuple[str, ...]] = api.BUSY_WORDS

    def __init__(
        self,
        *,
        base_url: str,
        listing_url: str,
        oms_url: str | None = None,
        username: str | None = None,
        password: str,
        merchant_id: str,
        user_agent: str,
        page_size: int = 1000,
        **options: Any,
    ) -> None:
        super().__init__(
            auth=httpx.BasicAuth(username or merchant_id, password),
            headers={"User-Agent": user_agent},
            **options,
        )
        self.base_url = base_url.rstrip("/")
        self.listing_url = listing_url.rstrip("/")
        self.oms_url = (oms_url or "").rstrip("/")
        self.merchant_id = merchant_id
        self.user_agent = user_agent
        self.page_size = page_size

    def __enter__(self) -> HepsiburadaClient:
        return self

    def __repr__(self) -> str:  # never the password
        return f"HepsiburadaClient(merchant_id={self.merchant_id!r}, base_url={self.base_url!r})"


def client_for_channel(
    channel: ChannelInfo | str, config: Mapping[str, Any], **options: Any
) -> HepsiburadaClient:
    """The client for one channel from its resolved config (secrets already resolved).

    ``options`` pass through to :class:`HepsiburadaClient` (``sleep``, ``timeout``, ...).
    """
    missing = [key for key in REQUIRED_CONFIG if not config.get(key)]
    if missing:
        slug = getattr(channel, "slug", channel)
        raise ConfigError(
            f"channel {slug!r}: Hepsiburada config is missing {', '.join(missing)}",
        )
    return HepsiburadaClient(
        base_url=str(config["base_url"]),
        listing_url=str(config["listing_url"]),
        oms_url=str(config.get("oms_url") or ""),
        username=str(config.get("username") or config["merchant_id"]),
        password=str(config["password"]),
        merchant_id=str(config["merchant_id"]),
        user_agent=str(config["user_agent"]),
        **options,
    )

"""Example Market's API: ``X-Api-Key`` auth, a synchronous stock call, asynchronous prices.

Retries, backoff, 429 waits and whose-fault error kinds come from the engine's client base.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pazar.plugin import MarketplaceClient


class ExampleClient(MarketplaceClient):
    title: ClassVar[str] = "Example Market"

    def __init__(self, *, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(headers={"X-Api-Key": api_key}, **options)
        self.base_url = base_url.rstrip("/")

    def _object(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.request(method, self.base_url + path, json_body=body)
        answer = self.json_body(response)
        if not isinstance(answer, dict):
            raise self.error(f"{method} {path}: expected a JSON object", kind="malformed")
        return answer

    def set_stock(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
        """Stock rows in one call; returns SKU → None (accepted) or the refusal."""
        answer = self._object("POST", "/api/v1/stock", {"items": list(rows)})
        results = answer.get("results")
        if not isinstance(results, list):
            raise self.error("POST /api/v1/stock: no 'results' list", kind="malformed")
        return {str(r.get("sku")): (None if r.get("ok") else str(r.get("error"))) for r in results}

    def upload_prices(self, rows: Sequence[Mapping[str, Any]]) -> str:
        """Price rows as one batch; returns the batch id to ask about later."""
        batch = self._object("POST", "/api/v1/prices", {"items": list(rows)}).get("batch")
        if not batch:
            raise self.error("POST /api/v1/prices: no batch id", kind="malformed")
        return str(batch)

    def price_batch(self, batch: str) -> dict[str, Any]:
        """``{"state": "processing" | "finished", "failed": [{"sku", "reason"}]}``."""
        return self._object("GET", f"/api/v1/prices/{batch}")

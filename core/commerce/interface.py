"""What flows need from the seller's side, whatever system holds it.

The local backend implements this over pazar's own tables; an Omnitron REST
adapter implements the same methods over HTTP.  Flows reach it through steps
(``commerce.changed_stocks`` and friends) and never through tables directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol


class CommerceBackend(Protocol):
    def saleability(self, sku: str) -> list[str]:
        """Why ``sku`` is not saleable on this channel (empty: saleable)."""

    def set_stock(self, sku: str, quantity: int, extra: Mapping[str, Any] | None = None) -> int: ...

    def set_price(self, sku: str, price: Decimal, **fields: Any) -> int: ...

    def create_order(self, order: Mapping[str, Any]) -> tuple[int, bool]:
        """Create once per (channel, marketplace number, package id); (id, created)."""

    def create_orders(
        self, orders: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Many orders at once; per order (id or None, created, why it was refused or None)."""

    def cancel_items(
        self, cancellations: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Items the marketplace cancelled; per one (item id, cancelled now, problem)."""

    def create_refund_requests(
        self, refunds: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """A marketplace's refunds as open requests; per one (request id, created, problem)."""

    def update_order_statuses(
        self, updates: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Statuses a marketplace reports, forward only; per one (order id, changed, problem)."""

    def cancel_packages(
        self, cancellations: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Orders of packages the marketplace broke; per one (order id, cancelled, problem)."""

    def split_orders(
        self, splits: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Orders follow their package's split; per one (order id, split, problem)."""

    def cancel_order_items(
        self, order_number: str, item_remote_ids: Sequence[str], reason_id: int | None
    ) -> int: ...

    def create_cancellation_request(self, request: Mapping[str, Any]) -> tuple[int, bool]: ...

    def orders_changed_since(self, version: int) -> Iterator[Mapping[str, Any]]: ...

    def refund_requests(self, status: str) -> Iterator[Mapping[str, Any]]: ...

    def cargo_company(self, code_or_name: str) -> Mapping[str, Any] | None: ...

    def cancellation_reason(self, kind: str, code: str) -> Mapping[str, Any] | None: ...

    def address(self, city: str, township: str, district: str | None) -> Mapping[str, Any]: ...

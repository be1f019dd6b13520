"""The questions about local state a marketplace flow may ask, through the plugin door.

A marketplace plugin never opens a database session: a source that must drop what is
stored already (orders imported in an earlier run, cancellations recorded) or read what an
earlier flow stored (the category tree) asks here.  Each call is one short transaction with
set-based queries, whatever the number of keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pazar.commerce.orders import existing_orders
from pazar.commerce.requests import known_requests, package_statuses
from pazar.mapping.store import leaf_categories


class Reads:
    """Read-only questions about one channel's local state."""

    def __init__(self, db: Any, channel_id: int, clock: Any = None) -> None:
        self._db = db
        self._channel_id = channel_id
        self._clock = clock

    def _now(self) -> Any:
        if self._clock is None:
            from pazar.clock import SystemClock

            self._clock = SystemClock()
        return self._clock.now()

    def stored_orders(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (marketplace order number, package id) pairs are stored as local orders."""
        wanted = list(keys)
        if not wanted:
            return set()
        with self._db.session() as session:
            return set(existing_orders(session, self._channel_id, wanted))

    def stored_cancellations(self, remote_ids: Iterable[str]) -> set[str]:
        """Which of the marketplace's cancellation ids (cancelled line ids) are stored."""
        return self._stored_requests("cancel", remote_ids)

    def stored_refunds(self, remote_ids: Iterable[str]) -> set[str]:
        """Which of the marketplace's refund (claim) ids are stored as refund requests."""
        return self._stored_requests("refund", remote_ids)

    def _stored_requests(self, kind: str, remote_ids: Iterable[str]) -> set[str]:
        """Cancellations and refunds are both cancellation requests (by ``kind``): one
        question answers both."""
        wanted = [i for i in remote_ids if i]
        if not wanted:
            return set()
        with self._db.session() as session:
            return known_requests(session, self._channel_id, kind, wanted)

    def package_statuses(self, package_ids: Iterable[str]) -> dict[str, str]:
        """The local status of the orders made of these marketplace packages: ``cancelled``
        when every item of them is cancelled, else the order's status; absent: not imported."""
        wanted = [i for i in package_ids if i]
        if not wanted:
            return {}
        with self._db.session() as session:
            return package_statuses(session, self._channel_id, wanted)

    def orders(self, numbers: Iterable[str]) -> list[dict[str, Any]]:
        """The channel's orders named by their local or marketplace number (an OMS names
        either), each with ``id, number, remote_number, package_id, status, items``."""
        from pazar.commerce.order_updates import orders_named

        wanted = [n for n in numbers if n]
        if not wanted:
            return []
        with self._db.session() as session:
            return orders_named(session, self._channel_id, wanted)

    def held_back(self, keys: Iterable[str], content_type: str) -> set[str]:
        """Which of these keys a penalty by key holds back now (see ``Item.by_key``): a
        source leaves them out, as selection leaves out penalised local objects."""
        from pazar.state.penalties import held_back_keys

        wanted = [k for k in keys if k]
        if not wanted:
            return set()
        with self._db.session() as session:
            return held_back_keys(
                session,
                channel_id=self._channel_id,
                content_type=content_type,
                keys=wanted,
                now=self._now(),
            )

    def due_records(self, content_type: str, limit: int = 1000) -> list[tuple[str, Any]]:
        """(key, record as last read) of the penalties by key that are due now (released by
        hand or their retry interval over): a source retries these even when the
        marketplace no longer lists them (an order window moved on)."""
        from pazar.state.penalties import due_keyed_records

        with self._db.session() as session:
            return due_keyed_records(
                session,
                channel_id=self._channel_id,
                content_type=content_type,
                now=self._now(),
                limit=limit,
            )

    def leaf_categories(self) -> list[str]:
        """Remote ids of the stored marketplace categories that accept products."""
        with self._db.session() as session:
            return leaf_categories(session, self._channel_id)

    def leaf_categories_to_read(self, *, configured: bool, when_none: str = "fail") -> list[str]:
        """:meth:`leaf_categories`, for a source that reads each one's attributes.

        None stored while the channel names categories (``configured``) means its
        category_node flow has not run: ``when_none`` (a source's ``no_categories`` param,
        :func:`pazar.registry.no_categories_param`) is ``fail``, saying what to run first,
        or ``skip``, reading nothing (a scheduled comparison has nothing to compare yet).
        """
        ids = self.leaf_categories()
        if ids or not configured or when_none == "skip":
            return ids
        from pazar.errors import PazarError

        raise PazarError(
            "no leaf category is stored for this channel yet: run the category_node flow first"
        )

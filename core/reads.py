"""The questions about local state a marketplace flow may ask, through the plugin door.

A marketplace plugin never opens a database session: a source that must drop what is
stored already (orders imported in an earlier run, cancellations recorded) or read what an
earlier flow stored (the category tree) asks here.  Each call is one short transaction with
set-based queries, whatever the number of keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pazar.commerce.orders import existing_orders, known_cancellations
from pazar.mapping.store import leaf_categories


class Reads:
    """Read-only questions about one channel's local state."""

    def __init__(self, db: Any, channel_id: int) -> None:
        self._db = db
        self._channel_id = channel_id

    def stored_orders(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (marketplace order number, package id) pairs are stored as local orders."""
        wanted = list(keys)
        if not wanted:
            return set()
        with self._db.session() as session:
            return set(existing_orders(session, self._channel_id, wanted))

    def stored_cancellations(self, remote_ids: Iterable[str]) -> set[str]:
        """Which of the marketplace's cancellation ids (cancelled line ids) are stored."""
        wanted = [i for i in remote_ids if i]
        if not wanted:
            return set()
        with self._db.session() as session:
            return known_cancellations(session, self._channel_id, wanted)

    def leaf_categories(self) -> list[str]:
        """Remote ids of the stored marketplace categories that accept products."""
        with self._db.session() as session:
            return leaf_categories(session, self._channel_id)

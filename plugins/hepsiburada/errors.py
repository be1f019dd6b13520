"""One error type for everything Hepsiburada can answer wrongly.

Hepsiburada's services disagree on how they fail (plain text, empty body, a bare JSON string,
``success:false`` inside a 200, per-row errors in upload results); flows and penalties only
need the marketplace's own words and the engine's coarse ``kind`` (whose fault it is), so
every shape ends up here.  Messages never carry credentials: they are built from the
marketplace's answer and the request path only.
"""

from __future__ import annotations

from pazar.plugin import MarketplaceError


class HepsiburadaError(MarketplaceError):
    """A failed Hepsiburada call or a rejected record (``key``: the SKU it names, if any)."""

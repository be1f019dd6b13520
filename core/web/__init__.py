"""The web dashboard: the seed's screens in a browser, over the engine's own functions.

Served by ``pazar web --http HOST:PORT`` and by ``pazar daemon --http`` (mounted into
the HTTP API's app beside the flow-trigger and operations endpoints).  See
``docs/web.md``.
"""

from __future__ import annotations

from typing import Any


def create_web_app(*args: Any, **kwargs: Any) -> Any:
    """:func:`pazar.web.app.create_web_app` (imported lazily: the CLI stays fast)."""
    from pazar.web.app import create_web_app as create

    return create(*args, **kwargs)

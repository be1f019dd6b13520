"""Integration state: change selection, penalties, batch requests, triggers.

As a built-in plugin module it registers the ``commerce.*`` change sources and
the ``state.skip_unchanged`` step.
"""

from __future__ import annotations

from collections.abc import Callable

from pazar.hookspecs import hookimpl


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    from pazar.state.lifecycle import INTEGRATED_ONLY, NEW_PRODUCTS
    from pazar.state.sources import STEP_TYPES

    register(*STEP_TYPES, NEW_PRODUCTS, INTEGRATED_ONLY)

"""Integration state: change selection, penalties, batch requests, triggers.

As a built-in plugin module it registers the ``commerce.*`` change sources and
the ``state.skip_unchanged`` step.
"""

from __future__ import annotations

from collections.abc import Callable

from core.hookspecs import hookimpl


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    from core.state.sources import STEP_TYPES

    register(*STEP_TYPES)

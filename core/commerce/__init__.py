"""The seller's side (the seed's Omnitron): one interface, the local backend built in.

Registered as a built-in plugin module so the ``local`` backend appears in the
registry next to any backend an external plugin adds (e.g. an Omnitron adapter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pazar.hookspecs import hookimpl
from pazar.registry import CommerceBackendType


def backend_for(session: Any, channel: Any, *, clock: Any = None) -> Any:
    """The commerce backend a channel's flows use (the local one for now)."""
    from pazar.commerce.local import LocalCommerce

    return LocalCommerce(session, channel, clock=clock)


@hookimpl
def pazar_register_commerce_backends(register: Callable[..., None]) -> None:
    register(
        CommerceBackendType(
            name="local",
            factory=backend_for,
            description="Products, prices, stocks, orders and refunds in pazar's own database.",
        )
    )


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    from pazar.commerce.order_steps import STEP_TYPES as ORDER_STEP_TYPES
    from pazar.commerce.steps import STEP_TYPES

    register(*STEP_TYPES, *ORDER_STEP_TYPES)

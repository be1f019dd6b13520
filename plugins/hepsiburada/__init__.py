"""The Hepsiburada marketplace plugin.

This module only registers: the marketplace (config schema, client and sandbox,
both imported on first use so loading plugins stays fast) and the reaction to
config changes.  The client lives in ``client.py``, the sandbox in ``sandbox.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pazar.plugin import ChannelInfo, Marketplace, Register, flows_when_changed, hookimpl

__version__ = "0.1.0"

NAME = "hepsiburada"
CONFIG_SCHEMA = "channel/hepsiburada.json"

# Seed section 2.1: adding or changing Category Ids queues these, in this order.
CATEGORY_FLOWS = ["category_node", "category_attributes"]


def _client(channel: ChannelInfo, config: Mapping[str, Any]) -> Any:
    from pazar_hepsiburada.client import client_for_channel

    return client_for_channel(channel, config)


def _demo_setup(app: Any, url: str, skus: Any) -> Any:
    from pazar_hepsiburada.demo import demo_setup

    return demo_setup(app, url, skus)


def _demo_mapping() -> str:
    from pazar_hepsiburada.demo import demo_mapping

    return demo_mapping()


def _demo_story(app: Any, act: str, orders: Any) -> Any:
    from pazar_hepsiburada.demo import demo_story

    return demo_story(app, act, orders)


def _category_roots(client: Any) -> Iterable[Mapping[str, Any]]:
    """Hepsiburada lists every category with its parent: the roots have none."""
    for raw in client.categories():
        if raw.get("parentCategoryId") in (None, "", 0):
            yield {
                "id": str(raw.get("categoryId")),
                "name": str(raw.get("displayName") or raw.get("name") or ""),
            }


def _sandbox() -> Any:
    from pazar_hepsiburada.sandbox import create_app

    return create_app()


@hookimpl
def pazar_register_marketplaces(register: Register) -> None:
    register(
        Marketplace(
            name=NAME,
            title="Hepsiburada",
            config_schema=CONFIG_SCHEMA,
            client_factory=_client,
            sandbox_app=_sandbox,
            demo_setup=_demo_setup,
            demo_mapping=_demo_mapping,
            category_roots=_category_roots,
            demo_story=_demo_story,
        )
    )


@hookimpl
def pazar_register_steps(register: Register) -> None:
    from pazar_hepsiburada.catalog_steps import STEP_TYPES as CATALOG_STEPS
    from pazar_hepsiburada.inbound_steps import STEP_TYPES as INBOUND_STEPS
    from pazar_hepsiburada.listing_steps import STEP_TYPES as LISTING_STEPS
    from pazar_hepsiburada.order_steps import STEP_TYPES as ORDER_STEPS
    from pazar_hepsiburada.product_steps import STEP_TYPES as PRODUCT_STEPS
    from pazar_hepsiburada.update_steps import STEP_TYPES as UPDATE_STEPS
    from pazar_hepsiburada.upload_steps import STEP_TYPES as UPLOAD_STEPS

    register(
        *UPLOAD_STEPS,
        *CATALOG_STEPS,
        *PRODUCT_STEPS,
        *ORDER_STEPS,
        *UPDATE_STEPS,
        *INBOUND_STEPS,
        *LISTING_STEPS,
    )


pazar_channel_config_changed = flows_when_changed(NAME, "category_ids", CATEGORY_FLOWS)

"""The Fashfed marketplace plugin (Akinon Seller Center).

This module only registers: the marketplace (config schema, client and sandbox, both
imported on first use so loading plugins stays fast), its flow steps, the config rules its
schema cannot express, and the reaction to a ``category_ids`` change.  What is documented and
what is assumed about Fashfed's API lives in ``api.py``; the client in ``client.py``, the
sandbox in ``sandbox.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pazar.plugin import ChannelInfo, Marketplace, Register, flows_when_changed, hookimpl

__version__ = "0.2.0"

NAME = "fashfed"
CONFIG_SCHEMA = "channel/fashfed.json"

# Seed section 4: the category tree is drawn from the Category IDs, then the
# attributes flow runs, then Default Attributes; mapping starts after those.
CATEGORY_FLOWS = ["category_node", "category_attributes", "default_attributes"]


def _client(channel: ChannelInfo, config: Mapping[str, Any]) -> Any:
    from pazar_fashfed.client import client_for_channel  # imported on first use

    return client_for_channel(channel, config)


def _sandbox() -> Any:
    from pazar_fashfed import sandbox  # imported on first use

    return sandbox.create_app()


def _demo() -> Any:
    from pazar_fashfed import demo  # imported on first use: only `pazar demo` needs it

    return demo


MARKETPLACE = Marketplace(
    name=NAME,
    title="Fashfed",
    config_schema=CONFIG_SCHEMA,
    client_factory=_client,
    sandbox_app=_sandbox,
    demo_setup=lambda app, url, skus: _demo().demo_setup(app, url, skus),
    demo_mapping=lambda: _demo().demo_mapping(),
    demo_story=lambda app, act, orders: _demo().demo_story(app, act, orders),
)


@hookimpl
def pazar_register_marketplaces(register: Register) -> None:
    register(MARKETPLACE)


@hookimpl
def pazar_register_steps(register: Register) -> None:
    from pazar_fashfed.catalog_steps import STEP_TYPES as CATALOG_STEPS
    from pazar_fashfed.claim_steps import STEP_TYPES as CLAIM_STEPS
    from pazar_fashfed.listing_steps import STEP_TYPES as LISTING_STEPS
    from pazar_fashfed.order_steps import STEP_TYPES as ORDER_STEPS
    from pazar_fashfed.package_steps import STEP_TYPES as PACKAGE_STEPS
    from pazar_fashfed.upload_steps import STEP_TYPES as UPLOAD_STEPS

    register(
        *CATALOG_STEPS,
        *UPLOAD_STEPS,
        *ORDER_STEPS,
        *PACKAGE_STEPS,
        *CLAIM_STEPS,
        *LISTING_STEPS,
    )


@hookimpl
def pazar_check_channel_config(
    channel_plugin: str, config: Mapping[str, object]
) -> list[str] | None:
    if channel_plugin != NAME:
        return None
    from pazar_fashfed.config_rules import config_problems

    return config_problems(config)


pazar_channel_config_changed = flows_when_changed(NAME, "category_ids", CATEGORY_FLOWS)

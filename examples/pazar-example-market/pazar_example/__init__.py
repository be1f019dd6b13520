"""Example Market: a made-up marketplace, plugged into pazar through ``pazar.plugin`` only."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pazar.plugin import ChannelInfo, Marketplace, Register, channel_schema, hookimpl

__version__ = "1.0.0"

NAME = "example"

CONFIG_SCHEMA = channel_schema(
    "Example Market channel config",
    {
        "base_url": {
            "type": "string",
            "format": "uri",
            "title": "Base Url",
            "default": "https://api.example-market.invalid",
        },
        "api_key": {"type": "string", "title": "Api Key", "x-secret": True, "default": ""},
        "buffer_stock": {
            "type": ["integer", "null"],
            "minimum": 0,
            "title": "Buffer Stock",
            "default": None,
        },
    },
    flags=["stock", "price"],
    content_types=["productstock", "productprice"],
    required=["base_url", "api_key"],
)


def _client(channel: ChannelInfo, config: Mapping[str, Any]) -> Any:
    from pazar_example.client import ExampleClient

    return ExampleClient(base_url=str(config["base_url"]), api_key=str(config["api_key"]))


def _sandbox() -> Any:
    from pazar_example.sandbox import create_app

    return create_app()


@hookimpl
def pazar_register_marketplaces(register: Register) -> None:
    register(
        Marketplace(
            name=NAME,
            title="Example Market",
            config_schema=CONFIG_SCHEMA,
            client_factory=_client,
            sandbox_app=_sandbox,
            flows_dir=Path(__file__).with_name("flows"),
        )
    )


@hookimpl
def pazar_register_steps(register: Register) -> None:
    from pazar_example.steps import STEP_TYPES

    register(*STEP_TYPES)

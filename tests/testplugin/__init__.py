"""A small stand-in marketplace ("testmarket") for the engine's own tests.

It registers a marketplace with a config schema that exercises every config
feature (defaults, secrets, each data type, feature flags) and, in ``steps``,
a generating source and a collecting sink so flows can run without a network.
"""

from __future__ import annotations

from pathlib import Path

from pazar.plugin import Marketplace, hookimpl
from tests.testplugin.steps import pazar_register_steps  # noqa: F401 - hook implementation

HERE = Path(__file__).resolve().parent

__version__ = "0.0.1"

CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Testmarket channel config",
    "type": "object",
    "additionalProperties": False,
    "required": ["base_url", "api_key", "feature_flags", "category_ids"],
    "properties": {
        "base_url": {
            "type": "string",
            "format": "uri",
            "title": "Base Url",
            "default": "http://127.0.0.1:9",
        },
        "api_key": {"type": "string", "title": "Api Key", "x-secret": True, "default": ""},
        "buffer_stock": {
            "type": ["integer", "null"],
            "minimum": 0,
            "title": "Buffer Stock",
            "default": None,
        },
        "use_neighborhood": {"type": "boolean", "title": "Use Neighborhood", "default": False},
        "category_ids": {
            "type": "array",
            "items": {"type": "string"},
            "title": "Category Ids",
            "default": [],
        },
        "cargo_company_mapping": {
            "type": "object",
            "title": "Cargo Company Mapping",
            "additionalProperties": {"type": ["integer", "string"]},
            "default": {},
        },
        "feature_flags": {
            "type": "object",
            "title": "Feature Flags",
            "properties": {"push": {"type": "boolean", "default": False}},
            "additionalProperties": {"type": "boolean"},
            "default": {"push": False},
        },
    },
}


@hookimpl
def pazar_register_marketplaces(register):  # type: ignore[no-untyped-def]
    register(
        Marketplace(
            name="testmarket",
            title="Testmarket",
            config_schema=CONFIG_SCHEMA,
            flows_dir=HERE / "flows",
        )
    )


@hookimpl
def pazar_channel_config_changed(channel, old_config, new_config, changed_keys):  # type: ignore[no-untyped-def]
    if channel.plugin != "testmarket":
        return None
    if "category_ids" in changed_keys:
        return ["refresh_categories"]
    return None

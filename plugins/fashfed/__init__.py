"""The Fashfed marketplace plugin (registration only, for now).

Its client and sandbox come with the Fashfed issue; until then the marketplace
is registered with its config schema so channels can be created and configured.
"""

from __future__ import annotations

from pazar.plugin import Marketplace, Register, flows_when_changed, hookimpl

__version__ = "0.1.0"

NAME = "fashfed"

# Seed section 4: the category tree is drawn from the Category IDs, then the
# attributes flow runs, then Default Attributes; mapping starts after those.
CATEGORY_FLOWS = ["category_node", "category_attributes", "default_attributes"]


@hookimpl
def pazar_register_marketplaces(register: Register) -> None:
    register(Marketplace(name=NAME, title="Fashfed", config_schema="channel/fashfed.json"))


pazar_channel_config_changed = flows_when_changed(NAME, "category_ids", CATEGORY_FLOWS)

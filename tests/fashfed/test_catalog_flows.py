"""Fashfed's catalog flows end to end: Category Node, Category Attribute and Values, Default
Attributes (queued by a category_ids change) and Compare Attributes, over real HTTP."""

from __future__ import annotations

import json

from pazar_fashfed.sandbox_state import ERKEK, KADIN, uid
from tests.fashfed.world import ELBISE, World

pytest_plugins = ("tests.fashfed.world",)


def _json(output: str) -> object:
    return json.loads(output[output.index("[") :])


def test_a_category_ids_change_queues_the_three_category_flows_in_order(world: World) -> None:
    changed = world.cli("channel", "set", "ff", f'category_ids=["{KADIN}"]')
    assert changed.exit_code == 0, changed.output
    assert (
        "requested flows: category_node, category_attributes, default_attributes" in changed.output
    )
    ran = world.cli("daemon", "--once")
    # The world's product flag is on before any mapping: that job's error makes the exit 1.
    assert ran.exit_code == 1 and "channel 'ff' has no mapping" in ran.output, ran.output
    assert ran.output.count("(config_change): success") == 3, ran.output  # one chain
    tree = world.cli("mapping", "categories", "--channel", "ff", "--leaf", "--json")
    paths = sorted(row["path"] for row in _json(tree.output))  # type: ignore[union-attr]
    assert paths == ["Kadın > Giyim > Elbise", "Kadın > Giyim > Tişört"]
    defaults = world.cli("mapping", "attributes", "--channel", "ff", "default", "--json")
    assert {a["remote_id"] for a in _json(defaults.output)} == {  # type: ignore[union-attr]
        "name",
        "base_code",
        "description",
    }


def test_the_tree_under_every_root_with_paths_and_leaves(world: World) -> None:
    result = world.run("category_node")
    assert result.succeeded == 6
    tree = world.cli("mapping", "categories", "--channel", "ff", "--json")
    rows = {row["path"]: row["leaf"] for row in _json(tree.output)}  # type: ignore[union-attr]
    assert rows == {
        "Kadın": False,
        "Kadın > Giyim": False,
        "Kadın > Giyim > Elbise": True,
        "Kadın > Giyim > Tişört": True,
        "Erkek": False,
        "Erkek > Tişört": True,
    }


def test_an_unknown_root_is_a_warning_not_a_failure(world: World) -> None:
    world.set(f'category_ids=["{ERKEK}", "00000000-0000-4000-8000-000000000000"]')
    result = world.run("category_node")
    assert result.status == "success" and result.succeeded == 2
    logs = world.cli("logs", "show", str(result.run_id))
    assert "category 00000000-0000-4000-8000-000000000000 not found on Fashfed" in logs.output


def test_attributes_and_their_allowed_values_per_leaf_category(world: World) -> None:
    world.run("category_node")
    result = world.run("category_attributes")
    assert result.succeeded == 3  # three leaf categories
    shown = world.cli("mapping", "attributes", "--channel", "ff", ELBISE, "--values", "--json")
    attributes = {a["name"]: a for a in _json(shown.output)}  # type: ignore[union-attr]
    assert attributes["Renk"]["mandatory"] and attributes["Renk"]["type"] == "enum"
    assert attributes["Renk"]["values"] == ["Beyaz", "Kırmızı", "Lacivert", "Siyah"]
    assert attributes["Beden"]["remote_id"] == "beden"  # products carry attributes by key
    assert not attributes["Materyal"]["mandatory"] and attributes["Materyal"]["type"] == "text"


def test_attributes_before_the_tree_say_what_to_run_first(world: World) -> None:
    result = world.attempt("category_attributes")
    assert result.status == "error"
    assert "run the category_node flow first" in (result.error or "")
    # A comparison due before the first pull (a new channel's first daemon pass) has
    # nothing stored to compare: it reads nothing instead of failing.
    compared = world.attempt("compare_attributes")
    assert (compared.status, compared.read, compared.failed) == ("success", 0, 0)


def test_compare_attributes_logs_what_changed_on_fashfed(world: World) -> None:
    world.run("category_node")
    world.run("category_attributes")
    attrs = [
        {
            "id": uid(ELBISE, "renk"),
            "key": "renk",
            "name": "Renk",
            "is_required": True,
            "is_variant": False,
            "data_type": "select",
        },
        {
            "id": uid(ELBISE, "materyal"),
            "key": "materyal",
            "name": "Materyal",
            "is_required": True,  # became required
            "is_variant": False,
            "data_type": "text",
        },
        {
            "id": uid(ELBISE, "kol"),
            "key": "kol",
            "name": "Kol Boyu",
            "is_required": False,
            "is_variant": False,
            "data_type": "text",
        },
    ]  # Beden is gone
    world.sandbox.post(
        "seed",
        categories=[
            {
                "id": ELBISE,
                "name": "Elbise",
                "parent": uid("kadin", "giyim"),
                "is_leaf": True,
                "attributes": attrs,
            }
        ],
    )
    world.clock.advance(hours=1)  # a later pull: what it does not see is gone
    result = world.run("compare_attributes")
    log = world.cli("logs", "show", str(result.run_id)).output
    assert "attribute 'Kol Boyu' is new" in log
    assert "attribute 'Materyal' changed" in log and "mandatory" in log
    assert "attribute 'Beden' was removed on the marketplace" in log

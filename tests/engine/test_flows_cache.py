"""The validated-flow cache on disk: a later process loads the same flows without checking
them again, and a changed, broken or damaged input is checked as if there were no cache.

A fresh registry stands for a fresh process: the in-process memo of checked files is per
registry, so only the cache on disk links two loads.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pazar.errors import ValidationError
from pazar.flows.cache import cache_dir
from pazar.flows.loader import load_flows
from pazar.flows.schema import base_schema
from pazar.plugins import load_plugins
from pazar.registry import Registry
from pazar.testing import Cli

PLUGINS = "pazar_hepsiburada,pazar_fashfed,tests.testplugin,tests.flowsteps_plugin"
GOOD = (
    "flow: numbers\ntitle: Numbers\nplugin: testmarket\n"
    "source: {type: flowtest.numbers, count: 3}\n"
    "steps:\n  - {type: flowtest.scale, field: n}\n"
    "sink: {type: flowtest.collect}\n"
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("PAZAR_CACHE_DIR", str(path))
    monkeypatch.setenv("PAZAR_PLUGINS", PLUGINS)
    return path / "flows"


@pytest.fixture
def overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PAZAR_FLOWS_PATH directory holding testmarket/numbers.yaml."""
    root = tmp_path / "overlay"
    (root / "testmarket").mkdir(parents=True)
    (root / "testmarket" / "numbers.yaml").write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(root))
    return root / "testmarket" / "numbers.yaml"


def fresh() -> Registry:
    return load_plugins().registry


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.json")) if cache.is_dir() else []


def test_a_later_process_gets_the_same_flows_from_the_cache(cache: Path, overlay: Path) -> None:
    checked = load_flows(fresh())
    assert len(entries(cache)) == len(checked.files) > 40  # every valid file, built-in too
    cached = load_flows(fresh())
    assert [r.check.doc for r in cached.files] == [None] * len(cached.files)  # none parsed
    assert cached.all() == checked.all()
    for old, new in zip(checked.all(), cached.all(), strict=True):
        assert new.raw == old.raw
        assert [s.line for s in (new.source, *new.steps, new.sink)] == [
            s.line for s in (old.source, *old.steps, old.sink)
        ]
    numbers = cached.get("testmarket/numbers")
    assert numbers.path == overlay
    assert numbers.steps[0].params == {"field": "n", "factor": 2}  # the step's default


def test_an_edited_file_is_checked_again_and_a_bad_edit_keeps_its_line(
    cache: Path, overlay: Path
) -> None:
    load_flows(fresh())
    overlay.write_text(GOOD.replace("title: Numbers", "title: Counted"), encoding="utf-8")
    assert load_flows(fresh()).get("testmarket/numbers").title == "Counted"

    overlay.write_text(GOOD.replace("count: 3", "count: many"), encoding="utf-8")
    for _ in range(2):  # the second time too: a file with errors is never cached
        with pytest.raises(ValidationError) as caught:
            load_flows(fresh())
        assert caught.value.details == [
            f"{overlay}:4: /source/count: expected an integer, got string 'many'"
        ]

    overlay.write_text(GOOD, encoding="utf-8")  # back to content an older entry was for
    assert load_flows(fresh()).get("testmarket/numbers").title == "Numbers"


def test_pazar_status_reports_a_broken_flow_file_with_its_line_after_a_cached_run(
    cache: Path, overlay: Path, db_url: str
) -> None:
    cli = Cli(db_url, plugins=PLUGINS)
    first = cli("status", "--json")
    assert first.exit_code == 0, first.output
    assert cli("status", "--json").stdout == first.stdout
    overlay.write_text(GOOD.replace("plugin: testmarket", "plugin: testmarkt"), encoding="utf-8")
    broken = cli("status")
    assert broken.exit_code == 2
    assert f"{overlay}:3: /plugin: unknown plugin 'testmarkt'" in broken.stderr


def test_damaged_entries_are_ignored_and_rewritten(cache: Path, overlay: Path) -> None:
    expected = load_flows(fresh()).all()
    damage = [b"", b"{not json", b"[]", b'{"key": 1}', b'{"key": "x", "data": {}, "lines": {}}']
    for index, entry in enumerate(entries(cache)):
        entry.write_bytes(damage[index % len(damage)])
    assert load_flows(fresh()).all() == expected
    for entry in entries(cache):
        assert json.loads(entry.read_text())["data"]["flow"]  # each one written anew


def test_an_entry_for_other_step_schemas_is_not_used(cache: Path, overlay: Path) -> None:
    load_flows(fresh())
    registry = fresh()
    numbers = registry.steps["flowtest.numbers"]
    registry.steps["flowtest.numbers"] = dataclasses.replace(
        numbers,
        params_schema={**numbers.params_schema, "properties": {"count": {"type": "string"}}},
    )
    with pytest.raises(ValidationError) as caught:
        load_flows(registry)
    assert f"{overlay}:4: /source/count: expected a string, got integer 3" in (caught.value.details)


@pytest.mark.parametrize("setting", ["file", "off"])
def test_without_a_usable_cache_directory_flows_load_as_before(
    setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overlay: Path
) -> None:
    monkeypatch.setenv("PAZAR_PLUGINS", PLUGINS)
    if setting == "file":
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("x", encoding="utf-8")
        monkeypatch.setenv("PAZAR_CACHE_DIR", str(blocker))
    else:
        monkeypatch.setenv("PAZAR_CACHE_DIR", "off")
        assert cache_dir() is None
    assert load_flows(fresh()).get("testmarket/numbers").title == "Numbers"
    assert load_flows(fresh()).get("testmarket/numbers").title == "Numbers"
    assert [p.name for p in tmp_path.iterdir() if "cache" in p.name] == []


def test_the_cache_directory_follows_xdg_and_pazar_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAZAR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "pazar"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "pazar"
    monkeypatch.setenv("PAZAR_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_flows_validate_checks_every_file_rather_than_reading_the_cache(
    cache: Path, overlay: Path, db_url: str
) -> None:
    cli = Cli(db_url, plugins=PLUGINS)
    assert cli("status").exit_code == 0
    for entry in entries(cache):  # entries that would show if validate read them
        stored = json.loads(entry.read_text())
        stored["data"]["flow"] = "tampered"
        entry.write_text(json.dumps(stored))
    result = cli("flows", "validate", "--json")
    assert result.exit_code == 0, result.output
    valid = [v["flow"] for v in json.loads(result.stdout)["valid"]]
    assert "testmarket/numbers" in valid
    assert not [ref for ref in valid if ref.endswith("/tampered")]


def test_the_shipped_schemas_satisfy_the_metaschema() -> None:
    """Checked here rather than at every start: a command loading cached flows builds no
    validator at all."""
    Draft202012Validator.check_schema(base_schema())
    for step in fresh().steps.values():
        Draft202012Validator.check_schema(step.params_schema)

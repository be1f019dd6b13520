"""Loading flows from built-in, plugin and overlay directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import pazar.flows.loader as loader
from pazar.errors import NotFoundError, ValidationError
from pazar.flows import load_flow_file, load_flows, validate_files
from pazar.plugins import load_plugins
from pazar.registry import Marketplace, Registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flows"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.setenv(
        "PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin,tests.flowsteps_plugin"
    )
    return load_plugins().registry


@pytest.fixture
def builtin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty built-in flows.d, so these tests see only their own flows."""
    path = tmp_path / "builtin"
    path.mkdir()
    monkeypatch.setattr(loader, "builtin_flows_dir", lambda: path)
    return path


def only_market(registry: Registry, flows_dir: Path | None) -> Registry:
    """The same steps with testmarket's flows_dir pointing at ``flows_dir``."""
    reg = Registry()
    reg.steps = dict(registry.steps)
    reg.marketplaces = {
        "testmarket": Marketplace(
            name="testmarket", title="T", config_schema={}, flows_dir=flows_dir
        )
    }
    return reg


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def flow_yaml(flow: str, title: str, plugin: str = "testmarket", count: int = 1) -> str:
    return (
        f"flow: {flow}\ntitle: {title}\nplugin: {plugin}\n"
        f"source: {{type: flowtest.numbers, count: {count}}}\nsink: {{type: flowtest.collect}}\n"
    )


def test_dirs_argument_loads_plugin_subdirectories(registry: Registry) -> None:
    catalog = load_flows(registry, dirs=[FIXTURES / "good"])
    assert [f.ref for f in catalog.all()] == ["testmarket/hourly", "testmarket/numbers"]
    numbers = catalog.get("testmarket/numbers")
    assert numbers.title == "Numbers"
    assert numbers.feature_flag == "push"
    assert numbers.schedule == "*/5 * * * *"
    assert numbers.triggers == ("manual", "http")
    assert numbers.content_type == "productstock"
    assert numbers.batch_size == 100
    assert numbers.source.type == "flowtest.numbers"
    assert numbers.source.params == {"count": 10}
    assert numbers.source.line == 11
    [scale] = numbers.steps
    assert scale.params == {"field": "n", "factor": 2}  # the step schema's default filled in
    assert scale.pointer == "/steps/0" and scale.line == 13
    assert numbers.path == FIXTURES / "good" / "testmarket" / "numbers.yaml"
    hourly = catalog.get("testmarket/hourly")
    assert (hourly.content_type, hourly.batch_size, hourly.triggers, hourly.steps) == (
        "DEFAULT",
        500,
        (),
        (),
    )


def test_default_sources_builtin_then_plugin_dir_then_overlays(
    registry: Registry, builtin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(builtin / "testmarket" / "numbers.yaml", flow_yaml("numbers", "Built-in numbers"))
    write(builtin / "testmarket" / "only_builtin.yaml", flow_yaml("only_builtin", "Only built-in"))
    market_dir = tmp_path / "market"
    write(market_dir / "numbers.yaml", flow_yaml("numbers", "Plugin numbers"))
    reg = only_market(registry, market_dir)

    catalog = load_flows(reg)
    assert catalog.get("testmarket/numbers").title == "Plugin numbers"
    assert catalog.overrides_of("testmarket/numbers") == [builtin / "testmarket" / "numbers.yaml"]

    monkeypatch.setenv("PAZAR_FLOWS_PATH", f"{FIXTURES / 'overlay'}:{FIXTURES / 'overlay2'}")
    catalog = load_flows(reg)
    assert catalog.get("testmarket/numbers").title == "Numbers (site override)"
    assert catalog.get("testmarket/numbers").schedule == "every 30s"
    assert catalog.get("testmarket/hourly").title == "Hourly (flat overlay file)"
    assert catalog.get("testmarket/only_builtin").title == "Only built-in"
    assert len(catalog) == 3


def test_later_overlay_wins(
    registry: Registry, builtin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write(first / "testmarket" / "numbers.yaml", flow_yaml("numbers", "First"))
    write(second / "testmarket" / "numbers.yaml", flow_yaml("numbers", "Second"))
    monkeypatch.setenv("PAZAR_FLOWS_PATH", f"{first}:{second}")
    assert load_flows(only_market(registry, None)).get("testmarket/numbers").title == "Second"
    monkeypatch.setenv("PAZAR_FLOWS_PATH", f"{second}:{first}")
    assert load_flows(only_market(registry, None)).get("testmarket/numbers").title == "First"


def test_missing_plugin_dirs_are_skipped_but_a_missing_overlay_is_an_error(
    registry: Registry, builtin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = only_market(registry, tmp_path / "not-created")
    assert len(load_flows(reg)) == 0
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(tmp_path / "typo"))
    with pytest.raises(ValidationError) as caught:
        load_flows(reg)
    assert caught.value.details == [
        f"{tmp_path / 'typo'}: flow directory does not exist (PAZAR_FLOWS_PATH)"
    ]


def test_every_error_of_every_file_is_raised_together(registry: Registry, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copy(FIXTURES / "broken.yaml", write(flows / "x.yaml", ""))
    write(
        flows / "testmarket" / "numbers.yaml",
        flow_yaml("numbers", "N").replace("count: 1", "count: -1"),
    )
    write(flows / "testmarket" / "fine.yaml", flow_yaml("fine", "Fine"))
    with pytest.raises(ValidationError) as caught:
        load_flows(registry, dirs=[flows])
    assert caught.value.exit_code == 2
    assert caught.value.message == "5 errors in 2 flow files"
    details = caught.value.details
    assert (
        f"{flows / 'testmarket' / 'numbers.yaml'}:4: /source/count: expected a number >= 0, got -1"
        in details
    )
    assert any(
        "x.yaml:1: /flow: flow 'stock' does not match the file name ('x'.yaml)" in d
        for d in details
    )
    assert any("/sink: missing required key 'sink'" in d for d in details)


def test_plugin_directory_must_match_plugin_key(registry: Registry, tmp_path: Path) -> None:
    path = write(tmp_path / "flows" / "fashfed" / "numbers.yaml", flow_yaml("numbers", "N"))
    errors = validate_files([tmp_path / "flows"], registry)
    assert [str(e) for e in errors] == [
        f"{path}:3: /plugin: plugin 'testmarket' does not match the directory the file is in ('fashfed'); "
        "flow files live in <plugin>/<flow>.yaml"
    ]


def test_same_flow_twice_in_one_directory_is_an_error(registry: Registry, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    write(flows / "numbers.yaml", flow_yaml("numbers", "Flat"))
    write(flows / "testmarket" / "numbers.yaml", flow_yaml("numbers", "Nested"))
    with pytest.raises(ValidationError) as caught:
        load_flows(registry, dirs=[flows])
    assert caught.value.details == [
        f"{flows / 'testmarket' / 'numbers.yaml'}:1: /flow: flow 'testmarket/numbers' is also defined in "
        f"{flows / 'numbers.yaml'}"
    ]


def test_catalog_get_suggests_and_accepts_a_unique_bare_name(registry: Registry) -> None:
    catalog = load_flows(registry, dirs=[FIXTURES / "good"])
    assert catalog.get("hourly").ref == "testmarket/hourly"
    with pytest.raises(NotFoundError) as caught:
        catalog.get("testmarket/numbrs")
    assert (
        caught.value.message
        == "unknown flow 'testmarket/numbrs'; did you mean 'testmarket/numbers'?"
    )
    assert [f.flow for f in catalog.for_plugin("testmarket")] == ["hourly", "numbers"]
    assert catalog.for_plugin("fashfed") == []


def test_load_flow_file_does_not_check_location(registry: Registry) -> None:
    flow = load_flow_file(FIXTURES / "overlay2" / "hourly.yaml", registry)
    assert flow.ref == "testmarket/hourly"
    with pytest.raises(ValidationError) as caught:
        load_flow_file(FIXTURES / "broken.yaml", registry)
    assert len(caught.value.details) == 3


def test_non_yaml_files_are_ignored(registry: Registry, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    write(flows / "README.md", "# notes\n")
    write(flows / "testmarket" / "notes.txt", "not a flow\n")
    write(flows / "testmarket" / "numbers.yml", flow_yaml("numbers", "Yml"))
    assert [f.ref for f in load_flows(registry, dirs=[flows]).all()] == ["testmarket/numbers"]


def test_a_flow_file_is_checked_again_exactly_when_its_bytes_change(
    registry: Registry, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    path = write(flows / "testmarket" / "numbers.yaml", flow_yaml("numbers", "Numbers", count=1))
    first = load_flows(registry, dirs=[flows]).get("testmarket/numbers")
    # Unchanged: the flow checked before is given again (a daemon asks in every run).
    assert load_flows(registry, dirs=[flows]).get("testmarket/numbers") is first
    # An edit of the same size at once, which a file's timestamp may not tell apart.
    write(path, flow_yaml("numbers", "Numbers", count=2))
    assert load_flows(registry, dirs=[flows]).get("testmarket/numbers").source.params == {
        "count": 2
    }
    write(path, "flow: numbers\n")
    with pytest.raises(ValidationError):
        load_flows(registry, dirs=[flows])
    # Another registry (other plugins, other step types) checks every file again.
    write(path, flow_yaml("numbers", "Numbers", count=1))
    again = load_flows(registry, dirs=[flows]).get("testmarket/numbers")
    other = Registry()
    other.steps, other.marketplaces = dict(registry.steps), dict(registry.marketplaces)
    assert load_flows(other, dirs=[flows]).get("testmarket/numbers") is not again

"""``pazar flows ...`` as an operator uses it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

import pazar.flows.loader as loader
from pazar.plugins import reset_plugin_system

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flows"


class FlowsCli:
    def __init__(self, tmp_path: Path) -> None:
        self.env = {
            "PAZAR_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
            "PAZAR_PLUGINS": "pazar_hepsiburada,pazar_fashfed,tests.testplugin,tests.flowsteps_plugin",
        }

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        from pazar.cli import cli

        reset_plugin_system()
        return CliRunner().invoke(
            cli, ["flows", *args], env={**self.env, **(env or {})}, catch_exceptions=False
        )


@pytest.fixture
def flows(tmp_path: Path) -> FlowsCli:
    return FlowsCli(tmp_path)


@pytest.fixture
def isolated_builtin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Built-in flows.d replaced by the fixture flows, so listings are predictable."""
    path = tmp_path / "builtin"
    shutil.copytree(FIXTURES / "good", path)
    monkeypatch.setattr(loader, "builtin_flows_dir", lambda: path)
    return path


def test_acceptance_broken_flow_names_all_three_mistakes_with_lines(
    flows: FlowsCli, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    shutil.copy(FIXTURES / "broken.yaml", broken)
    result = flows("validate", "broken.yaml")  # relative to the working directory, as typed
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "broken.yaml:1: /sink: missing required key 'sink'",
        "broken.yaml:4: /schedule: invalid schedule '61 * * * *': minute field '61' is out of range (0-59); "
        "expected a cron expression ('*/5 * * * *') or 'every 30s'",
        "broken.yaml:9: /steps/0/type: unknown step 'flowtest.scal'; did you mean 'flowtest.scale'?",
        "error: 3 errors in 1 file; 0 flows valid",
    ]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_validate_without_paths_checks_every_loaded_flow(flows: FlowsCli) -> None:
    """What `pazar flows validate` does on an installation: the built-in flows must pass."""
    result = flows("validate")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1].endswith(" valid")
    count = int(lines[-1].split()[0])
    assert len([line for line in lines if line.startswith("ok  ")]) == count


def test_validate_lists_each_file_and_a_summary(flows: FlowsCli, isolated_builtin: Path) -> None:
    result = flows("validate")
    assert result.exit_code == 0, result.output
    assert (
        f"ok  testmarket/hourly  ({isolated_builtin / 'testmarket' / 'hourly.yaml'})"
        in result.stdout
    )
    assert (
        f"ok  testmarket/numbers  ({isolated_builtin / 'testmarket' / 'numbers.yaml'})"
        in result.stdout
    )
    assert result.stdout.splitlines()[-1].endswith("flows valid")


def test_validate_a_directory_and_files_together(flows: FlowsCli) -> None:
    result = flows("validate", str(FIXTURES / "good"), str(FIXTURES / "overlay2" / "hourly.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "3 flows valid"


def test_validate_reports_yaml_syntax_error_line(flows: FlowsCli) -> None:
    path = FIXTURES / "syntax.yaml"
    result = flows("validate", str(path))
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:6:5: expected ',' or ']'")
    assert "started on line 5" in first


def test_validate_unknown_top_level_key_suggests(flows: FlowsCli, tmp_path: Path) -> None:
    text = (
        (FIXTURES / "good" / "testmarket" / "hourly.yaml")
        .read_text()
        .replace("schedule:", "shedule:")
    )
    (tmp_path / "hourly.yaml").write_text(text)
    result = flows("validate", "hourly.yaml")
    assert result.exit_code == 2
    assert (
        "hourly.yaml:4: /shedule: unknown key 'shedule' at the top level; did you mean 'schedule'?"
        in result.stderr
    )


def test_validate_missing_path(flows: FlowsCli) -> None:
    result = flows("validate", "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml: no such file or directory" in result.stderr


def test_an_invalid_overlay_flow_stops_list_with_every_error(
    flows: FlowsCli, isolated_builtin: Path, tmp_path: Path
) -> None:
    overlay = tmp_path / "overlay" / "testmarket"
    overlay.mkdir(parents=True)
    shutil.copy(FIXTURES / "broken.yaml", overlay / "stock.yaml")
    result = flows("list", env={"PAZAR_FLOWS_PATH": str(tmp_path / "overlay")})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: 3 errors in 1 flow file\n")
    assert "stock.yaml:9: /steps/0/type: unknown step 'flowtest.scal'" in result.stderr


def test_list_json_and_overlay_precedence(flows: FlowsCli, isolated_builtin: Path) -> None:
    result = flows("list", "--json")
    assert result.exit_code == 0, result.output
    data = {d["ref"]: d for d in json.loads(result.stdout) if d["plugin"] == "testmarket"}
    assert data["testmarket/numbers"]["title"] == "Numbers"
    assert data["testmarket/numbers"]["feature_flag"] == "push"
    assert data["testmarket/numbers"]["steps"] == ["flowtest.scale"]

    result = flows("list", "--json", env={"PAZAR_FLOWS_PATH": str(FIXTURES / "overlay")})
    data = {d["ref"]: d for d in json.loads(result.stdout)}
    numbers = data["testmarket/numbers"]
    assert numbers["title"] == "Numbers (site override)"
    assert numbers["schedule"] == "every 30s"
    assert numbers["path"] == str(FIXTURES / "overlay" / "testmarket" / "numbers.yaml")
    assert numbers["overrides"] == [str(isolated_builtin / "testmarket" / "numbers.yaml")]


def test_list_table_and_plugin_filter(flows: FlowsCli, isolated_builtin: Path) -> None:
    result = flows("list", "--plugin", "testmarket")
    assert result.exit_code == 0, result.output
    for word in (
        "plugin",
        "flow",
        "title",
        "flag",
        "schedule",
        "numbers",
        "hourly",
        "every 1h",
        "push",
    ):
        assert word in result.stdout
    result = flows("list", "--plugin", "testmarkt")
    assert result.exit_code == 2
    assert "unknown plugin 'testmarkt'; did you mean 'testmarket'?" in result.stderr


def test_show_prints_the_file_and_where_it_came_from(
    flows: FlowsCli, isolated_builtin: Path
) -> None:
    result = flows("show", "testmarket/numbers")
    assert result.exit_code == 0, result.output
    path = isolated_builtin / "testmarket" / "numbers.yaml"
    assert f"# from {path}" in result.stdout
    assert "# A valid flow over the flow-test steps." in result.stdout  # the file as written
    result = flows("show", "testmarket/numbers", "--json")
    data = json.loads(result.stdout)
    assert data["definition"]["source"] == {"type": "flowtest.numbers", "count": 10}
    assert data["path"] == str(path)
    result = flows("show", "testmarket/numbrs")
    assert result.exit_code == 2
    assert "unknown flow 'testmarket/numbrs'; did you mean 'testmarket/numbers'?" in result.stderr


def test_schema_is_json_schema_that_validates_flows(flows: FlowsCli) -> None:
    result = flows("schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    good = yaml.safe_load((FIXTURES / "good" / "testmarket" / "numbers.yaml").read_text())
    assert list(validator.iter_errors(good)) == []
    assert "flowtest.numbers" in schema["$defs"]["source"]["properties"]["type"]["enum"]
    assert "flowtest.collect" not in schema["$defs"]["source"]["properties"]["type"]["enum"]

    unknown_step = {**good, "steps": [{"type": "flowtest.scal", "field": "n"}]}
    assert list(validator.iter_errors(unknown_step))
    bad_params = {**good, "source": {"type": "flowtest.numbers", "count": "many"}}
    assert [list(e.absolute_path) for e in validator.iter_errors(bad_params)] == [
        ["source", "count"]
    ]
    extra_key = {**good, "sink": {"type": "flowtest.collect", "labl": "x"}}
    assert list(validator.iter_errors(extra_key))


def test_show_says_which_templates_compile_to_python(flows: FlowsCli, tmp_path: Path) -> None:
    result = flows("show", "hepsiburada/stock")
    assert "# template /steps/0/fields/availableStock: compiled to Python" in result.stdout
    overlay = tmp_path / "overlay" / "hepsiburada"
    overlay.mkdir(parents=True)
    stock = yaml.safe_load(flows("show", "hepsiburada/stock", "--json").stdout)["definition"]
    stock["steps"][0]["fields"]["merchantSku"] = "{% if record.sku %}{{ record.sku }}{% endif %}"
    (overlay / "stock.yaml").write_text(yaml.safe_dump(stock))
    env = {"PAZAR_FLOWS_PATH": str(tmp_path / "overlay")}
    result = flows("show", "hepsiburada/stock", env=env)
    assert "# template /steps/0/fields/merchantSku: rendered by Jinja per record" in result.stdout
    assert "# template /steps/0/fields/availableStock: compiled to Python" in result.stdout
    data = json.loads(flows("show", "hepsiburada/stock", "--json", env=env).stdout)
    assert {"pointer": "/steps/0/fields/merchantSku", "compiled": False} in data["templates"]

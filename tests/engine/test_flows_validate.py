"""Flow validation messages: file:line, JSON pointer, what was expected, nearest name."""

from __future__ import annotations

import textwrap

import pytest

from pazar.flows.validate import FlowError, check_text
from pazar.plugins import load_plugins
from pazar.registry import Registry


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.setenv(
        "PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin,tests.flowsteps_plugin"
    )
    return load_plugins().registry


GOOD = """\
flow: numbers
title: Numbers
plugin: testmarket
source: {type: flowtest.numbers, count: 3}
steps:
  - type: flowtest.scale
    field: n
sink: {type: flowtest.collect}
"""


def errors_of(text: str, registry: Registry, **expect: str) -> list[str]:
    check = check_text(textwrap.dedent(text), registry, path="f.yaml", **expect)
    return [str(e) for e in check.errors]


def test_a_good_flow_has_no_errors(registry: Registry) -> None:
    assert errors_of(GOOD, registry) == []


def test_unknown_step_suggests_the_nearest_registered_one(registry: Registry) -> None:
    text = GOOD.replace("type: flowtest.scale", "type: flowtest.scal")
    assert errors_of(text, registry) == [
        "f.yaml:6: /steps/0/type: unknown step 'flowtest.scal'; did you mean 'flowtest.scale'?"
    ]


def test_a_sink_used_as_a_source_says_so(registry: Registry) -> None:
    text = GOOD.replace("{type: flowtest.numbers, count: 3}", "{type: flowtest.collect}")
    [error] = errors_of(text, registry)
    assert error.startswith(
        "f.yaml:4: /source/type: step 'flowtest.collect' is a sink; it cannot be used as a source"
    )


def test_misspelled_step_of_another_kind_points_there(registry: Registry) -> None:
    text = GOOD.replace("{type: flowtest.collect}", "{type: flowtest.scal}")
    [error] = errors_of(text, registry)
    assert (
        "unknown step 'flowtest.scal'; did you mean 'flowtest.scale'? (that is a step, not a sink)"
        in error
    )


def test_step_params_are_checked_against_the_step_schema(registry: Registry) -> None:
    text = """\
    flow: numbers
    title: Numbers
    plugin: testmarket
    source:
      type: flowtest.numbers
      count: many
    steps:
      - type: flowtest.scale
        feild: n
    sink: {type: flowtest.collect, label: 5}
    """
    assert errors_of(text, registry) == [
        "f.yaml:6: /source/count: expected an integer, got string 'many'",
        "f.yaml:8: /steps/0/field: missing required key 'field'",
        "f.yaml:9: /steps/0/feild: unknown key 'feild' for step 'flowtest.scale'; did you mean 'field'?",
        "f.yaml:10: /sink/label: expected a string, got integer 5",
    ]


def test_top_level_errors_are_all_reported(registry: Registry) -> None:
    text = """\
    flow: Numbers Flow
    title: ""
    plugin: testmarket
    schedul: "* * * * *"
    triggers: [manual, htp]
    batch_size: 0
    feature_flag: 3
    source: {type: flowtest.numbers, count: 3}
    """
    assert errors_of(text, registry) == [
        "f.yaml:1: /flow: expected a lowercase name of letters, digits and '_' starting with a letter "
        "(e.g. 'stock'), got 'Numbers Flow'",
        "f.yaml:1: /sink: missing required key 'sink'",
        "f.yaml:2: /title: must not be empty",
        "f.yaml:4: /schedul: unknown key 'schedul' at the top level; did you mean 'schedule'?",
        "f.yaml:5: /triggers/1: expected one of 'on_config_change', 'http', 'manual', got 'htp'; "
        "did you mean 'http'?",
        "f.yaml:6: /batch_size: expected a number >= 1, got 0",
        "f.yaml:7: /feature_flag: expected a string or null, got integer 3",
    ]


def test_unknown_plugin_suggests_a_registered_one(registry: Registry) -> None:
    text = GOOD.replace("plugin: testmarket", "plugin: testmarkt")
    assert errors_of(text, registry) == [
        "f.yaml:3: /plugin: unknown plugin 'testmarkt'; did you mean 'testmarket'?"
    ]


def test_core_is_a_valid_plugin(registry: Registry) -> None:
    assert errors_of(GOOD.replace("plugin: testmarket", "plugin: core"), registry) == []


def test_bad_cron(registry: Registry) -> None:
    text = GOOD + 'schedule: "0 6 * * 9"\n'
    assert errors_of(text, registry) == [
        "f.yaml:9: /schedule: invalid schedule '0 6 * * 9': day-of-week field '9' is out of range "
        "(0-7 or SUN-SAT); expected a cron expression ('*/5 * * * *') or 'every 30s'"
    ]


def test_file_location_must_agree_with_plugin_and_flow(registry: Registry) -> None:
    errors = errors_of(GOOD, registry, expect_plugin="other", expect_flow="count")
    assert errors == [
        "f.yaml:1: /flow: flow 'numbers' does not match the file name ('count'.yaml); "
        "flow files live in <plugin>/<flow>.yaml",
        "f.yaml:3: /plugin: plugin 'testmarket' does not match the directory the file is in ('other'); "
        "flow files live in <plugin>/<flow>.yaml",
    ]


def test_duplicate_key_is_an_error(registry: Registry) -> None:
    assert errors_of(GOOD + "title: Again\n", registry) == [
        "f.yaml:9: /title: duplicate key 'title' (first defined on line 2)"
    ]


def test_yaml_syntax_error_is_one_error_with_line_and_column(registry: Registry) -> None:
    errors = errors_of("flow: a\ntitle: [x\nplugin: testmarket\n", registry)
    assert len(errors) == 1
    assert errors[0].startswith("f.yaml:3:7: expected ',' or ']'")


def test_not_a_mapping_and_empty(registry: Registry) -> None:
    assert errors_of("- a\n- b\n", registry) == [
        "f.yaml:1: /: expected a mapping of flow keys, got array"
    ]
    assert errors_of("", registry) == [
        "f.yaml:1: empty file; expected a flow definition (a mapping)"
    ]


def test_wrong_slot_shapes_are_reported_once(registry: Registry) -> None:
    text = """\
    flow: numbers
    title: Numbers
    plugin: testmarket
    source: flowtest.numbers
    steps: {type: flowtest.scale}
    sink: {label: x}
    """
    assert errors_of(text, registry) == [
        "f.yaml:4: /source: expected a mapping, got string 'flowtest.numbers'",
        "f.yaml:5: /steps: expected a list, got object {'type': 'flowtest.scale'}",
        "f.yaml:6: /sink/type: missing required key 'type'",
    ]


def test_flow_error_format_without_line() -> None:
    assert (
        str(FlowError("x.yaml", None, None, "cannot read the file"))
        == "x.yaml: cannot read the file"
    )
    assert str(FlowError("x.yaml", 3, "/a", "bad")) == "x.yaml:3: /a: bad"


def test_templates_marked_in_step_schemas_are_compiled_at_load(registry: Registry) -> None:
    pytest.importorskip("pazar.templating")
    text = GOOD.replace(
        "    field: n\n",
        '    field: n\n  - type: flowtest.tag\n    set:\n      ok: "{{ record.n + 1 }}"\n'
        "      evil: \"{{ ''.__class__.__mro__ }}\"\n",
    )
    errors = errors_of(text, registry)
    assert len(errors) == 1
    assert errors[0].startswith("f.yaml:11: /steps/1/set/evil: ")


def test_feature_flag_must_be_declared_in_the_channel_config(registry: Registry) -> None:
    assert errors_of(GOOD + "feature_flag: push\n", registry) == []
    assert errors_of(GOOD + "feature_flag: pushh\n", registry) == [
        "f.yaml:9: /feature_flag: feature flag 'pushh' is not declared in the testmarket channel config "
        "(feature_flags); did you mean 'push'?"
    ]


def test_needs_names_a_known_content_type_other_than_its_own(registry) -> None:  # noqa: ANN001
    good = GOOD.replace(
        "plugin: testmarket\n", "plugin: hepsiburada\ncontent_type: productstock\nneeds: product\n"
    )
    assert errors_of(good, registry) == []
    typo = good.replace("needs: product", "needs: prodct")
    errors = errors_of(typo, registry)
    assert any("unknown content type 'prodct'; did you mean 'product'?" in e for e in errors)
    itself = good.replace("needs: product", "needs: productstock")
    assert any("cannot need its own content type" in e for e in errors_of(itself, registry))

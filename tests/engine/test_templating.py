"""Templates as an operator sees them: values, errors, the seed's formats, safety."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pazar.filters import tracking_url
from pazar.templating import TemplateEnv, TemplateError, render_format

env = TemplateEnv({"tracking_url": tracking_url})


def test_single_expression_keeps_its_type() -> None:
    assert env.expression("{{ record.qty - 3 }}").render({"record": {"qty": 10}}) == 7
    assert env.expression("{{ [record.qty - 5, 0] | max }}").render({"record": {"qty": 2}}) == 0
    assert env.expression("{{ record.tags }}").render({"record": {"tags": ["a"]}}) == ["a"]


def test_plain_field_paths_resolve_like_jinja() -> None:
    record = {"sku": "A-1", "extra": {"mpq": 3}, "keys": "a key field"}
    assert env.expression("{{ record.sku }}").render({"record": record}) == "A-1"
    assert env.expression("{{ record['extra'].mpq }}").render({"record": record}) == 3
    # Jinja prefers the attribute: record.keys is dict.keys (refused: a method is no value),
    # record['keys'] the field.
    with pytest.raises(TemplateError, match="not a function or method"):
        env.expression("{{ record.keys }}").render({"record": record})
    assert env.expression("{{ record['keys'] }}").render({"record": record}) == "a key field"
    # A non-dict value still goes through Jinja's own lookup.
    assert env.expression("{{ record.sku.lower() }}").render({"record": record}) == "a-1"
    with pytest.raises(TemplateError, match=r"no field 'qty' \(fields: extra, keys, sku\)"):
        env.expression("{{ record.qty }}").render({"record": record})
    with pytest.raises(TemplateError, match="'recordx' is undefined"):
        env.expression("{{ recordx.sku }}").render({"record": record})


def test_mixed_text_renders_a_string_and_plain_text_stays() -> None:
    assert env.expression("SKU-{{ record.n }}").render({"record": {"n": 4}}) == "SKU-4"
    assert env.expression("plain").render({}) == "plain"
    assert env.expression(5).render({}) == 5


def test_undefined_variable_names_it() -> None:
    expr = env.expression("{{ recordx.qty }}", "stock /steps/0/fields/a")
    with pytest.raises(TemplateError) as err:
        expr.render({"record": {}})
    assert "recordx" in err.value.message and "stock /steps/0/fields/a" in err.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ record['__class__'] }}",
        "{% for x in ().__class__.__bases__ %}{{ x }}{% endfor %}",
        "{{ record._private }}",
    ],
)
def test_python_internals_are_refused_when_compiled(source: str) -> None:
    with pytest.raises(TemplateError) as err:
        env.expression(source, "f")
    assert "off limits" in err.value.message


def test_syntax_error_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="syntax"):
        env.expression("{{ record. }}")


def test_predicate_bare_or_braced() -> None:
    assert env.predicate("record.q > 0").render({"record": {"q": 1}}) is True
    assert env.predicate("{{ record.q > 0 }}").render({"record": {"q": 0}}) is False


def test_filter_inside_a_template() -> None:
    mapping = {"aras": {"tracking_url": "u/{tracking_number}"}}
    expr = env.expression("{{ number | tracking_url('aras', mapping) }}")
    assert expr.render({"number": "7", "mapping": mapping}) == "u/7"


def test_ptt_style_dollar_placeholders_and_jinja_tags_left_alone() -> None:
    assert render_format("barkod=${barkod}", barkod="A1") == "barkod=A1"
    # a {name} inside a Jinja tag is Jinja's business, not a placeholder
    assert render_format("{{ '{x}' }}-{x}", x=1) == "{x}-1"
    assert render_format("{% if n %}N{n}{% endif %}", n=2) == "N2"


def test_nested_fields_render_to_nested_values() -> None:
    expr = env.expression({"qty": "{{ record.q * 2 }}", "tags": ["t{{ record.q }}", 5]}, "f")
    assert expr.render({"record": {"q": 3}}) == {"qty": 6, "tags": ["t3", 5]}


def test_whitespace_control_and_dict_literals_still_keep_native_values() -> None:
    assert env.expression("{{- record.q -}}").render({"record": {"q": 3}}) == 3
    assert env.expression("{{ {'a': {'b': record.q}} }}").render({"record": {"q": 3}}) == {
        "a": {"b": 3}
    }
    assert env.expression("{{ record.q }}{{ record.q }}").render({"record": {"q": 3}}) == "33"


def test_numeric_looking_strings_stay_strings() -> None:
    # NativeEnvironment would turn "00123" into 123 via literal_eval; a SKU must not change
    assert env.expression("{{ record.sku }}").render({"record": {"sku": "123"}}) == "123"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ record|attr('__class__') }}", "may not access '__class__'"),
        ("{{ record.items()|map(attribute='_x')|list }}", "may not access '_x'"),
        ("{{ '{0.__class__}'.format(record) }}", "not allowed"),
        ("{{ [].append(1) }}", "not allowed"),
        ("{{ 2 ** 100000 }}", "exceeds a bound: 2 \\*\\* 100000"),
        ("{{ 'a' * 10000000 }}", "exceeds a bound: would build"),
    ],
)
def test_sandbox_refusals_are_template_errors(source: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem) as err:
        env.expression(source, "flow /steps/0/fields/x").render({"record": {"a": 1}})
    assert err.value.message.startswith("flow /steps/0/fields/x: ")


@pytest.mark.parametrize("plain", [True, False])
@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("{{ range }}", "a function or method"),
        ("{{ dict }}", "a class"),
        ("{{ cycler }}", "a class"),
        ("{{ self }}", "a TemplateReference object"),
        ("{{ record.items }}", "a function or method"),
        ("SKU {{ record.sku.upper }}", "a function or method"),
        ("{{ [record.sku, namespace] }}", "a class"),
        ("{{ {'k': joiner} }}", "a class"),
    ],
)
def test_a_template_gives_values_never_pythons_objects(source: str, kind: str, plain: bool) -> None:
    """Printed, such an object would show Python's inside (``<function … at 0x7f…>``)."""
    with pytest.raises(TemplateError) as err:
        TemplateEnv(plain=plain).expression(source, "x").render({"record": {"sku": "A"}})
    assert err.value.problem == (
        f"not allowed: a template gives text, numbers, lists or mappings, not {kind}"
    )
    assert "0x" not in err.value.message


def test_the_seeds_format_refuses_a_method_of_its_value() -> None:
    with pytest.raises(TemplateError, match="not a function or method"):
        render_format("HB-{orderNumber.upper}", orderNumber="1001")
    assert render_format("HB-{orderNumber}", orderNumber="1001") == "HB-1001"


def test_runtime_errors_inside_a_template_name_the_template() -> None:
    with pytest.raises(TemplateError, match=r"ZeroDivisionError.*record.q / 0"):
        env.expression("{{ record.q / 0 }}", "f").render({"record": {"q": 1}})


def test_syntax_error_names_where_and_line() -> None:
    with pytest.raises(TemplateError) as err:
        env.format("line one\n{% if x %}never closed", "config order_number_format")
    assert err.value.message.startswith("config order_number_format: template syntax error")
    assert "line 2" in err.value.message


def test_build_template_env_carries_registered_filters() -> None:
    from pazar.plugins import load_plugins
    from pazar.templating import build_template_env

    registry = load_plugins().registry
    tenv = build_template_env(registry)
    expr = tenv.expression("{{ record | order_number('HB-{orderNumber}-{id}') }}")
    assert expr.render({"record": {"orderNumber": 123, "id": 9}}) == "HB-123-9"


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True), st.integers())
def test_any_placeholder_renders_its_value(name: str, value: int) -> None:
    assert render_format(f"<{{{name}}}>", **{name: value}) == f"<{value}>"


def test_flow_with_unsafe_template_is_refused_by_validate(cli, tmp_path: Path) -> None:  # noqa: ANN001
    flow = tmp_path / "bad.yaml"
    flow.write_text(
        "flow: bad\ntitle: Bad\nplugin: testmarket\n"
        "source: {type: core.read_jsonl, path: in.jsonl}\n"
        "steps:\n  - type: core.map\n    fields:\n      x: \"{{ ''.__class__.__mro__ }}\"\n"
        "sink: {type: core.write_jsonl, path: out.jsonl}\n"
    )
    result = cli("flows", "validate", str(flow))
    assert result.exit_code == 2
    assert "bad.yaml:8: /steps/0/fields/x: template may not access '__" in result.output
    assert "Traceback" not in result.output


def test_flow_validate_checks_templates_nested_in_map_fields(cli, tmp_path: Path) -> None:  # noqa: ANN001
    flow = tmp_path / "nested.yaml"
    flow.write_text(
        "flow: nested\ntitle: Nested\nplugin: testmarket\n"
        "source: {type: core.read_jsonl, path: in.jsonl}\n"
        "steps:\n  - type: core.map\n    fields:\n      attrs:\n"
        '        color: "{{ record._secret }}"\n'
        "sink: {type: core.write_jsonl, path: out.jsonl}\n"
    )
    result = cli("flows", "validate", str(flow))
    assert result.exit_code == 2
    assert "/steps/0/fields/attrs" in result.output
    assert "template may not access '_secret'" in result.output

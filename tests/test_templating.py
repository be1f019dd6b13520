"""Templates as an operator sees them: values, errors, the seed's formats, safety."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ValidationError
from core.filters import order_number, tracking_url
from core.templating import TemplateEnv, TemplateError, render_format

env = TemplateEnv({"tracking_url": tracking_url})


def test_single_expression_keeps_its_type() -> None:
    assert env.expression("{{ record.qty - 3 }}").render({"record": {"qty": 10}}) == 7
    assert env.expression("{{ [record.qty - 5, 0] | max }}").render({"record": {"qty": 2}}) == 0
    assert env.expression("{{ record.tags }}").render({"record": {"tags": ["a"]}}) == ["a"]


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


def test_seed_order_number_format() -> None:
    assert order_number("HB-{orderNumber}-{id}", orderNumber=123, id=9) == "HB-123-9"
    assert order_number("", orderNumber=123, id=9) == "123-9"
    assert render_format("{{ orderNumber }}/{id}", orderNumber=1, id=2) == "1/2"


def test_generic_tracking_url() -> None:
    mapping = {"aras": {"tracking_url": "https://kargotakip.example/?code={tracking_number}"}}
    assert tracking_url("123", "aras", mapping) == "https://kargotakip.example/?code=123"


def test_ptt_tracking_number_becomes_the_seeds_query_string() -> None:
    mapping = {"ptt": {"tracking_url": "https://gonderitakip.ptt.gov.tr/Track/summaryResult"}}
    url = tracking_url("ABC123-5f2c9e1a", "ptt", mapping)
    assert (
        url
        == "https://gonderitakip.ptt.gov.tr/Track/summaryResult?barkod=ABC123&barkod_guid=5f2c9e1a"
    )


def test_loomis_prefix_picks_the_url() -> None:
    mapping = {
        "loomis": {"tracking_url": {"tur": "https://xxx.com?tracking_number={tracking_number}"}}
    }
    assert (
        tracking_url("tur-1234566", "loomis", mapping)
        == "https://xxx.com?tracking_number=tur-1234566"
    )
    with pytest.raises(ValidationError, match="prefix 'abc'"):
        tracking_url("abc-1", "loomis", mapping)


def test_filter_inside_a_template() -> None:
    mapping = {"aras": {"tracking_url": "u/{tracking_number}"}}
    expr = env.expression("{{ number | tracking_url('aras', mapping) }}")
    assert expr.render({"number": "7", "mapping": mapping}) == "u/7"


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

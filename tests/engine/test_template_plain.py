"""Plain templates render as compiled Python and give exactly what Jinja gives.

Every case renders the same template twice: with plain templates compiled (the
default) and with Jinja only.  The results must be identical, value and type, and
a template that fails must fail with the same message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pazar.filters import tracking_url
from pazar.template_bounds import Limits
from pazar.templating import TemplateEnv, TemplateError

FILTERS = {"tracking_url": tracking_url}
# Time stands still for these renders: the tests compare what the two renderers give, and a
# loaded machine (a parallel suite) could push one render past the wall-time bound, which has
# its own test with an injected clock (test_template_safety).
STILL = Limits(timer=lambda: 0.0)
compiled = TemplateEnv(FILTERS, limits=STILL)
jinja = TemplateEnv(FILTERS, plain=False, limits=STILL)


def outcome(
    env: TemplateEnv, source: str, context: dict[str, Any], kind: str = "expression"
) -> Any:
    try:
        value = getattr(env, kind)(source, "f").render(context)
    except TemplateError as exc:
        return ("error", exc.message, exc.limit)
    return ("value", type(value).__name__, repr(value))


# ----------------------------------------------------------------------------- generated cases

atoms = st.sampled_from(
    [
        "record.sku",
        "record['sku']",
        "record.quantity",
        "record.price",
        "record.extra",
        "record.tags",
        "record.tags[0]",
        "record.tags[-1]",
        "record.tags[7]",
        "record.name",
        "record.flag",
        "record.missing",
        "record.extra.mpq",
        "record['extra']['mpq']",
        "record.extra.get('mpq')",
        "record.extra.get('mpq', 3)",
        "(record.extra or {}).get('mpq')",
        "record[record.sku]",
        "config.buffer_stock",
        "config.password",
        "channel.slug",
        "now",
        "nothing",
        "0",
        "1",
        "-2",
        "2.5",
        "4096",
        "'x'",
        "''",
        "none",
        "true",
        "false",
        "{}",
        "[1, 2]",
        "[]",
        "('a', 1)",
        "{'k': 1}",
    ]
)
BINARY = ["+", "-", "*", "/", "//", "%", "**", "~", "and", "or", "==", "!=", "<", ">=", "in"]
FILTER_CALLS = [
    "max",
    "min",
    "abs",
    "int",
    "float",
    "round",
    "round(1)",
    "string",
    "lower",
    "upper",
    "trim",
    "title",
    "capitalize",
    "length",
    "first",
    "last",
    "sum",
    "default(5)",
    "d('z', true)",
    "count",
]
TESTS = ["defined", "none", "number", "string", "integer", "mapping", "even", "sequence"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        children.map(lambda a: f"(not {a})"),
        children.map(lambda a: f"(-{a})"),
        st.tuples(children, st.sampled_from(FILTER_CALLS)).map(lambda t: f"({t[0]} | {t[1]})"),
        st.tuples(children, st.sampled_from(TESTS)).map(lambda t: f"({t[0]} is {t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(children, children).map(lambda t: f"[{t[0]}, {t[1]}]"),
        st.tuples(children, children).map(lambda t: f"{{'a': {t[0]}, 'b': {t[1]}}}"),
        st.tuples(children, children).map(lambda t: f"[{t[0]}, {t[1]}] | max"),
        children.map(lambda a: f"{a}.get('mpq')"),
    )


expressions = st.recursive(atoms, _combine, max_leaves=6)

numbers = st.one_of(
    st.integers(-50, 50),
    st.integers(2**4090, 2**4100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
    st.booleans(),
)
values = st.one_of(numbers, st.text(max_size=5), st.none())
records = st.fixed_dictionaries(
    {
        "sku": st.text(max_size=6),
        "quantity": numbers,
        "price": numbers,
        "extra": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"mpq": values}), values),
        "tags": st.one_of(st.lists(st.text(max_size=3), max_size=3), values),
        "name": st.text(max_size=8),
        "flag": st.booleans(),
    },
    optional={"": values},
)


def context(record: dict[str, Any], buffer: Any) -> dict[str, Any]:
    return {
        "record": record,
        "config": {"buffer_stock": buffer},
        "channel": {"id": 1, "slug": "hb", "name": "HB", "plugin": "hepsiburada"},
        "now": "2026-01-01",
    }


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, records, st.one_of(st.none(), st.integers(-3, 5)))
# Found by this test in CI: Jinja computes a constant part while compiling, and this one
# is an error that escaped as Jinja's own exception.
@example("(-(('' | max) ~ record.sku))", {"sku": "LPT1"}, None)
def test_a_compiled_field_gives_what_jinja_gives(source: str, record: Any, buffer: Any) -> None:
    template = "{{ " + source + " }}"
    ctx = context(record, buffer)
    assert outcome(compiled, template, ctx) == outcome(jinja, template, ctx)


@settings(max_examples=500, deadline=None)
@given(st.lists(expressions, min_size=1, max_size=3), st.text(max_size=4), records)
def test_compiled_text_gives_what_jinja_gives(parts: list[str], text: str, record: Any) -> None:
    template = text.join("{{ " + p + " }}" for p in parts) + text
    if "{" in text or "%" in text or "#" in text:
        template = template.replace(text, "-")
    ctx = context(record, 2)
    assert outcome(compiled, template, ctx) == outcome(jinja, template, ctx)
    assert outcome(compiled, template, ctx, "format") == outcome(jinja, template, ctx, "format")


@settings(max_examples=300, deadline=None)
@given(expressions, records)
def test_a_compiled_predicate_gives_what_jinja_gives(source: str, record: Any) -> None:
    ctx = context(record, 1)
    assert outcome(compiled, source, ctx, "predicate") == outcome(jinja, source, ctx, "predicate")


# ----------------------------------------------------------------------------- which compile

STOCK_FIELDS = {
    "merchantSku": "{{ record.sku }}",
    "availableStock": "{{ [record.quantity - (config.buffer_stock or 0), 0] | max }}",
    "maximumPurchasableQuantity": "{{ (record.extra or {}).get('maximumPurchasableQuantity') }}",
}


def test_the_stock_flow_fields_compile_and_map_as_before() -> None:
    fields = compiled.expression(STOCK_FIELDS, "f")
    assert all(compiled.expression(s, "f").plain for s in STOCK_FIELDS.values())
    record = {"sku": "S1", "quantity": 7, "extra": {"maximumPurchasableQuantity": 4}}
    ctx = context(record, 2)
    assert fields.render(ctx) == {
        "merchantSku": "S1",
        "availableStock": 5,
        "maximumPurchasableQuantity": 4,
    }
    assert fields.render(ctx) == jinja.expression(STOCK_FIELDS, "f").render(ctx)


@pytest.mark.parametrize(
    "source",
    [
        "{% for t in record.tags %}{{ t }}{% endfor %}",
        "{% if record.flag %}y{% endif %}",
        "{{ record.items() }}",
        "{{ record.keys }}",
        "{{ record.sku.upper() }}",
        "{{ record.sku | tracking_url('x') }}",
        "{{ record.tags | join(',') }}",
        "{{ record.sku | replace('a', 'b') }}",
        "{{ record.tags | map('upper') | list }}",
        "{{ range(3) | list }}",
        "{{ record.tags[1:] }}",
        "{{ '%s' | format(record.sku) }}",
        "{{ namespace(a=1) }}",
    ],
)
def test_anything_not_plain_renders_with_jinja(source: str) -> None:
    assert not compiled.expression(source, "f").plain


def test_a_plain_template_meeting_an_unusual_value_still_answers_as_jinja() -> None:
    class Product:
        sku = "from-an-attribute"

    expr = compiled.expression("{{ record.sku ~ '!' }}", "f")
    assert expr.plain
    assert expr.render({"record": Product()}) == "from-an-attribute!"
    assert (
        compiled.expression("{{ record.a + record.b }}", "f").render(
            {"record": {"a": "x", "b": "y"}}
        )
        == "xy"
    )
    assert compiled.expression("{{ record.q * 2 }}", "f").render(
        {"record": {"q": Decimal("1.5")}}
    ) == Decimal("3.0")


def test_secrets_stay_out_of_reach_of_compiled_templates() -> None:
    expr = compiled.expression("{{ config.password }}", "f")
    assert expr.plain
    with pytest.raises(TemplateError, match="no field 'password'"):
        expr.render({"config": {"buffer_stock": 1}})


def test_compiled_templates_keep_the_bounds() -> None:
    tight = TemplateEnv(limits=Limits(output=10, int_bits=64, timer=STILL.timer))
    long_sku = tight.expression("{{ record.sku ~ record.sku }}", "f")
    assert long_sku.plain
    with pytest.raises(TemplateError, match="exceeds a bound") as caught:
        long_sku.render({"record": {"sku": "abcdef"}})
    assert caught.value.limit
    big = tight.expression("{{ record.q * record.q }}", "f")
    with pytest.raises(TemplateError, match="exceeds a bound"):
        big.render({"record": {"q": 2**40}})
    assert big.render({"record": {"q": 2**20}}) == 2**40
    with pytest.raises(TemplateError, match="exceeds a bound"):
        tight.expression("{{ record.tags }}", "f").render({"record": {"tags": list(range(11))}})


# ----------------------------------------------------------------------------- the compiled path

FIELD_MAPS = [
    "record.sku",
    "[record.quantity - (config.buffer_stock or 0), 0] | max",
    "(record.extra or {}).get('mpq')",
    "record.quantity * 2 + 1",
    "record.quantity // 3 if record.quantity > 0 else -1",
    "record.sku ~ '-' ~ record.quantity",
    "record.sku | upper | trim",
    "record.tags | length",
    "[record.quantity, 5] | min",
    "record.quantity is even and record.sku is string",
    "{'sku': record.sku, 'q': [record.quantity, 0] | max}",
    "record.extra.get('mpq', 0) | int",
]
well_typed = st.fixed_dictionaries(
    {
        "sku": st.text(max_size=6),
        "quantity": st.integers(-(2**40), 2**40),
        "extra": st.fixed_dictionaries({}, optional={"mpq": st.integers(0, 9)}),
        "tags": st.lists(st.text(max_size=3), max_size=3),
    }
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(FIELD_MAPS), well_typed, st.one_of(st.none(), st.integers(0, 5)))
def test_the_compiled_function_itself_gives_jinja_s_value(
    source: str, record: Any, buffer: Any
) -> None:
    from jinja2.parser import Parser

    from pazar.template_plain import compile_value

    node = Parser(compiled.env, source, state="variable").parse_expression()
    plain = compile_value(node, compiled.env, compiled.limits)
    assert plain is not None
    ctx = context(record, buffer)
    value = plain(ctx)  # no fallback: these records are what the compiled path handles
    expected = jinja.expression("{{ " + source + " }}", "f").render(ctx)
    assert (type(value), value) == (type(expected), expected)


def test_a_format_rendered_inside_a_render_charges_the_outer_budget() -> None:
    """A filter rendering a channel format inside a template shares its caller's budget:
    the compiled path steps aside there, so the outer bound holds as with Jinja."""
    from pazar.template_bounds import budget

    inner = compiled.format("{{ name ~ name }}", "f")
    assert inner.plain
    with budget(Limits(work=5)), pytest.raises(TemplateError, match="exceeds a bound"):
        inner.render({"name": "abcdef"})
    assert inner.render({"name": "abcdef"}) == "abcdefabcdef"


@pytest.mark.parametrize("env", [compiled, jinja], ids=["compiled", "jinja"])
@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ ('' | max) ~ record.sku }}", "No aggregated item, sequence was empty."),
        ("SKU {{ ([] | first) ~ 'x' }}", "No first item, sequence was empty."),
    ],
)
def test_a_constant_part_that_is_an_error_fails_when_compiled_with_a_message(
    env: TemplateEnv, source: str, problem: str
) -> None:
    """Jinja computes constant parts while compiling: an error there is the template's
    error, worded like a render's and naming where the template is, never Jinja's own
    exception (a traceback for the operator)."""
    with pytest.raises(TemplateError) as raised:
        env.expression(source, "flows/x.yaml/steps/0/fields/sku")
    assert raised.value.where == "flows/x.yaml/steps/0/fields/sku"
    assert raised.value.problem == f"{problem} (in {source!r})"

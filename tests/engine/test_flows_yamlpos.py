"""YAML with line numbers: what validation messages point at."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pazar.flows.yamlpos import load_positioned

DOC = """\
flow: stock
title: Stock
steps:
  - type: core.map
    fields:
      a/b: 1
  - type: core.filter
sink: {type: x, batch_size: 5}
"""


def test_lines_of_keys_and_items() -> None:
    doc = load_positioned(DOC)
    assert doc.problems == []
    assert doc.data["steps"][0]["fields"] == {"a/b": 1}
    assert doc.lines["/flow"] == 1
    assert doc.lines["/steps"] == 3
    assert doc.lines["/steps/0"] == 4
    assert doc.lines["/steps/0/fields/a~1b"] == 6  # RFC 6901 escaping
    assert doc.lines["/steps/1/type"] == 7
    assert doc.lines["/sink/batch_size"] == 8


def test_line_of_a_missing_pointer_falls_back_to_its_parent() -> None:
    doc = load_positioned(DOC)
    assert doc.line_of("/steps/1/condition") == 7
    assert doc.line_of("/nowhere") == 1


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    doc = load_positioned("flow: a\ntitle: t\nflow: b\n")
    assert [(p.line, p.pointer, p.message) for p in doc.problems] == [
        (3, "/flow", "duplicate key 'flow' (first defined on line 1)")
    ]


def test_keys_stay_strings() -> None:
    doc = load_positioned("on: 1\n1: x\nyes: true\n")
    assert doc.data == {"on": 1, "1": "x", "yes": True}


def test_merge_keys_work_and_own_keys_win() -> None:
    doc = load_positioned("base: &b {a: 1, b: 2}\nm:\n  <<: *b\n  b: 3\n")
    assert doc.problems == []
    assert doc.data["m"] == {"a": 1, "b": 3}


def test_syntax_error_gives_line_and_column() -> None:
    doc = load_positioned("flow: a\nsteps:\n  - type: x\n    fields: [n\nsink: {}\n")
    assert doc.data is None
    [problem] = doc.problems
    assert problem.line == 5
    assert problem.column is not None
    assert "started on line 4" in problem.message


def test_bad_scalar_and_unknown_tag_are_problems_not_crashes() -> None:
    doc = load_positioned("a: !!int x\nb: !secret y\nc: 3\n")
    assert doc.data["c"] == 3
    assert [(p.line, p.pointer) for p in doc.problems] == [(1, "/a"), (2, "/b")]
    assert "'!secret'" in doc.problems[1].message


def test_recursive_alias_is_refused() -> None:
    doc = load_positioned("a: &a [*a]\n")
    assert any("recursive alias" in p.message for p in doc.problems)


def test_empty_document() -> None:
    doc = load_positioned("# nothing\n")
    assert doc.data is None and doc.problems == []


# Plain JSON-like data survives the positioned loader unchanged, and every
# pointer into it has a line.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
_keys = st.text(alphabet="abcxyz_/~0123 ", min_size=1, max_size=6)
_data = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=20,
)


def _pointers(value: object, base: str = "") -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, child in value.items():
            pointer = f"{base}/{key.replace('~', '~0').replace('/', '~1')}"
            found += [pointer, *_pointers(child, pointer)]
    elif isinstance(value, list):
        for index, child in enumerate(value):
            pointer = f"{base}/{index}"
            found += [pointer, *_pointers(child, pointer)]
    return found


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _data, min_size=1, max_size=5), st.booleans())
def test_round_trip_and_every_pointer_has_a_line(data: dict, flow_style: bool) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow_style, allow_unicode=True)
    doc = load_positioned(text)
    assert doc.problems == []
    assert doc.data == data
    for pointer in _pointers(data):
        line = doc.lines[pointer]
        assert 1 <= line <= text.count("\n") + 1

"""A quick "certainly valid" test for flat upload rows, ahead of the full JSON Schema check.

An upload sink checks every row against the marketplace's request shape
(``UploadSink.row_schema``) before it is sent.  Walking a JSON Schema validator
over each of a million rows costs more than building and sending them; the
shapes are flat objects of a few typed fields.  :func:`quick_check` turns such a
schema into a plain function that answers True only for a row the schema
certainly accepts; any other row (and every row of a schema outside this small
subset) goes to the full validator, which decides and words the problem.  So a
row is refused exactly when ``jsonschema`` refuses it, with its message.

The subset: an ``object`` with ``properties``, ``required`` and
``additionalProperties: false`` (or absent/true); each property of ``type``
string, integer, number or boolean with ``minLength``/``maxLength``,
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``.  A property
with any other keyword makes the quick check say "not certain" whenever the row
has it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_OBJECT_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "title", "description"}
)
_FIELD_KEYWORDS = frozenset(
    {
        "type",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "title",
        "description",
    }
)
# Only the exact Python types a row carries in practice; a float that is an integer
# (3.0 for an ``integer``), a Decimal or a subclass goes to the full validator.
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _field_conditions(schema: Any, v: str) -> list[str] | None:
    """Python conditions (over the variable ``v``) that together say one property's value
    is certainly valid; None when its keywords are outside the subset."""
    if not isinstance(schema, Mapping) or set(schema) - _FIELD_KEYWORDS:
        return None
    types = _TYPES.get(schema.get("type"))  # type: ignore[arg-type]
    if types is None:
        return None
    names = {str: "str", int: "int", float: "float", bool: "bool"}
    conditions = [f"type({v}) in ({''.join(names[t] + ', ' for t in types)})"]
    for keyword, op in (("minLength", ">="), ("maxLength", "<=")):
        bound = schema.get(keyword)
        if bound is not None:
            if type(bound) is not int:
                return None
            conditions.append(f"len({v}) {op} {bound!r}")
    for keyword, op in (
        ("minimum", ">="),
        ("maximum", "<="),
        ("exclusiveMinimum", ">"),
        ("exclusiveMaximum", "<"),
    ):
        bound = schema.get(keyword)
        if bound is not None:
            if type(bound) not in (int, float) or bound != bound or abs(bound) == float("inf"):
                return None
            conditions.append(f"{v} {op} {bound!r}")
    return conditions


def quick_check(schema: Mapping[str, Any] | None) -> Callable[[Any], bool] | None:
    """A function answering True only for rows ``schema`` certainly accepts; None when
    the schema is outside the subset this understands (the full validator does all).

    Written out as one Python function per schema (keys and bounds come from the
    plugin's own schema constant, checked to be strings and numbers), so a row costs
    a few comparisons."""
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return None
    if set(schema) - _OBJECT_KEYWORDS:
        return None
    props = schema.get("properties") or {}
    required = schema.get("required") or []
    extra = schema.get("additionalProperties", True)
    if extra not in (True, False) or not isinstance(props, Mapping):
        return None
    if not all(isinstance(k, str) for k in [*props, *required]):
        return None
    lines = ["def check(row):", "    if type(row) is not dict: return False"]
    lines += [f"    if {key!r} not in row: return False" for key in required]
    lines.append("    for k, v in row.items():")
    branch = "if"
    for key, sub in props.items():
        conditions = _field_conditions(sub, "v")
        test = "False" if conditions is None else " and ".join(conditions)
        lines.append(f"        {branch} k == {key!r}:")
        lines.append(f"            if not ({test}): return False")
        branch = "elif"
    if extra is False:
        lines.append("        else: return False" if props else "        return False")
    elif not props:
        lines.append("        pass")
    lines.append("    return True")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<row check>", "exec"), namespace)  # noqa: S102 - see above
    return namespace["check"]  # type: ignore[no-any-return]

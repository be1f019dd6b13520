"""JSON from outside pazar (import cells and files, ``channel set`` values, HTTP bodies),
read by one set of rules.

``json.loads`` reads more than JSON: ``NaN`` and ``Infinity`` (and ``1e309``, which is
infinite as a float) are not JSON numbers, and pazar's own output would carry them on as
text no JSON reader takes back.  It also recurses once per level, so a document nested a
few thousand levels deep ends in a ``RecursionError`` instead of a message; every reader
after it (JSON Schema, the encoder) recurses the same way.  :func:`loads` refuses
non-finite numbers and documents nested more than :data:`MAX_DEPTH` levels, and (with
``unique_keys``) an object naming a key twice, which ``json.loads`` silently reads as
its last value.  Each problem is a :class:`JsonProblem` (a ``ValueError``) with the line
and column when the text shows them.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 100
"""Levels of nesting a document (JSON or YAML) may have; real configs and payloads use
fewer than ten."""


class JsonProblem(ValueError):
    """Text that is not JSON pazar takes; ``msg`` says why, ``where`` at which position."""

    def __init__(self, msg: str, lineno: int | None = None, colno: int | None = None) -> None:
        self.msg = msg
        self.lineno = lineno
        self.colno = colno
        super().__init__(msg + self.where)

    @property
    def where(self) -> str:
        return "" if self.lineno is None else f" at line {self.lineno} column {self.colno}"


class JsonTooDeep(JsonProblem):
    """A document nested more than :data:`MAX_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep")


def _no_constant(name: str) -> Any:
    raise JsonProblem(f"{name} is not a JSON number: numbers must be finite")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonProblem(f"{text} is too large for a number: numbers must be finite")
    return number


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonProblem(f"duplicate key {key!r} in an object")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)
_UNIQUE_DECODER = json.JSONDecoder(
    parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique
)


def depth(value: Any) -> int:
    """Levels of lists and objects in ``value`` (a scalar: 0), without recursing."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The problem of a value nested more than ``limit`` levels, else None."""
    if depth(value) > limit:
        return f"nested more than {limit} levels deep"
    return None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text(value: Any) -> str | None:
    """What makes a parsed JSON value's text unstorable, or None: the NUL character
    (PostgreSQL's JSON cannot hold it) or a lone surrogate (``"\\ud800"``: valid JSON
    escapes, but no UTF-8 text; it failed later, in a page or a database write)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "contains the NUL character (\\u0000), which pazar cannot store"
            if _LONE_SURROGATE.search(item):
                return "contains a lone surrogate (\\ud800-\\udfff), which is not text"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def loads(text: str, *, unique_keys: bool = False) -> Any:
    """``text`` as JSON, by the rules above; a :class:`JsonProblem` says what is wrong."""
    decoder = _UNIQUE_DECODER if unique_keys else _DECODER
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonProblem(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise JsonTooDeep() from None
    except JsonProblem:
        raise
    except ValueError as exc:  # an integer with more digits than Python reads
        raise JsonProblem(str(exc).split(";")[0]) from None
    # A document with fewer brackets than the limit cannot be nested deeper.
    if (text.count("[") + text.count("{") > MAX_DEPTH) and depth(value) > MAX_DEPTH:
        raise JsonTooDeep()
    return value

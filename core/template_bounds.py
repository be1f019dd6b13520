"""What one template render may cost: output, integers, iterations, work and time.

A template is input from outside the code (an operator's flow file or channel
config), and Jinja's sandbox keeps it away from Python internals but not from
the CPU: ``(9**99)**99**9`` takes seconds, nested ``range`` loops run for hours,
``'x'.ljust(10**9)`` builds a gigabyte.  Every render here carries a
:class:`Budget` (through a context variable, so filters that render formats of
their own share their caller's) and every operation that can grow cost charges
it *before* doing the work where the size can be known in advance, and after
otherwise:

- loop iterations and calls (``for``, macros, methods, filters) count against
  ``steps``; the wall clock is read at each of them;
- every string or list built counts its length against ``work``, so a loop of
  small concatenations is bounded as surely as one big one;
- integers may not grow past ``int_bits``;
- a render's result may not be longer than ``output``.

A bound that is hit raises :class:`TemplateLimitError`, which the template
layer turns into a :class:`pazar.templating.TemplateError` naming the
template's place; a flow fails that record, a config refuses to save.
"""

from __future__ import annotations

import contextlib
import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError


@dataclass(frozen=True)
class Limits:
    """The bounds of one render.  Defaults are far above what a real template
    needs (a payload field, an order number, a file name) and far below what
    would hold a worker."""

    output: int = 1_000_000
    """Characters (or items) of one render's result and of any one value built."""
    work: int = 10_000_000
    """Characters and items built in total during one render."""
    steps: int = 100_000
    """Loop iterations plus calls (filters, methods, macros) in one render."""
    int_bits: int = 4096
    """Bits of any integer a template computes (about 1233 decimal digits)."""
    seconds: float = 1.0
    """Wall time of one render."""
    timer: Callable[[], float] = field(default=time.monotonic, compare=False)


DEFAULT_LIMITS = Limits()


class TemplateLimitError(SecurityError):
    """A render would exceed one of its :class:`Limits`."""


class Budget:
    """What is left of one render's limits."""

    __slots__ = ("deadline", "limits", "steps", "work")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = limits.steps
        self.work = limits.work
        self.deadline = limits.timer() + limits.seconds

    def step(self, count: int = 1) -> None:
        self.steps -= count
        if self.steps < 0:
            raise TemplateLimitError(
                f"more than {self.limits.steps} loop iterations and calls in one render"
            )
        if self.limits.timer() > self.deadline:
            raise TemplateLimitError(f"render took longer than {self.limits.seconds:g}s")

    def spend(self, size: int) -> None:
        """Charge ``size`` characters/items about to be (or just) built."""
        if size > self.limits.output:
            raise TemplateLimitError(
                f"would build a value of {size} characters or items (limit {self.limits.output})"
            )
        self.work -= size
        if self.work < 0:
            raise TemplateLimitError(
                f"would build more than {self.limits.work} characters or items in one render"
            )


_BUDGET: ContextVar[Budget | None] = ContextVar("pazar_template_budget", default=None)


@contextlib.contextmanager
def budget(limits: Limits) -> Iterator[Budget]:
    """The render's budget; a render nested in another (a filter rendering a
    channel format) shares its caller's, so the outer bound holds."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    fresh = Budget(limits)
    token = _BUDGET.set(fresh)
    try:
        yield fresh
    finally:
        _BUDGET.reset(token)


def in_render() -> bool:
    """True inside a render (a filter rendering a format of its own shares this budget)."""
    return _BUDGET.get() is not None


def current_budget() -> Budget:
    found = _BUDGET.get()
    # Outside a render (a test calling a filter directly): bound by the defaults.
    return found if found is not None else Budget(DEFAULT_LIMITS)


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def check_result(value: Any) -> Any:
    """Charge what an operation built and refuse integers past the bound."""
    b = current_budget()
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > b.limits.int_bits:
            raise TemplateLimitError(
                f"integer of {value.bit_length()} bits (limit {b.limits.int_bits})"
            )
    else:
        size = _size(value)
        if size:
            b.spend(size)
    return value


def check_output(value: Any, limits: Limits) -> Any:
    """The result of a whole render: no longer than ``limits.output``, and data."""
    size = _size(value)
    if size > limits.output:
        raise TemplateLimitError(f"result of {size} characters or items (limit {limits.output})")
    return check_data(value)


# What a template may give: data.  Anything else printed as text shows Python's inside
# (``<function bounded_range at 0x7f…>``, ``<class 'dict'>``, a method of a string).
_DATA_TYPES = (str, int, float, Decimal, date, type(None))


def check_data(value: Any) -> Any:
    """``value`` when it is data (text, numbers, booleans, dates, None, and lists and
    mappings of those); a function, class, method or template object is refused."""
    if isinstance(value, _DATA_TYPES):
        return value
    if isinstance(value, list | tuple):
        for member in value:
            check_data(member)
        return value
    if isinstance(value, dict):
        for key, member in value.items():
            check_data(key)
            check_data(member)
        return value
    if isinstance(value, Undefined):
        return value  # StrictUndefined raises, naming the variable, when it is used
    if isinstance(value, type):
        kind = "a class"
    elif callable(value):
        kind = "a function or method"
    else:
        kind = f"a {type(value).__name__} object"
    raise SecurityError(f"a template gives text, numbers, lists or mappings, not {kind}")


# --------------------------------------------------------------------------- operators


def _int_bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) and not isinstance(value, bool) else 0


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse, before computing it, an operation whose result would break a bound."""
    b = current_budget()
    limits = b.limits
    if operator == "**" and isinstance(right, int) and not isinstance(right, bool) and right > 0:
        bits = _int_bits(left)
        if isinstance(left, int) and not isinstance(left, bool) and bits * right > limits.int_bits:
            raise TemplateLimitError(
                f"{left if bits <= 64 else 'a ' + str(bits) + '-bit integer'} ** {right} "
                f"would exceed {limits.int_bits} bits"
            )
    elif operator == "*":
        if _int_bits(left) + _int_bits(right) > limits.int_bits and isinstance(right, int):
            raise TemplateLimitError(f"product would exceed {limits.int_bits} bits")
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                b.spend(len(seq) * max(times, 0))
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            b.spend(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left, right)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def check_percent_format(fmt: str, args: Any = None) -> None:
    """``'%1000000000s' % x`` builds a gigabyte: widths and precisions are bounded."""
    limit = current_budget().limits.output
    for match in _PERCENT_SPEC.finditer(fmt):
        for number in match.groups():
            if number == "*":
                raise TemplateLimitError("'*' widths in %-formatting are not allowed")
            if number and int(number) > limit:
                raise TemplateLimitError(f"format width {number} (limit {limit})")


def check_brace_format(fmt: str) -> None:
    """``'{:>1000000000}'.format(x)``: widths are bounded, nested specs refused."""
    limit = current_budget().limits.output
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format raises the same error, with its own message
    for _text, _name, spec, _conversion in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateLimitError("nested replacement fields in a format spec are not allowed")
        for number in re.findall(r"\d+", spec):
            if int(number) > limit:
                raise TemplateLimitError(f"format width {number} (limit {limit})")


# --------------------------------------------------------------------------- str methods


def _width(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _projected_replace(s: str, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(s)
    hits = (len(s) + 1) if old == "" else s.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(len(new) - len(old), 0)


def check_str_method(s: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a str method whose result would be too large, before it runs."""
    b = current_budget()
    if name in ("ljust", "rjust", "center", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        b.spend(max(_width(width), len(s)))
    elif name == "replace":
        b.spend(_projected_replace(s, *args[:3]))
    elif name == "expandtabs":
        size = _width(args[0] if args else kwargs.get("tabsize", 8))
        b.spend(len(s) + s.count("\t") * size)
    elif name in ("format", "format_map"):
        check_brace_format(s)
    elif name == "join" and args and isinstance(args[0], list | tuple):
        b.spend(sum(len(x) for x in args[0] if isinstance(x, str)) + len(s) * len(args[0]))


# --------------------------------------------------------------------------- loops, concat, range


def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    """What a ``{% for %}`` loop iterates: each iteration is charged."""
    b = current_budget()
    for item in iterable:
        b.step()
        yield item


def bounded_concat(parts: list[Any]) -> str:
    """The ``~`` operator: charged by the length it builds."""
    texts = [str(p) for p in parts]
    current_budget().spend(sum(map(len, texts)))
    return "".join(texts)


def bounded_range(*args: int) -> range:
    """``range`` whose length is at most the loop bound (the sandbox's own is 100 000)."""
    limit = current_budget().limits.steps
    r = range(*args)
    if len(r) > limit:
        raise TemplateLimitError(f"range of {len(r)} items (limit {limit})")
    return r


# --------------------------------------------------------------------------- filters


def _pre_filter(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Checks for the built-in filters that build large values from small ones."""
    b = current_budget()
    value = args[0] if args else None
    rest = args[1:]

    def arg(index: int, key: str, default: Any = None) -> Any:
        return rest[index] if len(rest) > index else kwargs.get(key, default)

    if name == "center":
        b.spend(max(_width(arg(0, "width", 80)), _size(value)))
    elif name == "indent" and isinstance(value, str):
        width = arg(0, "width", 4)
        width = len(width) if isinstance(width, str) else _width(width)
        b.spend(len(value) + (value.count("\n") + 1) * width)
    elif name == "format" and isinstance(value, str):
        check_percent_format(value)
    elif name == "replace" and isinstance(value, str):
        b.spend(_projected_replace(value, arg(0, "old"), arg(1, "new"), arg(2, "count", -1)))
    elif name in ("slice", "batch"):
        count = _width(arg(0, "slices" if name == "slice" else "linecount", 0))
        if count > b.limits.steps:
            raise TemplateLimitError(f"{name}({count}) (limit {b.limits.steps})")
    elif name == "join" and isinstance(value, list | tuple):
        sep = arg(0, "d", "")
        b.spend(sum(_size(x) for x in value) + len(str(sep)) * len(value))


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that charges its call, checks its arguments and its result.

    ``functools.wraps`` keeps Jinja's ``pass_context``-style markers, so the
    wrapped filter is called exactly as the original.
    """
    pass_arg = getattr(func, "jinja_pass_arg", None)
    offset = 1 if pass_arg is not None else 0

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_budget().step()
        _pre_filter(name, args[offset:], kwargs)
        result = func(*args, **kwargs)
        if isinstance(result, Iterator):
            return bounded_iter(result)
        return check_result(result)

    return wrapper

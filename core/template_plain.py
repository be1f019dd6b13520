"""Plain templates compiled to Python: field maps without a Jinja render per record.

Most flow templates are field maps: ``{{ record.sku }}``, a little arithmetic,
a default, a filter chain such as ``[q - (config.buffer_stock or 0), 0] | max``.
Rendering them through Jinja costs a context, a budget and the sandbox's hooks
per field and record, several times the cost of the work itself.  An expression
built only from the node types below is translated once, at compile time, into
one Python function that does the same operations in the same order, with the
sandbox's own decisions taken where they cannot differ:

- names, ``.attr`` and ``['key']`` read plain dicts (and lists/tuples/strings by
  integer index) only; any other object, a missing name or key, or an attribute
  that is a ``dict`` method makes that render go to Jinja;
- arithmetic runs only on numbers (``int``, ``float``, ``Decimal``) and refuses
  integers past the bound exactly as :func:`pazar.template_bounds.check_binop`
  does; anything else (``'a' + 'b'``, ``[1] * 3``) goes to Jinja;
- filters and tests from a fixed list of Jinja's own pure ones, called as
  Jinja calls them (the sandboxed environment passed where they take one),
  their results charged against the same bounds (integer size, output, work);
- ``dict.get(key[, default])`` is the one method call.

The compiled function never decides an error: whenever it meets something it
does not handle, or anything raises, the render is done again by Jinja, which
gives the result or the error message it always gave.  Templates are pure
(sandboxed, immutable), so evaluating one twice changes nothing.  Secrets stay
out of reach because the compiled function reads the same context Jinja reads
(the config without its secret fields); names starting with ``_`` never get
here (refused when the template is compiled).  Plain templates have no loops
and at most a handful of calls, so the step and time bounds cannot be reached
by them; the output, work and integer bounds are checked as Jinja checks them.
A template rendered inside another render (a filter rendering a channel format)
is left to Jinja, so its work is charged to the outer render's budget
(:meth:`pazar.templating.Expression.render`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.utils import _PassArg

from pazar.template_bounds import Limits

# Jinja's own filters that compute a value from their arguments and nothing else,
# build nothing larger than what they are given (the growing ones, which the bounds
# check before they run, stay with Jinja), and return a value, not an iterator.
PURE_FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "d",
        "default",
        "first",
        "float",
        "int",
        "last",
        "length",
        "count",
        "lower",
        "max",
        "min",
        "round",
        "string",
        "sum",
        "title",
        "trim",
        "upper",
    }
)
PURE_TESTS = frozenset(
    {
        "defined",
        "undefined",
        "none",
        "number",
        "string",
        "mapping",
        "sequence",
        "integer",
        "float",
        "boolean",
        "true",
        "false",
        "even",
        "odd",
        "divisibleby",
        "lower",
        "upper",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "equalto",
        "greaterthan",
        "lessthan",
        "in",
    }
)
_DICT_ATTRIBUTES = frozenset(dir(dict))
_COMPARE = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in"}
_COMPARE["notin"] = "not in"
_BINOPS = {
    nodes.Add: "+",
    nodes.Sub: "-",
    nodes.Mul: "*",
    nodes.Div: "/",
    nodes.FloorDiv: "//",
    nodes.Mod: "%",
    nodes.Pow: "**",
}
_NUMBERS = frozenset({int, float, Decimal})
MISSING = object()


class NotPlain(Exception):
    """The template uses something the compiler does not translate: Jinja renders it."""


class Fallback(Exception):
    """This render meets something the compiled function does not decide: Jinja renders it."""


_SIZED = (str, bytes, list, tuple, dict, set, frozenset)
_SIZED_EXACT = frozenset(_SIZED)
# Values that have no size (what template_bounds._size gives 0 for), by exact type.
_UNSIZED = frozenset({int, float, bool, Decimal, type(None)})


def _size(value: Any) -> int:
    """template_bounds._size, with the usual exact types decided first."""
    kind = type(value)
    if kind in _SIZED_EXACT:
        return len(value)
    if kind in _UNSIZED:
        return 0
    return len(value) if isinstance(value, _SIZED) else 0


def _charger(limits: Limits) -> Callable[[Any], int]:
    """What :func:`pazar.template_bounds.check_result` charges for a value built by a
    filter or call: refused past the integer or output bound, else its size."""
    bits, output = limits.int_bits, limits.output

    def cost(value: Any) -> int:
        if type(value) is int:
            if value.bit_length() > bits:
                raise Fallback
            return 0
        if isinstance(value, Iterator | Undefined):
            # Jinja would hand out a bounded iterator; an undefined (``'' | max``) is
            # Jinja's error to word.
            raise Fallback
        size = _size(value)
        if size > output:
            raise Fallback
        return size

    return cost


class _Compiler:
    """Emits the statements of one function, a temporary per node."""

    def __init__(self, env: Any, limits: Limits) -> None:
        self.env = env
        self.limits = limits
        self.lines: list[str] = []
        self.depth = 1
        self.names: dict[str, Any] = {}
        self.count = 0
        self.calls = 0

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def temp(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def const(self, value: Any) -> str:
        name = f"_k{len(self.names)}"
        self.names[name] = value
        return name

    def block(self, node: nodes.Node, target: str) -> None:
        """Evaluate ``node`` one level deeper and store it in ``target``."""
        self.depth += 1
        self.emit(f"{target} = {self.expr(node)}")
        self.depth -= 1

    def expr(self, node: nodes.Node) -> str:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            raise NotPlain(type(node).__name__)
        return handler(node)

    # -- reads -----------------------------------------------------------------------------
    def _Name(self, node: nodes.Name) -> str:
        if node.ctx != "load":
            raise NotPlain("assignment")
        t = self.temp()
        self.emit(f"{t} = _ctx.get({self.const(node.name)}, _M)")
        self.emit(f"if {t} is _M: raise _F")
        return t

    def _Getattr(self, node: nodes.Getattr) -> str:
        if node.attr in _DICT_ATTRIBUTES:
            raise NotPlain("a dict method as a value")
        inner = self.expr(node.node)
        t = self.temp()
        self.emit(f"if type({inner}) is not dict: raise _F")
        self.emit(f"{t} = {inner}.get({self.const(node.attr)}, _M)")
        self.emit(f"if {t} is _M: raise _F")
        return t

    def _Getitem(self, node: nodes.Getitem) -> str:
        if isinstance(node.arg, nodes.Slice):
            raise NotPlain("slice")
        inner = self.expr(node.node)
        key = self.expr(node.arg)
        t = self.temp()
        self.emit(f"if type({inner}) is dict: {t} = {inner}.get({key}, _M)")
        self.emit(
            f"elif type({inner}) in _SEQ and type({key}) is int"
            f" and -len({inner}) <= {key} < len({inner}): {t} = {inner}[{key}]"
        )
        self.emit("else: raise _F")
        self.emit(f"if {t} is _M: raise _F")
        return t

    # -- literals --------------------------------------------------------------------------
    def _Const(self, node: nodes.Const) -> str:
        value = node.value
        if isinstance(value, str | int | float | bool | type(None)):
            return self.const(value)
        if isinstance(value, dict | list | tuple) and _literal(value):
            # Jinja folds ``{}`` or ``[1, 2]`` into a constant and writes it out as a
            # literal, a new object per render: so does this.
            return repr(value)
        raise NotPlain("constant")

    def _List(self, node: nodes.List) -> str:
        return "[" + ", ".join(self.expr(item) for item in node.items) + "]"

    def _Tuple(self, node: nodes.Tuple) -> str:
        if node.ctx != "load":
            raise NotPlain("assignment")
        return "(" + "".join(f"{self.expr(item)}, " for item in node.items) + ")"

    def _Dict(self, node: nodes.Dict) -> str:
        pairs = [f"{self.expr(pair.key)}: {self.expr(pair.value)}" for pair in node.items]
        return "{" + ", ".join(pairs) + "}"

    # -- logic -----------------------------------------------------------------------------
    def _Or(self, node: nodes.Or) -> str:
        t = self.temp()
        self.emit(f"{t} = {self.expr(node.left)}")
        self.emit(f"if not {t}:")
        self.block(node.right, t)
        return t

    def _And(self, node: nodes.And) -> str:
        t = self.temp()
        self.emit(f"{t} = {self.expr(node.left)}")
        self.emit(f"if {t}:")
        self.block(node.right, t)
        return t

    def _Not(self, node: nodes.Not) -> str:
        return f"(not {self.expr(node.node)})"

    def _Neg(self, node: nodes.Neg) -> str:
        return f"(-{self.expr(node.node)})"

    def _Pos(self, node: nodes.Pos) -> str:
        return f"(+{self.expr(node.node)})"

    def _CondExpr(self, node: nodes.CondExpr) -> str:
        t = self.temp()
        self.emit(f"if {self.expr(node.test)}:")
        self.block(node.expr1, t)
        self.emit("else:")
        if node.expr2 is None:  # ``a if b`` without else: undefined, Jinja's error
            self.depth += 1
            self.emit("raise _F")
            self.depth -= 1
        else:
            self.block(node.expr2, t)
        return t

    def _Compare(self, node: nodes.Compare) -> str:
        # Jinja emits one chained Python comparison; its operands are pure, so
        # evaluating each once up front gives the same value.
        parts = [self.expr(node.expr)]
        for operand in node.ops:
            op = _COMPARE.get(operand.op)
            if op is None:
                raise NotPlain(operand.op)
            parts += [op, self.expr(operand.expr)]
        return "(" + " ".join(parts) + ")"

    # -- arithmetic ------------------------------------------------------------------------
    def _binop(self, node: nodes.BinExpr) -> str:
        op = _BINOPS[type(node)]
        left, right = self.expr(node.left), self.expr(node.right)
        t = self.temp()
        self.emit(f"if type({left}) not in _NUM or type({right}) not in _NUM: raise _F")
        if op == "*":  # check_binop: refused before computing past the integer bound
            self.emit(
                f"if isinstance({right}, int) and _ib({left}) + _ib({right}) > _BITS: raise _F"
            )
        elif op == "**":
            self.emit(
                f"if type({right}) is int and {right} > 0 and type({left}) is int"
                f" and {left}.bit_length() * {right} > _BITS: raise _F"
            )
        self.emit(f"{t} = {left} {op} {right}")
        self.emit(f"if type({t}) is int and {t}.bit_length() > _BITS: raise _F")
        return t

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _Pow = _binop

    def _Concat(self, node: nodes.Concat) -> str:
        parts = [self.expr(part) for part in node.nodes]
        t = self.temp()
        self.emit(f"{t} = ''.join([{', '.join(f'str({p})' for p in parts)}])")
        self.charge_size(t)
        return t

    # -- filters, tests, calls -------------------------------------------------------------
    def _arguments(self, node: nodes.Filter | nodes.Test | nodes.Call) -> str:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise NotPlain("*args")
        args = [self.expr(arg) for arg in node.args]
        args += [f"{kw.key}={self.expr(kw.value)}" for kw in node.kwargs]
        return "".join(f", {a}" for a in args)

    def _function(self, func: Any) -> tuple[str, str]:
        """The callable and what Jinja passes before the value (the environment)."""
        passes = _PassArg.from_obj(func)
        if passes is _PassArg.environment:
            return self.const(func), f"{self.const(self.env)}, "
        if passes is not None:
            raise NotPlain("a filter that reads the render's context")
        return self.const(func), ""

    def _Filter(self, node: nodes.Filter) -> str:
        if node.name not in PURE_FILTERS or node.node is None:
            raise NotPlain(f"filter {node.name}")
        wrapped = self.env.filters.get(node.name)
        func = getattr(wrapped, "__wrapped__", wrapped)
        if func is None:
            raise NotPlain(f"filter {node.name}")
        if node.name in _EXTREMES and not node.args and not node.kwargs:
            func = _numbers_first(_EXTREMES[node.name], func)
        name, before = self._function(func)
        value = self.expr(node.node)
        args = self._arguments(node)
        t = self.temp()
        self.calls += 1
        self.emit(f"{t} = {name}({before}{value}{args})")
        self.charge(t)
        return t

    def _Test(self, node: nodes.Test) -> str:
        func = self.env.tests.get(node.name)
        if node.name not in PURE_TESTS or func is None:
            raise NotPlain(f"test {node.name}")
        name, before = self._function(func)
        value = self.expr(node.node)
        args = self._arguments(node)
        return f"{name}({before}{value}{args})"

    def _Call(self, node: nodes.Call) -> str:
        target = node.node
        if not (
            isinstance(target, nodes.Getattr)
            and target.attr == "get"
            and 1 <= len(node.args) <= 2
            and not node.kwargs
        ):
            raise NotPlain("a call other than dict.get")
        owner = self.expr(target.node)
        args = self._arguments(node)
        t = self.temp()
        self.calls += 1
        self.emit(f"if type({owner}) is not dict: raise _F")
        self.emit(f"{t} = {owner}.get({args[2:]})")
        self.charge(t)
        return t

    def charge(self, t: str) -> None:
        self.emit(f"if type({t}) is int:")
        self.emit(f"    if {t}.bit_length() > _BITS: raise _F")
        self.emit("else:")
        self.emit(f"    _w += _cost({t})")
        self.emit("    if _w > _WORK: raise _F")

    def charge_size(self, t: str) -> None:
        self.emit(f"if len({t}) > _OUT: raise _F")
        self.emit(f"_w += len({t})")
        self.emit("if _w > _WORK: raise _F")

    # -- the function ----------------------------------------------------------------------
    def function(self, body: list[str], result: str) -> Callable[[Mapping[str, Any]], Any]:
        if self.calls >= self.limits.steps:
            raise NotPlain("more calls than a render may make")
        source = "\n".join(
            [
                "def plain(_ctx):",
                "    _w = 0",
                *body,
                f"    {result}",
            ]
        )
        namespace: dict[str, Any] = {
            **self.names,
            "_M": MISSING,
            "_F": Fallback,
            "_NUM": _NUMBERS,
            "_SEQ": (list, tuple, str),
            "_BITS": self.limits.int_bits,
            "_OUT": self.limits.output,
            "_WORK": self.limits.work,
            "_ib": _int_bits,
            "_cost": _charger(self.limits),
            "_size": _size,
            "_UNSIZED": _UNSIZED,
        }
        exec(compile(source, "<plain template>", "exec"), namespace)  # noqa: S102 - generated from whitelisted nodes
        return namespace["plain"]


_EXTREMES = {"max": max, "min": min}


def _numbers_first(builtin: Callable[..., Any], jinja: Callable[..., Any]) -> Callable[..., Any]:
    """``max``/``min`` of a list of plain numbers, as Jinja's filter computes it without
    its per-item key (which only lowers strings); anything else goes to the filter."""

    def extreme(environment: Any, value: Any) -> Any:
        if type(value) in (list, tuple) and value and all(type(x) in _NUMBERS for x in value):
            return builtin(value)
        return jinja(environment, value)

    extreme.jinja_pass_arg = _PassArg.environment  # type: ignore[attr-defined]
    return extreme


def _literal(value: Any) -> bool:
    """A container of plain constants, whose ``repr`` is a Python literal of it."""
    if isinstance(value, dict):
        return all(_literal(k) and _literal(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_literal(v) for v in value)
    return type(value) in (str, int, bool, type(None)) or (
        type(value) is float and value == value and value not in (float("inf"), float("-inf"))
    )


def _int_bits(value: Any) -> int:
    return value.bit_length() if type(value) is int else 0


def compile_value(
    node: nodes.Expr, env: Any, limits: Limits
) -> Callable[[Mapping[str, Any]], Any] | None:
    """A Python function giving the value of the expression ``node`` (as Jinja's
    ``{{ expr }}`` field keeps it), or None when the expression is not plain."""
    compiler = _Compiler(env, limits)
    try:
        value = compiler.expr(node)
        compiler.emit(f"if type({value}) not in _UNSIZED and _size({value}) > _OUT: raise _F")
        return compiler.function(compiler.lines, f"return {value}")
    except NotPlain:
        return None


def compile_text(
    tree: nodes.Template, env: Any, limits: Limits
) -> Callable[[Mapping[str, Any]], str] | None:
    """A Python function rendering a text template made of literal text and plain
    ``{{ expr }}`` parts (``"HB-{{ record.sku }}"``), or None when it is anything else."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    compiler = _Compiler(env, limits)
    try:
        parts = []
        for child in tree.body[0].nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append(compiler.const(child.data))
            else:
                parts.append(f"str({compiler.expr(child)})")
        t = compiler.temp()
        compiler.emit(f"{t} = ''.join([{', '.join(parts)}])")
        compiler.emit(f"if len({t}) > _OUT: raise _F")
        return compiler.function(compiler.lines, f"return {t}")
    except NotPlain:
        return None

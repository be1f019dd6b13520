"""Jinja for flows and channel formats: sandboxed, strict, compiled once, native values.

Operators write templates in YAML flows and channel configs, so a template is
input from outside the code: it runs in Jinja's immutable sandbox, any access
to a name starting with ``_`` is refused when the template is compiled (before
anything runs), and an undefined variable is an error instead of an empty
string that would silently reach a marketplace.

Every render is bounded in output, work, loop iterations, integer size and
wall time (:mod:`pazar.template_bounds`), and every compiled template knows the
variables it reads, so validation can refuse a name its place does not
provide (:mod:`pazar.template_checks`).

A field that is exactly one ``{{ expression }}`` keeps its Python type, so
``"{{ record.quantity - 3 }}"`` is the number 7, not the string "7".  Channel
formats keep the seed's own syntax (``"HB-{orderNumber}-{id}"``,
``"...?code={tracking_number}"``) next to full Jinja.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.runtime import new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer

from pazar.errors import PazarError, ValidationError
from pazar.suggest import did_you_mean
from pazar.template_bounds import (
    DEFAULT_LIMITS,
    Limits,
    TemplateLimitError,
    bounded_filter,
    bounded_range,
    budget,
    check_binop,
    check_data,
    check_output,
    check_result,
    check_str_method,
    current_budget,
    in_render,
)
from pazar.template_plain import compile_text, compile_value

# Jinja tags, left alone when seed-style placeholders are translated.
_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# A seed-style placeholder: {name}, {a.b}, or the seed's PTT spelling ${name}.
_PLACEHOLDER = re.compile(r"\$?\{(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")
# Filters that look attributes up by a name given as a string argument.
_ATTRIBUTE_FILTERS = frozenset(
    {"attr", "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min", "max"}
)
_DICT_ATTRIBUTES = frozenset(dir(dict))
# Names every template sees besides its context: Jinja's globals (lipsum is left out:
# it builds text of any size from a number).
TEMPLATE_GLOBALS = frozenset({"range", "dict", "cycler", "joiner", "namespace"})


class TemplateError(ValidationError):
    """A template that cannot be compiled or rendered; ``problem`` omits the location.

    ``limit`` is true when the template hit one of its bounds (output, integer
    size, iterations, time), ``refused`` when the sandbox refused what it did (an
    internal attribute, giving a function instead of a value): a config check refuses
    such a template even when it only saw sample values, which no real value would mend.
    """

    def __init__(
        self, where: str, problem: str, *, limit: bool = False, refused: bool = False
    ) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem
        self.limit = limit
        self.refused = refused


class Expression:
    """One compiled template; ``render`` evaluates it against a context.

    ``names`` are the context variables it reads (``record``, ``config``, ...), so
    a validator can refuse a name the template's place does not provide before
    anything runs; ``fields`` the ``(variable, key)`` pairs it reads directly
    (``config.buffer_stock`` → ``("config", "buffer_stock")``).
    """

    def __init__(
        self,
        source: str,
        where: str,
        render: Callable[[Mapping[str, Any]], Any],
        names: frozenset[str] = frozenset(),
        fields: frozenset[tuple[str, str]] = frozenset(),
        plain: Callable[[Mapping[str, Any]], Any] | None = None,
    ) -> None:
        self.source = source
        self.where = where
        self._render = render
        self._plain = plain
        self.names = names
        self.fields = fields
        self.plain = plain is not None

    def render(self, context: Mapping[str, Any]) -> Any:
        plain = self._plain
        # Nested in another render (a filter rendering a channel format), Jinja renders
        # it: its work is charged to the outer render's budget, as it always was.
        if plain is not None and not in_render():
            try:
                return plain(context)
            except Exception:  # noqa: BLE001, S110 - not decided there: Jinja decides below
                pass
        try:
            return self._render(context)
        except UndefinedError as exc:
            raise TemplateError(self.where, f"{exc.message} (in {self.source!r})") from None
        except TemplateLimitError as exc:
            raise TemplateError(self.where, f"exceeds a bound: {exc}", limit=True) from None
        except SecurityError as exc:
            raise TemplateError(self.where, f"not allowed: {exc}", refused=True) from None
        except TemplateError:
            raise
        except PazarError as exc:  # a filter's own clear message (unknown cargo prefix, ...)
            raise TemplateError(self.where, exc.message) from None
        except Exception as exc:  # noqa: BLE001 - any failure inside a template is the template's
            raise TemplateError(
                self.where, f"{type(exc).__name__}: {exc} (in {self.source!r})"
            ) from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def _names_reached(node: nodes.Node) -> list[Any]:
    """The attribute/item/variable names one node reaches for, as written."""
    if isinstance(node, nodes.Getattr):
        return [node.attr]
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return [node.arg.value]
    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
        # |attr('__class__'), |map(attribute='__dict__'), |sort(attribute='a._b') ...
        consts = [a.value for a in node.args if isinstance(a, nodes.Const)]
        consts += [k.value.value for k in node.kwargs if isinstance(k.value, nodes.Const)]
        return [part for c in consts if isinstance(c, str) for part in c.split(".")]
    return []


def _check_safe(tree: nodes.Node, where: str) -> None:
    """Refuse ``x.__class__``, ``x['_private']``, ``x|attr('_y')`` before anything runs.

    The sandbox would also stop most of these at render time, but only for the
    records that reach them; refusing at compile time makes ``pazar flows
    validate`` catch them before a flow ever runs.
    """
    for node in _post_order(tree):
        for name in _names_reached(node):
            if isinstance(name, str) and name.startswith("_"):
                raise TemplateError(
                    where, f"template may not access {name!r} (Python internals are off limits)"
                )


def _names_read(tree: nodes.Template) -> frozenset[str]:
    """Context variables the template reads (not the ones it sets itself, nor globals)."""
    return frozenset(meta.find_undeclared_variables(tree)) - TEMPLATE_GLOBALS


def _fields_read(tree: nodes.Template, names: frozenset[str]) -> frozenset[tuple[str, str]]:
    """``(variable, key)`` for every ``variable.key`` / ``variable['key']`` of a context variable."""
    found: set[tuple[str, str]] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        inner = node.node
        if not (isinstance(inner, nodes.Name) and inner.ctx == "load" and inner.name in names):
            continue
        if isinstance(node, nodes.Getattr):
            found.add((inner.name, node.attr))
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.add((inner.name, node.arg.value))
    return frozenset(found)


def _post_order(node: nodes.Node) -> Iterator[nodes.Node]:
    """Children before parents: ``''.__class__.__mro__`` reports ``__class__`` first."""
    for child in node.iter_child_nodes():
        yield from _post_order(child)
    yield node


class _Bounder(NodeTransformer):
    """Routes every ``for`` loop and every ``~`` through the budget of the render.

    Jinja compiles both to plain Python (``for x in ...``, ``"".join(...)``)
    that no sandbox hook sees; rewriting them as calls to the bounded helpers
    makes each iteration and each concatenation pay.
    """

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = _helper_call("bounded_iter", [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        items = nodes.List(list(node.nodes), lineno=node.lineno)
        return _helper_call("bounded_concat", [items], node.lineno)


def _helper_call(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    helper = nodes.ImportedName(f"pazar.template_bounds.{name}", lineno=lineno)
    return nodes.Call(helper, args, [], None, None, lineno=lineno)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every render's cost bounded (see template_bounds)."""

    intercepted_binops = frozenset({"**", "*", "+", "-", "/", "//", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.pop("lipsum", None)
        self.globals["range"] = bounded_range

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        source = _Bounder().visit(source)
        source.set_environment(self)
        return super()._generate(source, name, filename, defer_init=defer_init)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # ``record.sku`` on a plain dict: Jinja tries the attribute first and falls back
        # to the item after an AttributeError, which costs more than the rest of the
        # lookup.  A plain dict has no attribute outside dir(dict), so reading the item
        # straight away gives the same result; anything else takes Jinja's own path.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            value = obj.get(attribute, missing)
            if value is not missing:
                return value
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return check_result(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        current_budget().step()
        target = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the sandbox
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            check_str_method(owner, getattr(target, "__name__", ""), args, kwargs)
        return check_result(super().call(__context, __obj, *args, **kwargs))


def _single_expression(source: str, tree: nodes.Template) -> str | None:
    """The expression text when ``source`` is one ``{{ ... }}`` and nothing else.

    Decided on the parsed tree (not a regex) so ``{{ {'a': {'b': 1}} }}`` and
    ``{{- x -}}`` count, and ``{{ a }}{{ b }}`` does not.
    """
    stripped = source.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts = [
        n
        for n in tree.body[0].nodes
        if not (isinstance(n, nodes.TemplateData) and not n.data.strip())
    ]
    if len(parts) != 1 or isinstance(parts[0], nodes.TemplateData):
        return None
    inner = stripped[2:-2]
    if inner[:1] in "-+" and inner[:1]:
        inner = inner[1:]
    if inner[-1:] in "-+" and inner[-1:]:
        inner = inner[:-1]
    return inner


def translate_placeholders(source: str) -> str:
    """Turn the seed's ``{name}`` / ``${name}`` placeholders into Jinja variables.

    Only text outside Jinja tags is translated, so ``{{ ... }}``, ``{% ... %}``
    and string literals inside them keep their meaning.
    """
    out: list[str] = []
    pos = 0
    for tag in _JINJA_TAG.finditer(source):
        out.append(_PLACEHOLDER.sub(_as_variable, source[pos : tag.start()]))
        out.append(tag.group(0))
        pos = tag.end()
    out.append(_PLACEHOLDER.sub(_as_variable, source[pos:]))
    return "".join(out)


def _as_variable(match: re.Match[str]) -> str:
    return "{{ " + match.group("name") + " }}"


class _Undefined(StrictUndefined):
    """StrictUndefined that says which field a record lacks and which it has.

    Jinja's own wording ("'dict object' has no attribute 'qty'") hides that the
    object is the record; the field names it does have point at the typo.
    """

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if self._undefined_hint is None and obj is not missing and isinstance(obj, Mapping):
            fields = sorted(map(str, obj))
            shown = ", ".join(fields[:15]) + (", ..." if len(fields) > 15 else "")
            return f"no field {name!r} (fields: {shown or 'none'})"
        return super()._undefined_message


class TemplateEnv:
    """Compiles templates with one set of filters; every method compiles once.

    A template that is a plain field map renders as compiled Python with Jinja as its
    fallback (:mod:`pazar.template_plain`); ``plain=False`` renders everything with Jinja
    (the tests compare the two).
    """

    def __init__(
        self,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        *,
        limits: Limits = DEFAULT_LIMITS,
        plain: bool = True,
    ) -> None:
        self.env = _Sandbox(undefined=_Undefined, autoescape=False, finalize=check_data)
        self.limits = limits
        # Plain templates render as compiled Python (pazar.template_plain); off: all Jinja.
        self.plain = plain
        every = {**self.env.filters, **(filters or {})}
        self.env.filters = {name: bounded_filter(name, f) for name, f in every.items()}
        # A daemon runs the same flows over and over: compile each template once per process.
        self._compiled: dict[tuple[str, str, str], Expression] = {}

    def _memo(
        self, kind: str, source: str, where: str, compile_: Callable[[], Expression]
    ) -> Expression:
        key = (kind, source, where)
        found = self._compiled.get(key)
        if found is None:
            try:
                found = compile_()
            # Jinja computes the constant parts of a template while compiling it, and a
            # constant that is an error (``('' | max) ~ record.sku``: an undefined made
            # text) raises there instead of when the template renders.  Worded as the
            # render's own errors are.
            except UndefinedError as exc:
                raise TemplateError(where, f"{exc.message} (in {source!r})") from None
            except SecurityError as exc:
                raise TemplateError(where, f"not allowed: {exc}", refused=True) from None
            self._compiled[key] = found
        return found

    def _parse(self, source: str, where: str) -> nodes.Template:
        try:
            tree = self.env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                where, f"template syntax error on line {exc.lineno}: {exc.message}"
            ) from None
        _check_safe(tree, where)
        self._check_known(tree, where)
        return tree

    def _check_known(self, tree: nodes.Node, where: str) -> None:
        """An unknown filter or test is named with the nearest known one, before
        Jinja's code generator would stop at it with an exception of its own."""
        for node in tree.find_all((nodes.Filter, nodes.Test)):
            known = self.env.filters if isinstance(node, nodes.Filter) else self.env.tests
            if node.name is not None and node.name not in known:
                kind = "filter" if isinstance(node, nodes.Filter) else "test"
                raise TemplateError(
                    where, f"unknown {kind} {node.name!r}{did_you_mean(node.name, list(known))}"
                )

    def _from_string(self, source: str | nodes.Template, where: str) -> Any:
        try:
            return self.env.from_string(source)
        except TemplateSyntaxError as exc:  # TemplateAssertionError too
            raise TemplateError(
                where, f"template error on line {exc.lineno}: {exc.message}"
            ) from None

    def _compile_expression(self, expr: str, source: str, where: str) -> Expression:
        """Compile one bare expression whose value (not its text) is the result.

        Same construction as ``Environment.compile_expression`` (assign the
        expression to ``result``), but rendered through :meth:`_run`, which skips
        Jinja's per-call merge of the globals ChainMap (most of the cost per record).
        """
        try:
            parser = Parser(self.env, expr, state="variable")
            parsed = parser.parse_expression()
            if not parser.stream.eos:
                parser.fail("unexpected text after the expression")
        except TemplateSyntaxError as exc:
            raise TemplateError(where, f"template syntax error: {exc.message}") from None
        tree = nodes.Template([nodes.Assign(nodes.Name("result", "store"), parsed)], lineno=1)
        tree.set_environment(self.env)
        _check_safe(tree, where)
        self._check_known(tree, where)
        names = _names_read(tree)
        fields = _fields_read(tree, names)
        # Before Jinja's code generator rewrites the tree (see _Bounder).
        plain = compile_value(parsed, self.env, self.limits) if self.plain else None
        template = self._from_string(tree, where)
        run = self._runner(template)
        limits = self.limits

        def render(context: Mapping[str, Any]) -> Any:
            with budget(limits):
                value = run(context).vars["result"]
                if isinstance(value, StrictUndefined):
                    str(value)  # raises UndefinedError naming the variable
            return check_output(value, limits)

        return Expression(source, where, render, names, fields, plain)

    def _compile_text(self, source: str, where: str) -> Expression:
        tree = self._parse(source, where)
        names = _names_read(tree)
        fields = _fields_read(tree, names)
        plain = compile_text(tree, self.env, self.limits) if self.plain else None
        template = self._from_string(source, where)
        root, run = template.root_render_func, self._runner(template)
        limits = self.limits

        def render(context: Mapping[str, Any]) -> str:
            parts: list[str] = []
            size = 0
            with budget(limits):
                ctx = run(context, consume=False)
                for part in root(ctx):
                    size += len(part)
                    if size > limits.output:
                        raise TemplateLimitError(f"output longer than {limits.output} characters")
                    parts.append(part)
            return "".join(parts)

        return Expression(source, where, render, names, fields, plain)

    def _runner(self, template: Any) -> Callable[..., Any]:
        """Per-record evaluation with the template's globals flattened once."""
        flat_globals = dict(template.globals)
        root = template.root_render_func
        env, name, blocks = self.env, template.name, template.blocks

        def run(context: Mapping[str, Any], consume: bool = True) -> Any:
            ctx = new_context(
                env, name, blocks, {**flat_globals, **context}, shared=True, globals=flat_globals
            )
            if consume:
                for _ in root(ctx):
                    pass
            return ctx

        return run

    def expression(self, source: Any, where: str = "") -> Expression:
        """A field value: one ``{{ expr }}`` keeps its type; other text renders a string.

        Lists and objects are compiled member by member, so a payload can be
        written as nested YAML with templates at the leaves.
        """
        if isinstance(source, Mapping):
            members = {k: self.expression(v, f"{where}/{k}") for k, v in source.items()}

            def mapping(c: Mapping[str, Any]) -> dict[Any, Any]:
                return {k: e.render(c) for k, e in members.items()}

            expr = Expression(
                repr(source),
                where,
                mapping,
                frozenset().union(*(e.names for e in members.values())),
                frozenset().union(*(e.fields for e in members.values())),
            )
            expr.plain = all(e.plain for e in members.values())  # each member renders on its own
            return expr
        if isinstance(source, list | tuple):
            elements = [self.expression(v, f"{where}/{i}") for i, v in enumerate(source)]

            def sequence(c: Mapping[str, Any]) -> list[Any]:
                return [e.render(c) for e in elements]

            expr = Expression(
                repr(source),
                where,
                sequence,
                frozenset().union(*(e.names for e in elements)),
                frozenset().union(*(e.fields for e in elements)),
            )
            expr.plain = all(e.plain for e in elements)  # each member renders on its own
            return expr
        if not isinstance(source, str):
            value = source
            return Expression(repr(source), where, lambda _context: value, plain=lambda _c: value)
        return self._memo("expression", source, where, lambda: self._text_expression(source, where))

    def _text_expression(self, source: str, where: str) -> Expression:
        tree = self._parse(source, where)
        single = _single_expression(source, tree)
        if single is not None:
            return self._compile_expression(single, source, where)
        if not any(tag in source for tag in ("{{", "{%", "{#")):
            return Expression(source, where, lambda _context: source, plain=lambda _c: source)
        return self._compile_text(source, where)

    def predicate(self, source: str, where: str = "") -> Expression:
        """A condition written bare (``record.quantity > 0``) or as ``{{ ... }}``."""
        return self._memo(
            "predicate", str(source), where, lambda: self._predicate(str(source), where)
        )

    def _predicate(self, text: str, where: str) -> Expression:
        single = _single_expression(text, self._parse(text, where)) if "{{" in text else None
        expr = self._compile_expression(single if single is not None else text, text, where)
        predicate = Expression(
            text, where, lambda context: bool(expr.render(context)), expr.names, expr.fields
        )
        predicate.plain = expr.plain  # the wrapped expression renders on its own
        return predicate

    def format(self, source: str, where: str = "") -> Expression:
        """A channel format: the seed's ``{name}`` placeholders and Jinja both work."""
        return self._memo("format", str(source), where, lambda: self._format(str(source), where))

    def _format(self, source: str, where: str) -> Expression:
        compiled = self._compile_text(translate_placeholders(source), where)
        formatted = Expression(
            str(source),
            where,
            lambda context: str(compiled.render(context)),
            compiled.names,
            compiled.fields,
        )
        formatted.plain = compiled.plain  # the wrapped text renders on its own
        return formatted


@functools.lru_cache(maxsize=512)
def _cached_format(source: str) -> Expression:
    return _PLAIN_ENV.format(source, "format")


def render_format(source: str, **values: Any) -> str:
    """Render a seed-style format (``"HB-{orderNumber}-{id}"``) with ``values``.

    Filters call this once per record with the same few channel formats, so
    each distinct format is compiled once and kept.
    """
    return _cached_format(source).render(values)


_PLAIN_ENV = TemplateEnv()


def build_template_env(registry: Any) -> TemplateEnv:
    """The TemplateEnv with every filter plugins registered, one per registry."""
    env = getattr(registry, "_template_env", None)
    if env is None:
        env = TemplateEnv({name: f.func for name, f in registry.filters.items()})
        registry._template_env = env
    return env

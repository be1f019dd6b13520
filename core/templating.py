"""Jinja for flows and channel formats: sandboxed, strict, compiled once, native values.

Operators write templates in YAML flows and channel configs, so a template is
input from outside the code: it runs in Jinja's immutable sandbox, any access
to a name starting with ``_`` is refused when the template is compiled (before
anything runs), and an undefined variable is an error instead of an empty
string that would silently reach a marketplace.

A field that is exactly one ``{{ expression }}`` keeps its Python type, so
``"{{ record.quantity - 3 }}"`` is the number 7, not the string "7".  Channel
formats keep the seed's own syntax (``"HB-{orderNumber}-{id}"``,
``"...?code={tracking_number}"``) next to full Jinja.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core.errors import ValidationError

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)
# A seed-style placeholder: {name} or {a.b}, not part of "{{" / "{%" / "{#".
_PLACEHOLDER = re.compile(
    r"(?<![{%#])\{(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}(?!\})"
)


class TemplateError(ValidationError):
    """A template that cannot be compiled or rendered; ``problem`` omits the location."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


class Expression:
    """One compiled template; ``render`` evaluates it against a context."""

    def __init__(self, source: str, where: str, render: Callable[[Mapping[str, Any]], Any]) -> None:
        self.source = source
        self.where = where
        self._render = render

    def render(self, context: Mapping[str, Any]) -> Any:
        try:
            return self._render(context)
        except UndefinedError as exc:
            raise TemplateError(self.where, f"{exc.message} (in {self.source!r})") from None
        except SecurityError as exc:
            raise TemplateError(self.where, f"not allowed: {exc}") from None
        except TemplateError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside a template is the template's
            raise TemplateError(
                self.where, f"{type(exc).__name__}: {exc} (in {self.source!r})"
            ) from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def _check_safe(tree: nodes.Node, where: str) -> None:
    """Refuse ``x.__class__``, ``x['_private']`` and friends before anything runs."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        elif isinstance(node, nodes.Name):
            name = node.name
        else:
            continue
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateError(
                where, f"template may not access {name!r} (Python internals are off limits)"
            )


class TemplateEnv:
    """Compiles templates with one set of filters; every method compiles once."""

    def __init__(self, filters: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self.env.filters.update(filters or {})

    def _parse(self, source: str, where: str) -> None:
        try:
            tree = self.env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                where, f"template syntax error on line {exc.lineno}: {exc.message}"
            ) from None
        _check_safe(tree, where)

    def _compile_expression(self, expr: str, source: str, where: str) -> Expression:
        self._parse("{{ " + expr + " }}", where)
        try:
            compiled = self.env.compile_expression(expr, undefined_to_none=False)
        except TemplateSyntaxError as exc:
            raise TemplateError(where, f"template syntax error: {exc.message}") from None

        def render(context: Mapping[str, Any]) -> Any:
            value = compiled(**context)
            if isinstance(value, StrictUndefined):
                str(value)  # raises UndefinedError naming the variable
            return value

        return Expression(source, where, render)

    def _compile_text(self, source: str, where: str) -> Expression:
        self._parse(source, where)
        template = self.env.from_string(source)
        return Expression(source, where, lambda context: template.render(**context))

    def expression(self, source: Any, where: str = "") -> Expression:
        """A field value: one ``{{ expr }}`` keeps its type; other text renders a string."""
        if not isinstance(source, str):
            value = source
            return Expression(repr(source), where, lambda _context: value)
        match = _SINGLE_EXPRESSION.match(source)
        if match:
            return self._compile_expression(match.group("expr"), source, where)
        if "{{" not in source and "{%" not in source:
            self._parse(source, where)
            return Expression(source, where, lambda _context: source)
        return self._compile_text(source, where)

    def predicate(self, source: str, where: str = "") -> Expression:
        """A condition written bare (``record.quantity > 0``) or as ``{{ ... }}``."""
        match = _SINGLE_EXPRESSION.match(source)
        expr = self._compile_expression(match.group("expr") if match else source, source, where)
        return Expression(source, where, lambda context: bool(expr.render(context)))

    def format(self, source: str, where: str = "") -> Expression:
        """A channel format: the seed's ``{name}`` placeholders and Jinja both work."""
        translated = _PLACEHOLDER.sub(lambda m: "{{ " + m.group("name") + " }}", source)
        compiled = self._compile_text(translated, where)
        return Expression(source, where, lambda context: str(compiled.render(context)))


def render_format(source: str, **values: Any) -> str:
    """Render a seed-style format once (``"HB-{orderNumber}-{id}"``)."""
    return TemplateEnv().format(source).render(values)


def build_template_env(registry: Any) -> TemplateEnv:
    """A TemplateEnv with every filter plugins registered."""
    return TemplateEnv({name: f.func for name, f in registry.filters.items()})

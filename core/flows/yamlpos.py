"""YAML parsing that remembers where every value came from.

Validation errors must name the file line, and PyYAML's ``safe_load`` forgets
positions.  Here the node tree is composed first, then turned into plain data
while recording, for every JSON pointer, the line of its key (mapping entries)
or of the item itself (sequence entries).  Duplicate keys are reported instead of
silently keeping the last one, and mapping keys are always strings (``on:``
stays the key ``"on"``, not ``True``) so the data is what JSON Schema expects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pazar.json_input import MAX_DEPTH

MAX_NODES = 200_000  # guards against alias bombs ("billion laughs")
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


@dataclass(frozen=True)
class YamlProblem:
    """Something wrong with the YAML itself (not with the flow it describes)."""

    line: int | None
    column: int | None
    message: str
    pointer: str | None = None


@dataclass
class PositionedDocument:
    """Plain data plus the 1-based line of every JSON pointer in it."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)

    def line_of(self, pointer: str) -> int | None:
        """Line of ``pointer``, else of its nearest ancestor that has one."""
        current = pointer
        while True:
            if current in self.lines:
                return self.lines[current]
            if not current:
                return None
            current = current.rsplit("/", 1)[0]


def escape_token(token: str) -> str:
    """One JSON-pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer_join(base: str, token: str | int) -> str:
    return f"{base}/{escape_token(str(token))}"


def _mark_position(mark: Any) -> tuple[int | None, int | None]:
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


class _Loader(yaml.SafeLoader):
    """PyYAML's composer recurses once per level (three frames each): a document nested a
    few hundred levels deep ended in a RecursionError.  This one stops at
    :data:`pazar.json_input.MAX_DEPTH` levels with a problem at that node's line."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:  # a scalar inside MAX_DEPTH collections is fine
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, _TOO_DEEP, mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.lines: dict[str, int] = {}
        self.problems: list[YamlProblem] = []
        self.count = 0
        self.active: set[int] = set()
        self.depth = 0

    def problem(self, node: Node, message: str, pointer: str) -> None:
        line, column = _mark_position(node.start_mark)
        self.problems.append(YamlProblem(line, column, message, pointer))

    def build(self, node: Node, pointer: str) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node)
        if id(node) in self.active:
            self.problem(node, "recursive alias: a node cannot contain itself", pointer)
            return None
        if isinstance(node, ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError) as exc:
                reason = _yaml_reason(exc) if isinstance(exc, yaml.YAMLError) else str(exc)
                self.problem(node, f"cannot read value {node.value!r}: {reason}", pointer)
                return None
            if isinstance(value, float) and not math.isfinite(value):
                # .nan / .inf: JSON has no such number, so no output could show it
                self.problem(node, f"{node.value!r} is not a finite number", pointer)
                return None
            return value
        if self.depth >= MAX_DEPTH:  # aliases nest without the composer recursing
            raise _TooLarge(node, _TOO_DEEP)
        self.active.add(id(node))
        self.depth += 1
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, pointer)
            if isinstance(node, MappingNode):
                return self._mapping(node, pointer)
        finally:
            self.depth -= 1
            self.active.discard(id(node))
        self.problem(node, f"unsupported YAML node {node.tag}", pointer)
        return None

    def _sequence(self, node: SequenceNode, pointer: str) -> list[Any]:
        items = []
        for index, child in enumerate(node.value):
            child_pointer = pointer_join(pointer, index)
            self.lines.setdefault(child_pointer, child.start_mark.line + 1)
            items.append(self.build(child, child_pointer))
        return items

    def _mapping(self, node: MappingNode, pointer: str) -> dict[str, Any]:
        seen: dict[str, int] = {}
        own_pairs = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
        for key_node, _ in own_pairs:
            if not isinstance(key_node, ScalarNode):
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                self.problem(
                    key_node,
                    f"duplicate key {key!r} (first defined on line {seen[key]})",
                    pointer_join(pointer, key),
                )
            else:
                seen[key] = line
        if len(own_pairs) != len(node.value):
            try:
                self.loader.flatten_mapping(node)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None) or node.start_mark
                line, column = _mark_position(mark)
                self.problems.append(YamlProblem(line, column, _yaml_reason(exc), pointer))
                node.value = own_pairs
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, "mapping keys must be plain strings", pointer)
                continue
            key = key_node.value
            child_pointer = pointer_join(pointer, key)
            self.lines[child_pointer] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child_pointer)
        return result


class _TooLarge(Exception):
    def __init__(
        self, node: Node, message: str = f"document too large (more than {MAX_NODES} nodes)"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.node = node


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem and context:
        if str(context).startswith("expected"):
            return f"{context}, {problem}"
        context_mark = getattr(exc, "context_mark", None)
        problem_mark = getattr(exc, "problem_mark", None)
        if context_mark is not None and (
            problem_mark is None or context_mark.line != problem_mark.line
        ):
            context = f"{context} started on line {context_mark.line + 1}"
        return f"{problem} ({context})"
    if problem:
        return str(problem)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _loader(text: str) -> _Loader | YamlProblem:
    """A loader, or the problem PyYAML's reader finds before parsing (a NUL or other
    control character, which it reports by offset, not by line)."""
    try:
        return _Loader(text)
    except yaml.reader.ReaderError as exc:
        position = exc.position
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        return YamlProblem(
            line, column, f"character #x{exc.character:04x} is not allowed in YAML text"
        )


def load_positioned(text: str) -> PositionedDocument:
    """Parse one YAML document; syntax problems come back, never raise.

    An empty document gives ``data=None``.  A syntax error gives one problem
    with the line and column of the YAML mark and ``data=None``.
    """
    loader = _loader(text)
    if isinstance(loader, YamlProblem):
        return PositionedDocument(None, {}, [loader])
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line, column = _mark_position(mark)
            return PositionedDocument(None, {}, [YamlProblem(line, column, _yaml_reason(exc))])
        if root is None:
            return PositionedDocument(None, {})
        builder = _Builder(loader)
        builder.lines[""] = root.start_mark.line + 1
        try:
            data = builder.build(root, "")
        except _TooLarge as exc:
            line, column = _mark_position(exc.node.start_mark)
            problem = YamlProblem(line, column, exc.message)
            return PositionedDocument(None, {}, [problem])
        return PositionedDocument(data, builder.lines, builder.problems)
    finally:
        loader.dispose()


def load_all_positioned(text: str) -> list[PositionedDocument]:
    """Every document of a ``---``-separated stream, each with its own lines and
    problems (duplicate keys included); a syntax error ends the list with one
    document holding that problem."""
    docs: list[PositionedDocument] = []
    loader = _loader(text)
    if isinstance(loader, YamlProblem):
        return [PositionedDocument(None, {}, [loader])]
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
                line, column = _mark_position(mark)
                docs.append(
                    PositionedDocument(None, {}, [YamlProblem(line, column, _yaml_reason(exc))])
                )
                break
            if node is None:
                continue
            builder = _Builder(loader)
            builder.lines[""] = node.start_mark.line + 1
            try:
                data = builder.build(node, "")
            except _TooLarge as exc:
                line, column = _mark_position(exc.node.start_mark)
                problem = YamlProblem(line, column, exc.message)
                docs.append(PositionedDocument(None, {}, [problem]))
                break
            docs.append(PositionedDocument(data, builder.lines, builder.problems))
    finally:
        loader.dispose()
    return docs

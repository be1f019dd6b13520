"""The plugin door holds: marketplaces import only ``pazar.plugin`` (and ``pazar.testing`` in
their tests), the guide names nothing else of the engine, and the door is typed."""

from __future__ import annotations

import ast
import inspect
import re
import typing
from pathlib import Path

import pytest

import pazar.plugin
import pazar.testing

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "core"
ALLOWED = {"pazar.plugin"}
ALLOWED_IN_TESTS = {"pazar.plugin", "pazar.testing"}


def _python_files() -> list[Path]:
    roots = [ROOT / "plugins", ROOT / "examples"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.py"))


def _engine_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "pazar":  # from pazar import x: x is a module or a name
                names = [f"pazar.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "pazar" or n.startswith("pazar.")]
    return found


def _is_test(path: Path) -> bool:
    return path.name.startswith(("test_", "conftest")) or "tests" in path.parts


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_marketplaces_import_only_the_plugin_door(path: Path) -> None:
    allowed = ALLOWED_IN_TESTS if _is_test(path) else ALLOWED
    wrong = [f"line {n}: {name}" for n, name in _engine_imports(path) if name not in allowed]
    assert not wrong, f"{path.relative_to(ROOT)} reaches around pazar.plugin: {wrong}"


def test_the_check_sees_what_it_must_refuse(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import pazar\nimport pazar.runner\nfrom pazar import channels\n"
        "from pazar.state.batches import open_batch\nfrom pazar.plugin import Item\n"
        "def f():\n    from pazar.db import Database\n"
    )
    names = [name for _, name in _engine_imports(sample)]
    assert names == [
        "pazar",
        "pazar.runner",
        "pazar.channels",
        "pazar.state.batches",
        "pazar.plugin",
        "pazar.db",
    ]


def _engine_public_names() -> set[str]:
    """Top-level public names defined anywhere in the engine."""
    names: set[str] = set()
    for path in ENGINE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_") and len(n) > 3}


def _outside_the_door(guide: str) -> list[str]:
    """Engine names a guide mentions that a plugin may not import."""
    door = set(pazar.plugin.__all__) | set(pazar.testing.__all__)
    allowed = {"pazar.plugin", "pazar.testing", "pazar.plugins"}  # the last: the entry points
    allowed |= {f"pazar.plugin.{name}" for name in [*pazar.plugin.__all__, "__all__"]}
    allowed |= {f"pazar.testing.{name}" for name in pazar.testing.__all__}
    modules = set(re.findall(r"\bpazar\.[A-Za-z_][A-Za-z_.]*[A-Za-z_]", guide))
    snippets = re.findall(r"`([^`\n]+)`", guide) + re.findall(r"```python\n(.*?)```", guide, re.S)
    code = re.sub(r"\"[^\"\n]*\"|'[^'\n]*'", '""', " ".join(snippets))  # strings are prose
    # What a reader would take for API: classes and called functions (not methods after a
    # dot), minus what the guide's own examples define or import from the plugin itself.
    named = set(re.findall(r"(?<![\w.])([A-Z][A-Za-z0-9]+)\b", code))
    named |= set(re.findall(r"(?<![\w.])([a-z_][a-z0-9_]*)\(", code))
    defined = set(re.findall(r"(?:def|class)\s+(\w+)", code))
    defined |= set(re.findall(r"^\s*(\w+)\s*=", code, re.M))
    for module, names in re.findall(r"from\s+([\w.]+)\s+import\s+([\w, ]+)", code):
        if not module.startswith("pazar."):
            defined |= {n.strip() for n in names.split(",")}
    hooks = {n for n in named if n.startswith("pazar_")}
    outside = (named & _engine_public_names()) - door - defined - hooks
    return sorted(outside | (modules - allowed))


def test_the_plugin_guide_names_only_the_door() -> None:
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert _outside_the_door(guide) == []


def test_the_guide_check_sees_a_name_outside_the_door() -> None:
    sample = "Call `open_batch(session, ...)` then `pazar.state.batches`; keep `Item`."
    assert _outside_the_door(sample) == ["open_batch", "pazar.state.batches"]


def test_hook_parameters_are_typed_without_any() -> None:
    from pazar import hookspecs

    for name in (
        "pazar_register_marketplaces",
        "pazar_register_steps",
        "pazar_register_template_filters",
        "pazar_register_commerce_backends",
        "pazar_channel_config_changed",
        "pazar_run_finished",
    ):
        door = {n: getattr(pazar.plugin, n) for n in pazar.plugin.__all__}  # lazy: not vars()
        hints = typing.get_type_hints(getattr(hookspecs, name), localns={**door, **vars(hookspecs)})
        params = {k: v for k, v in hints.items() if k != "return"}
        assert params, name
        assert typing.Any not in params.values(), f"{name} has an Any parameter"


def test_every_door_name_is_documented() -> None:
    undocumented = [
        name
        for name in pazar.plugin.__all__
        if not name.isupper()
        and typing.get_origin(getattr(pazar.plugin, name)) is not typing.Literal
        and not inspect.getdoc(getattr(pazar.plugin, name))
    ]
    assert not undocumented, f"names of pazar.plugin without a docstring: {undocumented}"

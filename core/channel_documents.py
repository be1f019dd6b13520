"""Reading ``pazar channel apply`` files: text first, then YAML, then documents.

A channel document is config as code: a key written twice is a mistake that
last-wins would hide (the second ``password:`` silently replacing the first),
so every problem of the YAML — syntax, duplicate keys, a file that is not UTF-8
— is reported with ``file:line`` before anything is applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pazar.errors import ValidationError
from pazar.flows.yamlpos import escape_token, load_all_positioned
from pazar.textfiles import read_text

# A config problem as pazar.config_schema words it: "PATH: ..." or "PATH: unknown key 'K'...",
# PATH being dotted keys and [index]es, or "(config)" for the top level.
_PROBLEM = re.compile(r"^(?P<path>\(config\)|[^\s:]+): (?:unknown key '(?P<key>[^']+)')?")


def read_channel_documents(
    file: str, read_stdin: Callable[[], str] | None = None
) -> list[tuple[int, Any, dict[str, int]]]:
    """(first line, data, line of each JSON pointer) of every document in ``file`` (``-``:
    ``read_stdin()``)."""
    if file == "-":
        name, text = "<stdin>", (read_stdin() if read_stdin else "")
    else:
        name, text = file, read_text(file)
    problems: list[str] = []
    docs: list[tuple[int, Any, dict[str, int]]] = []
    for doc in load_all_positioned(text):
        for p in doc.problems:
            where = f"{name}:{p.line}" if p.line is not None else name
            problems.append(f"{where}: {p.message}")
        if doc.data is not None and not doc.problems:
            docs.append((doc.lines.get("", 1), doc.data, doc.lines))
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ValidationError(
            f"{name}: invalid YAML ({len(problems)} {noun}); nothing was applied", details=problems
        )
    if not docs:
        raise ValidationError(f"{name}: no channel document in the file")
    return docs


def config_problem_line(problem: str, lines: Mapping[str, int]) -> int | None:
    """The line of the config key a validation problem names, when the document wrote that
    key (a key left to its default has none): the document's first line alone sent the
    reader looking for a misspelt key."""
    found = _PROBLEM.match(problem)
    if found is None:
        return None
    path = found["path"]
    parts = [] if path == "(config)" else re.findall(r"[^.\[\]]+", path)
    if found["key"]:
        parts.append(found["key"])
    return lines.get("/config" + "".join("/" + escape_token(part) for part in parts))

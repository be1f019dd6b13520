"""Reading ``pazar channel apply`` files: text first, then YAML, then documents.

A channel document is config as code: a key written twice is a mistake that
last-wins would hide (the second ``password:`` silently replacing the first),
so every problem of the YAML — syntax, duplicate keys, a file that is not UTF-8
— is reported with ``file:line`` before anything is applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pazar.errors import ValidationError
from pazar.flows.yamlpos import load_all_positioned
from pazar.textfiles import read_text


def read_channel_documents(
    file: str, read_stdin: Callable[[], str] | None = None
) -> list[tuple[int, Any]]:
    """(first line, data) of every document in ``file`` (``-``: ``read_stdin()``)."""
    if file == "-":
        name, text = "<stdin>", (read_stdin() if read_stdin else "")
    else:
        name, text = file, read_text(file)
    problems: list[str] = []
    docs: list[tuple[int, Any]] = []
    for doc in load_all_positioned(text):
        for p in doc.problems:
            where = f"{name}:{p.line}" if p.line is not None else name
            problems.append(f"{where}: {p.message}")
        if doc.data is not None and not doc.problems:
            docs.append((doc.lines.get("", 1), doc.data))
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ValidationError(
            f"{name}: invalid YAML ({len(problems)} {noun}); nothing was applied", details=problems
        )
    if not docs:
        raise ValidationError(f"{name}: no channel document in the file")
    return docs

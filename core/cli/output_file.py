"""Writing a command's output to ``--output FILE``: complete or not at all, and never
replacing what is not a plain file.

A report or export is written beside its target as ``FILE.partial`` and renamed over it
once complete, so a failure half way leaves the previous file as it was.  Renaming over a
device, a named pipe or a symlink would replace *it* (as root, ``--output /dev/full``
turned the device into a file): a symlink is followed to the file it names, and a target
that exists but is not a regular file is written through, as a shell redirection would.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from pazar.errors import ValidationError


@contextmanager
def output_file(path: Path, option: str = "--output", *, text: bool = False) -> Iterator[IO[Any]]:
    """An open file for ``path`` (binary, or UTF-8 text with ``text``); any OS error is one
    line naming the option and the path, exit code 2."""
    if not str(path).strip() or not path.name:
        raise ValidationError(f"{option}: a file name is needed")
    target = path.resolve() if path.is_symlink() else path
    mode, options = ("w", {"encoding": "utf-8", "newline": ""}) if text else ("wb", {})
    try:
        mode_bits = target.stat().st_mode if target.exists() else None
    except OSError as exc:
        raise ValidationError(f"{option} {path}: {exc.strerror or exc}") from None
    if mode_bits is not None and not stat.S_ISREG(mode_bits):
        if stat.S_ISDIR(mode_bits):
            raise ValidationError(f"{option} {path}: is a directory")
        try:  # a device or a pipe: written through, never replaced
            with open(target, mode, **options) as out:  # noqa: PTH123 - any file kind
                yield out
        except OSError as exc:
            raise ValidationError(f"{option} {path}: {exc.strerror or exc}") from None
        return
    partial = target.with_name(target.name + ".partial")
    try:
        try:
            with open(partial, mode, **options) as out:  # noqa: PTH123
                yield out
            os.replace(partial, target)
        finally:
            # the directory is not there or not writable: nothing was left behind
            with suppress(OSError):
                partial.unlink(missing_ok=True)
    except OSError as exc:
        raise ValidationError(f"{option} {path}: {exc.strerror or exc}") from None

"""``--output FILE`` of exports and reports: complete or untouched, and never a device,
pipe or symlink replaced by a plain file."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("pazar.db"))


def test_an_export_follows_a_symlink_and_leaves_it_a_symlink(cli: Any, tmp_path: Path) -> None:
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    link.symlink_to(real)
    result = cli("catalog", "export", "prices", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("sku,")
    assert _files(tmp_path) == ["link.csv", "real.csv"]


def test_an_export_into_a_pipe_is_written_through(cli: Any, tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_text(encoding="utf-8")))
    reader.start()
    result = cli("catalog", "export", "prices", "-o", str(pipe))
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert got and got[0].startswith("sku,")
    assert pipe.is_fifo()  # still a pipe, not a file


def test_an_output_that_cannot_be_written_is_one_line(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for target, why in (
        (str(tmp_path / "missing" / "x.csv"), "No such file or directory"),
        (str(tmp_path / "afile" / "x.csv"), "Not a directory"),
        ("", "a file name is needed"),
    ):
        result = cli("catalog", "export", "prices", "-o", target)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip().startswith("error: --output") and why in result.stderr
        assert "Traceback" not in result.output
    assert _files(tmp_path) == ["afile"]

"""``pazar … | head``: a reader that goes away ends the output quietly, exit 0.

The pipe's read end is closed before pazar starts, so its very first write
meets a closed pipe — the same as ``head`` exiting after its lines, without
depending on how much fits in a pipe buffer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAZAR_")},
        "PAZAR_DATABASE_URL": f"sqlite:///{tmp_path / 'pipe.db'}",
        "PAZAR_PLUGINS": "pazar_hepsiburada,pazar_fashfed,tests.testplugin",
        "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": str(ROOT),
    }


def _into_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "pazar", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("channel", "form", "hepsiburada"),
        ("channel", "form", "hepsiburada", "--json"),
        ("channel", "list"),
        ("flows", "list"),
        ("run", "testmarket/push", "--channel", "tm", "--dry-run", "--force"),
    ],
    ids=lambda a: " ".join(a),
)
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, args: tuple[str, ...]) -> None:
    env = _env(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pazar", "channel", "add", "testmarket", "--slug", "tm"],
        env=env,
        check=True,
        capture_output=True,
    )
    done = _into_closed_pipe(env, *args)
    assert done.stderr.decode() == ""
    assert done.returncode == 0

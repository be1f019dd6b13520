"""The built wheel works on its own: flows and schemas travel inside it.

Builds the wheel, installs it into an empty directory and runs the CLI from a
directory outside the checkout, so nothing can be found by accident through
the working tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        cwd=out,
    )
    wheel = next(out.glob("pazar-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("core/_data/schemas/") for n in names), (
        "schemas/ missing from the wheel"
    )
    assert any(n.startswith("core/_data/flows.d/") for n in names) or not any(
        (ROOT / "flows.d").rglob("*.yaml")
    ), "flows.d/ missing from the wheel"
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    return target


def _pazar(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAZAR_")}
    env["PYTHONPATH"] = str(target)
    env["PAZAR_DATABASE_URL"] = f"sqlite:///{cwd / 'pazar.db'}"
    return subprocess.run(
        [sys.executable, "-P", "-m", "core", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def test_installed_wheel_validates_its_flows_from_any_directory(
    installed: Path, tmp_path: Path
) -> None:
    result = _pazar(installed, tmp_path, "flows", "validate")
    assert result.returncode == 0, result.stderr
    assert str(ROOT) not in result.stdout + result.stderr
    shipped = sorted(p.relative_to(ROOT / "flows.d") for p in (ROOT / "flows.d").rglob("*.yaml"))
    for rel in shipped:
        assert rel.stem in result.stdout


def test_installed_wheel_knows_the_builtin_marketplaces(installed: Path, tmp_path: Path) -> None:
    result = _pazar(installed, tmp_path, "channel", "form", "hepsiburada", "--json")
    assert result.returncode == 0, result.stderr
    assert "merchant_id" in result.stdout

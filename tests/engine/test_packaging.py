"""The built wheel, as a user installs it: import names, data files, entry points, neighbours.

Builds the wheel once, installs it into fresh virtual environments and runs Python and the
CLI there from a directory outside the checkout, so nothing is found by accident through the
working tree.  The environments see pazar's dependencies through a ``.pth`` line pointing at
this interpreter's site-packages (appended after their own, so their own pazar wins); nothing
is downloaded.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]


UNLISTED_FOLDER = "is absent from the `packages` configuration"


# What a checkout may hold that a build writes or a developer keeps: none of it is source.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", "*.py[cod]", "*.db", ".*cache",
    ".venv", "venv", "node_modules",
)  # fmt: skip


def _build_wheel(source: Path, out: Path) -> tuple[Path, str]:
    """The wheel of ``source`` and what the build printed (setuptools' warnings among it).

    The build runs on a copy: setuptools builds in the source's ``build/`` folder, where
    an older build's files would reach this wheel (a file the configuration no longer
    lists would pass as shipped) and two builds at once would mix.
    """
    pytest.importorskip("setuptools")
    tree = out / "source"
    shutil.copytree(source, tree, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    built = _run([*pip, "-w", str(out), str(tree)], cwd=out)
    return next(out.glob("*.whl")), built.stdout + built.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return _build_wheel(ROOT, tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def wheel(built: tuple[Path, str]) -> Path:
    return built[0]


class Venv:
    """A fresh virtual environment with pazar's dependencies visible, but not pazar."""

    def __init__(self, path: Path, wheel: Path) -> None:
        _run([sys.executable, "-m", "venv", str(path)])
        self.path = path
        self.python = str(path / "bin" / "python")
        # pazar first: with this interpreter's packages visible, pip would take the pazar
        # installed here for the one asked for and install nothing.
        self.pip("install", "-q", "--no-deps", str(wheel))
        purelib = _run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
        ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
        Path(purelib, "zz_pazar_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run([self.python, "-m", "pip", "--disable-pip-version-check", *args])

    def python_c(self, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-P", "-c", code],
            cwd=cwd,
            env=_clean_env(cwd),
            capture_output=True,
            text=True,
        )

    def pazar(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-P", "-m", "pazar", *args],
            cwd=cwd,
            env=_clean_env(cwd),
            capture_output=True,
            text=True,
        )


def _clean_env(cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAZAR_", "PYTHON"))}
    env["PAZAR_DATABASE_URL"] = f"sqlite:///{cwd / 'pazar.db'}"
    return env


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return Venv(tmp_path_factory.mktemp("venv") / "v", wheel)


def test_the_wheel_installs_only_pazar_names(wheel: Path, venv: Venv) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"pazar", "pazar_hepsiburada", "pazar_fashfed"}
    assert any(n.startswith("pazar/_data/schemas/channel/") for n in names)
    assert any(n.startswith("pazar/_data/flows/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("pazar/migrations/versions/") for n in names)
    files = venv.pip("show", "-f", "pazar").stdout.splitlines()
    listed = [line.strip() for line in files if line.startswith("  ")]
    assert listed and not [f for f in listed if f.startswith(("core/", "plugins/"))]


def test_no_data_folder_is_left_out_of_the_package_list(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    """setuptools ships data from folders missing in ``packages`` today, with a warning, and
    means to stop; pazar's wheel and the example plugin (the guide's packaging) build clean."""
    assert UNLISTED_FOLDER not in built[1]
    example, output = _build_wheel(ROOT / "examples" / "pazar-example-market", tmp_path)
    assert UNLISTED_FOLDER not in output
    assert "pazar_example/flows/stock.yaml" in zipfile.ZipFile(example).namelist()


def test_every_engine_and_builtin_package_is_in_the_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, name in (
        ("core", "pazar"),
        ("plugins/hepsiburada", "pazar_hepsiburada"),
        ("plugins/fashfed", "pazar_fashfed"),
    ):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.relative_to(ROOT / folder).as_posix()
            assert f"{name}/{rel}" in names, f"{folder}/{rel} is not packaged (pyproject.toml)"


def test_import_names_and_python_dash_m(venv: Venv, tmp_path: Path) -> None:
    result = venv.python_c(
        "import pazar, pazar_hepsiburada, pazar_fashfed; print(pazar.__file__)", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(venv.path)), "the venv's own pazar is the one imported"
    result = venv.pazar(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert "pazar" in result.stdout


def test_installed_wheel_validates_its_flows_from_any_directory(venv: Venv, tmp_path: Path) -> None:
    result = venv.pazar(tmp_path, "flows", "validate")
    assert result.returncode == 0, result.stderr
    # The built-in flows come from the wheel, never from the checkout.  (Other plugins
    # installed where the tests run are visible too: their flows are theirs.)
    shipped = {
        f"{path.parent.name}/{path.stem}": path for path in (ROOT / "flows.d").rglob("*.yaml")
    }
    listed = {
        line.split()[1]: line.split("(", 1)[1].rstrip(")")
        for line in result.stdout.splitlines()
        if line.startswith("ok ")
    }
    for ref in shipped:
        assert listed.get(ref, "").startswith(str(venv.path / "lib")), (ref, listed.get(ref))


def test_builtin_marketplaces_arrive_through_entry_points(venv: Venv, tmp_path: Path) -> None:
    result = venv.pazar(tmp_path, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert '"pazar_hepsiburada"' in result.stdout or '"hepsiburada"' in result.stdout
    result = venv.pazar(tmp_path, "channel", "form", "hepsiburada", "--json")
    assert result.returncode == 0, result.stderr
    assert "merchant_id" in result.stdout


def test_a_neighbour_shipping_core_and_plugins_leaves_pazar_working(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = Venv(tmp_path_factory.mktemp("neighbour") / "v", wheel)
    dummy = tmp_path / "dummy"
    for package in ("core", "plugins"):
        (dummy / package).mkdir(parents=True)
        (dummy / package / "__init__.py").write_text("NEIGHBOUR = True\n")
    (dummy / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "neighbour"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["core", "plugins"]\n'
    )
    built = tmp_path / "built"
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    _run([*pip, "-w", str(built), str(dummy)], cwd=tmp_path)
    env.pip("install", "-q", "--no-deps", str(next(built.glob("neighbour-*.whl"))))
    assert env.python_c("import core; assert core.NEIGHBOUR", tmp_path).returncode == 0
    env.pip("uninstall", "-q", "-y", "neighbour")
    result = env.pazar(tmp_path, "channel", "form", "hepsiburada", "--json")
    assert result.returncode == 0, result.stderr
    assert "merchant_id" in result.stdout

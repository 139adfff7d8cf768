"""binder/: what mybinder.org's repo2docker reads, checked and then built for real.

repo2docker, for a repository with a ``binder/`` folder, reads only that folder: it picks the
Python of ``runtime.txt``, runs ``pip install -r binder/requirements.txt``, then runs
``binder/postBuild`` from the repository root. The slow test does the same in a fresh venv
(packages from PyPI, so it needs the registry) and executes the quickstart in it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the copy pip vendors
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
QUICKSTART = ROOT / "notebooks" / "00_quickstart.ipynb"
#: The extras a Binder visitor needs besides the package's own dependencies.
BINDER_EXTRAS = ("studio", "examples")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _binder_requirements() -> dict[str, Requirement]:
    reqs: dict[str, Requirement] = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            assert req.name not in reqs, f"{req.name} is listed twice"
            reqs[req.name.lower()] = req
    return reqs


def _needed() -> list[Requirement]:
    project = _pyproject()["project"]
    needed = [Requirement(r) for r in project["dependencies"]]
    for extra in BINDER_EXTRAS:
        needed += [Requirement(r) for r in project["optional-dependencies"][extra]
                   if not r.startswith("clipdrop-widgets")]
    return needed


def test_binder_requirements_cover_the_package_and_its_studio_and_examples_extras():
    reqs = _binder_requirements()
    missing = [r.name for r in _needed() if r.name.lower() not in reqs]
    assert not missing, f"binder/requirements.txt lacks {missing} (see pyproject.toml)"


def test_binder_requirements_are_bounded_and_within_what_the_package_allows():
    reqs = _binder_requirements()
    needed = {r.name.lower(): r for r in _needed()}
    for name, req in reqs.items():
        uppers = [s for s in req.specifier if s.operator in ("<", "<=", "~=", "==")]
        lowers = [s for s in req.specifier if s.operator in (">=", ">", "~=", "==")]
        assert uppers and lowers, f"{req} needs a lower and an upper bound"
        if name in needed:
            # The binder range's lowest version must satisfy the package's own range.
            lowest = min(Version(s.version) for s in lowers)
            assert needed[name].specifier.contains(lowest, prereleases=True), (
                f"binder allows {req.name} {lowest}, pyproject.toml says {needed[name]}")


def test_runtime_is_a_python_the_package_supports():
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"runtime.txt should read python-X.Y, not {text!r}"
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert requires.contains(match.group(1) + ".0")


def test_postbuild_is_an_executable_script():
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "repo2docker runs postBuild only when it is executable"
    assert post.read_text().startswith("#!/bin/bash\n")


# -- the real build ------------------------------------------------------------------------------
def _clean_env(venv: Path, home: Path) -> dict[str, str]:
    # pip's own settings (index, proxy, certificates) are kept: CI may need them to reach PyPI.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLIPDROP_", "JUPYTER", "PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONNOUSERSITE="1")
    return env


def _run(cmd: list[str | Path], *, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-4000:]}"
    return done.stdout


def _stdout_by_cell(nb: nbformat.NotebookNode) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs
                    if o.output_type == "stream" and o.name == "stdout")
            for c in nb.cells if c.cell_type == "code"]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_binder_environment_builds_from_pypi_and_runs_the_quickstart(tmp_path):
    # repo2docker copies the repository: build from a copy, never from this checkout's venv.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".git", ".venv", "site", "build", "dist", "__pycache__", "*.egg-info", ".pytest_cache",
        ".hypothesis", ".ruff_cache", "node_modules", "benchmarks"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = _clean_env(venv, tmp_path / "jupyter")
    python = venv / "bin" / "python"

    # The same resolution and install from PyPI as repo2docker's, without byte-compiling
    # every module of every package (most never imported here): 16 % of the install's time
    # (benchmarks/results/ci_time.md); what the quickstart imports is compiled as it runs.
    _run([python, "-m", "pip", "install", "--quiet", "--no-compile", "-r",
          "binder/requirements.txt"], cwd=repo, env=env)
    post = _run(["bash", "binder/postBuild"], cwd=repo, env=env)
    assert "No broken requirements found." in post

    # The package came from the copy, installed (not editable), importable outside the repo.
    where = _run([python, "-c", "import clipdrop_widgets; print(clipdrop_widgets.__file__)"],
                 cwd=tmp_path, env=env).strip()
    assert Path(where).is_relative_to(venv), where

    executed = tmp_path / "quickstart-executed.ipynb"
    _run([venv / "bin" / "jupyter", "nbconvert", "--to", "notebook", "--execute",
          "--ExecutePreprocessor.timeout=300", "--ExecutePreprocessor.kernel_name=python3",
          "--output", executed, repo / "notebooks" / QUICKSTART.name],
         cwd=repo / "notebooks", env=env)
    fresh = nbformat.read(executed, as_version=4)
    committed = nbformat.read(QUICKSTART, as_version=4)
    errors = [o for c in fresh.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    # What the quickstart prints on Binder's versions is what is committed (nbval's check).
    assert _stdout_by_cell(fresh) == _stdout_by_cell(committed)

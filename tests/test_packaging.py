"""The package builds as a wheel and an sdist, and each installs in a fresh virtual
environment and runs there, so the docs can give one install command.

The fresh environment gets the built package itself with ``pip install --no-deps``; its
dependencies are this environment's, reached through a ``.pth`` line (nothing is downloaded
but the build backend). The check runs from an empty folder, so the checkout cannot be what is
imported.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a build (about 15 s) and two fresh environments

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import sys, warnings
import clipdrop_widgets
from clipdrop_widgets import Client, ClipdropNotice
assert clipdrop_widgets.__file__.startswith(sys.prefix), clipdrop_widgets.__file__
warnings.simplefilter("ignore", ClipdropNotice)
result = Client().text_to_image("a red fox in the snow")
print(clipdrop_widgets.__version__, result.summary())
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def _fresh_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    where_packages_go = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([str(python), "-c", where_packages_go], capture_output=True,
                          text=True, check=True).stdout.strip()
    # This environment's packages, after the fresh one's own (so the installed copy wins).
    (Path(site) / "zz_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_the_wheel_holds_the_package_and_its_data(dist):
    wheel = next(dist.glob("clipdrop_widgets-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "clipdrop_widgets/widgets/ink.js" in names and "clipdrop_widgets/py.typed" in names
    # the Studio's Voila template (no stylesheet from a CDN), found by the launcher
    assert "clipdrop_widgets/share/voila/templates/clipdrop/index.html.j2" in names
    # its own front end (issue 22, first paint), built from js/ and committed
    assert {f"clipdrop_widgets/share/voila/templates/clipdrop/static/studio-page.{ext}"
            for ext in ("js", "css", "json")} <= set(names)
    assert "clipdrop_widgets/gateway/admin.html" in names  # the teacher's page
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "docs/"))]
    sdist = next(dist.glob("clipdrop_widgets-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        members = {m.split("/", 1)[1] for m in archive.getnames() if "/" in m}
    assert {"README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml"} <= members
    assert "clipdrop_widgets/contract/endpoints.py" in members


@pytest.mark.parametrize("kind", ["whl", "tar.gz"])
def test_the_built_package_installs_and_runs_in_a_fresh_venv(dist, kind, tmp_path):
    built = next(dist.glob(f"clipdrop_widgets-*.{kind}"))
    python = _fresh_venv(tmp_path / "venv")
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                              str(built)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    run = subprocess.run([str(python), "-c", CHECK], cwd=empty, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "text_to_image: 512x512 image/png, 2 credits" in run.stdout
    assert "offline preview" in run.stdout
    command = subprocess.run([str(tmp_path / "venv" / "bin" / "clipdrop-widgets"), "--help"],
                             cwd=empty, capture_output=True, text=True, timeout=120)
    assert command.returncode == 0 and "demo" in command.stdout

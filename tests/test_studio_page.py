"""The Studio's own Voila page script is what its sources build (issue 22, first paint).

``clipdrop_widgets/share/voila/templates/clipdrop/static/studio-page.{js,css,json}`` are
committed built files (a pip install needs no Node). Here they are built again from
``js/src/studio-page.js`` and the versions ``js/package-lock.json`` pins (``bash
scripts/build-page OUT``: npm from the registry), and must be the same bytes: a change to the
source without a rebuild, or a hand edit of the built file, fails. What the page does is
tested in a browser (tests/browser: the launcher, the layout, the looks, axe, a lost kernel).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from clipdrop_widgets.launcher.page import STATIC

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FILES = ("studio-page.js", "studio-page.css", "studio-page.json")


def test_the_committed_page_is_its_sources_built(tmp_path: Path) -> None:
    if shutil.which("npm") is None and os.environ.get("CI") != "true":
        pytest.skip("npm is missing (bash scripts/build-page installs it as root)")
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build-page"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    differ = [name for name in FILES
              if (tmp_path / name).read_bytes() != (STATIC / name).read_bytes()]
    assert not differ, f"rebuild and commit: bash scripts/build-page ({differ} differ)"


def test_the_page_names_the_widget_specs_it_was_built_for() -> None:
    built = json.loads((STATIC / "studio-page.json").read_text())
    assert set(built["specs"]) == {"@jupyter-widgets/base", "@jupyter-widgets/controls"}
    script = (STATIC / "studio-page.js").read_text()
    # the share scope it offers ipycanvas and anywidget carries the bundled version
    assert f'"{built["bundled"]["@jupyter-widgets/base"]}"' in script
    assert "application/vnd.voila.cell-output+json" in script

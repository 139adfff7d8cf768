"""Regenerate the README and docs screenshots from the browser tests.

    .venv/bin/python tests/browser/make_screenshots.py

Runs the three browser scenarios that take them, with ``CDW_DOCS_IMAGES=docs/images``, and
writes (overwriting):

* ``docs/images/studio_voila.png``: the Studio in Voila's default mode, sketch tab, after a
  stroke drawn in the page and a Run (local engine);
* ``docs/images/sketch_to_image_app.png``: ``SketchToImageApp`` in JupyterLab after Run;
* ``docs/images/cleanup_app.png``: ``CleanupApp`` in JupyterLab with a painted mask, after Run.

The tests' own checks run as usual: an image is only written by a scenario that got that far.
Needs Chromium at ``/usr/bin/chromium`` (``bash scripts/install-chromium``); about a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = "sketch_draw_run_compare or cleanup_paint_mask_run or studio_in_voila"


def main() -> int:
    out = ROOT / "docs" / "images"
    env = dict(os.environ, CDW_DOCS_IMAGES=str(out))
    code = subprocess.call(
        [sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider",
         "-k", SCENARIOS, *sys.argv[1:]], cwd=ROOT, env=env)
    if code == 0:
        for path in sorted(out.glob("*.png")):
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return code


if __name__ == "__main__":
    sys.exit(main())

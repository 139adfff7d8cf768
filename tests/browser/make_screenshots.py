"""Regenerate the README and docs screenshots from the browser tests.

    .venv/bin/python tests/browser/make_screenshots.py

Runs the browser scenarios that take them, with ``CDW_DOCS_IMAGES=docs/images``, and
writes (overwriting):

* ``docs/images/studio.png`` (the README's and the docs' home picture): the Studio in Voila's
  default mode on the local engine, cleanup tab, the spoon painted over in the page, after Run;
* ``docs/images/sketch_to_image_app.png``: ``SketchToImageApp`` in JupyterLab, a stroke drawn
  in the page, after Run;
* ``docs/images/painted_portrait.png`` (the troubleshooting page): ``CleanupApp`` in
  JupyterLab, a portrait photo uploaded and painted down to its bottom and right edges;
* ``docs/images/chaining.png`` (the apps reference page): the Studio in JupyterLab after a
  text-to-image result was sent to Cleanup, painted over and cleaned, its history card saying
  where the photo came from;
* ``docs/images/zoomed_mask.png`` (the apps reference page): ``CleanupApp`` in JupyterLab,
  zoomed in 4x on a 12-megapixel photo, a small mask painted;
* ``docs/images/wrong_key.png`` and ``wrong_key_rejected.png`` (the troubleshooting page): the
  Studio after a key typed for a service it cannot reach (JupyterLab), and after a key the
  service refused (Voila), each with its message and the "Back to local engine" button;
* ``docs/images/studio-session.png``: the Studio in Voila with its session line, two results,
  Download under the compare view and in the history, Download all.

With ``--references`` it runs only ``test_browser_screens.py``: the screenshot tests'
references (``tests/browser/references/<app>-<light|dark>.png``, each app in the Studio in
Voila at 1280x800) and, from the same run, ``docs/images/app-<app>-<light|dark>.png``.

The tests' own checks run as usual: an image is only written by a scenario that got that far.
Needs Chromium at ``/usr/bin/chromium`` (``bash scripts/install-chromium``); about a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("sketch_draw_run_compare or studio_in_voila or wrong_key or downloads_in_voila or "
             "(painting_lands_where_aimed and lab and cleanup) or "
             "send_to_cleanup_paint_run_compare or zoomed_mask_is_exact")


def main() -> int:
    out = ROOT / "docs" / "images"
    env = dict(os.environ, CDW_DOCS_IMAGES=str(out))
    args = sys.argv[1:]
    if "--references" in args:
        # the screenshot tests' references (tests/browser/references) and, from the same
        # run, the docs' pictures of each app, light and dark
        args.remove("--references")
        env["CDW_UPDATE_REFERENCES"] = "1"
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "tests/browser/test_browser_screens.py", "-q",
             "-p", "no:cacheprovider", *args], cwd=ROOT, env=env)
        return code
    code = subprocess.call(
        [sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider",
         "-k", SCENARIOS, *args], cwd=ROOT, env=env)
    if code == 0:
        for path in sorted(out.glob("*.png")):
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return code


if __name__ == "__main__":
    sys.exit(main())

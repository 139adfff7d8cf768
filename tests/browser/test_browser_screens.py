"""Screenshots as tests: each of the eleven apps in the Studio (the six later ones in their grouped
tabs), light and dark, at 1280x800, against references.

A layout or theme change that moves, hides or recolours anything shows here as pixels, not as
a reviewer's impression. One Voila server per theme serves the Studio (every app built, the
sample photos, nothing run, so nothing time-dependent is on screen); each app's tab is shot
as the user sees it and compared with ``tests/browser/references/<app>-<theme>.png``: the
same size, and at most `MAX_CHANGED` of the pixels differing by more than `PIXEL_TOLERANCE`
in a channel (font hinting and JPEG decoding vary a little between machines).

Regenerate the references (and the docs' pictures, from the same run) with

    .venv/bin/python tests/browser/make_screenshots.py --references

which runs this file with ``CDW_UPDATE_REFERENCES=1`` and ``CDW_DOCS_IMAGES=docs/images``;
look at ``git diff --stat`` and the pictures before committing them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from labpage import TABS, screenshot_rgba, wait_until
from PIL import Image
from servers import start_voila, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

REFERENCES = Path(__file__).parent / "references"
SCREENSHOTS = Path(__file__).parent / "screenshots"
WAIT = 60.0
#: A channel differing by more than this (0-255) makes a pixel "changed".
PIXEL_TOLERANCE = 48
#: At most this fraction of the pixels may change.
MAX_CHANGED = 0.01

CELLS = [
    """\
from IPython.display import display
from clipdrop_widgets import Studio

studio = Studio()
studio.add_class("cdw-test-studio")
for name in studio.apps:   # build every tab now
    studio.apps[name]
sketch = studio.apps["sketch_to_image"]
sketch.pad.add_stroke([(80, 400), (200, 150), (330, 400)], width=8)
sketch.pad.add_stroke([(130, 300), (280, 300)], width=8)
sketch.prompt.value = "a tent in a meadow"
for name in ("cleanup", "text_inpainting"):
    painter = studio.apps[name].painter
    w, h = painter.image.size
    painter.add_stroke([(0.3 * w, 0.45 * h), (0.6 * w, 0.55 * h)], width=w / 14)
studio.apps["text_to_image"].prompt.value = "a lighthouse on a cliff at dusk"
display(studio)
""",
]


def changed_fraction(seen: np.ndarray, reference: np.ndarray) -> float:
    diff = np.abs(seen.astype(int) - reference.astype(int)).max(axis=2)
    return float((diff > PIXEL_TOLERANCE).mean())


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_each_app_looks_as_its_reference(theme: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    update = os.environ.get("CDW_UPDATE_REFERENCES") == "1"
    docs = os.environ.get("CDW_DOCS_IMAGES")
    path = write_notebook(tmp_path / "notebooks" / "screens.ipynb", CELLS)
    server = start_voila(path, tmp_path / "home", theme=theme, page="studio")
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  device_scale_factor=1)
    problems = []
    try:
        page = context.new_page()
        page.goto(server.url(), timeout=120_000)
        page.locator(".cdw-test-studio").wait_for(timeout=120_000)
        SCREENSHOTS.mkdir(exist_ok=True)
        for name, (outer, inner) in TABS.items():
            for title in (outer, inner) if inner else (outer,):
                page.locator(".cdw-test-studio .lm-TabBar-tab:visible",
                             has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")).first.click()
            app = page.locator(".cdw-test-studio .widget-tab-contents .cdw-app:visible")
            wait_until(lambda app=app: app.count() or None, timeout=WAIT, what=title)
            page.mouse.move(0, 0)  # no hover highlight
            page.wait_for_timeout(600)  # pictures decoded, canvases drawn
            shot = f"{name}-{theme}.png"
            seen = screenshot_rgba(app.first, SCREENSHOTS / shot)
            if update:
                REFERENCES.mkdir(exist_ok=True)
                Image.fromarray(seen).save(REFERENCES / shot, optimize=True)
            if docs:
                Path(docs).mkdir(parents=True, exist_ok=True)
                Image.fromarray(seen).quantize(colors=256).save(Path(docs) / f"app-{shot}",
                                                                optimize=True)
            reference_path = REFERENCES / shot
            if not reference_path.is_file():
                problems.append(f"{shot}: no reference (regenerate: make_screenshots.py "
                                "--references)")
                continue
            reference = np.asarray(Image.open(reference_path).convert("RGB"))
            if reference.shape != seen.shape:
                problems.append(f"{shot}: {seen.shape[1]}x{seen.shape[0]}, reference "
                                f"{reference.shape[1]}x{reference.shape[0]}")
                continue
            share = changed_fraction(seen, reference)
            if share > MAX_CHANGED:
                problems.append(f"{shot}: {share:.1%} of the pixels changed (see "
                                f"{SCREENSHOTS / shot})")
    finally:
        context.close()
        server.stop()
    assert not problems, "\n".join(problems)

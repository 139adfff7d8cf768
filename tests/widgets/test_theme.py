"""Colours that follow the theme, and the words a screen reader gets for the stage (issue 22).

The browser audit (``tests/browser/test_browser_a11y.py``) runs axe-core on the page; here the
palette itself is held to WCAG AA (4.5:1 for text) against the backgrounds JupyterLab's light
and dark themes put under our text, and every coloured line is shown to use the variables.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image

from clipdrop_widgets import CleanupApp, SketchToImageApp, TextToImageApp
from clipdrop_widgets.apps._stage import STAGE_CSS, compare_words, painter_words
from clipdrop_widgets.widgets.theme import DARK, LIGHT, THEME_CSS, color

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

#: JupyterLab's layout colours 0 to 3 (page, panels, inactive tabs, borders) in each theme.
LIGHT_BACKGROUNDS = ["#ffffff", "#ffffff", "#eeeeee", "#bdbdbd"][:3]
DARK_BACKGROUNDS = ["#111111", "#212121", "#424242"]


def luminance(hex_color: str) -> float:
    channels = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(("palette", "backgrounds"),
                         [(LIGHT, LIGHT_BACKGROUNDS), (DARK, DARK_BACKGROUNDS)])
def test_every_colour_meets_wcag_aa_on_its_themes_backgrounds(palette, backgrounds) -> None:
    for name, value in palette.items():
        for background in backgrounds:
            assert contrast(value, background) >= 4.5, (name, value, background)


def test_the_dark_palette_applies_where_the_page_says_it_is_dark() -> None:
    assert 'body[data-jp-theme-light="false"] .cdw-app' in THEME_CSS
    for name, value in DARK.items():
        assert f"--cdw-{name}: {value};" in THEME_CSS
    assert THEME_CSS in STAGE_CSS  # every app puts it on the page


def test_status_lines_name_the_variables_not_fixed_colours() -> None:
    app = TextToImageApp()
    assert color("muted") in app._status.value
    app.run()  # an empty prompt: working, then refused
    assert color("busy") in app._status.value
    assert app.wait(60)
    assert color("error") in app._status.value, app.status
    assert not re.search(r"color:\s*#", app._status.value)


def test_the_painters_words_say_what_is_shown_and_painted() -> None:
    app = CleanupApp()
    app.chooser.load(Image.new("RGB", (1500, 2000), "gray"))
    assert app._stage.helper.picture == "Photo, 1500x2000 pixels, nothing masked yet"
    app.painter.add_rect(0, 0, 750, 2000)
    assert app._stage.helper.picture == "Photo, 1500x2000 pixels, 50 % masked"
    app.painter.undo()
    assert painter_words(app.painter).endswith("nothing masked yet")
    pad = SketchToImageApp()
    pad.pad.add_stroke([(10, 10), (200, 200)], width=8)
    pad.pad.add_stroke([(10, 200), (200, 10)], width=8)
    assert pad._stage.helper.picture == "Sketch, white lines on black, 2 strokes drawn"


def test_the_compare_frames_words_follow_what_it_shows() -> None:
    app = TextToImageApp()
    assert compare_words(app.compare) == app.empty_hint
    app.prompt.value = "a red boat"
    app.run()
    assert app.wait(60) and app.result is not None
    w, h = app.result.image.size
    assert app._stage.helper.compare == f"Result, {w}x{h} pixels"

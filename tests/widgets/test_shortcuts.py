"""What a shortcut on a painter's focused canvas does in Python (``Painter.press``): the ink
layer sends ``{type: "key", action}`` (``ink.js``, tested in Node); here, the messages as it
sends them change the brush size and the tool, within what each painter offers."""

from __future__ import annotations

from PIL import Image

from clipdrop_widgets import MaskPainter, SketchPad


def key(painter, action: str) -> None:
    painter._handle_ink_message({"type": "key", "action": action}, [])


def test_brackets_change_the_brush_within_the_slider():
    painter = MaskPainter(Image.new("RGB", (300, 200)))
    painter.brush_size = 20
    key(painter, "bigger")
    assert painter.brush_size == 24
    key(painter, "smaller")
    key(painter, "smaller")
    assert painter.brush_size < 20
    for _ in range(100):
        key(painter, "smaller")
    assert painter.brush_size == painter._size_slider.min
    for _ in range(100):
        key(painter, "bigger")
    assert painter.brush_size == painter._size_slider.max
    assert painter._ink.size == painter.brush_size  # the live ink follows (linked)


def test_letters_choose_the_tools_each_painter_has():
    painter = MaskPainter(Image.new("RGB", (300, 200)))
    key(painter, "rect")
    assert painter.tool == "rect" and painter._ink.tool == "rect"
    key(painter, "eraser")
    assert painter.tool == "eraser"
    key(painter, "brush")
    assert painter.tool == "brush"
    pad = SketchPad(width=256, height=256)
    key(pad, "eraser")
    assert pad.tool == "eraser"
    key(pad, "brush")  # B on a sketch pad: its pen
    assert pad.tool == "pen"
    key(pad, "rect")  # the pad has no rectangle: nothing changes
    assert pad.tool == "pen"
    key(pad, "nonsense")
    assert pad.tool == "pen"

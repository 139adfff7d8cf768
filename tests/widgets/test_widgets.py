"""The widgets without a browser or kernel: strokes in, pixels out, bytes on the wire.

Browser messages are fed in exactly as ``ink.js`` sends them; everything the kernel would send
to the browser is captured where ipywidgets hands it to the comm.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipycanvas
import ipywidgets
import numpy as np
import pytest
import traitlets
from ipywidgets.widgets import widget as widget_module
from PIL import Image

import clipdrop_widgets
from clipdrop_widgets import read_record
from clipdrop_widgets.api.records import strip_record
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.widgets import (
    CompareSlider,
    HistoryStrip,
    MaskPainter,
    PromptBox,
    SketchPad,
)
from clipdrop_widgets.widgets import ink as ink_module
from clipdrop_widgets.widgets.snapshot import SNAPSHOT_MAX_SIDE
from clipdrop_widgets.widgets.upload import (
    IncomingFile,
    UploadButton,
    UploadRefused,
    UploadRules,
    simulate_upload,
)

COMMAND_NAMES = ipycanvas.canvas._CMD_LIST
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


# -- capturing what goes to the browser -------------------------------------------------------

@dataclass
class Message:
    widget: Any
    kind: str  # "open", "update" or "custom"
    content: Any
    buffers: list[bytes] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(json.dumps(self.content, default=str)) + sum(len(b) for b in self.buffers)

    @property
    def commands(self) -> list[str]:
        """Names of the ipycanvas commands in this message (empty for other messages)."""
        if self.kind != "custom" or self.widget is not ipycanvas.canvas._CANVAS_MANAGER:
            return []
        decoded = json.loads(self.buffers[0])
        batch = decoded if decoded and isinstance(decoded[0], list) else [decoded]
        return [COMMAND_NAMES[c[0]] for c in batch]


class Wire:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.draw_calls: list[tuple[Any, list[Any]]] = []

    def reset(self) -> None:
        self.messages.clear()
        self.draw_calls.clear()

    @property
    def bytes(self) -> int:
        return sum(m.size for m in self.messages)

    @property
    def canvas_messages(self) -> list[Message]:
        return [m for m in self.messages if m.commands]

    @property
    def commands(self) -> list[str]:
        return [name for m in self.messages for name in m.commands]

    def custom_to(self, widget: Any) -> list[Any]:
        return [m.content for m in self.messages if m.widget is widget and m.kind == "custom"]

    def largest_buffer(self) -> int:
        return max((len(b) for m in self.messages for b in m.buffers[1:] if m.commands),
                   default=0) if self.messages else 0


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    """Everything sent towards the browser: widget openings, state updates, custom messages."""
    captured = Wire()

    def send(self: ipywidgets.Widget, msg: dict, buffers: list | None = None) -> None:
        method = msg.get("method")
        content = msg.get("content") if method == "custom" else msg.get("state")
        captured.messages.append(Message(self, "custom" if method == "custom" else "update",
                                         content, [bytes(b) for b in buffers or []]))

    real_create = widget_module.comm.create_comm

    def create_comm(**kwargs: Any) -> Any:
        captured.messages.append(Message(None, "open", kwargs.get("data"),
                                         [bytes(b) for b in kwargs.get("buffers") or []]))
        return real_create(**kwargs)

    manager = ipycanvas.canvas._CANVAS_MANAGER
    real_send_custom = manager._send_custom

    def send_custom(command: Any, buffers: list | None = None) -> None:
        captured.draw_calls.append((command, list(buffers or [])))
        real_send_custom(command, buffers or [])

    monkeypatch.setattr(ipywidgets.Widget, "_send", send)
    monkeypatch.setattr(widget_module.comm, "create_comm", create_comm)
    monkeypatch.setattr(manager, "_send_custom", send_custom)
    return captured


def ink_messages(points: np.ndarray, *, width: float, tool: str, stroke_id: str = "t3st-1",
                 per_batch: int = 12) -> list[tuple[dict[str, Any], list[memoryview]]]:
    """What ink.js sends for a stroke through ``points`` (canvas pixels): float32 (x, y)
    batches, the last one final. A stroke's points arrive in batches of about a dozen."""
    pts = np.asarray(points, np.float32)
    chunks = [pts[i : i + per_batch] for i in range(0, len(pts), per_batch)]
    out = []
    for i, chunk in enumerate(chunks):
        content = {"type": "points", "id": stroke_id, "tool": tool, "width": float(width),
                   "final": i == len(chunks) - 1, "n": len(chunk)}
        out.append((content, [memoryview(chunk.tobytes())]))
    return out


def send_stroke(widget: Any, points: np.ndarray, **kwargs: Any) -> None:
    for content, buffers in ink_messages(points, **kwargs):
        widget._handle_ink_message(content, buffers)


def band(y: float, width: float) -> np.ndarray:
    return np.arange(math.ceil(y - width / 2 - 0.5), math.floor(y + width / 2 - 0.5) + 1)


def png_of(bundle: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(bundle["image/png"]))


def wiggle(n: int, *, x0: float, x1: float, y: float, amplitude: float) -> np.ndarray:
    """A float32-exact stroke of ``n`` points, as a browser would report it."""
    t = np.linspace(0, 1, n)
    return np.c_[x0 + (x1 - x0) * t, y + amplitude * np.sin(6 * t)].astype(np.float32)


def make_result(color: str = "red", size: tuple[int, int] = (64, 48), **kwargs: Any) -> Result:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    defaults: dict[str, Any] = {"endpoint": "text_to_image", "inputs": {"prompt": "a red fox"},
                                "credits_consumed": 2, "remaining_credits": 98}
    return Result(buf.getvalue(), "image/png", **(defaults | kwargs))


# -- the package surface ----------------------------------------------------------------------

def test_widgets_module_exports_exactly_the_five_widgets() -> None:
    from clipdrop_widgets import widgets

    assert widgets.__all__ == ["SketchPad", "MaskPainter", "PromptBox", "CompareSlider",
                               "HistoryStrip"]
    assert clipdrop_widgets.SketchPad is SketchPad


def test_options_are_keyword_only_and_validated() -> None:
    with pytest.raises(TypeError):
        SketchPad(256)  # type: ignore[misc]
    with pytest.raises(TypeError):
        SketchPad(colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="width"):
        SketchPad(width=8)
    with pytest.raises(ValueError, match="mask_color"):
        MaskPainter(Image.new("RGB", (10, 10)), mask_color="not-a-colour")
    with pytest.raises(ValueError, match="max_chars"):
        PromptBox(0)


def test_reprs_are_short_and_stable() -> None:
    pad = SketchPad()
    assert repr(pad) == "SketchPad(512x512, 0 strokes)"
    pad.add_stroke([(1, 1), (5, 5)])
    pad.add_stroke([(1, 9)])
    pad.add_stroke([(9, 9), (20, 20)], tool="eraser")
    assert repr(pad) == "SketchPad(512x512, 3 strokes)"
    painter = MaskPainter(Image.new("RGB", (400, 300)))
    painter.add_rect(0, 0, 200, 300)
    assert repr(painter) == "MaskPainter(400x300, 1 operation, 50.0% masked)"
    assert repr(PromptBox(1000, value="a fox")) == "PromptBox(5 / 1000)"
    assert repr(HistoryStrip()) == "HistoryStrip(0 results)"
    compare = CompareSlider(Image.new("RGB", (64, 48)), Image.new("RGB", (32, 32)))
    assert repr(compare) == "CompareSlider(before 64x48, after 32x32, position 0.50)"
    for widget in (pad, painter, compare):
        assert not re.search(r"[0-9a-f]{32}|\b0x[0-9a-f]+", repr(widget))


# -- SketchPad --------------------------------------------------------------------------------

def test_sketch_strokes_from_python_and_from_the_browser_give_the_same_image() -> None:
    points = wiggle(200, x0=40, x1=470, y=256, amplitude=120)
    by_python, by_browser = SketchPad(), SketchPad()
    by_python.add_stroke(points, width=9)
    by_python.add_stroke(points[:50] + 20, width=30, tool="eraser")
    send_stroke(by_browser, points, width=9, tool="pen", stroke_id="a-1")
    send_stroke(by_browser, points[:50] + 20, width=30, tool="eraser", stroke_id="a-2")
    assert [s.tool for s in by_browser.strokes] == ["pen", "eraser"]
    np.testing.assert_array_equal(by_browser.strokes[0].points, by_python.strokes[0].points)
    for size in (None, 512, 300):
        np.testing.assert_array_equal(np.asarray(by_browser.to_image(size)),
                                      np.asarray(by_python.to_image(size)))


def test_to_image_is_crisp_and_scaled_to_any_square_size() -> None:
    pad = SketchPad()
    pad.add_stroke([(50, 100), (450, 100)], width=10)
    image = pad.to_image()
    assert image.mode == "L" and image.size == (1024, 1024)
    pixels = np.asarray(image)
    assert set(np.unique(pixels)) == {0, 255}
    np.testing.assert_array_equal(np.flatnonzero(pixels[:, 512]), np.arange(190, 210))
    small = np.asarray(pad.to_image(256))
    np.testing.assert_array_equal(np.flatnonzero(small[:, 128]), band(50, 5))  # rows 47..52


def test_a_wide_pad_is_letterboxed_into_the_square() -> None:
    pad = SketchPad(width=512, height=256)
    pad.add_stroke([(0, 128), (512, 128)], width=16)
    pixels = np.asarray(pad.to_image(1024))
    np.testing.assert_array_equal(np.flatnonzero(pixels[:, 500]), np.arange(496, 528))
    assert not pixels[:256].any() and not pixels[768:].any()


def test_intermediate_ink_batches_cost_nothing_and_the_final_one_one_draw(wire: Wire) -> None:
    pad = SketchPad()
    messages = ink_messages(wiggle(200, x0=10, x1=500, y=200, amplitude=50), width=6,
                            tool="pen")
    wire.reset()
    for content, buffers in messages[:-1]:
        pad._handle_ink_message(content, buffers)
    assert wire.messages == [] and pad.strokes == ()
    pad._handle_ink_message(*messages[-1])
    assert len(pad.strokes) == 1 and len(pad.strokes[0].points) == 200
    assert len(wire.canvas_messages) == 1 and len(wire.draw_calls) <= 2  # a switch + the draw
    assert wire.commands.count("strokeLines") == 1
    assert "putImageData" not in wire.commands
    assert wire.bytes < 2500  # 200 float32 points (1,600 bytes) and a few style settings
    release = wire.custom_to(pad._ink)
    assert release == [{"type": "release", "id": "t3st-1"}]
    assert wire.messages.index(wire.canvas_messages[0]) < [m.content for m in
                                                           wire.messages].index(release[0])


def test_pad_buttons_undo_redo_clear() -> None:
    pad = SketchPad()
    assert pad._undo_button.disabled and pad._redo_button.disabled
    pad.add_stroke([(10, 10), (100, 10)], width=5)
    pad.add_stroke([(10, 50), (100, 50)], width=5)
    two = np.asarray(pad.to_image(512))
    pad._undo_button.click()
    assert len(pad.strokes) == 1 and not pad._redo_button.disabled
    pad._redo_button.click()
    np.testing.assert_array_equal(np.asarray(pad.to_image(512)), two)
    pad._clear_button.click()
    assert not np.asarray(pad.to_image()).any()
    pad.undo()
    np.testing.assert_array_equal(np.asarray(pad.to_image(512)), two)


def test_loading_a_black_on_white_sketch_inverts_it_with_a_notice() -> None:
    drawing = Image.new("L", (256, 256), 255)
    drawing.paste(0, (0, 120, 256, 136))  # a black bar on white
    pad = SketchPad()
    pad.load(drawing)
    assert "inverted" in pad._notice.value
    pixels = np.asarray(pad.to_image(512))
    assert pixels[240:272, 256].all() and not pixels[200, 256] and not pixels[300, 256]
    pad.undo()
    assert not np.asarray(pad.to_image()).any()
    pad.load(Image.eval(drawing, lambda v: 255 - v))
    assert pad._notice.value == ""


def test_uploading_a_sketch_file_loads_it(wire: Wire) -> None:
    buf = io.BytesIO()
    sketch = Image.new("L", (512, 512), 0)
    sketch.paste(255, (100, 100, 200, 200))
    sketch.save(buf, "PNG")
    pad = SketchPad()
    assert simulate_upload(pad._upload, "cat.png", buf.getvalue(), chunk_bytes=500) == ""
    assert pad.errors.message == ""
    assert np.asarray(pad.to_image(512))[150, 150] == 255
    assert "cat.png" in pad._notice.value and pad._upload.loaded == "cat.png"


def test_a_bad_upload_is_refused_by_name_and_the_button_keeps_working() -> None:
    pad = SketchPad()
    message = simulate_upload(pad._upload, "notes.txt", b"xyz" * 1000)
    assert message == '"notes.txt" is not a PNG, JPEG or WebP image', message
    assert "BytesIO" not in message and pad._upload.message == message
    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, "PNG")
    assert simulate_upload(pad._upload, "white.png", buf.getvalue()) == ""
    assert pad._upload.loaded == "white.png"


# -- uploads in chunks --------------------------------------------------------------------------

def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return buf.getvalue()


def test_incoming_file_reassembles_in_order_and_refuses_the_rest() -> None:
    rules = UploadRules(max_bytes=100)
    # sizes under a megabyte in KB (issue 21: "0.0 MB" said nothing)
    with pytest.raises(UploadRefused, match=r'"big.png" is 1 KB; the file size limit is '
                                            r"0.0001 MB"):
        IncomingFile("a", "big.png", 101, rules)
    incoming = IncomingFile("a", "ok.png", 10, rules)
    assert incoming.add(0, b"01234") == 5 and not incoming.complete
    with pytest.raises(ValueError, match="expected 5"):
        incoming.add(7, b"78")
    with pytest.raises(ValueError, match="announced 10"):
        incoming.add(5, b"5678901")
    with pytest.raises(ValueError, match="after 5 of 10"):
        incoming.data()
    incoming.add(5, memoryview(b"56789"))
    assert incoming.complete and incoming.data() == b"0123456789"


def test_upload_rules_come_from_the_endpoint_table() -> None:
    from clipdrop_widgets.contract.endpoints import ENDPOINTS

    field = ENDPOINTS["replace_background"].image_field
    rules = UploadRules.for_field(field)
    assert (rules.max_bytes, rules.max_side, rules.max_megapixels) == (
        field.max_bytes, field.max_side, field.max_megapixels)
    trait = UploadButton(rules=rules).rules
    assert trait["max_bytes"] == field.max_bytes and trait["formats"] == ["png", "jpeg", "webp"]
    assert trait["format_words"] == "PNG, JPEG or WebP"


def test_python_checks_the_whole_file_again() -> None:
    rules = UploadRules(max_megapixels=1, max_side=1500)
    button = UploadButton(rules=rules)
    taken: list[str] = []
    button.on_file(lambda name, _data: taken.append(name))
    # the browser could not read this size (or was bypassed): Python refuses it by name
    assert simulate_upload(button, "tall.png", _png((400, 3000), "L")) == (
        '"tall.png" is 400x3000 (1.2 megapixels); the limit is 1 megapixels')
    assert simulate_upload(button, "long.png", _png((1600, 100), "L")) == (
        '"long.png" is 1600x100; the limit is 1500 pixels a side')
    assert simulate_upload(button, "fine.png", _png((600, 400))) == "" and taken == ["fine.png"]
    # a handler that fails refuses the file, in words, with its name
    button.on_file(lambda _n, _d: (_ for _ in ()).throw(ValueError("no room")))
    assert simulate_upload(button, "sad.png", _png((10, 10))) == (
        '"sad.png" could not be loaded: no room')


def test_chunks_of_an_interrupted_upload_are_refused_not_mixed() -> None:
    button = UploadButton()
    answers: list[dict[str, Any]] = []
    button.send = answers.append  # type: ignore[method-assign]
    data = _png((50, 50))
    button._handle({"type": "begin", "id": "one", "name": "a.png", "size": len(data)}, [])
    button._handle({"type": "begin", "id": "two", "name": "b.png", "size": len(data)}, [])
    button._handle({"type": "chunk", "id": "one", "offset": 0}, [data])
    assert answers[-1] == {"type": "refused", "id": "one",
                           "message": "the upload was interrupted; choose the file again"}


def test_pad_snapshot_shows_the_current_strokes() -> None:
    pad = SketchPad()
    pad.add_stroke([(100, 256), (400, 256)], width=20)
    bundle = pad._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "SketchPad(512x512, 1 stroke)"
    picture = np.asarray(png_of(bundle).convert("L"))
    assert picture.shape == (SNAPSHOT_MAX_SIDE, SNAPSHOT_MAX_SIDE)
    assert picture[240, 240] > 200 and picture[100, 240] < 50


def test_voila_redraw_resends_the_drawing_to_a_new_page(wire: Wire) -> None:
    pad = SketchPad(width=128, height=96)
    pad.add_stroke([(10, 48), (118, 48)], width=8)
    wire.reset()
    # a page that connects later (Voila) knows no current canvas: the redraw must switch first
    pad._layer._handle_frontend_event(None, {"event": "client_ready"}, [])
    assert wire.commands[0] == "switchCanvas"
    assert "putImageData" in wire.commands
    _command, buffers = wire.draw_calls[-1]
    png = next(bytes(b) for b in buffers if bytes(b[:4]) == b"\x89PNG")
    sent = np.asarray(Image.open(io.BytesIO(png)))
    np.testing.assert_array_equal(sent, np.asarray(pad._drawing.raster))


def test_redraw_switches_canvas_even_when_python_thinks_it_is_current(wire: Wire) -> None:
    pad = SketchPad(width=64, height=64)
    pad.redraw()
    wire.reset()
    pad._layer._handle_frontend_event(None, {"event": "client_ready"}, [])
    assert wire.commands[:1] == ["switchCanvas"]


def test_malformed_ink_messages_show_an_error_and_never_crash() -> None:
    pad = SketchPad()
    pad._ink._handle_custom_msg({"type": "points", "id": "x", "tool": "pen", "width": 4,
                                 "final": True, "n": 3}, [memoryview(b"\x00" * 7)])
    assert "float32" in pad.errors.message
    content, buffers = ink_messages(np.array([[10, 10], [40, 40]]), width=4, tool="pen")[0]
    pad._ink._handle_custom_msg(content, buffers)
    assert pad.errors.message == "" and len(pad.strokes) == 1


def test_add_stroke_refuses_another_widgets_tool() -> None:
    with pytest.raises(ValueError, match="brush"):
        SketchPad().add_stroke([(1, 1)], tool="brush")
    with pytest.raises(ValueError, match="pen"):
        MaskPainter(Image.new("RGB", (50, 50))).add_stroke([(1, 1)], tool="pen")


def test_brush_size_slider_drives_the_ink_and_the_default_width() -> None:
    pad = SketchPad(brush_size=5)
    pad.brush_size = 12
    assert pad._ink.size == 12
    assert pad.add_stroke([(0, 0), (9, 9)]).width == 12
    pad.tool = "eraser"
    assert pad._ink.tool == "eraser"
    with pytest.raises(ValueError):
        pad.tool = "rect"


# -- MaskPainter ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def photo_12mp() -> Image.Image:
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((4000, 3000), Image.Resampling.BILINEAR)


def test_mask_from_the_browser_maps_to_native_pixels_exactly(photo_12mp: Image.Image) -> None:
    painter = MaskPainter(photo_12mp)
    assert painter.display_size == (768, 576)
    sx, sy = painter._scale
    send_stroke(painter, np.array([[100, 300.25], [700, 300.25]]), width=10, tool="brush")
    mask = painter.mask
    assert mask.mode == "L" and mask.size == (4000, 3000)
    pixels = np.asarray(mask)
    assert set(np.unique(pixels)) == {0, 255}
    expected = band(300.25 / sy, 10 / ((sx + sy) / 2))
    np.testing.assert_array_equal(np.flatnonzero(pixels[:, 2000]), expected)
    assert 50 <= len(expected) <= 54  # a 10-pixel brush on screen is 52 photo pixels


def test_mask_strokes_from_python_and_from_the_browser_agree(photo_12mp: Image.Image) -> None:
    by_python, by_browser = MaskPainter(photo_12mp), MaskPainter(photo_12mp)
    shown = wiggle(200, x0=50, x1=700, y=280, amplitude=200)  # display pixels, float32
    scale = np.asarray(by_python._scale)
    mean = float(scale.mean())
    by_python.add_stroke(shown.astype(np.float64) / scale, width=24 / mean, tool="brush")
    by_python.add_stroke(shown[::3].astype(np.float64) / scale, width=8 / mean, tool="eraser")
    send_stroke(by_browser, shown, width=24, tool="brush", stroke_id="m-1")
    send_stroke(by_browser, shown[::3], width=8, tool="eraser", stroke_id="m-2")
    np.testing.assert_array_equal(np.asarray(by_browser.mask), np.asarray(by_python.mask))
    assert 0 < by_browser.coverage < 0.5


def test_committing_a_mask_stroke_on_12_megapixels_is_one_small_draw(
        photo_12mp: Image.Image, wire: Wire) -> None:
    painter = MaskPainter(photo_12mp)
    wire.reset()
    send_stroke(painter, wiggle(200, x0=50, x1=700, y=280, amplitude=200), width=24,
                tool="brush")
    assert len(wire.canvas_messages) == 1 and wire.commands.count("strokeLines") == 1
    assert wire.bytes < 2500
    assert wire.custom_to(painter._ink) == [{"type": "release", "id": "t3st-1"}]


def test_rectangle_tool_from_the_browser(wire: Wire) -> None:
    painter = MaskPainter(Image.new("RGB", (1600, 1200)))
    assert painter.display_size == (768, 576)
    wire.reset()
    send_stroke(painter, np.array([[384, 288], [96, 144]]), width=24, tool="rect")
    pixels = np.asarray(painter.mask)
    ys, xs = np.nonzero(pixels)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (200, 799, 300, 599)
    assert wire.commands.count("fillRect") == 1 and "putImageData" not in wire.commands


def test_mask_layer_is_redrawn_exactly_after_undo_invert_grow(wire: Wire) -> None:
    painter = MaskPainter(Image.new("RGB", (1536, 1152)), mask_color="#ff0000")
    painter.add_stroke([(300, 300), (1200, 800)], width=120)
    for action in (painter._invert_button.click, painter._grow_button.click, painter.undo):
        wire.reset()
        action()
        assert "putImageData" in wire.commands
        png = next(bytes(b) for m in wire.canvas_messages for b in m.buffers[1:]
                   if b[:4] == b"\x89PNG")
        sent = Image.open(io.BytesIO(png))
        assert sent.mode == "RGBA" and sent.size == painter.display_size  # PNG, never JPEG
        rgba = np.asarray(sent)
        expected = np.asarray(painter.mask.resize(painter.display_size, Image.Resampling.BOX))
        np.testing.assert_array_equal(rgba[..., 3], expected)
        assert (rgba[..., 0][rgba[..., 3] > 0] == 255).all()


def test_invert_grow_undo_on_the_full_resolution_mask() -> None:
    painter = MaskPainter(Image.new("RGB", (1000, 800)))
    painter.add_stroke([(500, 400)], width=200)
    area = np.count_nonzero(np.asarray(painter.mask))
    painter.grow()
    grown = np.count_nonzero(np.asarray(painter.mask))
    assert grown / area == pytest.approx(1.3225, rel=0.03)
    painter.invert()
    assert np.count_nonzero(np.asarray(painter.mask)) == 1000 * 800 - grown
    painter.undo(), painter.undo()
    assert np.count_nonzero(np.asarray(painter.mask)) == area
    painter.redo()
    assert np.count_nonzero(np.asarray(painter.mask)) == grown
    painter.clear()
    assert painter.coverage == 0 and set(np.unique(np.asarray(painter.mask))) == {0}


def test_eraser_from_the_browser_unmasks() -> None:
    painter = MaskPainter(Image.new("RGB", (768, 576)))
    painter.add_rect(0, 0, 768, 576)
    send_stroke(painter, np.array([[0, 288], [768, 288]]), width=20, tool="eraser")
    pixels = np.asarray(painter.mask)
    assert not pixels[278:298].any() and pixels[:278].all() and pixels[298:].all()


def test_a_tool_the_painter_lacks_shows_an_error_and_releases_the_ink(wire: Wire) -> None:
    painter = MaskPainter(Image.new("RGB", (300, 200)))
    wire.reset()
    for content, buffers in ink_messages(np.array([[1, 1], [50, 50]]), width=4, tool="pen"):
        painter._ink._handle_custom_msg(content, buffers)
    assert "no tool 'pen'" in painter.errors.message and painter.coverage == 0
    assert wire.custom_to(painter._ink) == [{"type": "release", "id": "t3st-1"}]


def test_mask_snapshot_shows_photo_and_mask(photo_12mp: Image.Image) -> None:
    painter = MaskPainter(Image.new("RGB", (4000, 3000), "white"), mask_color="#0000ff")
    painter.add_rect(0, 0, 2000, 3000)
    picture = png_of(painter._repr_mimebundle_()).convert("RGB")
    assert max(picture.size) <= SNAPSHOT_MAX_SIDE
    left = picture.getpixel((40, 100))
    right = picture.getpixel((picture.width - 40, 100))
    assert right == (255, 255, 255) and left[2] > 200 and left[0] < 160


def test_set_image_starts_a_new_mask() -> None:
    painter = MaskPainter(Image.new("RGB", (300, 200)))
    ink_layout, stack_layout = painter._ink.layout, painter._stack.layout
    painter.add_stroke([(10, 10), (100, 100)], width=30)
    painter.set_image(Image.new("RGB", (2000, 1000)))
    assert painter.mask.size == (2000, 1000) and painter.coverage == 0
    assert painter.display_size == (768, 384) and not painter.operations
    assert (painter._ink.width, painter._ink.height) == (768, 384)
    for layer in painter._stack.children:  # photo, mask layer and ink stay exactly aligned
        assert (layer.layout.width, layer.layout.height) == ("768px", "384px")
    # changed in place: an anywidget view (the ink layer) ignores a replaced Layout object
    assert painter._ink.layout is ink_layout and painter._stack.layout is stack_layout


def test_the_photo_reaches_the_browser_once_shrunk(photo_12mp: Image.Image) -> None:
    painter = MaskPainter(photo_12mp)
    data = painter._photo_view.value
    assert painter._photo_view.format == "jpeg" and len(data) < 400_000
    assert Image.open(io.BytesIO(data)).size == (768, 576)
    assert "cdw-mask-layer" in painter._layer._dom_classes


# -- PromptBox --------------------------------------------------------------------------------

def test_prompt_counter_counts_live_and_warns_past_the_limit() -> None:
    box = PromptBox(10)
    assert box.counter_text == "0 / 10" and "&#9888;" not in box._counter.value
    box._text.value = "a red fox"  # what typing in the browser does
    assert box.value == "a red fox" and box.counter_text == "9 / 10"
    box._text.value = "a red fox in snow"
    assert box.over_limit and box.counter_text == "17 / 10: 7 too many"
    assert "&#9888;" in box._counter.value and "#b00020" in box._counter.value
    box.value = "short"
    assert box._text.value == "short" and not box.over_limit


def test_prompt_counts_unicode_characters_and_works_without_a_limit() -> None:
    box = PromptBox(value="héllo 👋")
    assert box.count == 7 and box.counter_text == "7 characters"


def test_prompt_recall_of_earlier_prompts() -> None:
    box = PromptBox(1000)
    assert box._recall.disabled
    box.remember("a fox")
    box.remember("   ")
    box.value = "a cat"
    box.remember()
    box.remember("a fox")
    assert box.history == ("a fox", "a cat")
    box.value = "my long carefully written prompt"
    box._recall.value = "a cat"  # choosing it in the dropdown (one ArrowDown does)
    assert box.value == "my long carefully written prompt"  # choosing is not replacing
    assert not box._use.disabled
    box._use.click()  # Use beside the menu
    assert box.value == "a cat" and box._recall.value == "" and box._use.disabled
    assert box._undo.layout.display == ""  # the typed text is one press away
    box._undo.click()
    assert box.value == "my long carefully written prompt"
    assert box._undo.layout.display == "none"
    assert box.recall(0) == "a fox" and box.value == "a fox"
    box.value = "a fox, at night"  # typing after a recall: Undo goes (it would lose this)
    assert box._undo.layout.display == "none" and not box.undo_recall()


def test_prompt_snapshot_is_a_picture_of_the_text() -> None:
    bundle = PromptBox(1000, value="a lighthouse at dusk")._repr_mimebundle_()
    assert png_of(bundle).width == 480


# -- CompareSlider ----------------------------------------------------------------------------

def test_a_divider_move_sends_a_tiny_command_and_no_image_bytes(wire: Wire) -> None:
    rng = np.random.default_rng(0)
    before = Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8))
    after = Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8))
    compare = CompareSlider(before, after)
    after_bytes = len(compare._sent["after"].view.value)
    wire.reset()
    compare._slider.value = 30  # the slider (in percent), as the browser moves it
    assert compare.position == pytest.approx(0.3)
    assert [m.kind for m in wire.messages if m.kind == "open"] == []
    assert all(len(b) < 100 for m in wire.messages for b in m.buffers[1:])
    assert len(wire.canvas_messages) == 1
    assert wire.commands.count("drawImage") == 2 and "putImageData" not in wire.commands
    assert wire.bytes < 1000 and after_bytes / wire.bytes > 500


def test_dragging_on_the_image_moves_the_divider(wire: Wire) -> None:
    compare = CompareSlider(Image.new("RGB", (400, 300), "red"),
                            Image.new("RGB", (400, 300), "blue"))
    width = compare.frame_size[0]
    events = compare._canvas._handle_frontend_event
    events(None, {"event": "mouse_move", "x": 10.0, "y": 5.0}, [])
    assert compare.position == 0.5  # hovering does nothing
    events(None, {"event": "mouse_down", "x": width * 0.2, "y": 5.0}, [])
    events(None, {"event": "mouse_move", "x": width * 0.8, "y": 5.0}, [])
    assert compare.position == pytest.approx(0.8) and compare._slider.value == pytest.approx(80)
    events(None, {"event": "mouse_up", "x": width * 0.8, "y": 5.0}, [])
    events(None, {"event": "mouse_move", "x": width * 2, "y": 5.0}, [])
    assert compare.position == pytest.approx(0.8)
    events(None, {"event": "mouse_down", "x": width * 5, "y": 5.0}, [])
    assert compare.position == 1.0


def test_images_of_different_sizes_are_letterboxed_into_one_frame() -> None:
    compare = CompareSlider(Image.new("RGB", (1000, 500), "red"),
                            Image.new("RGB", (512, 512), "blue"), position=0.5)
    assert compare.frame_size == (512, 512)  # its pixels; shown up to the 768-pixel box:
    assert compare._slider.layout.max_width == compare._canvas.layout.max_width == "768px"
    assert compare._sent["before"].box == (0, 128, 512, 256)
    picture = png_of(compare._repr_mimebundle_()).convert("RGB")
    assert picture.getpixel((100, 256)) == (255, 0, 0)      # before, left of the divider
    assert picture.getpixel((400, 256)) == (0, 0, 255)      # after, right of it
    assert picture.getpixel((100, 40)) == (0x20, 0x20, 0x20)  # letterbox margin


def test_a_small_picture_is_shown_enlarged_in_sharp_blocks() -> None:
    """Finding 4 (walk 22): a 64x64 result was shown 64x64 CSS pixels, "◀ Before" and
    "After ▶" wrapping into each other over it and the divider's handle covering its middle.
    It is now shown 6 times larger (384x384), nearest neighbour: each pixel a sharp block."""
    before = Image.new("RGB", (64, 64), "red")
    before.putpixel((10, 20), (0, 255, 0))
    after = Image.new("RGB", (64, 64), "blue")
    compare = CompareSlider(before, after, position=0.5)
    assert compare.frame_size == (384, 384)
    # on an app's stage (the Studio) it is shown at its frame's size: 384, not 64, CSS pixels
    from clipdrop_widgets.apps._stage import Stage

    stage = Stage([], compare, on_keep=lambda: None, on_discard=lambda: None)
    assert "--cdw-compare-px: 384px;" in stage._ratios.value
    picture = png_of(compare._repr_mimebundle_()).convert("RGB")
    assert picture.size == (384, 384)
    block = {picture.getpixel((60 + dx, 120 + dy)) for dx in range(6) for dy in range(6)}
    assert block == {(0, 255, 0)}  # the one green pixel: a 6x6 block, not blurred
    assert picture.getpixel((59, 120)) == picture.getpixel((66, 120)) == (255, 0, 0)
    assert picture.getpixel((300, 200)) == (0, 0, 255)
    assert "white-space:nowrap" in compare._label_row.value  # the labels never wrap
    # a result twice as large (an upscale): its frame 3 times it, the photo 6 times
    compare.set_images(before, Image.new("RGB", (128, 96), "blue"))
    assert compare.frame_size == (384, 288)
    assert compare._sent["before"].box == (48, 0, 288, 288)
    # from 384 pixels up a picture is shown at its own size, as before
    compare.set_images(None, Image.new("RGB", (400, 100), "blue"))
    assert compare.frame_size == (400, 100)
    compare.set_images(None, Image.new("RGB", (100, 50), "blue"))
    assert compare.frame_size == (300, 150)  # 3 times: 4 times would pass 384
    compare.set_images(None, Image.new("RGB", (200, 100), "blue"))
    assert compare.frame_size == (200, 100)  # under 2 times: no whole number fits


def test_after_only_mode_for_text_to_image(wire: Wire) -> None:
    compare = CompareSlider(after=Image.new("RGB", (512, 512), "green"))
    assert compare._slider.layout.display == "none"
    assert repr(compare) == "CompareSlider(after 512x512)"
    wire.reset()
    compare.position = 0.2
    assert wire.canvas_messages == [] and wire.bytes < 100  # only the hidden slider's value
    compare.set_images(Image.new("RGB", (512, 512)), compare.after)
    assert compare._slider.layout.display == ""


def test_showing_the_same_images_again_sends_no_image_bytes(wire: Wire) -> None:
    before, after = Image.new("RGB", (300, 200), "red"), Image.new("RGB", (300, 200), "blue")
    compare = CompareSlider(before, after)
    other = Image.new("RGB", (300, 200), "white")
    compare.set_images(before, other)
    wire.reset()
    compare.set_images(before, after)
    assert [m for m in wire.messages if m.kind == "open"] == []
    assert wire.bytes < 2000


def test_compare_accepts_results_and_redraws_for_a_new_page(wire: Wire) -> None:
    compare = CompareSlider(make_result("red"), make_result("blue"))
    wire.reset()
    compare._sources["before"]._handle_frontend_event(None, {"event": "client_ready"}, [])
    assert wire.commands[0] == "switchCanvas" and wire.commands.count("drawImage") == 4
    assert wire.bytes < 3000


def test_position_must_stay_between_0_and_1() -> None:
    compare = CompareSlider()
    with pytest.raises(traitlets.TraitError, match="between 0 and 1"):
        compare.position = 1.5
    assert repr(compare) == "CompareSlider(empty)"


# -- HistoryStrip -----------------------------------------------------------------------------

def test_history_shows_results_newest_first_with_their_facts() -> None:
    """Cards show the newest first; `results` is in the order made (new ones append)."""
    strip = HistoryStrip(max_items=2)
    first = make_result("red", inputs={"prompt": "a <b>bold</b> fox"})
    second = make_result("blue", endpoint="cleanup", inputs={}, credits_consumed=1)
    third = make_result("green", from_cache=True)
    strip.add(first)
    strip.add(second)
    assert strip.results == (first, second)
    caption = strip._cards[1].children[1].value
    assert "a &lt;b&gt;bold&lt;/b&gt; fox" in caption and "Text to image" in caption
    assert "2 credits" in caption and re.search(r"\d\d:\d\d:\d\d", caption)
    assert "Cleanup" in strip._cards[0].children[1].value
    assert "1 credit<" in strip._cards[0].children[1].value
    strip.add(third)
    assert strip.results == (second, third) and len(strip._row.children) == 2
    assert "from cache" in strip._cards[0].children[1].value
    thumb = Image.open(io.BytesIO(strip._cards[0].children[0].value))
    assert max(thumb.size) <= 128


def test_clicking_show_calls_the_select_handlers() -> None:
    strip = HistoryStrip()
    result = make_result()
    strip.add(result)
    chosen: list[Result] = []
    strip.on_select(chosen.append)
    strip._cards[0].children[2].children[0].click()
    assert chosen == [result]

    def broken(_result: Result) -> None:
        raise RuntimeError("the compare view is gone")

    strip.on_select(broken)
    strip._cards[0].children[2].children[0].click()
    assert strip.errors.message == "the compare view is gone"
    strip.on_select(broken, remove=True)
    assert strip.select(0) is result and len(chosen) == 3
    newer = make_result("blue")
    strip.add(newer)
    assert strip.select(-1) is newer and strip.select(0) is result
    with pytest.raises(KeyError, match="no result 2 in the history: it holds 2"):
        strip.select(2)
    for wrong in (True, 1.0, "0"):  # not an index (True is 1 to Python, not to us)
        with pytest.raises(TypeError, match="a Result or its index"):
            strip.select(wrong)  # type: ignore[arg-type]


def test_history_saves_one_or_all_without_overwriting(tmp_path: Path) -> None:
    strip = HistoryStrip(folder=tmp_path)
    results = [make_result("red", created=1_700_000_000.0),
               make_result("blue", created=1_700_000_000.0)]
    for r in results:
        strip.add(r)
    one = strip.save(-1)  # the newest
    assert len(one) == 1 and strip_record(Path(one[0]).read_bytes()) == results[1].data
    assert read_record(one[0])["operation"] == results[1].endpoint  # its record inside
    strip._save_all.click()  # Save, then Save all: the one saved is not written again
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 2 and all(f.endswith(".png") for f in files)
    assert "Saved 1 file in" in strip._status.value and "1 saved before" in strip._status.value
    assert sorted(strip_record(Path(tmp_path, f).read_bytes()) for f in files) == sorted(
        r.data for r in results)
    strip._cards[0].children[2].children[1].click()  # Save on a card saved already
    assert len(os.listdir(tmp_path)) == 2 and "Already saved" in strip._status.value
    os.remove(one[0])  # the file was deleted meanwhile: saving writes it again
    assert strip.save(-1) != [] and len(os.listdir(tmp_path)) == 2
    other = tmp_path / "other"
    assert len(strip.save(folder=other)) == 2 and len(os.listdir(other)) == 2  # another folder


def test_history_snapshot_and_clear() -> None:
    strip = HistoryStrip()
    assert png_of(strip._repr_mimebundle_()).size == (240, 40)
    strip.add(make_result("red"))
    strip.add(make_result("blue"))
    picture = png_of(strip._repr_mimebundle_()).convert("RGB")
    assert picture.getpixel((60, 60)) == (0, 0, 255)  # newest first
    strip.clear()
    assert strip.results == () and strip._save_all.disabled
    with pytest.raises(TypeError):
        strip.add("not a result")  # type: ignore[arg-type]


# -- the ink layer's JavaScript ---------------------------------------------------------------

def test_ink_js_exists_and_handles_pointers() -> None:
    source = (Path(ink_module.__file__).parent / "ink.js").read_text()
    for needed in ("getCoalescedEvents", "setPointerCapture", "pointerdown", "pointerup",
                   "model.send(", '"release"', "final"):
        assert needed in source
    assert "touch-action: none" in ink_module.InkLayer._css
    assert ink_module.InkLayer._esm  # loaded from the file by anywidget


def test_ink_layer_traits_are_validated() -> None:
    layer = ink_module.InkLayer()
    for name, value in (("size", 0), ("opacity", 2), ("width", 0), ("tool", "crayon"),
                        ("color", "not a colour")):
        with pytest.raises(traitlets.TraitError):
            setattr(layer, name, value)


def test_widgets_read_inputs_as_the_client_does() -> None:
    """A float array, a bool mask and an earlier Result open the same in a widget as in the
    client (review found floats turned black, bools 0/1 and Results refused)."""
    from clipdrop_widgets import Result
    from clipdrop_widgets.widgets._imaging import open_image

    ramp = np.linspace(0, 1, 64, dtype=np.float32)[None, :].repeat(8, axis=0)
    assert open_image(ramp).getextrema() == (0, 255)
    assert set(np.unique(np.asarray(open_image(np.eye(8, dtype=bool))))) == {0, 255}
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, "PNG")
    painter = MaskPainter(Result(buf.getvalue(), "image/png", "text_to_image"))
    assert painter.mask.size == (40, 30)
    with pytest.raises(TypeError):
        open_image([1, 2, 3])  # type: ignore[arg-type]


def test_layouts_send_only_what_is_set_and_the_shared_one_refuses_changes() -> None:
    from clipdrop_widgets.contract.errors import ConfigurationError
    from clipdrop_widgets.widgets._ui import Layout, fixed_layout

    state = Layout(width="auto").get_state()
    assert state["width"] == "auto" and "display" not in state  # unset: left out (issue 22)
    assert len(json.dumps(state)) < len(json.dumps(ipywidgets.Layout(width="auto").get_state())) / 3
    assert Layout(width="auto").get_state("display") == {"display": None}  # a change is sent
    shared = fixed_layout()
    assert fixed_layout() is shared
    with pytest.raises(ConfigurationError, match="shared by several widgets"):
        shared.display = "none"
    assert shared.display is None

"""CompareSlider: before and after in one frame, split by a divider you drag."""

from __future__ import annotations

import html
import math
import textwrap
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import traitlets
from ipycanvas import Canvas
from PIL import Image, ImageDraw, ImageFont

from ..api.records import recorded_bytes
from ..api.result import Result
from ..contract.errors import ConfigurationError
from . import _canvas
from ._imaging import ImageSource, encode_for_browser, fit_size, on_checkerboard, open_image
from ._ui import ErrorLine, Layout
from .download import Downloader, download_name
from .snapshot import Snapshot

__all__ = ["CompareSlider"]

#: Either side of the comparison: an image (as the widgets accept them) or a
#: [`Result`][clipdrop_widgets.Result].
Picture = ImageSource | Result
#: How many images (per widget) stay in the browser for instant re-showing (history clicks).
IMAGE_CACHE_SIZE = 16
#: A picture whose longer side is under this many pixels is shown enlarged a whole number of
#: times, nearest neighbour (its pixels as sharp blocks), to at most this size: a 64x64
#: result was shown 64x64, its labels "◀ Before" and "After ▶" overlapping, the divider's
#: handle over its middle (findings walk 22, 4). 64x64 is shown 384x384 (6 times).
ENLARGE_BELOW_PX = 384


#: How far one arrow key moves the before/after divider: 1 % of the picture's width (a
#: drag on the picture moves it to the pixel).
DIVIDER_STEP = 0.01
#: The divider's slider counts in percent (0 to 100), ``position`` in fractions: the slider
#: library writes ``aria-valuenow`` with one decimal, which on 0 to 1 lagged the words
#: (a11y.js's "55 %") by up to 5 % (walk 22b #14).
PERCENT = 100


@dataclass(eq=False)
class _Sent:
    """One image as sent to the browser: the original (kept so its ``id`` stays unique), the
    fitted copy, where it sits in the frame ``(x, y, w, h)``, and the widget carrying it."""

    image: Image.Image
    fitted: Image.Image
    box: tuple[int, int, int, int]
    view: widgets.Image


class CompareSlider(Snapshot, widgets.VBox):
    """Before and after in one frame with a divider; ``position`` (0 to 1) is the divider.

    Each image is sent to the browser once, shrunk to the frame, as an ``ipywidgets.Image``
    that ipycanvas draws by reference into a hidden canvas; moving the divider (slider or drag
    on the image) then sends one small draw command (a clipped copy of the hidden canvases and
    a line), never image bytes. Images of different sizes are fitted into the frame, centred,
    with ``background`` margins. A small picture (longer side under `ENLARGE_BELOW_PX`, 384)
    is shown enlarged a whole number of times, its pixels as sharp blocks (nearest neighbour),
    so its labels, divider and pixels stay readable. With ``before=None`` only the after image
    is shown (text to image).

    Args:
        before: the input picture, or ``None``.
        after: the result picture, or ``None`` (nothing to compare yet).
        max_width: frame width limit in CSS pixels (default 768).
        max_height: frame height limit in CSS pixels (default 768).
        position: initial divider position, 0 (all after) to 1 (all before); default 0.5.
        divider_color: CSS colour of the divider (default ``"white"``).
        background: CSS colour of the margins (default ``"#202020"``).
        labels: the words over the frame's left and right halves while comparing
            (default ``("Before", "After")``); `set_images` may change them.
        hint: words drawn in the middle of the empty frame, saying what will appear there
            (default ``""``: none); gone once a picture is shown.

    Attributes:
        position: the divider, a traitlet from 0 (left edge) to 1 (right edge); the before
            image shows left of it, the after image right of it.
        errors: the line under the frame showing a failed callback's message.
        labels: the ``(left, right)`` words shown over the frame while comparing.
        download_button: **Download**, shown when the after side is a
        [`Result`][clipdrop_widgets.Result]: sends
            its bytes, as received, to the browser as a download (see `download`). Made
            with the first result (or when first read).
    """

    position = traitlets.Float(0.5)

    def __init__(
        self,
        before: Picture | None = None,
        after: Picture | None = None,
        *,
        max_width: int = 768,
        max_height: int = 768,
        position: float = 0.5,
        divider_color: str = "white",
        background: str = "#202020",
        labels: tuple[str, str] = ("Before", "After"),
        hint: str = "",
    ) -> None:
        if not (64 <= max_width <= 4096 and 64 <= max_height <= 4096):
            raise ConfigurationError(f"the frame box must be 64 to 4096 pixels a side, "
                             f"got {max_width}x{max_height}")
        super().__init__(layout=Layout())
        self.add_class("cdw-compare")
        self._box = (int(max_width), int(max_height))
        self._divider_color = divider_color
        self.hint = str(hint)
        self._background = background
        # Empty, the view is the largest 4:3 frame in the box (fit_size never enlarges, so the
        # ratio is given at a size no smaller than the box).
        self._frame = fit_size(4 * self._box[0], 3 * self._box[0], *self._box)
        self._sent: dict[str, _Sent | None] = {"before": None, "after": None}
        self._originals: dict[str, Image.Image | None] = {"before": None, "after": None}
        self._cache: OrderedDict[tuple[int, int, int], _Sent] = OrderedDict()
        self._dragging = False
        self._resize_handlers: list[Callable[[int, int], object]] = []
        self._change_handlers: list[Callable[[], object]] = []
        self.labels = labels
        self._label_row = widgets.HTML("", layout=Layout(
            margin="0", width="100%", max_width=f"{self._shown_width()}px"))
        self.errors = ErrorLine()
        self._canvas = Canvas(width=self._frame[0], height=self._frame[1],
                              layout=_fit_layout(self._shown_width()))
        self._sources = {"before": Canvas(layout=Layout()),  # never displayed
                         "after": Canvas(layout=Layout())}
        self._slider = widgets.FloatSlider(
            value=position * PERCENT, min=0.0, max=PERCENT, step=DIVIDER_STEP * PERCENT,
            readout=False,
            continuous_update=True, description="",
            layout=Layout(width="100%", max_width=f"{self._shown_width()}px",
                                  margin="0"),
        )
        self.position = position
        self._default_position = float(position)
        widgets.link((self._slider, "value"), (self, "position"),
                     transform=(lambda percent: min(max(percent / PERCENT, 0.0), 1.0),
                                lambda fraction: fraction * PERCENT))
        self.observe(self.errors.guard(self._on_position), "position")
        self._canvas.on_mouse_down(self.errors.guard(self._on_down))
        self._canvas.on_mouse_move(self.errors.guard(self._on_move))
        self._canvas.on_mouse_up(self._on_release)
        self._canvas.on_mouse_out(self._on_release)
        for canvas in (self._canvas, *self._sources.values()):
            _canvas.on_client_ready(canvas, self.errors.guard(self.redraw))
        self._result: Result | None = None
        self.downloader = Downloader()
        # Download is made with the first result (`download_button`): hidden until then, its
        # widget models would only lengthen the page's first load (issue 22).
        self._download_button: widgets.Button | None = None
        self._download_under_frame = True
        self.children = [self._label_row, self._canvas, self._slider, self.errors,
                         self.downloader]
        self.set_images(before, after)

    @property
    def download_button(self) -> widgets.Button:
        """**Download** (made on first use: the first result shown, or this attribute read),
        under the frame unless its owner shows it elsewhere (`detach_download`)."""
        if self._download_button is None:
            button = self._download_button = widgets.Button(
                description="Download", icon="download",
                tooltip="Save the result on your computer",
                layout=Layout(width="auto", align_self="flex-end",
                                      display="none" if self._result is None else ""))
            button.add_class("cdw-download")
            button.on_click(self.errors.guard(lambda _b: self.download()))
            if self._download_under_frame:
                at = self.children.index(self._slider) + 1
                self.children = (*self.children[:at], button, *self.children[at:])
        return self._download_button

    def detach_download(self) -> None:
        """Leave **Download** out of the frame's column: the owner puts `download_button`
        in a row of its own (the apps' stage, beside Keep and Discard)."""
        self._download_under_frame = False
        if self._download_button is not None:
            self.children = tuple(c for c in self.children if c is not self._download_button)

    def reset_divider(self) -> None:
        """Put the divider back where it started (``position`` as given, default 0.5): an App
        does so for each new result, which a divider left at an end (0 or 1) would hide
        (walk 22c #5); the slider, and so its ``aria-valuetext``, follows."""
        self.position = self._default_position

    @traitlets.validate("position")
    def _valid_position(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise traitlets.TraitError(f"position must be between 0 and 1, got {value}")
        return value

    # -- images -------------------------------------------------------------------------------
    @property
    def before(self) -> Image.Image | None:
        """The left-hand image at full resolution, or ``None`` before one is set."""
        return self._originals["before"]

    @property
    def after(self) -> Image.Image | None:
        """The right-hand image at full resolution, or ``None`` before one is set."""
        return self._originals["after"]

    @property
    def frame_size(self) -> tuple[int, int]:
        """``(width, height)`` of the frame in canvas pixels (the images are fitted to it;
        a small picture's frame is a whole number of times its size, `ENLARGE_BELOW_PX`)."""
        return self._frame

    def _shown_width(self) -> int:
        """The widest the frame is shown (CSS pixels): the box's size at the frame's aspect
        ratio, so a small result fills the box; a narrower column shows it narrower still."""
        fw, fh = self._frame
        return round(fw * min(self._box[0] / fw, self._box[1] / fh))

    def set_images(self, before: Picture | None = None, after: Picture | None = None, *,
                   labels: tuple[str, str] | None = None) -> None:
        """Show a new pair (either may be ``None``); the divider keeps its position.

        ``labels`` replaces the ``(left, right)`` words over the frame (default: keep them).
        An image shown before (the same object) is not sent again.
        """
        if labels is not None:
            self.labels = (str(labels[0]), str(labels[1]))
        pictures = {"before": _as_image(before, "before"), "after": _as_image(after, "after")}
        self._result = after if isinstance(after, Result) else None
        if self._result is not None or self._download_button is not None:
            self.download_button.layout.display = "none" if self._result is None else ""
        reference = pictures["after"] or pictures["before"]
        frame = _enlarged(fit_size(reference.width, reference.height, *self._box)) if reference \
            else self._frame
        resized = frame != self._frame
        if resized:
            self._frame = frame
            self._canvas.width, self._canvas.height = frame
            shown = f"{self._shown_width()}px"
            self._canvas.layout.max_width = shown
            self._slider.layout.max_width = shown
            self._label_row.layout.max_width = shown
        for slot, picture in pictures.items():
            self._originals[slot] = picture
            self._sent[slot] = None if picture is None else self._send_image(picture)
        self._slider.layout.display = "" if self._comparing else "none"
        self._show_labels()
        self.redraw()
        # the handlers see the new pictures (`before`, `after`), not the ones they replace
        if resized:
            for handler in list(self._resize_handlers):
                handler(*frame)
        for callback in list(self._change_handlers):
            callback()

    def download(self) -> str:
        """Send the result shown (the after side) to the browser as a download; returns the
        file name (``<operation>-<date>-<time>.<ext>``)."""
        if self._result is None:
            raise ConfigurationError(
                "there is no result to download: the after side is not a Result")
        name = download_name(self._result)
        self.downloader.send_file(recorded_bytes(self._result), name,  # its record inside
                                  mime=self._result.content_type)
        return name

    @property
    def label_text(self) -> str:
        """The words over the frame as plain text (``"Before | After"``; ``""`` when not
        comparing)."""
        return " | ".join(self.labels) if self._comparing else ""

    def _show_labels(self) -> None:
        if not self._comparing:
            self._label_row.value = ""
            self._label_row.layout.display = "none"
            return
        left, right = (html.escape(t) for t in self.labels)
        self._label_row.layout.display = ""
        self._label_row.value = (
            '<div style="display:flex;justify-content:space-between;gap:8px;font-size:12px;'
            'white-space:nowrap;'
            'font-weight:600;color:var(--jp-ui-font-color1,#333);line-height:18px">'
            f"<span>&#9664; {left}</span><span>{right} &#9654;</span></div>")

    @property
    def _empty(self) -> bool:
        return self._sent["before"] is None and self._sent["after"] is None

    def on_resize(self, callback: Callable[[int, int], object]) -> None:
        """Call ``callback(width, height)`` whenever the frame changes size (`frame_size`:
        a picture of another shape was shown)."""
        self._resize_handlers.append(callback)

    def on_change(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` after every `set_images`, once the new pictures are in place
        (`before`, `after` and `frame_size` say what is shown now)."""
        self._change_handlers.append(callback)

    def add_row(self, widget: widgets.Widget) -> None:
        """Put ``widget`` under the frame: its owner's controls for what is shown (the apps'
        "Send to" buttons)."""
        self.children = (*self.children, widget)

    @property
    def _comparing(self) -> bool:
        return self._sent["before"] is not None and self._sent["after"] is not None

    def _send_image(self, image: Image.Image) -> _Sent:
        fw, fh = self._frame
        scale = min(fw / image.width, fh / image.height)
        w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
        key = (id(image), w, h)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if image.size == (w, h):
            fitted = image
        elif scale > 1:  # a small picture enlarged (ENLARGE_BELOW_PX): its pixels as blocks
            fitted = image.resize((w, h), Image.Resampling.NEAREST)
        else:
            fitted = image.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
        fitted = on_checkerboard(fitted)  # a cut-out's transparent pixels read as such
        data, fmt = encode_for_browser(fitted)
        sent = _Sent(image, fitted, ((fw - w) // 2, (fh - h) // 2, w, h),
                     widgets.Image(value=data, format=fmt))
        self._cache[key] = sent
        while len(self._cache) > IMAGE_CACHE_SIZE:
            _, old = self._cache.popitem(last=False)
            if all(old is not s for s in self._sent.values()):
                old.view.close()
        return sent

    # -- drawing ------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Paint the hidden source canvases and the frame again (e.g. for a new page)."""
        fw, fh = self._frame
        with _canvas.batch():
            for slot, source in self._sources.items():
                source.width, source.height = fw, fh
                sent = self._sent[slot]
                source.clear()
                source.fill_style = self._background
                source.fill_rect(0, 0, fw, fh)
                if sent is not None:
                    x, y, w, h = sent.box
                    source.draw_image(sent.view, x, y, w, h)
            self._draw_frame()

    def _draw_frame(self) -> None:
        """The visible frame from the hidden canvases: one small command batch."""
        canvas = self._canvas
        fw, fh = self._frame
        with _canvas.batch():
            if not self._comparing:
                slot = "after" if self._sent["after"] is not None else "before"
                canvas.draw_image(self._sources[slot], 0, 0)
                if self._empty and self.hint:
                    size, lines = _hint_lines(self.hint, fw)
                    canvas.fill_style = HINT_COLOR
                    canvas.font = f"{size}px sans-serif"
                    canvas.text_align = "center"
                    canvas.text_baseline = "middle"
                    for i, line in enumerate(lines):
                        canvas.fill_text(line, fw / 2, _hint_y(i, len(lines), size, fh))
                return
            x = round(self.position * fw, 2)
            canvas.draw_image(self._sources["after"], 0, 0)
            canvas.save()
            canvas.begin_path()
            canvas.rect(0, 0, x, fh)
            canvas.clip()
            canvas.draw_image(self._sources["before"], 0, 0)
            canvas.restore()
            canvas.stroke_style = self._divider_color
            canvas.line_width = 2
            canvas.stroke_line(x, 0, x, fh)
            canvas.fill_style = self._divider_color
            canvas.fill_circle(x, fh / 2, 6)

    def _on_position(self, _change: dict[str, Any]) -> None:
        if self._comparing:
            self._draw_frame()

    # -- dragging on the image ----------------------------------------------------------------
    def _set_from_x(self, x: float) -> None:
        self.position = min(max(float(x) / self._frame[0], 0.0), 1.0)

    def _on_down(self, x: float, _y: float) -> None:
        if self._comparing:
            self._dragging = True
            self._set_from_x(x)

    def _on_move(self, x: float, _y: float) -> None:
        if self._dragging:  # ipycanvas reports every move, pressed or not: ignore the others
            self._set_from_x(x)

    def _on_release(self, _x: float, _y: float) -> None:
        self._dragging = False

    # -- display ------------------------------------------------------------------------------
    def snapshot(self) -> Image.Image:
        """The compare view as a still picture, divider where it stands.

        Saved notebooks and pages without a widget front end show it.
        """
        fw, fh = self._frame
        layers = {}
        for slot, sent in self._sent.items():
            layer = Image.new("RGB", (fw, fh), self._background)
            if sent is not None:
                x, y, _w, _h = sent.box
                layer.paste(sent.fitted.convert("RGB"), (x, y))
            layers[slot] = layer
        if not self._comparing:
            picture = layers["after" if self._sent["after"] is not None else "before"]
            if self._empty and self.hint:
                size, lines = _hint_lines(self.hint, fw)
                draw, font = ImageDraw.Draw(picture), ImageFont.load_default(size=size)
                for i, line in enumerate(lines):
                    draw.text((fw / 2, _hint_y(i, len(lines), size, fh)), line, fill=HINT_COLOR,
                              font=font, anchor="mm")
            return picture
        x = round(self.position * fw)
        picture = layers["after"]
        picture.paste(layers["before"].crop((0, 0, x, fh)), (0, 0))
        draw = ImageDraw.Draw(picture)
        draw.line((x, 0, x, fh), fill=self._divider_color, width=2)
        return picture

    def __repr__(self) -> str:
        parts = [f"{slot} {im.width}x{im.height}" for slot, im in self._originals.items()
                 if im is not None]
        if self._comparing:
            parts.append(f"position {self.position:.2f}")
        return f"CompareSlider({', '.join(parts) or 'empty'})"


#: The colour of the empty frame's hint (light grey on the dark frame).
HINT_COLOR = "#b0b0b0"


def _hint_lines(hint: str, frame_width: int) -> tuple[int, list[str]]:
    """The font size (canvas pixels) and the lines of ``hint`` for a frame that wide: about a
    32nd of the width, wrapped to about 70 % of it."""
    size = max(12, round(frame_width / 32))
    chars = max(12, int(frame_width * 0.7 / (0.55 * size)))
    return size, textwrap.wrap(hint, chars) or [""]


def _hint_y(i: int, n: int, size: int, frame_height: int) -> float:
    """The middle of line ``i`` of ``n`` centred in the frame."""
    step = 1.4 * size
    return frame_height / 2 + (i - (n - 1) / 2) * step


def _enlarged(frame: tuple[int, int]) -> tuple[int, int]:
    """The frame for a picture fitted to ``frame``: a whole number of times larger when its
    longer side is under `ENLARGE_BELOW_PX`."""
    times = max(1, ENLARGE_BELOW_PX // max(frame))
    return frame[0] * times, frame[1] * times


def _fit_layout(width: int) -> widgets.Layout:
    """The frame's canvas: as wide as its column, at most ``width`` CSS pixels, its height
    following its aspect ratio (a drag maps through the shown size: ipycanvas scales it)."""
    return Layout(width="100%", max_width=f"{width}px", height="auto", margin="0",
                          padding="0")


def _as_image(picture: Picture | None, what: str) -> Image.Image | None:
    if picture is None:
        return None
    if isinstance(picture, Result):
        return picture.image
    return open_image(picture, what=what)

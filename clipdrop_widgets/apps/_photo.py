"""PhotoChooser: a photo to work on, uploaded or picked from a few bundled sample photos.

The samples are scikit-image's (``skimage.data``, shipped in its wheel, no download), each
loaded the first time it is chosen. Without scikit-image the chooser starts on a plain
generated picture and offers the upload only.

The endpoint's image rules (formats, side, megapixels, bytes) come from the endpoint table:
they are listed under the chooser, and a photo that breaks one is flagged as soon as it is
chosen, in the words the client will use when it refuses it. Photos are never resized behind
your back: when a smaller copy would pass (too many pixels a side, megapixels or bytes), a
**Shrink to WxH** button offers it (`_shrink`), and the upload takes photos with too many
pixels to offer it.

The sample menu only chooses: **Use sample** beside it loads the chosen sample (a closed
``<select>`` changes its value on one ArrowDown in Chromium, so loading on change replaced an
upload and its mask at the first key press). A photo replaced by a result sent from another
operation stays one press away: **Back to …** (`offer_back`) brings it back.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np
from PIL import Image

from ..api.result import Result
from ..contract.endpoints import MB, FileField
from ..contract.errors import ConfigurationError, InputError, NotFoundError
from ..contract.validation import ImageFacts, check_file, inspect_image
from ..widgets._imaging import ImageSource, open_image
from ..widgets._ui import ErrorLine, Layout
from ..widgets.a11y import LIVE_CLASS
from ..widgets.sendto import origin, origin_words
from ..widgets.theme import color
from ..widgets.upload import READABLE_FORMATS, UploadButton, UploadRules
from ._shrink import shrink_size, shrink_to_fit
from ._status import FIELD_LABELS, user_words

__all__ = ["PhotoChooser", "SAMPLES", "load_sample", "describe_rules"]

#: The sample photos offered: ``skimage.data`` function name -> label.
SAMPLES: dict[str, str] = {
    "astronaut": "Astronaut",
    "coffee": "Coffee cup",
    "chelsea": "Cat",
    "rocket": "Rocket",
}
#: Size of the picture shown when scikit-image is missing (pixels).
_PLACEHOLDER_SIZE = (512, 384)


@functools.lru_cache(maxsize=len(SAMPLES))
def load_sample(name: str) -> Image.Image:
    """The sample photo ``name`` (a key of `SAMPLES`) as an RGB image, loaded once.

    Raises ``ImportError`` without scikit-image, ``KeyError`` for an unknown name.
    """
    if name not in SAMPLES:
        raise NotFoundError(f"no sample photo {name!r}; choose one of {', '.join(SAMPLES)}")
    from skimage import data

    return Image.fromarray(np.asarray(getattr(data, name)()), "RGB")


def _placeholder() -> Image.Image:
    w, h = _PLACEHOLDER_SIZE
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.dstack([120 + x * 80 // w, 150 + y * 60 // h, 190 + 0 * x]).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def describe_rules(field: FileField, *, formats: tuple[str, ...] | None = None) -> str:
    """The field's image rules in the app's words, e.g.
    ``"Photo: PNG or JPEG · at most 16 megapixels · at most 30 MB"`` (the same units as the
    message that refuses a photo breaking one). ``formats`` (default: the field's) are the
    formats named: the upload's, which takes more and has the client convert them."""
    names = [f.upper() if f != "webp" else "WebP" for f in (formats or field.formats)]
    parts = [" or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)]
    if field.max_side is not None:
        parts.append(f"at most {field.max_side} pixels a side")
    if field.max_megapixels is not None:
        parts.append(f"at most {field.max_megapixels:g} megapixels")
    if field.max_bytes is not None:
        parts.append(f"at most {field.max_bytes / MB:g} MB")
    if field.square:
        parts.append("square")
    label = FIELD_LABELS.get(field.name, field.name)
    return f"{label[:1].upper()}{label[1:]}: " + " · ".join(parts)


def size_problem(field: FileField, image: Image.Image, data: bytes | None) -> str | None:
    """Why the client would refuse this photo for ``field`` (its words, with the app's name
    for the field), or ``None``.

    Formats are not checked (the client converts a photo in another format, with a notice);
    the byte limit applies only to a file sent as it is.
    """
    fmt, nbytes = field.formats[0], 0
    if data is not None:
        facts = inspect_image(data, field.name)
        if facts.format in field.formats:
            fmt, nbytes = facts.format, facts.nbytes
    try:
        check_file(field, ImageFacts(fmt, image.width, image.height, image.mode, nbytes))
    except InputError as exc:
        return user_words(str(exc))
    return None


class PhotoChooser(widgets.VBox):
    """A sample menu, an upload button, and a line with the endpoint's rules for photos.

    Args:
        field: the endpoint's image field (its rules are shown and checked).
        sample: the sample shown first (a key of `SAMPLES`; default ``"astronaut"``).

    Attributes:
        errors: the line showing why an upload could not be read.
    """

    def __init__(self, field: FileField, *, sample: str = "astronaut") -> None:
        super().__init__()
        self._field = field
        self._handlers: list[Callable[[Image.Image], object]] = []
        self._image: Image.Image = _placeholder()
        self._data: bytes | None = None
        self._name = "placeholder"
        self._origin: str | None = None
        self._uploading = False  # an upload is being loaded (`load` keeps its line)
        self.errors = ErrorLine()
        self._samples = widgets.Dropdown(options=[(label, key) for key, label in SAMPLES.items()],
                                         value=None, description="Sample",
                                         tooltip="A sample photo to try (Load puts it in)",
                                         layout=Layout(width="240px"))
        # the menu chooses, this loads (WCAG 3.2.2 On Input: arrows in a closed menu change it)
        self._use = widgets.Button(description="Use sample", icon="image", disabled=True,
                                   tooltip="Choose a sample photo in the menu first",
                                   layout=Layout(width="auto"))
        self._use.add_class("cdw-use-sample")
        self._use.on_click(self.errors.guard(lambda _b: self.use_chosen_sample()))
        # "Back to <the photo a sent result replaced>" (`offer_back`), hidden until then
        self._back = widgets.Button(icon="undo", layout=Layout(width="auto", display="none"),
                                    tooltip="Put back the photo a Send to replaced")
        self._back.add_class("cdw-back-to-photo")
        self._back_action: Callable[[], object] | None = None
        self._back.on_click(self.errors.guard(lambda _b: self.go_back()))
        #: Called before **Use sample** replaces the photo (the app around it sets it: it keeps
        #: an upload, a sent picture or a painted mask); what it returns, if not ``None``, is
        #: called once the sample is in.
        self.before_sample: Callable[[], Callable[[], object] | None] | None = None
        #: The same for an upload (a file from the button, a drop or a paste): called before
        #: it replaces the photo; what it returns is called once the upload is in.
        self.before_upload: Callable[[], Callable[[], object] | None] | None = None
        # In pieces, checked in the browser first (formats, bytes, square). Too many pixels
        # are not refused there: a smaller copy is offered here (`shrink`).
        self._upload = UploadButton(rules=UploadRules(formats=tuple(READABLE_FORMATS),
                                                      max_bytes=field.max_bytes,
                                                      square=field.square),
                                    description="Upload photo")
        # the formats the upload takes (WebP too: the client converts what the service refuses)
        words = describe_rules(field, formats=self._upload.upload_rules.formats)
        self._rules = widgets.HTML(f"<small>{html.escape(words)}</small>")
        self._note = widgets.HTML("")
        # a polite live region (a11y.js): "Run will refuse it" is heard when the photo is chosen,
        # not only after Run (findings 22c F12)
        self._note.add_class(LIVE_CLASS)
        self._shrink = widgets.Button(icon="compress", layout=Layout(
            width="auto", display="none"), tooltip="Use a copy of the photo within the "
            "service's limits (same proportions)")
        self._shrink.add_class("cdw-shrink")
        self._shrink.on_click(self.errors.guard(lambda _b: self.shrink()))
        try:
            self._set(load_sample(sample), None, SAMPLES[sample])
            self._samples.value = sample
            self._loaded_sample: str | None = sample
        except ImportError:
            self._loaded_sample = None
            self._samples.layout.display = "none"
            self._use.layout.display = "none"
            self._note.value = ("<small>Upload a photo (install scikit-image for sample "
                                "photos).</small>")
        self._samples.observe(self._on_sample, "value")
        self._upload.on_file(self._on_upload)
        self.children = [
            widgets.HBox([self._samples, self._use, self._upload, self._rules],
                         layout=Layout(align_items="center", flex_flow="row wrap")),
            widgets.HBox([self._note, self._shrink, self._back],
                         layout=Layout(align_items="center", flex_flow="row wrap")),
            self.errors,
        ]

    # -- state --------------------------------------------------------------------------------
    @property
    def image(self) -> Image.Image:
        """The photo, decoded (native size)."""
        return self._image

    @property
    def data(self) -> bytes | Image.Image:
        """What is sent: an upload's bytes as they are (no re-encoding), else the image."""
        return self._data if self._data is not None else self._image

    @property
    def name(self) -> str:
        """The sample's label or the uploaded file's name."""
        return self._name

    @property
    def sample(self) -> str | None:
        """The key of the sample shown (`SAMPLES`), or ``None`` for an upload or a sent
        picture."""
        return self._loaded_sample

    @property
    def origin(self) -> str | None:
        """Which result the photo came from (`origin`),
        when it was sent here from one; ``None`` for a sample or an upload."""
        return self._origin

    @property
    def problem(self) -> str | None:
        """Why the endpoint would refuse this photo, or ``None`` when it is fine."""
        return size_problem(self._field, self._image, self._data)

    def on_change(self, callback: Callable[[Image.Image], object]) -> None:
        """Call ``callback(image)`` whenever another photo is chosen."""
        self._handlers.append(callback)

    # -- choosing -----------------------------------------------------------------------------
    def load(self, source: ImageSource, *, name: str = "photo",
             origin: str | None = None) -> None:
        """Work on ``source`` (PIL image, encoded bytes, path or array); bytes are sent as is,
        except a photo with an EXIF orientation tag: shown and sent turned as viewers show it.
        ``origin`` names the result it came from (kept until another photo is chosen)."""
        data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else None
        image = open_image(data if data is not None else source, what="photo")
        if not self._uploading:
            # another photo than the upload: "Loaded "NAME"" under Upload photo would name a
            # photo no longer shown (walk 22c #2)
            self._upload.forget()
        self._set(image, data, name, origin)
        self._loaded_sample = None
        self._samples.value = None  # no sample chosen now

    def load_result(self, result: Result) -> str:
        """Work on ``result``'s picture (its bytes, sent as they are), remembering where it came
        from (`origin`); returns the words for it ("from Text to image, 20:31:05")."""
        where = origin(result)
        words = origin_words(where)
        self.load(result.data, name=f"picture {words}", origin=where)
        return words

    def choose_sample(self, key: str) -> None:
        """Work on the sample photo ``key`` (a key of `SAMPLES`): what choosing it in the
        menu and pressing **Use sample** does."""
        image = load_sample(key)  # refuses an unknown key before anything changes
        self._upload.forget()
        self._samples.value = key
        self._set(image, None, SAMPLES[key])
        self._loaded_sample = key
        self._on_sample()

    def use_chosen_sample(self) -> None:
        """Load the sample chosen in the menu (what **Use sample** does)."""
        key = self._samples.value
        if key is None:
            raise ConfigurationError("choose a sample photo in the menu first, then press "
                                     "Use sample")
        after = self.before_sample() if self.before_sample is not None else None
        self.choose_sample(key)
        if after is not None:
            after()

    def _on_sample(self, _change: dict[str, Any] | None = None) -> None:
        """Choosing in the menu loads nothing: **Use sample** is enabled when the chosen
        sample is not the photo shown."""
        key = self._samples.value
        waiting = key is not None and key != self._loaded_sample
        self._use.disabled = not waiting
        self._use.tooltip = (f"Work on the sample photo {SAMPLES[key]} (replaces the photo "
                             "and its mask)" if waiting and key is not None
                             else "Choose a sample photo in the menu first")

    # -- going back ---------------------------------------------------------------------------
    def offer_back(self, words: str, action: Callable[[], object]) -> None:
        """Show **Back to ``words``**, calling ``action`` when pressed (it puts a replaced
        photo back); a new offer replaces the previous one."""
        self._back_action = action
        self._back.description = f"Back to {words}"
        self._back.tooltip = f"Put {words} back in place of this photo (this one is kept too)"
        self._back.layout.display = ""

    @property
    def back_offer(self) -> str | None:
        """What **Back to …** says while it is offered, else ``None``."""
        return None if self._back_action is None else self._back.description

    def go_back(self) -> None:
        """Do what **Back to …** offers (nothing offered: refused)."""
        action = self._back_action
        if action is None:
            raise ConfigurationError("there is no replaced photo to go back to")
        self._back_action = None
        self._back.layout.display = "none"
        action()

    def _on_upload(self, name: str, data: bytes) -> None:
        """A file that passed the endpoint's rules (a refusal is said by the upload)."""
        after = self.before_upload() if self.before_upload is not None else None
        self.errors.clear()
        self._uploading = True
        try:
            self.load(data, name=name)
        finally:
            self._uploading = False
        if after is not None:
            after()

    @property
    def shrink_offer(self) -> tuple[int, int] | None:
        """The size of the copy `shrink` would make, when the photo breaks a limit that a
        smaller copy keeps; else ``None``."""
        if self.problem is None:
            return None
        w, h = self._image.size
        size = shrink_size(self._field, w, h)
        over = (self._field.max_bytes is not None and self._data is not None
                and len(self._data) > self._field.max_bytes)
        if size is None and not (over and not (self._field.square and w != h)):
            return None
        return size or (w, h)

    @property
    def shrink_label(self) -> str | None:
        """What the **Shrink …** button says while it is offered, else ``None``."""
        return self._shrink.description if self.shrink_offer is not None else None

    def shrink(self) -> Image.Image:
        """Work on a copy of the photo within the endpoint's limits (what **Shrink to WxH**
        does); returns it. A photo that fits, or that shrinking cannot fix, is refused."""
        if self.shrink_offer is None:
            raise ConfigurationError(
                "this photo needs no shrinking" if self.problem is None else
                f"shrinking cannot fix this photo: {self.problem}")
        before = self._image.size
        copy = shrink_to_fit(self._field, self._image,
                             nbytes=len(self._data) if self._data is not None else None)
        self._set(copy, None, self._name, self._origin,
                  note=f"shrunk from {before[0]}x{before[1]} to the service's limit")
        self._loaded_sample = None
        self._samples.value = None
        return copy

    def _set(self, image: Image.Image, data: bytes | None, name: str,
             origin: str | None = None, *, note: str = "") -> None:
        self._image, self._data, self._name, self._origin = image, data, name, origin
        problem = self.problem
        facts = f"{html.escape(name)}: {image.width}x{image.height}"
        if note:
            facts += f" ({html.escape(note)})"
        warn = f'<span style="color:{color("error")}">&#9888;'
        self._note.value = (f"<small>{facts}. {warn} Run will "
                            f"refuse it: {html.escape(problem)}</span></small>"
                            if problem else f"<small>{facts}</small>")
        offer = self.shrink_offer
        self._shrink.description = ("" if offer is None else "Shrink to fit the file size limit"
                                    if offer == image.size else f"Shrink to {offer[0]}x{offer[1]}")
        self._shrink.layout.display = "" if offer else "none"
        for handler in list(self._handlers):
            handler(image)

    def __repr__(self) -> str:
        return f"PhotoChooser({self._name}, {self._image.width}x{self._image.height})"

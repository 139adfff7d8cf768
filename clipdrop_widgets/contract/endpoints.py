"""The ClipDrop endpoints, written down once.

Every rule of ``shared/CONTRACT.md`` lives in [`ENDPOINTS`][clipdrop_widgets.ENDPOINTS]. The
client's validation, the
client's methods, the apps' limits (prompt lengths, image sizes) and the local engine all read
this table, so adding an endpoint is one entry here.

Sizes are in pixels, file sizes in bytes (the documentation's "MB" is read as 10**6 bytes,
the stricter reading), megapixels as 10**6 pixels, rates in requests per minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigurationError, NotFoundError

__all__ = [
    "ENDPOINTS",
    "Endpoint",
    "FileField",
    "IntField",
    "TextField",
    "FORMAT_CONTENT_TYPES",
    "FORMAT_EXTENSIONS",
    "CONTENT_TYPE_FORMATS",
    "endpoint",
    "endpoint_for_path",
]

MB = 1_000_000
#: The window of the documented rate limits (seconds): ``requests_per_minute`` counts in it.
RATE_WINDOW = 60.0
#: Bytes an image answer can take per pixel at worst: 4 (RGBA; a PNG of noise, or a JPEG of
#: noise at quality 100, stays under it) plus a quarter for the file format's own overhead.
ANSWER_BYTES_PER_PIXEL = 5
#: Bytes added to every answer's cap for what is not pixels (ICC profile, EXIF, text chunks).
ANSWER_OVERHEAD_BYTES = 1 * MB

#: The user-facing format names and their MIME types (what ``Accept`` and ``Content-Type`` say).
FORMAT_CONTENT_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
#: Format name -> file extension.
FORMAT_EXTENSIONS: dict[str, str] = {"png": "png", "jpeg": "jpg", "webp": "webp"}
#: MIME type -> format name; ``image/jpg`` is what the seeds' prose calls JPEG.
CONTENT_TYPE_FORMATS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/webp": "webp",
}
#: Pillow's format names -> ours.
PIL_FORMATS: dict[str, str] = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp"}

Role = Literal["image", "mask", "sketch"]


@dataclass(frozen=True)
class TextField:
    """A text form field.

    ``required`` fields must be sent; ``allow_empty`` says whether ``""`` is a valid value
    (replace background's prompt). ``max_chars`` counts Unicode characters; ``choices`` lists
    the only accepted values.
    """

    name: str
    """The form field's name (``prompt``)."""
    required: bool = True
    """Whether the field must be sent."""
    allow_empty: bool = False
    """Whether ``""`` is a valid value (replace background's prompt)."""
    max_chars: int | None = None
    """The most Unicode characters allowed, or ``None`` for no limit."""
    choices: tuple[str, ...] | None = None
    """The only accepted values, or ``None`` for free text."""
    doc: str = ""
    """What the field is, in one sentence."""

    @property
    def keyword(self) -> str:
        """The client method's keyword argument for this field (text fields keep their name)."""
        return self.name


@dataclass(frozen=True)
class FileField:
    """An image file form field.

    ``formats`` are format names (``png``, ``jpeg``, ``webp``). ``max_side`` bounds width and
    height (pixels), ``max_megapixels`` their product, ``max_bytes`` the encoded file.
    ``square`` demands width == height. ``binary`` demands pixel values 0 and 255 only (masks),
    and ``same_size_as`` names the field whose resolution this one must match. ``keyword`` is
    the client method's argument for it (``image`` for ``image_file``), also the base of the
    file name sent in the form.
    """

    name: str
    """The form field's name (``image_file``)."""
    role: Role
    """``"image"``, ``"mask"`` or ``"sketch"``: what the widgets offer for it."""
    formats: tuple[str, ...]
    """Accepted format names (``png``, ``jpeg``, ``webp``)."""
    keyword: str
    """The client method's keyword argument for this file (``image``, ``mask``)."""
    required: bool = True
    """Whether the file must be sent."""
    max_bytes: int | None = None
    """The largest encoded file, in bytes, or ``None``."""
    max_megapixels: float | None = None
    """The most width x height, in megapixels, or ``None``."""
    max_side: int | None = None
    """The most pixels on either side, or ``None``."""
    square: bool = False
    """Whether width must equal height."""
    binary: bool = False
    """Whether only pixel values 0 and 255 are allowed (masks)."""
    same_size_as: str | None = None
    """The field whose resolution this one must match, or ``None``."""
    doc: str = ""
    """What the file is, in one sentence."""


@dataclass(frozen=True)
class IntField:
    """An integer form field (sent as decimal text), within ``minimum``..``maximum``.

    ``default`` is what the service assumes when the field is not sent (``None``: nothing).
    """

    name: str
    """The form field's name (``extend_left``); also the client method's keyword."""
    minimum: int
    """The smallest accepted value."""
    maximum: int
    """The largest accepted value."""
    required: bool = False
    """Whether the field must be sent."""
    default: int | None = None
    """The service's value when the field is not sent, or ``None``."""
    doc: str = ""
    """What the field is, in one sentence, with its unit."""

    @property
    def keyword(self) -> str:
        """The client method's keyword argument for this field (its name)."""
        return self.name


Field = TextField | FileField | IntField
#: How an answer's size follows from the call: the input's, a fixed ``(width, height)``, the
#: input grown by the ``extend_*`` fields, or ``target_width`` x ``target_height``.
OutputSize = tuple[int, int] | Literal["input", "extended", "target"]


@dataclass(frozen=True)
class Endpoint:
    """One operation of the service.

    ``output_content_type`` is the default response type; ``accept`` lists the types an
    ``Accept`` header may choose (empty: the format is fixed). ``output_size`` is ``"input"``
    when the result has the input image's size, else a fixed ``(width, height)`` (the seed's
    figure: never rely on it, read the image). ``credits`` is the documented cost of one call
    (the higher figure where the documentation changed), ``requests_per_minute`` the documented
    default rate per key. ``answer_pixels`` bounds the pixels of an answer whose size is not
    the input's (a generous figure over what is documented); ``None`` for answers the size of
    the input, bounded by the input's own limits (see `max_answer_pixels`).
    """

    name: str
    """The client method's name (``"text_to_image"``)."""
    title: str
    """A title for people (``"Text to image"``)."""
    path: str
    """The URL path (``/text-to-image/v1``)."""
    fields: tuple[Field, ...]
    """The form fields, text and file, in the order they are documented."""
    output_content_type: str
    """The default response type (``image/png``)."""
    accept: tuple[str, ...] = ()
    """The types an ``Accept`` header may choose; empty when the format is fixed."""
    output_size: OutputSize = "input"
    """``"input"`` when the result has the input's size, ``"extended"`` for the input grown by
    the ``extend_*`` fields, ``"target"`` for ``target_width`` x ``target_height``, else a
    fixed ``(width, height)``."""
    credits: float = 1
    """The documented cost of one call, in credits."""
    requests_per_minute: int = 60
    """The documented default rate per key."""
    answer_pixels: int | None = None
    """The most pixels of an answer not the input's size; ``None``: bounded by the input."""
    doc: str = ""
    """What the operation does, in one sentence."""
    credits_per_output_megapixel: float | None = None
    """The highest documented price per megapixel of the answer (upscale), or ``None``: the
    most a call can cost is then the larger of this times the answer's megapixels and
    ``credits`` (`max_credits`). What was charged is read from the answer's headers."""
    alpha_content_type: str | None = None
    """The answer's type when the input has transparency (upscale: WebP), or ``None``."""
    size_stated: bool = False
    """Whether the documentation states that an ``"input"``-sized answer has the input's size
    (cleanup, text inpainting, replace and remove background): only then is an answer of
    another size said (`stated_answer_size`); ``"extended"`` and ``"target"`` are stated."""
    repeat: str = "always"
    """Whether the same call gives the same answer, so a cache may give it again: ``"always"``,
    ``"never"`` (reimagine: each call is another take), or a field's name: only when that
    field is sent (uncrop's ``seed``)."""

    def repeatable(self, texts: Mapping[str, object]) -> bool:
        """Whether a call with ``texts`` may be answered from a cache (see ``repeat``)."""
        if self.repeat in ("always", "never"):
            return self.repeat == "always"
        return texts.get(self.repeat) not in (None, "")

    @property
    def int_fields(self) -> tuple[IntField, ...]:
        """The integer fields, in order."""
        return tuple(f for f in self.fields if isinstance(f, IntField))

    def answer_size(self, texts: Mapping[str, object],
                    input_size: tuple[int, int] | None) -> tuple[int, int] | None:
        """The answer's (width, height) for a call with ``texts`` (validated field values, as
        numbers or decimal text) on an input of ``input_size``; ``None`` when unknown."""
        if isinstance(self.output_size, tuple):
            return self.output_size
        if self.output_size == "target":
            return (int(texts.get("target_width") or 0),  # type: ignore[call-overload]
                    int(texts.get("target_height") or 0))  # type: ignore[call-overload]
        if input_size is None:
            return None
        w, h = input_size
        if self.output_size == "extended":
            def grow(*names: str) -> int:
                return sum(int(texts.get(n) or 0) for n in names)  # type: ignore[call-overload]
            return (w + grow("extend_left", "extend_right"), h + grow("extend_up", "extend_down"))
        return (w, h)

    def stated_answer_size(self, texts: Mapping[str, object],
                           input_size: tuple[int, int] | None) -> tuple[int, int] | None:
        """The answer's (width, height) as the documentation states it for a call with
        ``texts`` on an input of ``input_size``; ``None`` when it states none (a fixed size is
        the seed's figure, and an ``"input"`` size without `size_stated` a guess) or the input's
        size is unknown. The client says when an answer is of another size."""
        if self.output_size in ("extended", "target") or (self.output_size == "input"
                                                          and self.size_stated):
            return self.answer_size(texts, input_size)
        return None

    def max_credits(self, texts: Mapping[str, object],
                    input_size: tuple[int, int] | None = None) -> float:
        """The most one call with ``texts`` can cost (credits): ``credits``, or for a price
        per output megapixel the larger of it and that price times the answer's megapixels
        (the answer's largest possible size when it cannot be known yet)."""
        if self.credits_per_output_megapixel is None:
            return self.credits
        size = self.answer_size(texts, input_size)
        pixels = size[0] * size[1] if size is not None else self.max_answer_pixels
        return max(self.credits, self.credits_per_output_megapixel * pixels / 1_000_000)

    @property
    def text_fields(self) -> tuple[TextField, ...]:
        """The text fields, in order."""
        return tuple(f for f in self.fields if isinstance(f, TextField))

    @property
    def file_fields(self) -> tuple[FileField, ...]:
        """The file fields, in order."""
        return tuple(f for f in self.fields if isinstance(f, FileField))

    def field(self, name: str) -> Field:
        """The field sent as ``name`` on the wire (``image_file``); ``KeyError`` if none."""
        for f in self.fields:
            if f.name == name:
                return f
        raise NotFoundError(f"{self.name} has no field {name!r}")

    def field_for_keyword(self, keyword: str) -> Field:
        """The field the client method takes as ``keyword`` (``image`` -> ``image_file``)."""
        for f in self.fields:
            if f.keyword == keyword:
                return f
        raise NotFoundError(f"{self.name} takes no argument {keyword!r}")

    @property
    def max_answer_pixels(self) -> int:
        """The most pixels an answer may have: ``answer_pixels``, else the input's limit."""
        if self.answer_pixels is not None:
            return self.answer_pixels
        image = self.image_field
        if image is not None and image.max_megapixels is not None:
            return int(image.max_megapixels * 1_000_000)
        if image is not None and image.max_side is not None:
            return image.max_side * image.max_side
        raise ConfigurationError(f"{self.name}: the table bounds neither its answer nor its input")

    @property
    def max_answer_bytes(self) -> int:
        """The most bytes an answer may take (the client stops reading past it): the pixel
        bound times `ANSWER_BYTES_PER_PIXEL`, plus `ANSWER_OVERHEAD_BYTES`."""
        return self.max_answer_pixels * ANSWER_BYTES_PER_PIXEL + ANSWER_OVERHEAD_BYTES

    @property
    def prompt_field(self) -> TextField | None:
        """The free-text prompt field, if the endpoint has one (``prompt`` or ``text_prompt``)."""
        for f in self.text_fields:
            if f.choices is None:
                return f
        return None

    @property
    def image_field(self) -> FileField | None:
        """The main picture field (``image_file`` or ``sketch_file``), if any."""
        for f in self.file_fields:
            if f.role in ("image", "sketch"):
                return f
        return None


def _mask(doc: str) -> FileField:
    return FileField(
        "mask_file",
        "mask",
        formats=("png",),
        keyword="mask",
        max_bytes=30 * MB,
        binary=True,
        same_size_as="image_file",
        doc=doc,
    )


def _photo(doc: str, *, max_megapixels: float) -> FileField:
    """The ``image_file`` of the six later endpoints: PNG, JPEG or WebP, at most 30 MB."""
    return FileField("image_file", "image", formats=("png", "jpeg", "webp"), keyword="image",
                     max_bytes=30 * MB, max_megapixels=max_megapixels, doc=doc)


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in [
        Endpoint(
            name="text_to_image",
            title="Text to image",
            path="/text-to-image/v1",
            fields=(TextField("prompt", max_chars=1000, doc="What the picture shows."),),
            output_content_type="image/png",
            accept=("image/png", "image/jpeg", "image/webp"),
            output_size=(512, 512),
            credits=2,
            answer_pixels=2048 * 2048,  # 4x the 1024x1024 of today's documentation
            doc="A picture made from a text prompt.",
        ),
        Endpoint(
            name="sketch_to_image",
            title="Sketch to image",
            path="/sketch-to-image/v1/sketch-to-image",
            fields=(
                FileField(
                    "sketch_file",
                    "sketch",
                    formats=("png", "jpeg", "webp"),
                    keyword="sketch",
                    max_side=1024,
                    square=True,
                    doc="White lines on a black background.",
                ),
                TextField("prompt", max_chars=5000, doc="What the sketch should become."),
            ),
            output_content_type="image/jpeg",
            answer_pixels=2048 * 2048,  # size not documented: 4x the largest sketch
            doc="A picture that follows a sketch's lines and a prompt.",
        ),
        Endpoint(
            name="cleanup",
            title="Cleanup",
            path="/cleanup/v1",
            fields=(
                FileField(
                    "image_file",
                    "image",
                    formats=("jpeg", "png"),
                    keyword="image",
                    max_bytes=30 * MB,
                    max_megapixels=16,
                    doc="The photo to clean up.",
                ),
                _mask("255 where the photo is cleaned up, 0 where it is kept."),
                TextField(
                    "mode",
                    required=False,
                    choices=("fast", "quality"),
                    doc="Speed or quality (newer documentation).",
                ),
            ),
            output_content_type="image/png",
            size_stated=True,
            doc="Removes what the mask covers and fills it from the surroundings.",
        ),
        Endpoint(
            name="text_inpainting",
            title="Text inpainting",
            path="/text-inpainting/v1",
            fields=(
                FileField(
                    "image_file",
                    "image",
                    formats=("jpeg", "png"),
                    keyword="image",
                    max_bytes=30 * MB,
                    max_megapixels=10,
                    doc="The photo to change.",
                ),
                _mask("255 where the prompt's content goes, 0 where the photo is kept."),
                TextField("text_prompt", doc="What to put in the masked area."),
            ),
            output_content_type="image/jpeg",
            requests_per_minute=30,
            size_stated=True,
            doc="Replaces what the mask covers with what the prompt describes.",
        ),
        Endpoint(
            name="replace_background",
            title="Replace background",
            path="/replace-background/v1",
            fields=(
                FileField(
                    "image_file",
                    "image",
                    formats=("png", "jpeg", "webp"),
                    keyword="image",
                    max_bytes=20 * MB,
                    max_side=2048,
                    doc="The photo whose subject is kept.",
                ),
                TextField(
                    "prompt",
                    allow_empty=True,
                    doc="The new scene; empty lets the service invent one.",
                ),
            ),
            output_content_type="image/jpeg",
            accept=("image/jpeg", "image/png", "image/webp"),
            size_stated=True,
            doc="Keeps the subject and puts it in a new scene.",
        ),
        # -- beyond the seeds: the public documentation's six other image endpoints ----------
        Endpoint(
            name="remove_background",
            title="Remove background",
            path="/remove-background/v1",
            fields=(
                _photo("The photo whose subject is cut out.", max_megapixels=25),
                TextField(
                    "transparency_handling",
                    required=False,
                    choices=("return_input_if_non_opaque", "discard_alpha_layer"),
                    doc="For an input with some transparency: return it as it is (the "
                        "service's default) or ignore its alpha.",
                ),
            ),
            output_content_type="image/png",
            accept=("image/png", "image/webp", "image/jpeg"),
            size_stated=True,
            doc="The subject on a transparent background, the input's size.",
        ),
        Endpoint(
            name="uncrop",
            title="Uncrop",
            path="/uncrop/v1",
            fields=(
                _photo("The photo to extend.", max_megapixels=10),
                *(IntField(f"extend_{side}", -2000, 2000, default=0,
                           doc=f"Pixels added on the {side} (negative: cropped).")
                  for side in ("left", "right", "up", "down")),
                IntField("seed", 0, 100_000,
                         doc="The same seed gives the same result; none: a random one."),
            ),
            output_content_type="image/jpeg",
            output_size="extended",
            repeat="seed",
            answer_pixels=64_000_000,  # what this toolkit decodes at most (HARD_PIXEL_LIMIT)
            doc="The photo extended (or cropped) on its sides, the new parts invented.",
        ),
        Endpoint(
            name="upscale",
            title="Upscale",
            path="/image-upscaling/v1/upscale",
            fields=(
                _photo("The image to enlarge.", max_megapixels=16),
                IntField("target_width", 1, 4096, required=True, doc="Width of the answer (px)."),
                IntField("target_height", 1, 4096, required=True,
                         doc="Height of the answer (px)."),
            ),
            output_content_type="image/jpeg",
            alpha_content_type="image/webp",
            output_size="target",
            credits_per_output_megapixel=1,  # versions say 1/call, 1/MP or 0.2/MP: the most
            answer_pixels=4096 * 4096,
            doc="The image resampled to a target size, sharpened.",
        ),
        Endpoint(
            name="reimagine",
            title="Reimagine",
            path="/reimagine/v1/reimagine",
            fields=(
                FileField(
                    "image_file",
                    "image",
                    formats=("png", "jpeg", "webp"),
                    keyword="image",
                    max_side=1024,
                    doc="The picture to vary.",
                ),
            ),
            output_content_type="image/jpeg",
            repeat="never",
            answer_pixels=2048 * 2048,  # size not documented: 4x the largest input
            doc="A variation of the picture: another take on its content and layout.",
        ),
        Endpoint(
            name="portrait_depth",
            title="Portrait depth",
            path="/portrait-depth-estimation/v1",
            fields=(_photo("The portrait.", max_megapixels=25),),
            output_content_type="image/jpeg",
            doc="The person's depth map: white nearest, black farthest, 0 off the person.",
        ),
        Endpoint(
            name="portrait_normals",
            title="Portrait normals",
            path="/portrait-surface-normals/v1",
            fields=(_photo("The portrait.", max_megapixels=25),),
            output_content_type="image/jpeg",
            doc="The person's surface normals as RGB = XYZ; (128, 128, 255) off the person.",
        ),
    ]
}
"""The eleven operations by client method name (``"text_to_image"``...): each one's path, fields,
limits, formats, credits and rate, as the contract states them."""


#: The byte cap a server applies to a file field whose contract states none (sketch to image's
#: sketch): the largest limit the contract states for any file (30 MB).
UNSTATED_FILE_CAP: int = max(f.max_bytes for e in ENDPOINTS.values() for f in e.file_fields
                             if f.max_bytes is not None)


def endpoint(name: str) -> Endpoint:
    """The endpoint called ``name`` (a client method name such as ``"cleanup"``)."""
    try:
        return ENDPOINTS[name]
    except KeyError:
        known = ", ".join(ENDPOINTS)
        raise ConfigurationError(f"unknown operation {name!r}; known operations: {known}") from None


def endpoint_for_path(path: str) -> Endpoint | None:
    """The endpoint served at URL path ``path`` (trailing slashes ignored), or ``None``."""
    path = "/" + path.strip("/")
    for e in ENDPOINTS.values():
        if e.path == path:
            return e
    return None

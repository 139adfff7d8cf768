"""The engine's operations behind one calling convention, for the HTTP layer.

Each `Render` takes the request's validated text fields and decoded image files, both
keyed by their wire names (``prompt``, ``text_prompt``, ``mode``; ``image_file``, ``mask_file``,
``sketch_file``), and returns the picture; `run` adds the offline-preview mark. Inputs are
expected to have passed `clipdrop_widgets.contract.validation.validate_request` already.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

from PIL import Image

from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError
from ..contract.validation import has_alpha
from . import background, cutout, generate, inpaint, preview, reshape

__all__ = ["Render", "OPERATIONS", "run"]

#: One operation's picture maker (the HTTP side is the engine core's).
Render = Callable[[Mapping[str, str], Mapping[str, Image.Image]], Image.Image]

#: Text to image's output size (width, height), from the endpoint table.
_TEXT_TO_IMAGE_SIZE = cast("tuple[int, int]", ENDPOINTS["text_to_image"].output_size)


def _flat(image: Image.Image, *, under: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """``image`` as RGB, see-through pixels laid over the colour ``under``."""
    if has_alpha(image):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (*under, 255)),
                                     rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale PNG
        return image.point(lambda v: v / 257).convert("L").convert("RGB")
    return image.convert("RGB")


def _text_to_image(texts: Mapping[str, str], images: Mapping[str, Image.Image]) -> Image.Image:
    return generate.text_to_image(texts["prompt"], size=_TEXT_TO_IMAGE_SIZE)


def _sketch_to_image(texts: Mapping[str, str],
                     images: Mapping[str, Image.Image]) -> Image.Image:
    return generate.sketch_to_image(_flat(images["sketch_file"], under=(0, 0, 0)),
                                    texts["prompt"])


def _cleanup(texts: Mapping[str, str], images: Mapping[str, Image.Image]) -> Image.Image:
    mode = texts.get("mode") or None
    return inpaint.cleanup(_flat(images["image_file"]), images["mask_file"],
                           mode=mode)  # type: ignore[arg-type]


def _text_inpainting(texts: Mapping[str, str],
                     images: Mapping[str, Image.Image]) -> Image.Image:
    return inpaint.text_inpainting(_flat(images["image_file"]), images["mask_file"],
                                   texts["text_prompt"])


def _replace_background(texts: Mapping[str, str],
                        images: Mapping[str, Image.Image]) -> Image.Image:
    return background.replace_background(images["image_file"], texts.get("prompt") or "")


def _int(texts: Mapping[str, str], name: str) -> int:
    return int(texts.get(name) or 0)


def _remove_background(texts: Mapping[str, str],
                       images: Mapping[str, Image.Image]) -> Image.Image:
    return cutout.remove_background(images["image_file"], texts.get("transparency_handling"))


def _uncrop(texts: Mapping[str, str], images: Mapping[str, Image.Image]) -> Image.Image:
    extends = (_int(texts, "extend_left"), _int(texts, "extend_right"),
               _int(texts, "extend_up"), _int(texts, "extend_down"))
    seed = texts.get("seed")
    return reshape.uncrop(_flat(images["image_file"]), extends,
                          seed=int(seed) if seed else None)


def _upscale(texts: Mapping[str, str], images: Mapping[str, Image.Image]) -> Image.Image:
    return reshape.upscale(images["image_file"],
                           (_int(texts, "target_width"), _int(texts, "target_height")))


def _reimagine(texts: Mapping[str, str], images: Mapping[str, Image.Image]) -> Image.Image:
    return reshape.reimagine(_flat(images["image_file"]))


def _portrait_depth(texts: Mapping[str, str],
                    images: Mapping[str, Image.Image]) -> Image.Image:
    return cutout.portrait_depth(_flat(images["image_file"]))


def _portrait_normals(texts: Mapping[str, str],
                      images: Mapping[str, Image.Image]) -> Image.Image:
    return cutout.portrait_normals(_flat(images["image_file"]))


#: Endpoint name -> operation.
OPERATIONS: dict[str, Render] = {
    "text_to_image": _text_to_image,
    "sketch_to_image": _sketch_to_image,
    "cleanup": _cleanup,
    "text_inpainting": _text_inpainting,
    "replace_background": _replace_background,
    "remove_background": _remove_background,
    "uncrop": _uncrop,
    "upscale": _upscale,
    "reimagine": _reimagine,
    "portrait_depth": _portrait_depth,
    "portrait_normals": _portrait_normals,
}


def run(name: str, texts: Mapping[str, str], images: Mapping[str, Image.Image]) -> Image.Image:
    """Operation ``name``'s result (RGB, or RGBA for a cut-out), carrying the offline-preview
    mark.

    Raises `ValueError` for a name the engine does not serve.
    """
    try:
        operation = OPERATIONS[name]
    except KeyError:
        known = ", ".join(OPERATIONS)
        raise ConfigurationError(
            f"the local engine has no operation {name!r}; it serves {known}") from None
    return preview.mark(operation(texts, images))

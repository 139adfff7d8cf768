"""A transparent picture too big as PNG keeps its transparency, or is refused; never flattened.

Before the fix (findings23c F14) a PIL image with alpha whose PNG was over 30 MB was sent as
JPEG: its transparent parts became opaque pixels (remove background's
``return_input_if_non_opaque`` no longer applied, upscale answered JPEG instead of WebP), and the
notice only said "sent as JPEG". The byte limit is lowered here so the pictures stay small.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from clipdrop_widgets import ENDPOINTS, InputError
from clipdrop_widgets.api.inputs import prepare_file

LIMIT = 60_000  # bytes: the PNGs below are about 160 kB


def _noise(mode: str) -> Image.Image:
    a = np.random.default_rng(3).integers(0, 255, (200, 200, 4), dtype=np.uint8)
    a[..., 3] = 0
    a[50:150, 50:150, 3] = 255  # a cut-out: opaque square, transparent around it
    im = Image.fromarray(a, "RGBA")
    return im if mode == "RGBA" else im.convert("RGB")


def _field(endpoint: str, name: str = "image_file", formats: tuple[str, ...] | None = None):
    field = ENDPOINTS[endpoint].field(name)
    changes = {"max_bytes": LIMIT} | ({"formats": formats} if formats else {})
    return dataclasses.replace(field, **changes)


@pytest.mark.parametrize("endpoint", ["remove_background", "upscale"])
def test_transparency_is_kept_as_webp(endpoint):
    notices: list[str] = []
    prepared = prepare_file(_field(endpoint), _noise("RGBA"), notices)
    sent = Image.open(io.BytesIO(prepared.data))
    assert prepared.content_type == "image/webp" and len(prepared.data) <= LIMIT
    alpha = np.asarray(sent.convert("RGBA").getchannel("A"))
    assert alpha[0, 0] == 0 and alpha[100, 100] == 255  # still a cut-out
    assert notices == ["image_file is over 60,000 bytes as PNG; it is sent as WebP (quality 95, "
                       "transparency kept)"]


def test_an_opaque_picture_still_goes_as_jpeg():
    notices: list[str] = []
    prepared = prepare_file(_field("upscale"), _noise("RGB"), notices)
    assert prepared.content_type == "image/jpeg"
    assert "sent as JPEG (quality 95)" in notices[0]


def test_without_webp_a_transparent_picture_is_refused_not_flattened():
    words = "image_file has transparency and is over 60,000 bytes as PNG"
    with pytest.raises(InputError, match=words) as info:
        prepare_file(_field("upscale", formats=("png", "jpeg")), _noise("RGBA"), [])
    assert info.value.rule == "max_bytes"

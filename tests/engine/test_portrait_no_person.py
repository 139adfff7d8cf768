"""The portrait previews find no person where there is none.

Before the fix a flat grey 400x300 picture got a depth map up to 250 and non-flat normals:
the cut always returns a subject (its ellipse fallback when GrabCut finds nothing). The docs
say depth is 0 and normals (128, 128, 255) off the person.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from clipdrop_widgets import Client
from clipdrop_widgets.engine.preview import mark_box


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():  # "no key: the local engine" (said once per process)
        warnings.simplefilter("ignore")
        c = Client()
    with c:
        yield c


def _unmarked(image: Image.Image) -> np.ndarray:
    """The pixels outside the offline-preview label (bool (H, W))."""
    keep = np.ones((image.height, image.width), bool)
    x0, y0, _, _ = mark_box(image.size)
    keep[max(0, y0 - 16):, max(0, x0 - 16):] = False  # and JPEG blocks around it
    return keep


def _flat() -> Image.Image:
    return Image.new("RGB", (400, 300), (120, 120, 120))


def _grain() -> Image.Image:  # a plain wall photographed: a little sensor noise
    rng = np.random.default_rng(3)
    a = np.clip(120 + rng.normal(0, 2.0, (300, 400, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(a, "RGB")


@pytest.mark.parametrize("make", [_flat, _grain])
def test_no_person_gives_all_0_depth_and_flat_normals(client, make):
    depth = client.portrait_depth(make())
    normals = client.portrait_normals(make())
    assert depth.is_preview and normals.is_preview  # still the labelled preview
    keep = _unmarked(depth.image)
    assert np.asarray(depth.image.convert("L"))[keep].max() <= 2  # JPEG rounding at most
    n = np.asarray(normals.image.convert("RGB")).astype(int)[keep]
    assert np.abs(n - [128, 128, 255]).max() <= 3


def test_a_person_against_a_wall_is_still_found(client):
    a = np.full((300, 400, 3), 200, np.uint8)
    yy, xx = np.mgrid[0:300, 0:400]
    body = ((xx - 200) / 70) ** 2 + ((yy - 200) / 110) ** 2 < 1
    head = ((xx - 200) / 40) ** 2 + ((yy - 80) / 48) ** 2 < 1
    a[body | head] = (150, 90, 70)
    depth = np.asarray(client.portrait_depth(Image.fromarray(a)).image.convert("L"))
    assert depth[200, 200] > 100 and depth[10, 10] == 0

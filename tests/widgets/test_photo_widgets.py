"""UncropStage and Magnifier from Python: the rules the page also enforces hold on any set,
and pictures are sent once, as they are."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from clipdrop_widgets import Client
from clipdrop_widgets.widgets.magnifier import Magnifier
from clipdrop_widgets.widgets.uncrop_stage import UncropStage


def test_the_stage_keeps_one_pixel_and_the_limits_whatever_is_set():
    stage = UncropStage(Image.new("RGB", (300, 200)), minimum=-2000, maximum=2000)
    stage.extend_left = 5000
    assert stage.extend_left == 2000
    stage.extend_left, stage.extend_right = -250, -250  # would leave -200 pixels
    assert (stage.extend_left, stage.extend_right) == (-250, -49)  # 1 pixel left
    assert 300 + stage.extend_left + stage.extend_right == 1
    stage.extend_up = -1000
    assert 200 + stage.extend_up == 1
    stage.set_photo(Image.new("RGB", (100, 100)))  # a smaller photo: the crops shrink with it
    assert stage.photo_width == 100
    assert 100 + stage.extend_left + stage.extend_right >= 1 and 100 + stage.extend_up >= 1
    assert stage.extends == {"left": stage.extend_left, "right": stage.extend_right,
                             "up": stage.extend_up, "down": 0}


def test_the_magnifier_sends_a_result_as_its_own_bytes():
    with Client() as client:
        photo = Image.fromarray(np.random.default_rng(1).integers(0, 255, (60, 80, 3),
                                                                  dtype=np.uint8))
        result = client.upscale(photo, 320, 240)
    lens = Magnifier()
    lens.x = lens.y = 10
    lens.set_images(photo, result)
    assert lens.after == result.data and lens.after_type == result.content_type
    assert (lens.width, lens.height) == (320, 240)
    assert (lens.x, lens.y) == (-1, -1)  # no lens until the pointer comes back
    assert Image.open(io.BytesIO(lens.before)).size == (80, 60)

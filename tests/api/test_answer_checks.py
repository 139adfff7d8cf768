"""An answer that is a readable image but not the documented one is kept, and said.

Before the fix (findings23c F8) ``upscale(im, 100, 10)`` answered 10x10 and ``remove_background``
answered a JPEG without transparency, both without a word. Now the result is kept (it was paid
for) with a `ClipdropNotice` naming what was expected, also on ``result.notices``.
"""

from __future__ import annotations

import warnings

from fault_server import Action, jpeg_bytes, png_bytes

from clipdrop_widgets import ClipdropNotice

PHOTO = png_bytes((64, 48))


def _notices(call) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    said = [str(w.message) for w in caught if issubclass(w.category, ClipdropNotice)]
    assert list(result.notices) == said  # kept on the result too
    return result, said


def test_an_upscale_of_the_wrong_size_is_kept_and_said(client, server):
    server.default = Action.image(jpeg_bytes((10, 10)), "image/jpeg")
    result, said = _notices(lambda: client.upscale(PHOTO, 100, 10))
    assert result.size == (10, 10)
    assert said == ["upscale: the server answered a 10x10 image, not the 100x10 this call "
                    "asks for"]


def test_an_uncrop_of_the_extended_size_is_quiet(client, server):
    server.default = Action.image(jpeg_bytes((74, 48)), "image/jpeg")
    _, said = _notices(lambda: client.uncrop(PHOTO, extend_left=10))
    assert said == []


def test_a_cutout_without_transparency_is_said(client, server):
    server.default = Action.image(jpeg_bytes((64, 48)), "image/jpeg")
    _, said = _notices(lambda: client.remove_background(PHOTO))
    assert said == ["remove_background: the server answered JPEG, which has no transparency, "
                    "not the documented PNG"]
    _, said = _notices(lambda: client.remove_background(PHOTO, format="jpeg"))
    assert said == []  # asked for


def test_another_format_than_asked_is_said(client, server):
    server.default = Action.image(png_bytes((64, 48)), "image/png")
    _, said = _notices(lambda: client.remove_background(PHOTO, format="webp"))
    assert said == ["remove_background: the server answered PNG, not the WEBP asked for "
                    "with format="]

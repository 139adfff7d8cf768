"""What the service gets is what the user sees, and nothing is dropped silently.

Before the fix a phone photo (stored 64x48, EXIF Orientation 6: shown 48x64) opened with
``Image.open`` was re-encoded at its stored size without the tag, so the service got it turned
90 degrees and ``extend_left`` extended what the user sees as the top; an animated GIF or a
multi-page TIFF was sent as its first frame only.

A second attack (findings23c F1, F2) found the same photo as a path or bytes still went byte for
byte with its tag: the service (and the local engine) read the stored pixels, so uncrop extended
the side the user sees as the top, depth maps came out sideways and the crop rule was checked
against the stored size; and an animated PNG or WebP as a path or bytes was sent and paid.
Now one rule holds for every form: the picture is measured and sent as a viewer shows it.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps

from clipdrop_widgets import InputError


def phone_jpeg() -> bytes:
    """A JPEG stored 64x48 (red left, blue right) that viewers show 48x64 (Orientation 6)."""
    a = np.zeros((48, 64, 3), np.uint8)
    a[:, :32] = (220, 20, 20)
    a[:, 32:] = (20, 20, 220)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


def _sent(server) -> Image.Image:
    (seen,) = server.seen
    return Image.open(io.BytesIO(seen.files["image_file"][2]))


def test_a_pil_photo_goes_as_the_user_sees_it(client, server):
    opened = Image.open(io.BytesIO(phone_jpeg()))
    shown = ImageOps.exif_transpose(opened)
    assert shown.size == (48, 64)
    client.uncrop(opened, extend_left=10)
    sent = _sent(server)
    assert sent.size == (48, 64)
    assert np.array_equal(np.asarray(sent.convert("RGB")), np.asarray(shown.convert("RGB")))
    assert opened.size == (64, 48)  # the user's image is not changed


def _forms(tmp_path, data: bytes) -> dict[str, object]:
    path = tmp_path / "phone.jpg"
    path.write_bytes(data)
    return {"bytes": data, "path": str(path), "PIL": Image.open(io.BytesIO(data))}


@pytest.mark.parametrize("form", ["bytes", "path", "PIL"])
def test_a_phone_photo_goes_upright_whatever_its_form(client, server, tmp_path, form):
    value = _forms(tmp_path, phone_jpeg())[form]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.uncrop(value, extend_left=10)
    sent = _sent(server)
    assert sent.size == (48, 64)  # as viewers show it, not the stored 64x48
    assert sent.getexif().get(0x0112, 1) == 1  # no tag left to turn it again
    rgb = np.asarray(sent.convert("RGB")).astype(int)
    assert rgb[:20, :, 0].mean() > 150 > rgb[-20:, :, 0].mean()  # stored left (red) on top
    notices = " ".join(str(w.message) for w in caught)
    if form != "PIL":  # (a PIL image is never sent as it is: no notice needed)
        assert "EXIF orientation tag (6" in notices and "sent as JPEG" in notices


@pytest.mark.parametrize("form", ["bytes", "path", "PIL"])
def test_the_crop_rule_sees_the_shown_size_whatever_the_form(client, server, tmp_path, form):
    value = _forms(tmp_path, phone_jpeg())[form]
    # Shown 48 wide: cropping 50 leaves nothing (stored 64 wide it would leave 14).
    with pytest.raises(InputError, match="leave -2x64 of the 48x64 image"):
        client.uncrop(value, extend_left=-50)
    assert server.seen == []


def test_a_photo_without_a_tag_still_goes_byte_for_byte(client, server):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buf, "JPEG", exif=Image.Exif())
    client.uncrop(buf.getvalue(), extend_left=10)
    (seen,) = server.seen
    assert seen.files["image_file"][2] == buf.getvalue()


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return buf.getvalue()


def _two_page_tiff() -> bytes:
    pages = [Image.new("RGB", (16, 16), c) for c in ("red", "green")]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    return buf.getvalue()


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100)
    return buf.getvalue()


@pytest.mark.parametrize("make,frames", [(_animated_gif, 3), (_two_page_tiff, 2),
                                         (lambda: _animated("PNG"), 3),
                                         (lambda: _animated("WEBP"), 3)],
                         ids=["gif", "tiff", "apng", "webp"])
@pytest.mark.parametrize("form", ["bytes", "path", "PIL"])
def test_an_animation_or_a_multi_page_file_is_refused(client, server, tmp_path, make, frames,
                                                       form):
    data = make()
    value = _forms(tmp_path, data)[form]
    for call in (client.remove_background, client.portrait_depth,
                 lambda v: client.uncrop(v, extend_left=4)):
        with pytest.raises(InputError, match=f"image_file has {frames} frames") as info:
            call(value)
        assert info.value.rule == "frames"
    assert server.seen == []


def test_a_one_frame_gif_is_still_sent_as_png_with_a_notice(client, server):
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "GIF")
    with pytest.warns(UserWarning, match="image_file was GIF; it is sent as PNG"):
        client.remove_background(buf.getvalue())
    assert _sent(server).format == "PNG"

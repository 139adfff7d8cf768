"""What the service gets is what the user sees, and nothing is dropped silently.

Before the fix a phone photo (stored 64x48, EXIF Orientation 6: shown 48x64) opened with
``Image.open`` was re-encoded at its stored size without the tag, so the service got it turned
90 degrees and ``extend_left`` extended what the user sees as the top; an animated GIF or a
multi-page TIFF was sent as its first frame only.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from fault_server import FaultServer
from PIL import Image, ImageOps

from clipdrop_widgets import Client, InputError


@pytest.fixture(scope="module")
def server():
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def client(server):
    server.seen.clear()
    with Client("test-key", base_url=server.url, timeout=5, max_retries=0) as c:
        yield c


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


def test_a_phone_photo_as_bytes_goes_byte_for_byte_with_its_tag(client, server):
    data = phone_jpeg()
    client.uncrop(data, extend_left=10)
    (seen,) = server.seen
    assert seen.files["image_file"][2] == data


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


@pytest.mark.parametrize("make,frames", [(_animated_gif, 3), (_two_page_tiff, 2)])
@pytest.mark.parametrize("as_pil", [False, True])
def test_an_animation_or_a_multi_page_file_is_refused(client, server, make, frames, as_pil):
    data = make()
    value = Image.open(io.BytesIO(data)) if as_pil else data
    with pytest.raises(InputError, match=f"image_file has {frames} frames") as info:
        client.remove_background(value)
    assert info.value.rule == "frames"
    assert server.seen == []


def test_a_one_frame_gif_is_still_sent_as_png_with_a_notice(client, server):
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "GIF")
    with pytest.warns(UserWarning, match="image_file was GIF; it is sent as PNG"):
        client.remove_background(buf.getvalue())
    assert _sent(server).format == "PNG"

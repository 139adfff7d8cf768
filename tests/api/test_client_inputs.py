"""Every documented input rule is checked before a request is made (and a credit spent)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from fault_server import jpeg_bytes, png_bytes
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from clipdrop_widgets import InputError
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.contract.validation import ImageFacts, check_file


def encoded(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def refused(server, call, *fragments: str, field: str | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    if field is not None:
        assert info.value.field == field
    assert server.seen == [], "a refused call must send nothing"
    return info.value


def blank(size, mode="RGB", color=0):
    return Image.new(mode, size, color)


# -- prompts ------------------------------------------------------------------------------------
def test_text_to_image_prompt_limit(client, server):
    err = refused(server, lambda: client.text_to_image("x" * 1001),
                  "prompt is 1001 characters", "at most 1000", field="prompt")
    assert err.rule == "max_chars"
    client.text_to_image("é" * 1000)  # characters, not bytes
    assert len(server.seen) == 1


@pytest.mark.parametrize("prompt", ["", "   \n"])
def test_required_prompt_cannot_be_empty(client, server, prompt):
    refused(server, lambda: client.text_to_image(prompt), "prompt is empty", field="prompt")


def test_sketch_prompt_limit_is_5000(client, server):
    sketch = blank((64, 64), "L")
    refused(server, lambda: client.sketch_to_image(sketch, "y" * 5001), "5001 characters",
            "at most 5000")
    client.sketch_to_image(sketch, "y" * 5000)
    assert len(server.seen) == 1


def test_text_inpainting_needs_its_text_prompt(client, server):
    refused(server, lambda: client.text_inpainting(blank((8, 8)), np.ones((8, 8), bool), ""),
            "text_prompt is empty", field="text_prompt")


def test_replace_background_accepts_an_empty_prompt(client, server):
    client.replace_background(blank((8, 8)), "")
    assert server.seen[0].texts == {"prompt": ""}


def test_prompt_must_be_text(client, server):
    refused(server, lambda: client.text_to_image(42), "prompt must be a string")


def test_cleanup_mode_choices(client, server):
    refused(server, lambda: client.cleanup(blank((8, 8)), np.ones((8, 8), bool), mode="best"),
            "mode is 'best'", "'fast' or 'quality'", field="mode")


def test_accept_only_where_offered(client, server):
    refused(server, lambda: client.replace_background(blank((8, 8)), format="gif"),
            "format is 'gif'")
    client.replace_background(blank((8, 8)), format="webp")
    assert server.seen[0].headers["Accept"] == "image/webp"


# -- sketches -----------------------------------------------------------------------------------
def test_sketch_must_be_square(client, server):
    refused(server, lambda: client.sketch_to_image(blank((640, 480), "L"), "an owl"),
            "sketch_file is 640x480", "only square images", field="sketch_file")


def test_sketch_at_most_1024(client, server):
    refused(server, lambda: client.sketch_to_image(blank((1025, 1025), "L"), "an owl"),
            "sketch_file is 1025x1025", "at most 1024 pixels")


def test_black_on_white_sketch_is_inverted_with_a_notice(client, server):
    sketch = blank((64, 64), "L", 255)
    sketch.paste(0, (10, 30, 50, 34))  # a black line on white
    with pytest.warns(ClipdropNotice, match="inverted"):
        result = client.sketch_to_image(sketch, "an owl")
    sent = np.asarray(Image.open(io.BytesIO(server.seen[0].files["sketch_file"][2])).convert("L"))
    assert sent[0, 0] == 0 and sent[32, 20] == 255
    assert any("inverted" in n for n in result.notices)
    assert "notices" not in result.inputs


def test_white_on_black_sketch_file_is_sent_untouched(client, server):
    data = jpeg_bytes((128, 128), (0, 0, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClipdropNotice)
        client.sketch_to_image(data, "an owl")
    assert server.seen[0].files["sketch_file"][2] == data


# -- photos -------------------------------------------------------------------------------------
def test_cleanup_image_at_most_16_megapixels(client, server):
    big = encoded(blank((4001, 4001), "L"))  # 16.008 MP
    refused(server, lambda: client.cleanup(big, np.zeros((4001, 4001), bool)),
            "image_file is 4001x4001", "16,008,001 pixels", "limit is 16 megapixels")


def test_text_inpainting_image_at_most_10_megapixels(client, server):
    big = encoded(blank((4000, 2501), "L"))
    refused(server, lambda: client.text_inpainting(big, np.zeros((2501, 4000), bool), "a hat"),
            "image_file is 4000x2501", "limit is 10 megapixels")


def test_replace_background_side_at_most_2048(client, server):
    refused(server, lambda: client.replace_background(blank((2049, 100)), "a beach"),
            "image_file is 2049x100", "at most 2048 pixels")


@pytest.mark.parametrize("name,field,limit", [
    ("cleanup", "image_file", "30,000,000"), ("cleanup", "mask_file", "30,000,000"),
    ("text_inpainting", "image_file", "30,000,000"),
    ("replace_background", "image_file", "20,000,000"),
])
def test_file_byte_limits(name, field, limit):
    """Byte limits, checked from the file's size (a 30 MB photo is slow to make in a test).
    One byte over is said in exact bytes: "30.0 MB; the limit is 30.0 MB" read as within it."""
    ff = ENDPOINTS[name].field(field)
    ok = ImageFacts(ff.formats[0], 100, 100, "RGB", ff.max_bytes)
    check_file(ff, ok)
    with pytest.raises(InputError, match=f"{field} is {ff.max_bytes + 1:,} bytes; "
                                         f"the limit is {limit} bytes"):
        check_file(ff, ImageFacts(ff.formats[0], 100, 100, "RGB", ff.max_bytes + 1))
    with pytest.raises(InputError, match=f"{field} is 40.0 MB; the limit is {limit[:2]}.0 MB"):
        check_file(ff, ImageFacts(ff.formats[0], 100, 100, "RGB", 40_000_000))


@pytest.mark.parametrize("name,call,limit", [
    ("replace_background", lambda c, f: c.replace_background(f, "a beach"), "20,000,000 bytes"),
    ("cleanup", lambda c, f: c.cleanup(f, np.zeros((64, 64), bool)), "30,000,000 bytes"),
])
def test_byte_limit_through_the_client(client, server, name, call, limit):
    """A small picture padded with a large text chunk: a real file over the byte limit."""
    info = PngInfo()
    info.add_text("padding", "x" * (ENDPOINTS[name].field("image_file").max_bytes + 1))
    buf = io.BytesIO()
    blank((64, 64)).save(buf, "PNG", pnginfo=info)
    refused(server, lambda: call(client, buf.getvalue()), f"the limit is {limit}",
            field="image_file")


def test_unreadable_image(client, server):
    refused(server, lambda: client.replace_background(b"this is not a picture", "a"),
            "image_file is not a readable image")


def test_missing_file(client, server, tmp_path):
    refused(server, lambda: client.replace_background(tmp_path / "nope.png", "a"), "no file at")


def test_wrong_type(client, server):
    refused(server, lambda: client.replace_background([1, 2, 3], "a"),
            "pass a PIL image, a NumPy array, a path or bytes")


def test_photo_in_an_unaccepted_format_is_sent_as_png(client, server):
    webp = encoded(blank((40, 30), "RGB", (10, 200, 10)), "WEBP")
    with pytest.warns(ClipdropNotice, match="sent as PNG"):
        client.cleanup(webp, np.zeros((30, 40), bool))
    _name, ctype, data = server.seen[0].files["image_file"]
    assert ctype == "image/png" and Image.open(io.BytesIO(data)).size == (40, 30)


# -- masks --------------------------------------------------------------------------------------
def test_mask_of_the_wrong_size_is_refused_not_resized(client, server):
    refused(server, lambda: client.cleanup(blank((1024, 768)), np.zeros((768, 1023), bool)),
            "mask_file is 1023x768 but image_file is 1024x768; "
            "a mask must have the image's resolution", field="mask_file")


@pytest.mark.parametrize("mask", [
    np.eye(16, dtype=bool),
    np.eye(16, dtype=np.uint8),  # 0/1
    np.eye(16, dtype=np.uint8) * 255,
    Image.fromarray(np.eye(16, dtype=np.uint8) * 255, "L"),
    Image.fromarray(np.dstack([np.zeros((16, 16, 3), np.uint8),
                               np.eye(16, dtype=np.uint8) * 255]), "RGBA"),  # alpha carries it
    Image.fromarray(np.eye(16, dtype=np.uint8) * 255, "L").convert("1"),
])
def test_masks_become_strict_png(client, server, mask):
    client.cleanup(blank((16, 16)), mask)
    _name, ctype, data = server.seen[0].files["mask_file"]
    m = Image.open(io.BytesIO(data))
    assert ctype == "image/png" and m.mode == "L"
    assert np.array_equal(np.asarray(m), np.eye(16, dtype=np.uint8) * 255)


def test_grey_mask_is_thresholded_with_a_notice(client, server):
    ramp = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))  # 0..240
    with pytest.warns(ClipdropNotice, match="grey pixels; thresholded at 128"):
        client.cleanup(blank((16, 16)), ramp)
    m = np.asarray(Image.open(io.BytesIO(server.seen[0].files["mask_file"][2])))
    assert set(np.unique(m)) == {0, 255}
    assert (m[0] == 255).tolist() == (ramp[0] >= 128).tolist()


def test_jpeg_mask_file_is_converted_to_png(client, server):
    with pytest.warns(ClipdropNotice, match="masks are sent as PNG"):
        client.cleanup(blank((16, 16)), jpeg_bytes((16, 16), (255, 255, 255)))
    assert server.seen[0].files["mask_file"][1] == "image/png"


def test_strict_mask_file_is_sent_byte_for_byte(client, server):
    data = encoded(Image.fromarray(np.eye(16, dtype=np.uint8) * 255, "L"))
    client.cleanup(png_bytes((16, 16)), data)
    assert server.seen[0].files["mask_file"][2] == data


def test_float_mask_outside_0_1_is_refused(client, server):
    refused(server, lambda: client.cleanup(blank((4, 4)), np.full((4, 4), 3.0)),
            "values outside 0..1")


def test_truncated_mask_file_is_an_input_error_naming_the_field():
    from clipdrop_widgets.contract.validation import validate_request

    mask = encoded(Image.fromarray(np.eye(64, dtype=np.uint8) * 255, "L"))
    with pytest.raises(InputError, match="mask_file could not be decoded") as info:
        validate_request(ENDPOINTS["cleanup"], {}, {"image_file": png_bytes((64, 64)),
                                                    "mask_file": mask[: len(mask) - 40]})
    assert info.value.field == "mask_file" and info.value.rule == "format"


def test_inspecting_images_from_threads_leaves_warning_filters_alone():
    """Apps and sweeps validate in worker threads: no global warnings state may change."""
    import threading

    from clipdrop_widgets.contract.validation import inspect_image

    data = png_bytes((32, 32))
    before = list(warnings.filters)

    def work():
        for _ in range(3000):  # enough switches between threads to expose a race
            inspect_image(data)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert warnings.filters == before

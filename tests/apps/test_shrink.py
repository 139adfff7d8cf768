"""A photo too large for an operation is offered a copy within its limits (issue 21).

A 4000x3000 picture sent to Replace background (2048 pixels a side) got "Run will refuse it"
with no way forward. Now the chooser offers **Shrink to 2048x1536**; after it, Run is not
refused. An upload with too many pixels arrives and gets the same offer; a rule shrinking
cannot fix (a square-only endpoint) gets none.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from clipdrop_widgets import Client
from clipdrop_widgets.apps import CleanupApp, ReplaceBackgroundApp, TextInpaintingApp
from clipdrop_widgets.apps._photo import PhotoChooser
from clipdrop_widgets.apps._shrink import shrink_size
from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.widgets.upload import check_upload, simulate_upload

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


def jpeg(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def test_a_4000x3000_photo_for_replace_background_is_offered_2048x1536() -> None:
    app = ReplaceBackgroundApp(Client())
    app.chooser.load(jpeg((4000, 3000)), name="phone.jpg")
    assert "Run will refuse it" in app.chooser._note.value
    assert app.chooser.shrink_offer == (2048, 1536)
    button = app.chooser._shrink
    assert button.layout.display != "none" and button.description == "Shrink to 2048x1536"
    button.click()
    assert app.chooser.image.size == (2048, 1536) and app.chooser.problem is None
    assert "shrunk from 4000x3000" in app.chooser._note.value
    assert "Run will refuse it" not in app.chooser._note.value
    assert button.layout.display == "none"
    app.prompt.value = "a beach at dawn"
    app.run()
    assert app.wait(60) and app.result is not None, app.status
    assert app.result.size == (2048, 1536)


@pytest.mark.parametrize(("cls", "size", "expected"), [
    (CleanupApp, (6000, 4000), (4898, 3265)),          # 16 megapixels
    (TextInpaintingApp, (4000, 3000), (3651, 2738)),   # 10 megapixels
])
def test_megapixel_limits_are_offered_the_largest_copy_within(cls, size, expected) -> None:
    app = cls(Client())
    field = ENDPOINTS[cls.endpoint_name].image_field
    app.chooser.load(Image.new("RGB", size, (10, 20, 30)), name="big")
    assert app.chooser.shrink_offer == expected
    w, h = expected
    assert w * h <= field.max_megapixels * 1e6 < (w + 1) * (h + 1)
    app.chooser.shrink()
    assert app.chooser.problem is None


def test_an_upload_with_too_many_pixels_arrives_and_is_offered_a_shrink() -> None:
    chooser = PhotoChooser(ENDPOINTS["replace_background"].image_field)
    data = jpeg((4000, 3000))
    check_upload(chooser._upload.upload_rules, "phone.jpg", nbytes=len(data), fmt="jpeg",
                 width=4000, height=3000)  # the browser lets it through
    assert simulate_upload(chooser._upload, "phone.jpg", data) == ""
    assert chooser.image.size == (4000, 3000) and chooser.shrink_offer == (2048, 1536)


def test_what_shrinking_cannot_fix_gets_no_offer() -> None:
    sketch = ENDPOINTS["sketch_to_image"].field("sketch_file")
    assert shrink_size(sketch, 2000, 1000) is None  # square only: no smaller copy is square
    assert shrink_size(sketch, 2000, 2000) == (1024, 1024)
    chooser = PhotoChooser(ENDPOINTS["replace_background"].image_field)
    chooser.load(jpeg((800, 600)), name="small.jpg")
    assert chooser.problem is None and chooser.shrink_offer is None
    assert chooser._shrink.layout.display == "none"
    with pytest.raises(ValueError, match="needs no shrinking"):
        chooser.shrink()


def test_a_file_over_the_byte_limit_is_shrunk_until_it_fits() -> None:
    import numpy as np

    field = ENDPOINTS["cleanup"].image_field  # 30 MB, 16 megapixels
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (3000, 3000, 4),
                                                              dtype=np.uint8), "RGBA")
    buf = io.BytesIO()
    noise.save(buf, "PNG", compress_level=1)
    assert buf.tell() > field.max_bytes  # 36 MB: 9 megapixels pass, the bytes do not
    chooser = PhotoChooser(field)
    chooser.load(buf.getvalue(), name="noise.png")
    assert chooser.shrink_offer == (3000, 3000)
    assert chooser._shrink.description == "Shrink to fit the file size limit"
    copy = chooser.shrink()
    out = io.BytesIO()
    copy.save(out, "PNG", compress_level=6)
    assert out.tell() <= field.max_bytes and copy.size[0] < 3000
    assert chooser.problem is None

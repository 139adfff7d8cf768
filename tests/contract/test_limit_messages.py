"""A refusal over a limit reads as over it: exact numbers when rounding would hide the excess
("30.0 MB; the limit is 30.0 MB" was said of 30,000,001 bytes), and uncrop's crop rule names
the fields that crop too much."""

from __future__ import annotations

import pytest
from fault_server import FaultServer, png_bytes

from clipdrop_widgets import Client, InputError
from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.contract.validation import ImageFacts, check_file

PHOTO = png_bytes((64, 48))


def _refusal(name: str, width: int, height: int, nbytes: int = 1000) -> str:
    field = ENDPOINTS[name].field("image_file")
    with pytest.raises(InputError) as info:
        check_file(field, ImageFacts("png", width, height, "RGB", nbytes))
    return str(info.value)


def test_one_byte_over_is_said_in_bytes():
    assert _refusal("uncrop", 100, 100, 30_000_001) == (
        "image_file is 30,000,001 bytes; the limit is 30,000,000 bytes")


@pytest.mark.parametrize("name,size,said", [
    ("uncrop", (10_000_001, 1),
     "image_file is 10000001x1 (10,000,001 pixels); the limit is 10 megapixels "
     "(10,000,000 pixels)"),
    ("remove_background", (5000, 5001),
     "image_file is 5000x5001 (25,005,000 pixels); the limit is 25 megapixels "
     "(25,000,000 pixels)"),
    ("uncrop", (4000, 3000), "image_file is 4000x3000 (12.0 megapixels); the limit is 10 "
     "megapixels"),
])
def test_megapixels_over_the_limit_read_as_over(name, size, said):
    assert _refusal(name, *size) == said


@pytest.mark.parametrize("extends,fields", [
    ({"extend_left": -40, "extend_right": -24}, "extend_left + extend_right leave 0x48"),
    ({"extend_up": -48}, "extend_up + extend_down leave 64x0"),
])
def test_the_crop_rule_names_its_fields(extends, fields):
    with FaultServer() as server, Client("k", base_url=server.url, timeout=5) as client:
        with pytest.raises(InputError, match=fields.replace("+", r"\+")):
            client.uncrop(PHOTO, **extends)
        assert server.seen == []

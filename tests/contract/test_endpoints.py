"""The endpoint table is the contract written once: the client's methods follow it."""

from __future__ import annotations

import inspect

import pytest

from clipdrop_widgets import ENDPOINTS, Client, InputError
from clipdrop_widgets.contract.validation import validate_request


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_each_field_is_the_client_methods_argument_of_its_keyword(name):
    ep = ENDPOINTS[name]
    params = inspect.signature(getattr(Client, name)).parameters
    for field in ep.fields:
        assert field.keyword in params, f"{name}: the table's {field.keyword!r} is no argument"
        assert ep.field_for_keyword(field.keyword) is field
    assert ("format" in params) == bool(ep.accept)


def test_a_file_field_is_sent_under_its_keyword_as_file_name():
    client = Client()
    files = client.prepare("cleanup", {}, {
        "image_file": _png(8, 8), "mask_file": _png(8, 8, value=255)}).files
    assert files["image_file"].filename == "image.png"
    assert files["mask_file"].filename == "mask.png"


def test_unchecked_text_fields_are_left_to_the_caller_and_the_rest_still_checked():
    ep = ENDPOINTS["text_to_image"]
    validate_request(ep, {"prompt": "x" * 5000}, {}, unchecked=("prompt",))
    with pytest.raises(InputError, match="prompt"):
        validate_request(ep, {"prompt": "x" * 5000}, {})
    cleanup = ENDPOINTS["cleanup"]
    with pytest.raises(InputError, match="mode"):
        validate_request(cleanup, {"mode": "slow"}, {"image_file": _png(8, 8),
                                                     "mask_file": _png(8, 8, value=255)},
                         unchecked=("prompt",))


def _png(w: int, h: int, value: int = 0) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (w, h), value).save(buf, "PNG")
    return buf.getvalue()


def test_one_alpha_test_for_every_way_an_image_can_be_see_through():
    from PIL import Image

    from clipdrop_widgets.contract.validation import has_alpha

    see_through = [Image.new(m, (2, 2)) for m in ("RGBA", "LA", "PA", "RGBa", "La")]
    palette = Image.new("P", (2, 2))
    palette.info["transparency"] = 0
    keyed = Image.new("RGB", (2, 2))
    keyed.info["transparency"] = (0, 0, 0)
    assert all(has_alpha(im) for im in [*see_through, palette, keyed])
    assert not any(has_alpha(Image.new(m, (2, 2))) for m in ("RGB", "L", "P", "1", "I;16"))

"""Integer fields go on the wire as the integer's own text, whatever the user typed.

Before the fix ``extend_left=" 10"`` went as ``b" 10"``, ``"+10"`` as ``b"+10"``, ``"-0"`` as
``b"-0"`` and ``""`` as an empty field (the local engine charged a credit for it); a numpy
integer (``np.int64(5)``, what numpy arithmetic gives) was refused as not a whole number.
"""

from __future__ import annotations

import numpy as np
import pytest
from fault_server import png_bytes

from clipdrop_widgets import InputError

PHOTO = png_bytes((64, 48))


@pytest.mark.parametrize("typed,sent", [
    ("10", "10"), (" 10", "10"), ("+10", "10"), ("-0", "0"), ("-12", "-12"),
    (np.int64(5), "5"), (np.int32(-7), "-7"), (np.uint16(9), "9"),
])
def test_an_integer_goes_as_its_own_text(client, server, typed, sent):
    client.uncrop(PHOTO, extend_left=typed, extend_up=-3)
    (seen,) = server.seen
    assert seen.texts["extend_left"] == sent
    assert seen.texts["extend_up"] == "-3"


def test_numpy_integers_for_seed_and_targets(client, server):
    client.uncrop(PHOTO, extend_left=np.int64(4), seed=np.int32(7))
    client.upscale(PHOTO, np.int64(128), np.int16(96))
    first, second = server.seen
    assert first.texts == {"extend_left": "4", "seed": "7"}
    assert second.texts == {"target_width": "128", "target_height": "96"}


@pytest.mark.parametrize("typed", ["", "  ", "1 0", "10.0", "0x10", "\u0661\u0660",
                                   np.bool_(True), 2.0])
def test_what_is_not_a_whole_number_is_refused_before_sending(client, server, typed):
    with pytest.raises(InputError) as info:
        client.uncrop(PHOTO, extend_left=typed)
    assert info.value.field == "extend_left"
    assert server.seen == []


def test_an_empty_field_says_so(client, server):
    with pytest.raises(InputError, match="extend_left is empty; give a whole number, or leave"):
        client.uncrop(PHOTO, extend_left="")


@pytest.mark.parametrize("field", ["extend_left", "seed"])
def test_a_number_of_thousands_of_digits_is_an_input_error(client, server, field):
    # Before the fix: a bare ValueError from int() (Python refuses over 4300 digits).
    with pytest.raises(InputError, match=f"{field} is a 5000-digit number; .* accepts") as info:
        client.uncrop(PHOTO, **{field: "9" * 5000})
    assert (info.value.field, info.value.rule) == (field, "range")
    assert server.seen == []


def test_leading_zeros_do_not_count_as_digits(client, server):
    client.uncrop(PHOTO, extend_left="0" * 30 + "12")
    (seen,) = server.seen
    assert seen.texts["extend_left"] == "12"

"""The six later operations against a loopback server: every documented rule refused before
anything is sent (the field and the limit named), what is in range sent byte for byte, and
the credits read from the answer's headers (upscale's three documented pricings)."""

from __future__ import annotations

import inspect
import io

import pytest
from fault_server import UNPACED, Action, jpeg_bytes, png_bytes
from PIL import Image

from clipdrop_widgets import BudgetExceededError, Client, InputError


def big_png(width: int, height: int) -> bytes:
    """A flat PNG of ``width`` x ``height``: megapixels without megabytes."""
    buf = io.BytesIO()
    Image.new("L", (width, height), 90).save(buf, "PNG")
    return buf.getvalue()


def gif_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "GIF")
    return buf.getvalue()


PHOTO = png_bytes((64, 48))


def test_the_client_methods_have_the_issues_signatures():
    def shape(name):
        params = inspect.signature(getattr(Client, name)).parameters.values()
        return [(p.name, p.kind.name, p.default) for p in params
                if p.name not in ("self", "timeout", "cancel")]

    empty = inspect.Parameter.empty
    kw, pos = "KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD"
    assert shape("remove_background") == [("image", pos, empty),
                                          ("transparency_handling", kw, None),
                                          ("format", kw, None)]
    assert shape("uncrop") == [("image", pos, empty), ("extend_left", kw, 0),
                               ("extend_right", kw, 0), ("extend_up", kw, 0),
                               ("extend_down", kw, 0), ("seed", kw, None)]
    assert shape("upscale") == [("image", pos, empty), ("target_width", pos, empty),
                                ("target_height", pos, empty)]
    for name in ("reimagine", "portrait_depth", "portrait_normals"):
        assert shape(name) == [("image", pos, empty)]


# -- refused before sending: (call, field, words the message must hold) ---------------------
REFUSALS = [
    ("remove_background", lambda c: c.remove_background(big_png(5001, 5001)), "image_file",
     "25 megapixels"),
    ("remove_background", lambda c: c.remove_background(PHOTO, transparency_handling="keep"),
     "transparency_handling", "'discard_alpha_layer'"),
    ("remove_background", lambda c: c.remove_background(PHOTO, format="gif"), "format",
     "'webp'"),
    ("uncrop", lambda c: c.uncrop(PHOTO, extend_left=2001), "extend_left", "-2000 to 2000"),
    ("uncrop", lambda c: c.uncrop(PHOTO, extend_right=-2001), "extend_right", "-2000 to 2000"),
    ("uncrop", lambda c: c.uncrop(PHOTO, extend_up=5000), "extend_up", "-2000 to 2000"),
    ("uncrop", lambda c: c.uncrop(PHOTO, extend_down=2.5), "extend_down", "whole number"),
    ("uncrop", lambda c: c.uncrop(PHOTO, extend_down=True), "extend_down", "whole number"),
    ("uncrop", lambda c: c.uncrop(PHOTO, seed=100_001), "seed", "0 to 100000"),
    ("uncrop", lambda c: c.uncrop(PHOTO, seed=-1), "seed", "0 to 100000"),
    ("uncrop", lambda c: c.uncrop(PHOTO, extend_left=-40, extend_right=-24), "extend",
     "at least 1 pixel"),
    ("uncrop", lambda c: c.uncrop(big_png(4000, 2501)), "image_file", "10 megapixels"),
    ("upscale", lambda c: c.upscale(PHOTO, 0, 100), "target_width", "1 to 4096"),
    ("upscale", lambda c: c.upscale(PHOTO, 4097, 100), "target_width", "1 to 4096"),
    ("upscale", lambda c: c.upscale(PHOTO, 100, 5000), "target_height", "1 to 4096"),
    ("upscale", lambda c: c.upscale(PHOTO, "wide", 100), "target_width", "whole number"),
    ("upscale", lambda c: c.upscale(PHOTO, None, 100), "target_width", "required"),
    ("upscale", lambda c: c.upscale(big_png(4001, 4001), 4096, 4096), "image_file",
     "16 megapixels"),
    ("reimagine", lambda c: c.reimagine(big_png(1025, 600)), "image_file", "1024 pixels"),
    ("reimagine", lambda c: c.reimagine(big_png(600, 1025)), "image_file", "1024 pixels"),
    ("portrait_depth", lambda c: c.portrait_depth(big_png(5001, 5001)), "image_file",
     "25 megapixels"),
    ("portrait_normals", lambda c: c.portrait_normals(big_png(5001, 5001)), "image_file",
     "25 megapixels"),
]


@pytest.mark.parametrize(("call", "field", "words"), [r[1:] for r in REFUSALS],
                         ids=[f"{r[0]}-{r[2]}-{i}" for i, r in enumerate(REFUSALS)])
def test_each_rule_is_refused_before_anything_is_sent(client, server, call, field, words):
    with pytest.raises(InputError) as refused:
        call(client)
    assert refused.value.field == field
    assert field in str(refused.value) and words in str(refused.value)
    assert server.seen == []
    assert client.credits_spent == 0


def test_a_format_the_endpoint_does_not_take_is_converted_and_said(client, server):
    with pytest.warns(Warning, match="image_file was GIF; it is sent as PNG"):
        client.portrait_normals(gif_bytes())
    (seen,) = server.seen
    assert seen.files["image_file"][1] == "image/png"


def test_the_limits_themselves_are_accepted(client, server):
    client.uncrop(PHOTO, extend_left=2000, extend_right=-63, extend_down=-47, seed=100_000)
    client.upscale(big_png(4000, 4000), 4096, 1)
    client.reimagine(big_png(1024, 1024))
    assert len(server.seen) == 3


# -- in range: sent byte for byte ------------------------------------------------------------
def test_remove_background_sends_the_file_field_and_accept(client, server):
    client.remove_background(PHOTO, transparency_handling="discard_alpha_layer",
                             format="webp")
    (seen,) = server.seen
    assert seen.path == "/remove-background/v1"
    assert seen.headers["x-api-key"] == "test-key"
    assert seen.headers["Accept"] == "image/webp"
    assert seen.files == {"image_file": ("image.png", "image/png", PHOTO)}
    assert seen.texts == {"transparency_handling": "discard_alpha_layer"}


def test_remove_background_defaults_send_only_the_image(client, server):
    photo = jpeg_bytes((40, 30))
    client.remove_background(photo)
    (seen,) = server.seen
    assert seen.files == {"image_file": ("image.jpg", "image/jpeg", photo)}
    assert seen.texts == {}
    assert seen.headers.get("Accept") == "*/*"


def test_uncrop_sends_its_integers_as_text_and_leaves_zeros_out(client, server):
    client.uncrop(PHOTO, extend_left=120, extend_up=-10, seed=0)
    client.uncrop(PHOTO)
    first, second = server.seen
    assert first.path == "/uncrop/v1"
    assert first.files == {"image_file": ("image.png", "image/png", PHOTO)}
    assert first.texts == {"extend_left": "120", "extend_up": "-10", "seed": "0"}
    assert second.texts == {}


def test_upscale_reimagine_and_portraits_send_their_documented_requests(client, server):
    client.upscale(PHOTO, 256, 192)
    client.reimagine(PHOTO)
    client.portrait_depth(PHOTO)
    client.portrait_normals(PHOTO)
    paths = [s.path for s in server.seen]
    assert paths == ["/image-upscaling/v1/upscale", "/reimagine/v1/reimagine",
                     "/portrait-depth-estimation/v1", "/portrait-surface-normals/v1"]
    assert server.seen[0].texts == {"target_width": "256", "target_height": "192"}
    assert all(s.texts == {} for s in server.seen[1:])
    assert all(s.files["image_file"][2] == PHOTO for s in server.seen)


# -- credits: read from the headers ------------------------------------------------------------
@pytest.mark.parametrize("consumed", ["1", "4.194304", "0.8388608"],
                         ids=["per-call", "1-per-megapixel", "0.2-per-megapixel"])
def test_upscale_counts_what_the_headers_say_under_each_pricing(client, server, consumed):
    server.script(Action.image(jpeg_bytes((2048, 2048)), "image/jpeg",
                               x_credits_consumed=consumed, x_remaining_credits="50"))
    result = client.upscale(PHOTO, 2048, 2048)
    assert result.credits_consumed == float(consumed)
    assert client.credits_spent == float(consumed)
    assert client.remaining_credits == 50


def test_upscale_without_a_consumed_header_counts_the_most_it_can_cost(client, server):
    server.script(Action("respond", 200, {"Content-Type": "image/jpeg",
                                          "x-remaining-credits": "40"}, jpeg_bytes((8, 8))))
    client.upscale(PHOTO, 2048, 2048)
    assert client.credits_spent == pytest.approx(2048 * 2048 / 1e6)


def test_a_budget_refuses_an_upscale_by_its_output_megapixels_before_sending(server):
    with Client("test-key", base_url=server.url, timeout=5, budget=3,
                requests_per_minute=UNPACED) as client:
        server.seen.clear()
        client.upscale(PHOTO, 1024, 1024)  # at most 1.05 credits: sent
        with pytest.raises(BudgetExceededError, match=r"up to 4\.19"):
            client.upscale(PHOTO, 2048, 2048)  # at most 4.19 credits
        assert len(server.seen) == 1


# -- the cache gives back only what would come back the same --------------------------------
def test_the_cache_never_answers_a_new_take_or_an_unseeded_uncrop(server, tmp_path):
    with Client("test-key", base_url=server.url, timeout=5, cache=tmp_path,
                requests_per_minute=UNPACED) as client:
        server.seen.clear()
        first = client.reimagine(PHOTO)
        second = client.reimagine(PHOTO)
        assert not first.from_cache and not second.from_cache
        client.uncrop(PHOTO, extend_left=10)
        client.uncrop(PHOTO, extend_left=10)  # no seed: the service picks one each time
        client.uncrop(PHOTO, extend_left=10, seed=3)
        again = client.uncrop(PHOTO, extend_left=10, seed=3)
        assert again.from_cache  # the same seed gives the same picture: kept
        client.upscale(PHOTO, 128, 96)
        assert client.upscale(PHOTO, 128, 96).from_cache
        assert len(server.seen) == 6

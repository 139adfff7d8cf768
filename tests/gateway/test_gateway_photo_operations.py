"""The six later operations through the workshop gateway and through ``clipdrop-widgets
serve``, with a peer SDK (pyclipdrop) no one here wrote.

The gateway serves every path of the endpoint table; it reserves the most a call can cost
(upscale: by output megapixels) and settles what the service's headers report.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from gateway_fake import ROOM_KEY, png_bytes, post
from PIL import Image

from clipdrop_widgets import Client

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_the_six_operations_pass_through_the_gateway(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 20)
    client = Client(api_key=seat, base_url=gateway.url)
    photo = Image.new("RGB", (40, 30), (10, 120, 200))
    client.remove_background(photo, transparency_handling="discard_alpha_layer")
    client.uncrop(photo, extend_left=20, seed=4)
    client.upscale(photo, 80, 60)
    client.reimagine(photo)
    client.portrait_depth(photo)
    client.portrait_normals(photo)
    served = fake.served()
    assert [s.path for s in served] == [
        "/remove-background/v1", "/uncrop/v1", "/image-upscaling/v1/upscale",
        "/reimagine/v1/reimagine", "/portrait-depth-estimation/v1",
        "/portrait-surface-normals/v1"]
    assert served[1].texts == {"extend_left": "20", "seed": "4"}
    assert served[2].texts == {"target_width": "80", "target_height": "60"}
    assert {s.key for s in served} == {ROOM_KEY}
    assert ledger.seats()[0].spent == 6  # what the service's headers said, 1 each


def test_an_upscale_is_reserved_by_its_output_megapixels_and_settled_from_headers(
        make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 3)
    photo = {"image_file": ("photo.png", png_bytes((40, 30)))}
    large = post(gateway.url, "/image-upscaling/v1/upscale", seat, files={
        **photo, "target_width": (None, "2048"), "target_height": (None, "2048")})
    assert large.status_code == 402, large.text  # could cost 4.19 at 1 per megapixel
    assert "costs 4.19" in large.json()["error"]
    assert fake.received == 0
    small = post(gateway.url, "/image-upscaling/v1/upscale", seat, files={
        **photo, "target_width": (None, "1000"), "target_height": (None, "1000")})
    assert small.status_code == 200, small.text
    seat_now = ledger.seats()[0]
    assert (seat_now.spent, seat_now.reserved) == (1, 0)  # the header's 1, not the 1.0 held


def test_identical_reimagines_are_each_made_and_paid_not_shared(make_fake, make_gateway,
                                                                ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)  # the shared cache is on by default
    (_, alice), (_, bob) = ledger.create_seats(2, 5)
    photo = Image.new("RGB", (40, 30), (10, 120, 200))
    for key in (alice, bob, alice):
        assert not Client(api_key=key, base_url=gateway.url).reimagine(photo).from_cache
    assert len(fake.served()) == 3
    assert sorted(s.spent for s in ledger.seats()) == [1, 2]
    for key in (alice, bob):  # a seeded uncrop is the same picture: made once, shared
        Client(api_key=key, base_url=gateway.url).uncrop(photo, extend_up=8, seed=9)
    assert len(fake.served()) == 4


def test_pyclipdrop_removes_a_background_through_the_gateway(make_fake, make_gateway, ledger,
                                                             tmp_path):
    from pyclipdrop import ClipdropClient

    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 5)
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes((40, 30)))
    sdk = ClipdropClient(api_key=seat, base_url=gateway.url)
    sdk.remove_background(str(photo), output_file=str(tmp_path / "cut.png"))
    assert Image.open(tmp_path / "cut.png").format == "PNG"
    assert [s.path for s in fake.served()] == ["/remove-background/v1"]
    assert ledger.seats()[0].spent == 1


def test_pyclipdrop_removes_a_background_through_serve(tmp_path: Path):
    """``clipdrop-widgets serve`` as a real process: the SDK's own request, the engine's
    cut-out answer (a PNG with alpha, the photo's size)."""
    from pyclipdrop import ClipdropClient

    sys.path.insert(0, str(Path(__file__).parent.parent / "engine"))
    from test_photo_previews import scene
    from test_serve_cli import start

    served = start("--api-key", "serve-key-23")
    try:
        scene().save(tmp_path / "photo.jpg")
        sdk = ClipdropClient(api_key="serve-key-23", base_url=served.url)
        sdk.remove_background(str(tmp_path / "photo.jpg"), output_file=str(tmp_path / "cut.png"))
        sdk.remove_background(str(tmp_path / "photo.jpg"),
                              transparency_handling="discard_alpha_layer",
                              output_file=str(tmp_path / "cut.webp"))
    finally:
        served.process.send_signal(signal.SIGTERM)
        served.process.communicate(timeout=30)
    cut = Image.open(tmp_path / "cut.png")
    assert cut.format == "PNG" and cut.mode == "RGBA" and cut.size == scene().size
    assert cut.getchannel("A").getextrema() == (0, 255)
    assert Image.open(tmp_path / "cut.webp").format == "PNG"  # the SDK asks no Accept: PNG

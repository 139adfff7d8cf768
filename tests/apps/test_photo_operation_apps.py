"""The apps of the six later operations, driven as a user would from Python (no browser): the
cut-out over a checkerboard and its downloads, the uncrop seed kept, the upscale target and
its refusal, N takes into a grid, the portrait views, and the Studio's grouped tabs."""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

from clipdrop_widgets import (
    Client,
    PortraitDepthApp,
    PortraitNormalsApp,
    ReimagineApp,
    RemoveBackgroundApp,
    Studio,
    UncropApp,
    UpscaleApp,
)


@pytest.fixture(scope="module")
def client():
    with Client() as c:
        yield c


def ran(app):
    app.run()
    assert app.wait(120), "the run did not finish"
    assert app.error is None, app.status
    return app.result


def small_photo(size=(160, 120)) -> Image.Image:
    y, x = np.mgrid[0:size[1], 0:size[0]]
    rgb = np.dstack([x * 255 // size[0], y * 255 // size[1], 128 + 0 * x]).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    image.paste((220, 60, 40), (50, 30, 110, 120))  # a subject standing on the bottom edge
    return image


def test_remove_background_shows_the_cutout_over_a_checkerboard_and_downloads_it(client,
                                                                                  tmp_path):
    app = RemoveBackgroundApp(client, session_dir=tmp_path)
    app.chooser.load(small_photo())
    result = ran(app)
    assert result.image.mode == "RGBA"
    shown = np.asarray(app.compare.after)
    assert app.compare.after.mode == "RGB"
    corner = shown[:32, :32].reshape(-1, 3)  # transparent there: the board shows
    assert {tuple(c) for c in corner} == {(255, 255, 255), (204, 204, 204)}
    name = app.download("webp")
    assert name.endswith(".webp")
    data = app.cutout_bytes("webp")
    webp = Image.open(io.BytesIO(data))
    assert webp.format == "WEBP" and webp.mode == "RGBA"
    assert np.array_equal(np.asarray(webp), np.asarray(result.image.convert("RGBA")))
    assert app.compare.downloader.sent[-1][0] == name


def test_uncrop_keeps_the_seed_so_a_result_can_be_made_again(client, tmp_path):
    app = UncropApp(client, session_dir=tmp_path)
    app.chooser.load(small_photo())
    app.extends["left"].value, app.extends["right"].value = 40, 0
    app.extends["up"].value, app.extends["down"].value = -20, 10
    assert app.new_size == (200, 110)
    app.new_seed.value = True
    first = ran(app)
    seed = app.seed.value
    assert first.inputs["seed"] == str(seed) and first.size == (200, 110)
    app.new_seed.value = False
    again = ran(app)
    assert app.seed.value == seed and again.data == first.data


def test_an_uploaded_phone_photo_is_shown_and_extended_as_the_user_sees_it(client, tmp_path):
    # A portrait phone photo: stored 160x120 with EXIF Orientation 6, shown 120x160. Before the
    # fix (findings23c F2) the stage showed it sideways and extend_left extended the stored
    # left (the shown top): 200x120 instead of 160x160.
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    small_photo().save(buf, "JPEG", quality=95, exif=exif)
    app = UncropApp(client, session_dir=tmp_path)
    app.chooser.load(buf.getvalue(), name="phone.jpg")
    assert app.chooser.image.size == (120, 160)
    app.extends["left"].value, app.extends["right"].value = 40, 0
    app.extends["up"].value, app.extends["down"].value = 0, 0
    assert app.new_size == (160, 160)
    assert ran(app).size == (160, 160)


def test_upscale_x4_and_a_size_and_no_x4_over_the_largest_side(client, tmp_path):
    app = UpscaleApp(client, session_dir=tmp_path)
    app.chooser.load(small_photo())
    app.scale.value = "x4"
    assert app.target == (640, 480) and app.width.disabled
    assert ran(app).size == (640, 480)
    app.scale.value = "size"
    app.width.value, app.height.value = 300, 200
    assert ran(app).size == (300, 200)
    app.chooser.load(small_photo((1500, 1000)))
    app.scale.value = "x4"  # 6000x4000: Run would refuse it; the app says so at once
    assert app.scale.value == "size" and app.target == (4096, 2731)
    assert "x4 would be 6000x4000, over 4096" in app._target.value
    assert "<b>4096x2731</b>" in app._target.value and not app.width.disabled
    app.scale.value = "x2"
    app.chooser.load(small_photo((3000, 2000)))  # a new photo makes x2 too large
    assert app.scale.value == "size" and app.target == (4096, 2731)
    assert "x2 would be 6000x4000" in app._target.value


def test_reimagine_makes_n_takes_into_a_grid_and_picks_one(client, tmp_path):
    app = ReimagineApp(client, session_dir=tmp_path)
    app.chooser.load(small_photo())
    app.takes.value = 3
    assert "3 takes · 3 credits" in app.cost_note.value  # the cost, before Run
    spent = client.credits_spent
    last = ran(app)
    assert client.credits_spent - spent == 3
    assert " · 3 takes · 3 credits · " in app.status  # it said "1 credit" for three
    assert len(app.variations) == 3 and len(app.grid.children) == 3
    assert app.variations[-1] is last
    assert len({v.data for v in app.variations}) == 3
    assert len(app.history.results) == 3
    picked = app.pick(0)
    assert app.result is picked is app.variations[0]
    assert app.compare.after is picked.image


def test_portrait_views_redraw_from_the_map_as_the_light_moves(client, tmp_path):
    depth = PortraitDepthApp(client, session_dir=tmp_path / "d")
    depth.chooser.load(small_photo())
    ran(depth)
    views = {}
    for view in ("map", "colormap", "relief"):
        depth.view.value = view
        views[view] = np.asarray(depth.shown)
    assert not np.array_equal(views["map"], views["colormap"])
    depth.azimuth.value = 0
    assert not np.array_equal(np.asarray(depth.shown), views["relief"])
    normals = PortraitNormalsApp(client, session_dir=tmp_path / "n")
    normals.chooser.load(small_photo())
    result = ran(normals)
    normals.view.value = "map"
    assert np.array_equal(np.asarray(normals.shown), np.asarray(result.image.convert("RGB")))
    normals.view.value = "shaded"
    normals.azimuth.value = 0
    from_right = np.asarray(normals.shown, np.float32)
    normals.azimuth.value = 180
    from_left = np.asarray(normals.shown, np.float32)
    assert np.abs(from_right - from_left).mean() > 1


def test_the_studio_groups_the_six_and_sends_between_them(client, tmp_path):
    studio = Studio(client, session_dir=tmp_path)
    assert len(studio.apps) == 11 and len(studio.tabs.children) == 8
    cut_app = studio.select("remove_background")
    assert studio.tabs.selected_index == 5 and studio.tabs.children[5].selected_index == 0
    cut_app.chooser.load(small_photo())
    cut = ran(cut_app)
    more = next(c for c in cut_app.send_to.children if isinstance(c, widgets.Dropdown))
    assert [label for label, _ in more.options][:3] == ["More…", "Remove background", "Uncrop"]
    more.value = "uncrop"  # what choosing Uncrop in the "More…" menu beside Send to does
    assert studio.current is cut_app  # choosing is not sending (one ArrowDown chooses)
    cut_app.send_to.send_chosen()  # what Send beside the menu does
    assert more.value == ""  # back to "More…"
    uncrop = studio.apps["uncrop"]
    assert studio.current is uncrop
    assert studio.tabs.selected_index == 5 and studio.tabs.children[5].selected_index == 1
    assert uncrop.chooser.image.size == cut.size
    studio.tabs.selected_index = 7  # the user clicks Portrait, then Portrait normals
    studio.tabs.children[7].selected_index = 1
    assert isinstance(studio.current, PortraitNormalsApp)
    assert studio.tabs.children[7].children[1].children == (studio.apps["portrait_normals"],)


def test_remove_background_offers_downloads_only_with_a_cutout_and_names_its_default(client):
    app = RemoveBackgroundApp(client)
    app.chooser.load(small_photo())
    # before a cut-out the buttons saved nothing and said nothing
    assert app.downloads.layout.display == "none"
    assert app._png.disabled and app._webp.disabled
    # the menu shows the default, not an empty box
    assert app.transparency.label == "Keep a see-through photo as it is"
    ran(app)
    assert app.downloads.layout.display == "" and not app._png.disabled
    assert app.result.inputs.get("transparency_handling") is None  # the default is not sent
    app.discard()
    assert app.downloads.layout.display == "none" and app._webp.disabled


def test_upscale_captions_its_magnifier_and_hides_it_without_a_result(client):
    app = UpscaleApp(client)
    app.chooser.load(small_photo())
    assert app._magnifier_box.layout.display == "none"
    ran(app)
    assert app._magnifier_box.layout.display == ""
    assert app.magnifier in app._magnifier_box.children
    assert "Magnifier" in app._magnifier_caption.value  # not an unlabelled second copy
    app.discard()
    assert app._magnifier_box.layout.display == "none"

"""The local engine's previews of the six later operations, through a client on the
in-process engine: each answer in the documented format and size, and doing what the
operation promises (a soft matte, edges continued, a sharper resample, a new take, a person's
depth and normals with the service's values off the person)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from clipdrop_widgets import Client
from clipdrop_widgets.engine import cutout, reshape
from clipdrop_widgets.engine.preview import mark_box

SIZE = (320, 240)


def scene() -> Image.Image:
    """A figure (head and shoulders, warm colours) standing in the middle of a cool, striped,
    slightly blurred room: a known subject over a known background."""
    rng = np.random.default_rng(23)
    w, h = SIZE
    back = np.zeros((h, w, 3), np.float32)
    back[...] = (70, 110, 150)
    back[:, ::16] += 40  # stripes: lines an uncrop must continue
    back += rng.normal(0, 6, back.shape)
    room = Image.fromarray(np.clip(back, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1.5))
    draw = ImageDraw.Draw(room)
    draw.ellipse((130, 40, 190, 110), fill=(224, 172, 140))  # head
    draw.rounded_rectangle((95, 105, 225, 240), radius=40, fill=(200, 60, 40))  # body
    return room


def subject_mask() -> np.ndarray:
    im = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(im)
    draw.ellipse((130, 40, 190, 110), fill=255)
    draw.rounded_rectangle((95, 105, 225, 240), radius=40, fill=255)
    return np.asarray(im) > 127


def far_from(mask: np.ndarray, pixels: int = 12) -> np.ndarray:
    """The pixels more than ``pixels`` away from ``mask`` (JPEG rings near strong edges)."""
    grown = Image.fromarray(mask.astype(np.uint8) * 255).filter(
        ImageFilter.MaxFilter(2 * pixels + 1))
    return np.asarray(grown) == 0


def unmarked(image: Image.Image) -> np.ndarray:
    """A bool mask of the pixels outside the offline-preview label."""
    keep = np.ones((image.height, image.width), bool)
    x0, y0, x1, y1 = mark_box(image.size)
    keep[y0:y1, x0:x1] = False
    return keep


@pytest.fixture(scope="module")
def client():
    with Client() as c:
        assert c.is_local
        yield c


def test_remove_background_answers_a_png_with_a_soft_matte_around_the_subject(client):
    result = client.remove_background(scene())
    assert result.content_type == "image/png"
    image = result.image
    assert image.size == SIZE and image.mode == "RGBA"
    alpha = np.asarray(image.getchannel("A"))
    truth = subject_mask()
    cut = alpha > 127
    iou = (cut & truth).sum() / (cut | truth).sum()
    assert iou > 0.9
    outline = truth ^ np.asarray(Image.fromarray(truth).filter(ImageFilter.MinFilter(5))) > 0
    partial = (alpha > 8) & (alpha < 247)
    assert partial.sum() > 50, "a matte, not a hard edge: partial alpha along the outline"
    assert partial[~np.asarray(Image.fromarray(outline).filter(
        ImageFilter.MaxFilter(9)))].mean() < 0.02, "partial only near the outline"
    assert alpha[:20, :60].max() == 0 and alpha[150:200, 140:180].min() == 255


def smooth_figure_over_blurred_picture() -> tuple[Image.Image, np.ndarray]:
    """A figure filled with a smooth rainbow (its only sharp edges are its outline) over a grey
    picture of blurred discs (many soft edges), and the figure's mask: the colour wheel over a
    clock of ``benchmarks/bench_photo_operations.py``, where a cut along the outline won."""
    w, h = 256, 256
    back = Image.new("L", (w, h), 150)
    draw = ImageDraw.Draw(back)
    for box, shade in (((120, 30, 250, 160), 220), ((10, 120, 90, 200), 90),
                       ((60, 10, 130, 70), 200)):
        draw.ellipse(box, fill=shade)
    back = back.filter(ImageFilter.GaussianBlur(6)).convert("RGB")
    mask = Image.new("L", (w, h), 0)
    outline = ImageDraw.Draw(mask)
    outline.ellipse((98, 30, 158, 90), fill=255)
    outline.polygon([(70, 255), (105, 100), (151, 100), (186, 255)], fill=255)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    hsv = np.dstack([xx * 255 / w, np.full_like(xx, 255), 255 - yy * 0.8]).astype(np.uint8)
    rainbow = Image.fromarray(hsv, "HSV").convert("RGB")
    return Image.composite(rainbow, back, mask), np.asarray(mask) > 127


def test_a_smooth_subject_over_a_blurred_picture_is_cut_whole_not_along_its_outline():
    photo, truth = smooth_figure_over_blurred_picture()
    cut = np.asarray(cutout.remove_background(photo).getchannel("A")) > 127
    assert (cut & truth).sum() / (cut | truth).sum() > 0.9

@pytest.mark.parametrize(("fmt", "mode"), [("webp", "RGBA"), ("jpeg", "RGB")])
def test_remove_background_answers_the_format_asked_for(client, fmt, mode):
    result = client.remove_background(scene(), format=fmt)
    assert result.content_type == f"image/{fmt}"
    assert result.image.format == fmt.upper() and result.image.mode == mode


def test_a_see_through_input_comes_back_as_it_is_unless_its_alpha_is_discarded(client):
    rgba = scene().convert("RGBA")
    rgba.putalpha(Image.fromarray((subject_mask() * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(3)))
    kept = cutout.remove_background(rgba)
    assert np.array_equal(np.asarray(kept), np.asarray(rgba))
    redone = np.asarray(cutout.remove_background(rgba, "discard_alpha_layer"))
    assert not np.array_equal(redone[..., 3], np.asarray(rgba)[..., 3])


def test_uncrop_grows_the_frame_keeps_the_photo_and_continues_its_edges(client):
    photo = scene()
    result = client.uncrop(photo, extend_left=100, extend_right=60, extend_up=-40, seed=7)
    assert result.content_type == "image/jpeg"
    out = np.asarray(result.image, np.float32)
    assert result.image.size == (SIZE[0] + 160, SIZE[1] - 40)
    inside = out[:, 100:100 + SIZE[0]]
    source = np.asarray(photo, np.float32)[40:]
    keep = unmarked(result.image)[:, 100:100 + SIZE[0]]
    assert np.abs(inside - source)[keep].mean() < 4  # the photo itself, through JPEG
    # Next to the edge the added pixels continue it: the stripes go on, colours match.
    near = out[:, 60:100]
    assert np.abs(near.mean((0, 1)) - source[:, :40].mean((0, 1))).max() < 12
    columns = near.mean((0, 2))
    assert columns.max() - columns.min() > 10, "the stripes carry on past the edge"


def test_uncrop_is_the_same_for_the_same_seed_and_differs_for_another(client):
    again = [client.uncrop(scene(), extend_up=80, seed=s).data for s in (5, 5, 6)]
    assert again[0] == again[1] != again[2]


def test_uncrop_crops_with_negative_extends():
    out = reshape.uncrop(scene(), (-20, -30, -10, -5))
    assert out.size == (SIZE[0] - 50, SIZE[1] - 15)
    assert np.array_equal(np.asarray(out), np.asarray(scene())[10:-5, 20:-30])


def _sharpness(image: Image.Image) -> float:
    grey = np.asarray(image.convert("L"), np.float32)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def test_upscale_answers_the_target_size_sharper_than_a_plain_resample(client):
    result = client.upscale(scene(), 960, 720)
    assert result.content_type == "image/jpeg"
    assert result.image.size == (960, 720)
    plain = scene().resize((960, 720), Image.BICUBIC)
    assert _sharpness(result.image) > 1.1 * _sharpness(plain)


def test_upscale_of_a_see_through_image_answers_webp_with_its_alpha(client):
    rgba = scene().convert("RGBA")
    rgba.putalpha(Image.fromarray((subject_mask() * 255).astype(np.uint8)))
    result = client.upscale(rgba, 640, 480)
    assert result.content_type == "image/webp"
    assert result.image.mode == "RGBA" and result.image.size == (640, 480)
    assert np.asarray(result.image.getchannel("A"))[:40, :100].max() == 0


def test_reimagine_gives_a_new_take_of_colour_and_layout_each_time(client):
    photo = scene()
    first, second = client.reimagine(photo), client.reimagine(photo)
    assert first.content_type == "image/jpeg" and first.image.size == SIZE
    a, b = (np.asarray(r.image, np.float32) for r in (first, second))
    source = np.asarray(photo, np.float32)
    assert np.abs(a - source).mean() > 10 and np.abs(a - b).mean() > 10


def test_portrait_depth_is_the_person_nearest_at_the_middle_and_0_elsewhere(client):
    result = client.portrait_depth(scene())
    assert result.content_type == "image/jpeg" and result.image.size == SIZE
    depth = np.asarray(result.image.convert("L"), np.int16)
    truth = subject_mask()
    away = far_from(truth) & unmarked(result.image)
    off = np.abs(depth[away])
    assert np.median(off) == 0 and np.quantile(off, 0.99) <= 3 and off.max() <= 16  # JPEG
    assert depth[180:200, 150:170].mean() > depth[180:200, 100:110].mean() + 20
    assert depth[truth].mean() > 100


def test_portrait_normals_point_outward_on_the_person_and_are_flat_elsewhere(client):
    result = client.portrait_normals(scene())
    assert result.content_type == "image/jpeg" and result.image.size == SIZE
    normals = np.asarray(result.image, np.int16)
    truth = subject_mask()
    away = far_from(truth) & unmarked(result.image)
    off = np.abs(normals[away] - (128, 128, 255)).max(axis=1)
    assert np.quantile(off, 0.5) <= 1 and np.quantile(off, 0.99) <= 4  # JPEG rings a little
    left, right = normals[150:230, 98:115, 0].mean(), normals[150:230, 205:222, 0].mean()
    assert left < 118 < 138 < right, "X points left on the left side, right on the right"


def test_every_preview_carries_the_offline_preview_label(client):
    photo = scene()
    for result in (client.remove_background(photo), client.uncrop(photo, extend_up=50),
                    client.upscale(photo, 400, 300), client.reimagine(photo),
                    client.portrait_depth(photo), client.portrait_normals(photo)):
        assert result.source == "local engine"
        image = result.image.convert("RGB")
        x0, y0, x1, y1 = mark_box(image.size)
        box = np.asarray(image.crop((x0, y0, x1, y1)), np.int16)
        assert (box.min(axis=2) > 150).sum() > 8, f"{result.endpoint}: white label letters"

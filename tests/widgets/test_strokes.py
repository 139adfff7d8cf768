"""The drawing model: exact pixels at every scale, undo/redo, eraser, invert, grow, load."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipdrop_widgets.widgets.strokes import (
    CHECKPOINT_EVERY,
    Clear,
    Drawing,
    Grow,
    Invert,
    Load,
    Rect,
    Stroke,
    grow_mask,
    paint_stroke,
)


def band(y: float, width: float) -> np.ndarray:
    """Rows a horizontal stroke at ``y`` of diameter ``width`` must paint (centre rule)."""
    lo, hi = y - width / 2, y + width / 2
    return np.arange(math.ceil(lo - 0.5), math.floor(hi - 0.5) + 1)


def painted_rows(raster: np.ndarray, column: int) -> np.ndarray:
    return np.flatnonzero(raster[:, column])


def brute_force(points: np.ndarray, width: float, shape: tuple[int, int]) -> tuple[np.ndarray,
                                                                                   np.ndarray]:
    """Pixels within width/2 of the polyline, and the distance of each pixel centre to it."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    best = np.full(shape, np.inf)
    segments = [(points[0], points[0])] if len(points) == 1 else itertools.pairwise(points)
    for a, b in segments:
        d = b - a
        length2 = float(d @ d)
        t = np.zeros(shape) if length2 == 0 else np.clip(
            ((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / length2, 0, 1)
        best = np.minimum(best, np.hypot(xx - (a[0] + t * d[0]), yy - (a[1] + t * d[1])))
    return best <= width / 2, best


# -- exact pixels -----------------------------------------------------------------------------

@pytest.mark.parametrize("y, width", [(100.0, 10.0), (100.5, 7.0), (57.25, 3.5), (200.0, 1.0)])
def test_horizontal_stroke_covers_exactly_its_band(y: float, width: float) -> None:
    raster = np.zeros((300, 300), np.uint8)
    paint_stroke(raster, [(40, y), (260, y)], width, 255)
    expected = band(y, width)
    for column in (60, 150, 240):
        np.testing.assert_array_equal(painted_rows(raster, column), expected)
    # nothing beyond the round caps, nothing off the band
    rows, cols = np.nonzero(raster)
    assert rows.min() == expected[0] and rows.max() == expected[-1]
    assert cols.min() >= math.floor(40 - width / 2) and cols.max() <= math.ceil(260 + width / 2)


def test_stroke_of_width_10_at_row_100_paints_rows_95_to_104() -> None:
    raster = np.zeros((200, 200), np.uint8)
    paint_stroke(raster, [(20, 100), (180, 100)], 10, 255)
    assert raster[95:105, 20:181].all()
    assert not raster[:95].any() and not raster[105:].any()


@pytest.mark.parametrize(
    "native, rendered",
    [((512, 512), (512, 512)), ((512, 512), (1024, 1024)), ((512, 512), (300, 300)),
     ((512, 384), (1024, 768)), ((4000, 3000), (4000, 3000)), ((4000, 3000), (768, 576))],
)
def test_rendering_scales_geometry_exactly(native: tuple[int, int],
                                           rendered: tuple[int, int]) -> None:
    drawing = Drawing(*native)
    y, width = native[1] * 0.4 + 0.3, native[0] / 40
    drawing.apply(Stroke([(native[0] * 0.1, y), (native[0] * 0.9, y)], width, "pen"))
    raster = drawing.render(*rendered)
    assert raster.shape == (rendered[1], rendered[0])
    sx, sy = rendered[0] / native[0], rendered[1] / native[1]
    expected = band(y * sy, width * (sx + sy) / 2)
    np.testing.assert_array_equal(painted_rows(raster, rendered[0] // 2), expected)
    assert set(np.unique(raster)) == {0, 255}


def test_twelve_megapixel_mask_is_exact_and_full_size() -> None:
    drawing = Drawing(4000, 3000)
    drawing.apply(Stroke([(500.0, 1500.0), (3500.0, 1500.0)], 104.0, "brush"))
    raster = drawing.raster
    assert raster.shape == (3000, 4000) and raster.dtype == np.uint8
    np.testing.assert_array_equal(painted_rows(raster, 2000), np.arange(1448, 1552))
    assert not raster[:, :447].any() and not raster[:, 3553:].any()


def test_single_point_paints_a_disc() -> None:
    raster = np.zeros((60, 60), np.uint8)
    paint_stroke(raster, [(30, 30)], 20, 255)
    expected, _ = brute_force(np.array([[30.0, 30.0]]), 20, raster.shape)
    np.testing.assert_array_equal(raster > 0, expected)
    assert abs(np.count_nonzero(raster) - math.pi * 100) < 0.05 * math.pi * 100


def test_strokes_outside_the_raster_are_clipped() -> None:
    raster = np.zeros((50, 50), np.uint8)
    paint_stroke(raster, [(-100, -100), (-40, -30)], 10, 255)
    assert not raster.any()
    paint_stroke(raster, [(-10, 25), (70, 25)], 4, 255)
    assert raster[23:27].all() and not raster[:23].any() and not raster[27:].any()


coordinate = st.floats(-20, 90, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(points=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=6),
       width=st.floats(0.3, 30))
def test_rasteriser_matches_brute_force_distance(points: list[tuple[float, float]],
                                                 width: float) -> None:
    pts = np.array(points)
    raster = np.zeros((64, 72), np.uint8)
    paint_stroke(raster, pts, width, 255)
    expected, distance = brute_force(pts, width, raster.shape)
    differs = (raster > 0) != expected
    # only exact ties (a pixel centre at distance width/2, up to rounding) may go either way
    assert np.all(np.abs(distance[differs] - width / 2) < 1e-9)


# -- operations -------------------------------------------------------------------------------

def test_undo_redo_and_a_new_operation_forgets_redo() -> None:
    drawing = Drawing(100, 100)
    a = Stroke([(10, 10), (90, 10)], 6, "pen")
    b = Stroke([(10, 50), (90, 50)], 6, "pen")
    drawing.apply(a)
    drawing.apply(b)
    with_both = drawing.render()
    assert drawing.undo() is b
    assert drawing.raster[50].sum() == 0 and drawing.raster[10].sum() > 0
    assert drawing.redo() is b
    np.testing.assert_array_equal(drawing.render(), with_both)
    drawing.undo()
    drawing.apply(Stroke([(50, 0), (50, 99)], 4, "pen"))
    assert not drawing.can_redo and drawing.redo() is None
    drawing.undo(), drawing.undo()
    assert not drawing.can_undo and drawing.undo() is None
    assert not drawing.raster.any()


def test_clear_is_undoable() -> None:
    drawing = Drawing(80, 80)
    drawing.apply(Stroke([(10, 40), (70, 40)], 8, "pen"))
    before = drawing.render()
    drawing.apply(Clear())
    assert not drawing.raster.any()
    drawing.undo()
    np.testing.assert_array_equal(drawing.render(), before)


def test_eraser_removes_exactly_its_own_band() -> None:
    drawing = Drawing(100, 100)
    drawing.apply(Rect(0, 0, 100, 100))
    drawing.apply(Stroke([(-10, 50), (110, 50)], 10, "eraser"))
    raster = drawing.raster
    assert not raster[45:55].any()
    assert raster[:45].all() and raster[55:].all()


def test_rectangle_paints_pixel_centres_inside() -> None:
    drawing = Drawing(50, 40)
    drawing.apply(Rect(30.2, 25.6, 10.4, 5.5))  # corners in any order
    expected = np.zeros((40, 50), bool)
    expected[5:26, 10:30] = True  # row centres 5.5 (on the edge) to 25.5, columns 10.5 to 29.5
    np.testing.assert_array_equal(drawing.raster > 0, expected)


def test_invert_swaps_and_undoes() -> None:
    drawing = Drawing(64, 48)
    drawing.apply(Stroke([(5, 5), (60, 40)], 9, "brush"))
    before = drawing.render()
    drawing.apply(Invert())
    np.testing.assert_array_equal(drawing.raster, 255 - before)
    drawing.undo()
    np.testing.assert_array_equal(drawing.raster, before)


def test_grow_a_disc_by_15_percent_of_its_diameter() -> None:
    drawing = Drawing(300, 300)
    drawing.apply(Stroke([(150, 150)], 100, "brush"))
    area = np.count_nonzero(drawing.raster)
    drawing.apply(Grow(15))
    grown = np.count_nonzero(drawing.raster)
    assert grown / area == pytest.approx(1.15**2, rel=0.03)
    rows = np.flatnonzero(drawing.raster[:, 150])
    assert rows[-1] - rows[0] + 1 == pytest.approx(115, abs=2)
    drawing.undo()
    assert np.count_nonzero(drawing.raster) == area


def test_grow_is_proportional_per_region_and_keeps_the_original() -> None:
    raster = np.zeros((400, 400), np.uint8)
    paint_stroke(raster, [(100, 100)], 120, 255)   # big disc
    paint_stroke(raster, [(300, 300)], 20, 255)    # small disc
    grown = grow_mask(raster, 15)
    assert set(np.unique(grown)) == {0, 255}
    assert np.all(grown[raster > 0] == 255)
    big = np.flatnonzero(grown[:, 100] & (np.arange(400) < 200))
    small = np.flatnonzero(grown[:, 300] & (np.arange(400) >= 200))
    assert big[-1] - big[0] + 1 == pytest.approx(138, abs=2)
    assert small[-1] - small[0] + 1 == pytest.approx(23, abs=2)


def test_grow_of_an_empty_mask_is_empty() -> None:
    assert not grow_mask(np.zeros((20, 30), np.uint8), 15).any()


def test_load_replaces_the_raster_and_scales_with_nearest() -> None:
    drawing = Drawing(40, 20)
    drawing.apply(Stroke([(0, 0), (40, 20)], 3, "pen"))
    picture = np.zeros((20, 40), np.uint8)
    picture[5:10, 10:20] = 1
    drawing.apply(Load.from_array(picture))
    np.testing.assert_array_equal(drawing.raster, picture * 255)
    big = drawing.render(80, 40)
    assert big[10:20, 20:40].all() and np.count_nonzero(big) == 4 * 50
    with pytest.raises(ValueError, match="40x20"):
        drawing.apply(Load.from_array(np.zeros((5, 5))))


@pytest.mark.parametrize("points, width, tool, message", [
    ([[1, 2, 3]], 4, "pen", "points"),
    ([], 4, "pen", "points"),
    ([[1, float("nan")]], 4, "pen", "finite"),
    ([[1, 2]], 0, "pen", "width"),
    ([[1, 2]], 4, "crayon", "tool"),
])
def test_stroke_validation(points: list, width: float, tool: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Stroke(points, width, tool)


def test_stroke_points_are_read_only_copies() -> None:
    pts = np.array([[1.0, 2.0], [3.0, 4.0]])
    stroke = Stroke(pts, 2)
    pts[0, 0] = 99
    assert stroke.points[0, 0] == 1.0
    with pytest.raises(ValueError):
        stroke.points[0, 0] = 5


# -- properties over random operation sequences ----------------------------------------------

operation = st.one_of(
    st.builds(Stroke,
              st.lists(st.tuples(st.floats(-5, 45), st.floats(-5, 35)), min_size=1, max_size=5),
              st.floats(0.5, 12), st.sampled_from(["brush", "eraser", "pen"])),
    st.builds(Rect, st.floats(-5, 45), st.floats(-5, 35), st.floats(-5, 45), st.floats(-5, 35)),
    st.just(Clear()), st.just(Invert()), st.builds(Grow, st.floats(1, 40)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, max_size=12), undos=st.integers(0, 12))
def test_any_history_gives_a_binary_mask_of_the_right_size_and_undo_replays(
        ops: list, undos: int) -> None:
    drawing = Drawing(40, 30)
    for op in ops:
        drawing.apply(op)
        assert drawing.raster.shape == (30, 40)
        assert set(np.unique(drawing.raster)) <= {0, 255}
    for _ in range(undos):
        drawing.undo()
    fresh = Drawing(40, 30)
    for op in drawing.operations:
        fresh.apply(op)
    np.testing.assert_array_equal(drawing.raster, fresh.raster)
    while drawing.can_redo:
        drawing.redo()
    assert len(drawing.operations) == len(ops)


def test_undo_after_many_operations_uses_checkpoints_and_stays_exact() -> None:
    drawing = Drawing(200, 100)
    rng = np.random.default_rng(3)
    for _ in range(CHECKPOINT_EVERY * 2 + 5):
        drawing.apply(Stroke(rng.uniform(0, 200, (4, 2)) * [1, 0.5], rng.uniform(1, 9),
                             str(rng.choice(["brush", "eraser"]))))
    drawing.apply(Grow(10))
    drawing.apply(Stroke([(0, 0), (200, 100)], 5, "brush"))
    for _ in range(7):
        drawing.undo()
    fresh = Drawing(200, 100)
    for op in drawing.operations:
        fresh.apply(op)
    np.testing.assert_array_equal(drawing.raster, fresh.raster)

"""zoom.js under Node: the view math of zooming and panning a painter (no browser).

What a user relies on: the point under the pointer stays put while zooming (wheel, pinch,
buttons), the picture always covers its box, zoom stays within its limits, and a box point
maps to the content point it shows and back, at any zoom (so strokes land where drawn).
"""

from __future__ import annotations

import pytest
from node_harness import NODE, run_module

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import * as z from "./zoom.mjs";
const W = 512, H = 341, out = {};
let v = z.IDENTITY;
// zoom in 4x around (100, 80) in three steps
for (const f of [2, 1.5, 4 / 3]) v = z.zoomAt(v, f, 100, 80, W, H);
out.zoomed = v;
out.fixed = z.toContent(v, 100, 80);
// round trips at several points
out.roundTrip = [[0, 0], [511.5, 340.2], [257.25, 3.75]].map(([x, y]) => {
  const c = z.toContent(v, x, y); const b = z.toBox(v, c[0], c[1]); return [x, y, ...b];
});
// pan far past the edges: clamped so the picture covers the box
out.pannedLeft = z.panBy(v, 5000, 5000, W, H);
out.pannedRight = z.panBy(v, -5000, -5000, W, H);
// zoom limits
let big = z.IDENTITY;
for (let i = 0; i < 50; i++) big = z.zoomAt(big, z.STEP, 10, 10, W, H);
out.max = big.zoom;
let small = v;
for (let i = 0; i < 50; i++) small = z.zoomAt(small, 1 / z.STEP, 300, 200, W, H);
out.min = small;
// wheel: up zooms in, down out; lines count as ~16 pixels
out.wheel = [z.wheelFactor(-100), z.wheelFactor(100), z.wheelFactor(-3, 1),
             z.wheelFactor(-48)];
// pinch: fingers spread from 100 to 200 px apart around (200, 150): 2x around the midpoint
const p = z.pinch(z.IDENTITY, [150, 150], [250, 150], [100, 150], [300, 150], W, H);
out.pinch = p;
out.pinchFixed = z.toContent(p, 200, 150);
// two fingers moving together pan (at zoom 2)
const q = z.pinch(p, [100, 150], [300, 150], [90, 140], [290, 140], W, H);
out.pinchPan = [q.zoom, q.x - p.x, q.y - p.y];
out.css = z.transformCss({ zoom: 4, x: -300, y: -240.5 });
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def out() -> dict:
    return run_module("zoom", HARNESS)


def test_the_point_under_the_pointer_stays_while_zooming(out):
    v = out["zoomed"]
    assert v["zoom"] == pytest.approx(4.0)
    assert out["fixed"] == pytest.approx([100.0, 80.0])  # zoomed around (100, 80) from 1x
    for x, y, bx, by in out["roundTrip"]:
        assert (bx, by) == (pytest.approx(x), pytest.approx(y))


def test_panning_stops_at_the_picture_edges(out):
    left, right = out["pannedLeft"], out["pannedRight"]
    assert left["x"] == 0 and left["y"] == 0
    assert right["x"] == pytest.approx(512 - 512 * 4) and right["y"] == pytest.approx(341 - 341 * 4)


def test_zoom_limits_and_fit(out):
    assert out["max"] == 16
    assert out["min"] == {"zoom": 1, "x": 0, "y": 0}  # zoomed all the way out: the picture fits


def test_wheel_and_pinch(out):
    up, down, lines, small = out["wheel"]
    assert up > 1 > down and up * down == pytest.approx(1)
    assert lines == pytest.approx(small)  # 3 lines = 48 pixels
    p = out["pinch"]
    assert p["zoom"] == pytest.approx(2.0)
    assert out["pinchFixed"] == pytest.approx([200.0, 150.0])
    zoom, dx, dy = out["pinchPan"]
    assert zoom == pytest.approx(2.0) and dx == pytest.approx(-10) and dy == pytest.approx(-10)


def test_css(out):
    assert out["css"] == "translate(-300px, -240.5px) scale(4)"

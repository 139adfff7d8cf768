// Zoom and pan of a painter's layers, as pure functions of a view {zoom, x, y}.
//
// The layers (photo, committed mask or sketch, live ink) are shown in a box of w x h CSS
// pixels and transformed together by `translate(x, y) scale(zoom)` with origin at the top
// left; the box clips them. A point at (px, py) in the box shows the content point
// ((px - x) / zoom, (py - y) / zoom), so the ink layer, which maps the pointer through its
// transformed bounding box, lands strokes exactly at any zoom. The view always covers the box
// (no empty margin) and zoom stays within [MIN_ZOOM, MAX_ZOOM].

export const MIN_ZOOM = 1;
export const MAX_ZOOM = 16;
export const STEP = 1.25; // one button press or keyboard step
const WHEEL_SCALE = 0.002; // zoom factor per wheel pixel: exp(-deltaY * WHEEL_SCALE)

export const IDENTITY = Object.freeze({ zoom: 1, x: 0, y: 0 });

function clamp(v, lo, hi) {
  return Math.min(Math.max(v, lo), hi);
}

// The view moved back so the content covers the box (w x h) and zoom is within its limits.
export function clampView(view, w, h) {
  const zoom = clamp(view.zoom, MIN_ZOOM, MAX_ZOOM);
  return { zoom, x: clamp(view.x, w - w * zoom, 0), y: clamp(view.y, h - h * zoom, 0) };
}

// Zoom by `factor` keeping the content under the box point (px, py) where it is.
export function zoomAt(view, factor, px, py, w, h) {
  const zoom = clamp(view.zoom * factor, MIN_ZOOM, MAX_ZOOM);
  const k = zoom / view.zoom;
  return clampView({ zoom, x: px - (px - view.x) * k, y: py - (py - view.y) * k }, w, h);
}

// Move the content by (dx, dy) CSS pixels (a drag with the hand tool or space held).
export function panBy(view, dx, dy, w, h) {
  return clampView({ zoom: view.zoom, x: view.x + dx, y: view.y + dy }, w, h);
}

// The content point (unzoomed CSS pixels) shown at the box point (px, py).
export function toContent(view, px, py) {
  return [(px - view.x) / view.zoom, (py - view.y) / view.zoom];
}

// The box point where the content point (cx, cy) is shown.
export function toBox(view, cx, cy) {
  return [view.x + cx * view.zoom, view.y + cy * view.zoom];
}

// The zoom factor of one wheel event (deltaMode 1: lines of about 16 pixels).
export function wheelFactor(deltaY, deltaMode = 0) {
  const pixels = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return Math.exp(-pixels * WHEEL_SCALE);
}

// Two fingers moved from (a0, b0) to (a1, b1) (box points [x, y]): the content under their
// midpoint follows it, and the zoom follows the distance between them.
export function pinch(view, a0, b0, a1, b1, w, h) {
  const d0 = Math.hypot(b0[0] - a0[0], b0[1] - a0[1]);
  const d1 = Math.hypot(b1[0] - a1[0], b1[1] - a1[1]);
  const m0 = [(a0[0] + b0[0]) / 2, (a0[1] + b0[1]) / 2];
  const m1 = [(a1[0] + b1[0]) / 2, (a1[1] + b1[1]) / 2];
  const zoomed = zoomAt(view, d0 > 0 ? d1 / d0 : 1, m0[0], m0[1], w, h);
  return panBy(zoomed, m1[0] - m0[0], m1[1] - m0[1], w, h);
}

// The CSS transform of a view.
export function transformCss(view) {
  return `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
}

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

// -- the page: wheel, pinch, buttons, space-drag and a hand tool on a painter ----------------
//
// `host` is the ink layer's element (it holds `canvas`, the top layer); the other layers are
// the host's siblings in the painter's stack. Every layer gets the same transform; the host
// clips the ink canvas, the stack clips the others. Pointer events that pan or pinch are
// taken in the capture phase on the host, so the ink layer never sees them (no stroke).
// Ctrl/Cmd+wheel (and a trackpad's pinch) zooms around the pointer; once zoomed in, the wheel
// pans. Buttons under the picture: zoom out, zoom in, fit, and the hand (pan with a drag).
export function attachZoom({ host, canvas, onChange = () => {} }) {
  let view = IDENTITY;
  let hand = false;
  let space = false;
  const touches = new Map(); // pointerId -> [x, y] in box pixels, for pinch
  let drag = null; // {id, x, y} while panning with the hand or space

  const bar = document.createElement("div");
  bar.className = "cdw-zoom-bar";
  // under the picture, right-aligned: never over it, where it would catch strokes
  Object.assign(bar.style, {
    display: "flex", justifyContent: "flex-end", alignItems: "center", gap: "2px",
    lineHeight: "normal", margin: "2px 0",
  });
  function button(text, label, fn) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = label;
    b.setAttribute("aria-label", label);
    b.className = "cdw-zoom-button";
    Object.assign(b.style, {
      minWidth: "26px", height: "24px", padding: "0 4px", font: "13px sans-serif",
      border: "1px solid rgba(0,0,0,0.4)", borderRadius: "3px",
      background: "rgba(255,255,255,0.85)", color: "#222", cursor: "pointer",
    });
    b.addEventListener("pointerdown", (ev) => ev.stopPropagation());
    b.addEventListener("click", (ev) => { ev.stopPropagation(); fn(); });
    bar.append(b);
    return b;
  }
  function size() {
    return [host.clientWidth || canvas.clientWidth || 1, host.clientHeight || canvas.clientHeight || 1];
  }
  function layers() {
    const parent = host.parentElement;
    const out = [canvas];
    if (parent) for (const c of parent.children) if (c !== host) out.push(c);
    return out;
  }
  function apply(next) {
    view = next;
    const css = transformCss(view);
    for (const layer of layers()) {
      layer.style.transformOrigin = "0 0";
      layer.style.transform = view.zoom === 1 ? "" : css;
    }
    label.textContent = `${Math.round(view.zoom * 100)} %`;
    canvas.style.cursor = hand || space ? (drag ? "grabbing" : "grab") : "";
    handButton.style.background = hand ? "#cfe3ff" : "rgba(255,255,255,0.85)";
    handButton.setAttribute("aria-pressed", String(hand));
    onChange(view);
  }
  function boxPoint(ev) {
    const r = host.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }
  function zoomCentre(factor) {
    const [w, h] = size();
    apply(zoomAt(view, factor, w / 2, h / 2, w, h));
  }

  button("\u2212", "Zoom out", () => zoomCentre(1 / STEP));
  const label = document.createElement("span");
  Object.assign(label.style, { font: "12px sans-serif", padding: "4px 2px",
                               color: "var(--jp-ui-font-color1, #333)", minWidth: "40px",
                               textAlign: "center" });
  bar.append(label);
  button("+", "Zoom in", () => zoomCentre(STEP));
  button("Fit", "Fit the picture in the box", () => apply(IDENTITY));
  const handButton = button("Pan", "Pan: drag to move the zoomed picture (or hold Space)",
                            () => { hand = !hand; apply(view); });
  // The bar goes right after the painter's layer stack (the host's parent), once the stack is
  // in the page; until then it waits (views are attached after render).
  let placing = null;
  function place(tries = 600) {
    placing = null;
    const stack = host.parentElement;
    if (stack && stack.parentElement) stack.after(bar);
    else if (tries > 0) placing = requestAnimationFrame(() => place(tries - 1));
  }
  place();

  function onWheel(ev) {
    const [w, h] = size();
    if (ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      const [px, py] = boxPoint(ev);
      apply(zoomAt(view, wheelFactor(ev.deltaY, ev.deltaMode), px, py, w, h));
    } else if (view.zoom > 1) {
      ev.preventDefault();
      apply(panBy(view, -ev.deltaX, -ev.deltaY, w, h));
    }
  }
  function onDown(ev) {
    if (bar.contains(ev.target)) return; // the buttons' own clicks
    if (ev.pointerType === "touch") {
      touches.set(ev.pointerId, boxPoint(ev));
      if (touches.size >= 2) { ev.stopPropagation(); ev.preventDefault(); return; }
    }
    if (hand || space || ev.button === 1) {
      ev.stopPropagation();
      ev.preventDefault();
      drag = { id: ev.pointerId, x: ev.clientX, y: ev.clientY };
      if (canvas.setPointerCapture) canvas.setPointerCapture(ev.pointerId);
      apply(view);
    }
  }
  function onMove(ev) {
    if (ev.pointerType === "touch" && touches.has(ev.pointerId) && touches.size >= 2) {
      ev.stopPropagation();
      ev.preventDefault();
      const [a, b] = [...touches.keys()];
      const before = [touches.get(a), touches.get(b)];
      touches.set(ev.pointerId, boxPoint(ev));
      const [w, h] = size();
      apply(pinch(view, before[0], before[1], touches.get(a), touches.get(b), w, h));
      return;
    }
    if (touches.has(ev.pointerId)) touches.set(ev.pointerId, boxPoint(ev));
    if (drag !== null && ev.pointerId === drag.id) {
      ev.stopPropagation();
      ev.preventDefault();
      const [w, h] = size();
      const next = panBy(view, ev.clientX - drag.x, ev.clientY - drag.y, w, h);
      drag.x = ev.clientX;
      drag.y = ev.clientY;
      apply(next);
    }
  }
  function onUp(ev) {
    const pinching = touches.size >= 2 && touches.has(ev.pointerId);
    touches.delete(ev.pointerId);
    if (pinching) { ev.stopPropagation(); return; }
    if (drag !== null && ev.pointerId === drag.id) {
      ev.stopPropagation();
      drag = null;
      apply(view);
    }
  }
  // Keys while the canvas has focus, kept from the notebook (whose command mode would take
  // "0 0" as a kernel restart): Space held pans, + and - zoom, 0 fits.
  function onKey(ev) {
    const plain = !ev.ctrlKey && !ev.metaKey && !ev.altKey;
    const actions = { "+": () => zoomCentre(STEP), "=": () => zoomCentre(STEP),
                      "-": () => zoomCentre(1 / STEP), "0": () => apply(IDENTITY) };
    if (ev.key === " ") {
      ev.preventDefault(); // no page scroll while the canvas has focus
      ev.stopPropagation();
      space = ev.type === "keydown";
      if (!ev.repeat) apply(view);
    } else if (plain && ev.key in actions) {
      ev.preventDefault();
      ev.stopPropagation();
      if (ev.type === "keydown") actions[ev.key]();
    }
  }
  const listeners = [["wheel", onWheel, { passive: false }], ["pointerdown", onDown, true],
                     ["pointermove", onMove, true], ["pointerup", onUp, true],
                     ["pointercancel", onUp, true]];
  for (const [name, fn, opt] of listeners) host.addEventListener(name, fn, opt);
  canvas.addEventListener("keydown", onKey);
  canvas.addEventListener("keyup", onKey);
  apply(view);

  return {
    get view() { return view; },
    set(next) { const [w, h] = size(); apply(clampView(next, w, h)); },
    reset() { apply(IDENTITY); },
    destroy() {
      for (const [name, fn, opt] of listeners) host.removeEventListener(name, fn, opt);
      canvas.removeEventListener("keydown", onKey);
      canvas.removeEventListener("keyup", onKey);
      if (placing !== null) cancelAnimationFrame(placing);
      bar.remove();
    },
  };
}

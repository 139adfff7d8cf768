// The browser half of UncropStage (uncrop_stage.py): the photo in the middle of a stage, the
// frame the answer will have drawn around it, and four edges to drag. Dragging an edge
// outward adds pixels on that side, inward crops; the numbers are photo pixels, sent to the
// kernel as the pointer moves (at most every 50 ms) and when it is released. The frame never
// leaves less than one pixel each way, nor goes past the table's limits.
// The stage is at most `side` CSS pixels a side and follows the room it is given (its width
// is measured, a ResizeObserver lays it out again): on an app's stage the page CSS sizes it.

const EDGES = ["left", "right", "up", "down"];
const GRAB = 10; // CSS pixels either side of an edge that catch the pointer

function render({ model, el }) {
  const stage = document.createElement("div");
  stage.className = "cdw-uncrop-stage";
  stage.style.cssText = "position:relative;overflow:hidden;background:#eef0f3;" +
    "border:1px solid #c8ccd2;touch-action:none;user-select:none;width:100%;" +
    "box-sizing:border-box";
  const img = document.createElement("img");
  img.style.cssText = "position:absolute;pointer-events:none";
  const frame = document.createElement("div");
  frame.className = "cdw-uncrop-frame";
  frame.style.cssText = "position:absolute;border:2px dashed #1a73e8;" +
    "background:rgba(26,115,232,0.08);pointer-events:none;box-sizing:border-box";
  stage.append(img, frame);
  const handles = {};
  for (const edge of EDGES) {
    const h = document.createElement("div");
    h.className = `cdw-uncrop-edge cdw-uncrop-${edge}`;
    h.dataset.edge = edge;
    h.title = `Drag to extend or crop the ${edge} side`;
    const horizontal = edge === "left" || edge === "right";
    h.style.cssText = "position:absolute;background:rgba(26,115,232,0.25);" +
      `cursor:${horizontal ? "ew-resize" : "ns-resize"}`;
    stage.append(h);
    handles[edge] = h;
  }
  el.append(stage);

  let url = null;
  function layout() {
    const side = model.get("side");
    const w = model.get("photo_width"), h = model.get("photo_height");
    // At most `side` a side, the photo's shape; the shown width may be less (or, on an app's
    // stage in a wide window, more): the scale is measured.
    const fit = Math.min(side / (2 * w), side / (2 * h));
    stage.style.maxWidth = `${Math.round(2 * w * fit)}px`;
    stage.style.aspectRatio = `${w} / ${h}`;
    const sw = stage.clientWidth || Math.round(2 * w * fit);
    const scale = sw / (2 * w);
    const sh = 2 * h * scale;
    const px = (sw - w * scale) / 2, py = (sh - h * scale) / 2;
    Object.assign(img.style, { left: `${px}px`, top: `${py}px`, width: `${w * scale}px`,
                               height: `${h * scale}px` });
    const e = Object.fromEntries(EDGES.map((k) => [k, model.get(`extend_${k}`)]));
    const x0 = px - e.left * scale, x1 = px + (w + e.right) * scale;
    const y0 = py - e.up * scale, y1 = py + (h + e.down) * scale;
    Object.assign(frame.style, { left: `${x0}px`, top: `${y0}px`, width: `${x1 - x0}px`,
                                 height: `${y1 - y0}px` });
    const place = (edge, l, t, wd, ht) => Object.assign(handles[edge].style, {
      left: `${l}px`, top: `${t}px`, width: `${wd}px`, height: `${ht}px` });
    place("left", x0 - GRAB, y0, 2 * GRAB, y1 - y0);
    place("right", x1 - GRAB, y0, 2 * GRAB, y1 - y0);
    place("up", x0, y0 - GRAB, x1 - x0, 2 * GRAB);
    place("down", x0, y1 - GRAB, x1 - x0, 2 * GRAB);
    return scale;
  }
  function showImage() {
    if (url) URL.revokeObjectURL(url);
    const bytes = model.get("image");
    url = URL.createObjectURL(new Blob([bytes], { type: model.get("format") }));
    img.src = url;
    layout();
  }

  let drag = null;
  let lastSent = 0;
  function onDown(event) {
    const edge = event.currentTarget.dataset.edge;
    drag = { edge, x: event.clientX, y: event.clientY, start: model.get(`extend_${edge}`),
             scale: layout() };
    event.currentTarget.setPointerCapture(event.pointerId);
    event.preventDefault();
  }
  function onMove(event) {
    if (!drag) return;
    const { edge, scale } = drag;
    const dx = (event.clientX - drag.x) / scale, dy = (event.clientY - drag.y) / scale;
    const outward = { left: -dx, right: dx, up: -dy, down: dy }[edge];
    const horizontal = edge === "left" || edge === "right";
    const size = horizontal ? model.get("photo_width") : model.get("photo_height");
    const other = model.get(`extend_${{ left: "right", right: "left", up: "down",
                                        down: "up" }[edge]}`);
    const lowest = Math.max(model.get("minimum"), 1 - size - other);
    const value = Math.min(model.get("maximum"), Math.max(lowest,
                                                          Math.round(drag.start + outward)));
    model.set(`extend_${edge}`, value);
    layout();
    const now = Date.now();
    if (now - lastSent > 50) {
      lastSent = now;
      model.save_changes();
    }
  }
  function onUp() {
    if (!drag) return;
    drag = null;
    model.save_changes();
  }
  for (const h of Object.values(handles)) {
    h.addEventListener("pointerdown", onDown);
    h.addEventListener("pointermove", onMove);
    h.addEventListener("pointerup", onUp);
    h.addEventListener("pointercancel", onUp);
  }
  model.on("change:image", showImage);
  for (const name of ["side", "photo_width", "photo_height",
                      ...EDGES.map((k) => `extend_${k}`)]) {
    model.on(`change:${name}`, layout);
  }
  // the room given changes with the window (and when the stage is shown again)
  const resized = new ResizeObserver(() => { if (!drag) layout(); });
  resized.observe(stage);
  showImage();
  return () => {
    resized.disconnect();
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };

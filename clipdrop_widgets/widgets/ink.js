// Live ink for clipdrop-widgets: an anywidget ES module (no build step).
//
// A transparent <canvas> laid exactly over the ipycanvas layers. The stroke under the pointer
// is drawn here, inside the pointer handler, so it shows without a kernel round trip, and
// getCoalescedEvents() keeps every point the browser saw. Python receives the points in
// batches, turns the finished stroke into data, draws it on the committed ipycanvas layer and
// then sends {type: "release", id}; only then does this layer forget the stroke. The committed
// copy travels first over the same websocket, so the stroke never blinks out.
//
// To Python: {type: "points", id, tool, width, final, n} with one buffer of n (x, y) float32
// pairs in canvas pixels (CSS scaling undone). While drawing, at most one message per batch_ms
// (a synced trait: Python's InkLayer.batch_ms, default ink.BATCH_MS);
// one more, final: true, at pointer up. The rect tool sends a single final message holding its
// two corners.
// From Python: {type: "release", id}.
// The canvas's `data-cdw-awaiting` attribute counts the finished strokes Python has not yet
// committed (sent, not released): the app's Run (keyboard.js) waits for it to reach 0, as
// the stroke and the run may reach different kernel threads, in either order.
// Keyboard: the ink canvas is a tab stop that never traps focus (Tab and Shift+Tab move on);
// while it is focused Ctrl/Cmd+Z sends {type: "key", action: "undo"}, Shift+Ctrl/Cmd+Z and
// Ctrl/Cmd+Y {type: "key", action: "redo"}. The ipycanvas layers under it (which take every key,
// Tab included) are taken out of the tab order. A circle under the pointer shows the brush at
// its true size.

const RELEASE_FRAMES = 2; // frames to wait after "release" so ipycanvas has painted its copy

function sameStroke(a, b) {
  return a !== null && b !== null && a.id === b.id;
}

// The shortcut a keydown on the ink canvas means ("undo", "redo"), or null.
// Without a modifier: "[" and "]" brush size ("smaller", "bigger"); B, E, R the tools
// ("brush": the pen or brush, "eraser", "rect").
const PLAIN_KEYS = { "[": "smaller", "]": "bigger", b: "brush", e: "eraser", r: "rect" };

export function shortcut(ev) {
  const key = String(ev.key).toLowerCase();
  if (!ev.ctrlKey && !ev.metaKey && !ev.altKey) return PLAIN_KEYS[key] || null;
  if (!(ev.ctrlKey || ev.metaKey) || ev.altKey) return null;
  if (key === "z") return ev.shiftKey ? "redo" : "undo";
  if (key === "y" && !ev.shiftKey) return "redo";
  return null;
}

// A stroke's width: the brush size, or for the sketch pad's pen held by a pen that reports
// pressure (0 to 1), half to one and a half times it, by the pressure as the pen touches down.
export function strokeWidth(size, tool, ev) {
  if (tool !== "pen" || ev.pointerType !== "pen" || !(ev.pressure > 0)) return size;
  return size * (0.5 + Math.min(1, ev.pressure));
}

export function createInk({ model, canvas, brush = null, now = () => performance.now() }) {
  const ctx = canvas.getContext("2d");
  const nonce = Math.random().toString(36).slice(2, 8);
  const pending = new Map(); // id -> finished stroke waiting for Python's committed copy
  const awaiting = new Set(); // ids of finished strokes sent, not yet released by Python
  const countAwaiting = () => { canvas.dataset.cdwAwaiting = String(awaiting.size); };
  let counter = 0;
  let active = null;

  function resize() {
    canvas.width = model.get("width");
    canvas.height = model.get("height");
    repaint();
  }

  function restyle() {
    canvas.style.opacity = String(model.get("opacity"));
    canvas.style.pointerEvents = model.get("enabled") ? "auto" : "none";
    canvas.tabIndex = model.get("enabled") ? 0 : -1;
    if (brush === null) return;
    if (model.get("tool") === "rect" || !model.get("enabled")) brush.style.display = "none";
  }

  // The brush outline: a circle of the brush's diameter (canvas pixels, shown in CSS pixels)
  // centred on the pointer; moved with a transform, never by repainting the ink.
  function showBrush(ev) {
    if (brush === null) return;
    if (model.get("tool") === "rect" || !model.get("enabled") || ev.pointerType === "touch") {
      brush.style.display = "none";
      return;
    }
    // the size through the canvas's shown box (zoom included: the brush's true size on the
    // photo), the place in the unzoomed box that holds the circle
    const r = canvas.getBoundingClientRect();
    const scale = canvas.width > 0 ? r.width / canvas.width : 1;
    const d = model.get("size") * scale;
    const at = brush.parentElement ? brush.parentElement.getBoundingClientRect() : r;
    brush.style.width = `${d}px`;
    brush.style.height = `${d}px`;
    brush.style.transform =
      `translate(${ev.clientX - at.left - d / 2}px, ${ev.clientY - at.top - d / 2}px)`;
    brush.style.display = "block";
  }

  function hideBrush() {
    if (brush !== null) brush.style.display = "none";
  }

  function onBlur() {
    if (canvas.dataset) delete canvas.dataset.pointerFocus;
  }

  function onKey(ev) {
    const action = shortcut(ev);
    if (action === null) return;
    ev.preventDefault();
    ev.stopPropagation();
    model.send({ type: "key", action });
  }

  function toCanvas(ev) {
    const r = canvas.getBoundingClientRect();
    const sx = r.width > 0 ? canvas.width / r.width : 1;
    const sy = r.height > 0 ? canvas.height / r.height : 1;
    return [(ev.clientX - r.left) * sx, (ev.clientY - r.top) * sy];
  }

  function colorFor(tool) {
    return tool === "eraser" ? model.get("eraser_color") : model.get("color");
  }

  function line(s, x0, y0, x1, y1) {
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = s.width;
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    // a zero-length segment is not stroked: nudge it so a click leaves a dot
    ctx.lineTo(x1 === x0 && y1 === y0 ? x1 + 0.01 : x1, y1);
    ctx.stroke();
  }

  function drawStroke(s) {
    const p = s.points;
    if (s.tool === "rect") {
      ctx.lineWidth = 2;
      ctx.strokeStyle = s.color;
      ctx.strokeRect(p[0], p[1], p[2] - p[0], p[3] - p[1]);
      return;
    }
    if (p.length === 2) {
      line(s, p[0], p[1], p[0], p[1]);
      return;
    }
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = s.width;
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    ctx.moveTo(p[0], p[1]);
    for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i], p[i + 1]);
    ctx.stroke();
  }

  function repaint() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (const s of pending.values()) drawStroke(s);
    if (active !== null) drawStroke(active);
  }

  function send(s, final) {
    const pts = new Float32Array(s.unsent);
    s.unsent = [];
    s.lastSent = now();
    const content = { type: "points", id: s.id, tool: s.tool, width: s.width, final, n: pts.length / 2 };
    model.send(content, undefined, [new DataView(pts.buffer)]);
  }

  function scheduleSend(s) {
    if (s.unsent.length === 0 || s.timer !== null) return;
    const wait = s.lastSent + model.get("batch_ms") - now();
    if (wait <= 0) {
      send(s, false);
      return;
    }
    s.timer = setTimeout(() => {
      s.timer = null;
      if (sameStroke(s, active) && s.unsent.length > 0) send(s, false);
    }, wait);
  }

  function onDown(ev) {
    if (!model.get("enabled") || active !== null) return;
    if (ev.pointerType === "mouse" && ev.button !== 0) return;
    ev.preventDefault();
    // focused so Ctrl+Z works after a stroke; the ring is for keyboard focus only
    if (canvas.dataset) canvas.dataset.pointerFocus = "1";
    if (canvas.focus) canvas.focus({ preventScroll: true });
    if (canvas.setPointerCapture) canvas.setPointerCapture(ev.pointerId);
    const tool = model.get("tool");
    const [x, y] = toCanvas(ev);
    counter += 1;
    active = {
      id: `${nonce}-${counter}`,
      pointerId: ev.pointerId,
      tool,
      width: strokeWidth(model.get("size"), tool, ev),
      color: colorFor(tool),
      points: tool === "rect" ? [x, y, x, y] : [x, y],
      unsent: tool === "rect" ? [] : [x, y],
      lastSent: now(),
      timer: null,
    };
    if (tool === "rect") repaint();
    else line(active, x, y, x, y);
  }

  function onMove(ev) {
    showBrush(ev);
    if (active === null || ev.pointerId !== active.pointerId) return;
    ev.preventDefault();
    const coalesced = typeof ev.getCoalescedEvents === "function" ? ev.getCoalescedEvents() : [];
    const events = coalesced.length > 0 ? coalesced : [ev];
    const s = active;
    if (s.tool === "rect") {
      const [x, y] = toCanvas(events[events.length - 1]);
      s.points[2] = x;
      s.points[3] = y;
      repaint();
      return;
    }
    for (const e of events) {
      const [x, y] = toCanvas(e);
      const p = s.points;
      line(s, p[p.length - 2], p[p.length - 1], x, y); // only the new segment
      p.push(x, y);
      s.unsent.push(x, y);
    }
    scheduleSend(s);
  }

  function onUp(ev) {
    if (active === null || ev.pointerId !== active.pointerId) return;
    const s = active;
    active = null;
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    const [x, y] = toCanvas(ev);
    if (s.tool === "rect") {
      s.points[2] = x;
      s.points[3] = y;
      s.unsent = s.points.slice();
    } else {
      const p = s.points;
      if (p[p.length - 2] !== x || p[p.length - 1] !== y) {
        line(s, p[p.length - 2], p[p.length - 1], x, y);
        p.push(x, y);
        s.unsent.push(x, y);
      }
    }
    pending.set(s.id, s);
    awaiting.add(s.id);
    countAwaiting();
    send(s, true);
    if (s.tool === "rect") repaint();
  }

  function release(id) {
    let frames = RELEASE_FRAMES;
    const step = () => {
      frames -= 1;
      if (frames > 0) {
        requestAnimationFrame(step);
        return;
      }
      if (pending.delete(id)) repaint();
    };
    requestAnimationFrame(step);
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "release") return;
    awaiting.delete(msg.id);
    countAwaiting();
    release(msg.id);
  }

  const listeners = [
    ["pointerdown", onDown],
    ["pointermove", onMove],
    ["pointerup", onUp],
    ["pointercancel", onUp],
    ["pointerleave", hideBrush],
    ["keydown", onKey],
    ["blur", onBlur],
  ];
  const modelEvents = [
    ["msg:custom", onMessage],
    ["change:width", resize],
    ["change:height", resize],
    ["change:opacity", restyle],
    ["change:enabled", restyle],
    ["change:tool", restyle],
  ];
  for (const [name, fn] of listeners) canvas.addEventListener(name, fn);
  for (const [name, fn] of modelEvents) model.on(name, fn);
  resize();
  restyle();
  countAwaiting();

  return {
    pending,
    awaiting,
    destroy() {
      for (const [name, fn] of listeners) canvas.removeEventListener(name, fn);
      for (const [name, fn] of modelEvents) model.off(name, fn);
      if (active !== null && active.timer !== null) clearTimeout(active.timer);
    },
  };
}

// ipycanvas makes every canvas a tab stop whose keydown handler swallows all keys, Tab
// included: the committed layers under the ink are taken out of the tab order (the ink
// canvas is the one stop). They join the stack after render, so wait until it is there.
function untabSiblings(el, tries = 600) {
  const parent = el.parentElement;
  if (parent === null) {
    if (tries > 0) requestAnimationFrame(() => untabSiblings(el, tries - 1));
    return;
  }
  for (const c of parent.querySelectorAll(":scope > canvas")) c.tabIndex = -1;
}

export default {
  render({ model, el }) {
    const canvas = document.createElement("canvas");
    canvas.className = "cdw-ink";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label",
      "Drawing area: draw with the pointer; Ctrl+Z undo, Shift+Ctrl+Z redo, Ctrl+Enter run");
    const brush = document.createElement("div");
    brush.className = "cdw-brush";
    el.classList.add("cdw-ink-host");
    el.append(canvas, brush);
    const ink = createInk({ model, canvas, brush });
    untabSiblings(el);
    // zoom.js (prepended to this module by ink.py): zoom and pan, back to fit for a new size
    const zoom = attachZoom({ host: el, canvas });
    const refit = () => zoom.reset();
    model.on("change:width", refit);
    model.on("change:height", refit);
    return () => {
      model.off("change:width", refit);
      model.off("change:height", refit);
      zoom.destroy();
      ink.destroy();
    };
  },
};

// The browser half of Magnifier (magnifier.py): the upscaled picture fitted to the view, and
// under the pointer a lens at 1:1 pixels of it: its left half the original stretched to the
// same size (nearest neighbour, the pixels the upscale started from), its right half the
// upscaled picture. The pixel under the lens's centre goes to the kernel as `x`, `y`
// (at most every 50 ms, and when the pointer stops); the kernel setting them moves the lens.

function render({ model, el }) {
  const view = document.createElement("div");
  view.className = "cdw-magnifier";
  view.style.cssText = "position:relative;display:inline-block;cursor:crosshair;" +
    "touch-action:none;line-height:0";
  const img = document.createElement("img");
  img.style.cssText = "display:block";
  const lens = document.createElement("div");
  lens.className = "cdw-magnifier-lens";
  lens.style.cssText = "position:absolute;pointer-events:none;border:2px solid #1a73e8;" +
    "border-radius:4px;overflow:hidden;display:none;box-shadow:0 2px 8px rgba(0,0,0,.35)";
  const before = document.createElement("div");
  before.className = "cdw-magnifier-before";
  const after = document.createElement("div");
  after.className = "cdw-magnifier-after";
  for (const half of [before, after]) {
    half.style.cssText = "position:absolute;top:0;height:100%;width:50%;" +
      "background-repeat:no-repeat;image-rendering:pixelated";
  }
  after.style.left = "50%";
  lens.append(before, after);
  view.append(img, lens);
  el.append(view);

  const urls = [];
  function url(name, type) {
    const u = URL.createObjectURL(new Blob([model.get(name)], { type: model.get(type) }));
    urls.push(u);
    return u;
  }
  function load() {
    while (urls.length) URL.revokeObjectURL(urls.pop());
    const a = url("after", "after_type"), b = url("before", "before_type");
    img.src = a;
    after.style.backgroundImage = `url(${a})`;
    before.style.backgroundImage = `url(${b})`;
    img.style.width = `${model.get("view_width")}px`;
    place();
  }
  function place() {
    const w = model.get("width"), h = model.get("height"), size = model.get("lens");
    const scale = model.get("view_width") / w;
    const x = model.get("x"), y = model.get("y");
    if (x < 0 || y < 0) { lens.style.display = "none"; return; }
    lens.style.display = "block";
    Object.assign(lens.style, { width: `${size}px`, height: `${size}px`,
      left: `${x * scale - size / 2}px`, top: `${y * scale - size / 2}px` });
    // 1:1: the picture at its own pixel size, the lens's centre on pixel (x, y).
    for (const [half, dx] of [[before, 0], [after, size / 2]]) {
      half.style.backgroundSize = `${w}px ${h}px`;
      half.style.backgroundPosition = `${size / 2 - x - dx}px ${size / 2 - y}px`;
    }
  }
  let last = 0;
  let timer = null;
  function onMove(event) {
    const box = img.getBoundingClientRect();
    const scale = model.get("view_width") / model.get("width");
    const x = Math.round((event.clientX - box.left) / scale);
    const y = Math.round((event.clientY - box.top) / scale);
    if (x < 0 || y < 0 || x >= model.get("width") || y >= model.get("height")) return;
    model.set({ x, y });
    place();
    clearTimeout(timer);
    timer = setTimeout(() => model.save_changes(), 60);
    if (Date.now() - last > 50) { last = Date.now(); model.save_changes(); }
  }
  view.addEventListener("pointermove", onMove);
  for (const name of ["after", "before"]) model.on(`change:${name}`, load);
  for (const name of ["x", "y", "lens", "view_width"]) model.on(`change:${name}`, place);
  load();
  return () => { while (urls.length) URL.revokeObjectURL(urls.pop()); };
}

export default { render };

// The report's page: a grid of results (paged), filters, and the chosen result with its
// record and, for an edit, a before/after divider. Plain JavaScript, no network, no kernel.
(function () {
  "use strict";
  const PAGE = 48;
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const items = data.items;
  const byId = new Map(items.map((it) => [it.id, it]));
  const children = new Map();
  for (const it of items) {
    if (it.parent !== null && it.parent !== undefined) {
      if (!children.has(it.parent)) children.set(it.parent, []);
      children.get(it.parent).push(it.id);
    }
  }
  const grid = document.getElementById("grid");
  const pages = document.getElementById("pages");
  const detail = document.getElementById("detail");
  const op = document.getElementById("op");
  const words = document.getElementById("words");
  const shown = document.getElementById("shown");
  let page = 0;
  let chosen = null;

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const kid of kids) if (kid) node.append(kid);
    return node;
  }

  function matching() {
    const wanted = words.value.toLowerCase().split(/\s+/).filter(Boolean);
    return items.filter((it) => (!op.value || it.operation === op.value) &&
      wanted.every((w) => (it.prompt || "").toLowerCase().includes(w)));
  }

  function name(it) {
    return `${it.title} #${it.id}` + (it.prompt ? `: ${it.prompt}` : "");
  }

  function render() {
    const found = matching();
    const count = Math.max(1, Math.ceil(found.length / PAGE));
    page = Math.min(page, count - 1);
    grid.replaceChildren();
    for (const it of found.slice(page * PAGE, (page + 1) * PAGE)) {
      const button = el("button", {type: "button", class: "card", "data-id": String(it.id),
                                   "aria-pressed": String(it.id === chosen)},
        el("img", {src: it.src, alt: name(it), loading: "lazy"}),
        el("span", {class: "op", text: `${it.title} #${it.id}`}),
        el("span", {class: "words", text: it.prompt || "(no prompt)"}));
      button.addEventListener("click", () => show(it.id));
      grid.append(el("li", {}, button));
    }
    pages.replaceChildren();
    if (count > 1) {
      for (let i = 0; i < count; i++) {
        const b = el("button", {type: "button", "aria-label": `Page ${i + 1} of ${count}`,
                                text: String(i + 1)});
        if (i === page) b.setAttribute("aria-current", "page");
        b.addEventListener("click", () => { page = i; render(); });
        pages.append(b);
      }
    }
    shown.textContent = `${found.length} of ${items.length} shown`;
  }

  function divider(before, after, label, raw) {
    const afterWrap = el("div", {class: "after"}, el("img", {src: after, alt: `${label}, after`}));
    const bar = el("div", {class: "bar"});
    const beforeImg = el("img", {src: before, alt: `${label}, before`});
    // The result has the photo's stored pixels, not turned by its EXIF orientation: show the
    // photo as stored too, so the two line up.
    if (raw) beforeImg.style.imageOrientation = "none";
    const box = el("div", {class: "compare"}, beforeImg, afterWrap, bar);
    const range = el("input", {type: "range", id: "divider", min: "0", max: "100", value: "50"});
    const set = (pct) => {
      pct = Math.max(0, Math.min(100, pct));
      range.value = String(pct);
      afterWrap.style.clipPath = `inset(0 0 0 ${pct}%)`;
      bar.style.left = `${pct}%`;
      box.dataset.divider = String(pct);
    };
    range.addEventListener("input", () => set(Number(range.value)));
    const drag = (e) => {
      const r = box.getBoundingClientRect();
      set(((e.clientX - r.left) / r.width) * 100);
    };
    // A native image drag would cancel the pointer (no pointerup): images are not draggable.
    for (const img of box.querySelectorAll("img")) img.draggable = false;
    box.addEventListener("dragstart", (e) => e.preventDefault());
    box.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      box.setPointerCapture(e.pointerId);
      drag(e);
      box.addEventListener("pointermove", drag);
    });
    const stop = () => box.removeEventListener("pointermove", drag);
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      box.addEventListener(type, stop);
    }
    set(50);
    return el("div", {},
      box,
      el("div", {class: "divider"},
        el("label", {for: "divider", text: "Before ◂ divider ▸ after"}), range));
  }

  function row(list, term, value) {
    if (value === null || value === undefined || value === "") return;
    const dd = el("dd");
    if (value instanceof Node) dd.append(value);
    else dd.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
    list.append(el("dt", {text: term}), dd);
  }

  function link(id) {
    const it = byId.get(id);
    const b = el("button", {type: "button", text: name(it)});
    b.addEventListener("click", () => show(id));
    return b;
  }

  function show(id) {
    const it = byId.get(id);
    chosen = id;
    const photo = Object.entries(it.inputs || {}).map(([, sha]) => data.pictures[sha])
      .find(Boolean);
    const picture = photo ? divider(photo, it.src, name(it), it.raw_before)
      : el("div", {class: "single"}, el("img", {src: it.src, alt: name(it)}));
    const list = el("dl");
    row(list, "Operation", it.title);
    row(list, "Prompt", it.prompt);
    row(list, "Template", it.template);
    row(list, "Values", it.values);
    row(list, "Options", Object.keys(it.options || {}).length ? it.options : null);
    row(list, "Made from", it.parent !== null && it.parent !== undefined && byId.has(it.parent)
      ? link(it.parent) : it.input_from);
    const next = children.get(id) || [];
    if (next.length) {
      const span = el("span");
      next.forEach((c) => span.append(link(c), " "));
      row(list, "Sent on to", span);
    }
    row(list, "Inputs (SHA-256)", Object.keys(it.inputs || {}).length ? it.inputs : null);
    row(list, "Credits", it.credits);
    row(list, "Made", it.created);
    row(list, "Engine", it.engine);
    row(list, "Digital source type", it.digital_source_type);
    row(list, "SHA-256", it.sha256);
    row(list, "File", it.file);
    detail.replaceChildren(el("h2", {text: name(it)}), picture, list);
    detail.hidden = false;
    render();
    detail.scrollIntoView();
  }

  op.addEventListener("change", () => { page = 0; render(); });
  words.addEventListener("input", () => { page = 0; render(); });
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
  render();
  window.cdwReport = {show, render};
})();

// Chunked upload for clipdrop-widgets: an anywidget ES module (no build step).
//
// The browser reads the chosen File, checks it against the rules Python put in the `rules`
// trait (byte size at once; format and pixel size from the file's header) and refuses it in
// plain words before a byte is sent. An accepted file goes to Python in `chunk_bytes` pieces
// (at most `window_chunks` unacknowledged), each its own small websocket message, so no front
// end's message limit is met; a progress bar follows Python's acknowledgements. Python
// reassembles the file, checks it again and answers "done" or "refused". Messages: see
// upload.py. While a file is on its way (from its choice to Python's answer or a refusal) the
// widget's element carries data-cdw-awaiting="1": the app's Run waits for it (keyboard.js), so
// a Run pressed straight after choosing a photo runs on that photo.

const HEAD_BYTES = 256 * 1024; // read to find the pixel size (a JPEG's may lie further: then unknown)
const ANSWER_MS = 120000; // no answer from the kernel for this long: say so, start over

function be16(b, i) { return (b[i] << 8) | b[i + 1]; }
function be32(b, i) { return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]); }
function le16(b, i) { return b[i] | (b[i + 1] << 8); }
function le24(b, i) { return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16); }
function ascii(b, i, n) { return String.fromCharCode(...b.subarray(i, i + n)); }

// {format, width, height} from the first bytes of a file; format null when not an image we
// read, width/height null when not found in these bytes.
export function sniff(b) {
  const out = { format: null, width: null, height: null };
  if (b.length >= 24 && b[0] === 0x89 && ascii(b, 1, 3) === "PNG" && ascii(b, 12, 4) === "IHDR") {
    return { format: "png", width: be32(b, 16), height: be32(b, 20) };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    out.format = "jpeg";
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) break;
      const m = b[i + 1];
      if (m === 0xff) { i += 1; continue; }
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
        out.height = be16(b, i + 5);
        out.width = be16(b, i + 7);
        break;
      }
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; }
      i += 2 + be16(b, i + 2);
    }
    return out;
  }
  if (b.length >= 30 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") {
    out.format = "webp";
    const kind = ascii(b, 12, 4);
    if (kind === "VP8 ") {
      out.width = le16(b, 26) & 0x3fff;
      out.height = le16(b, 28) & 0x3fff;
    } else if (kind === "VP8L") {
      out.width = 1 + (((b[22] & 0x3f) << 8) | b[21]);
      out.height = 1 + (((b[24] & 0x0f) << 10) | (b[23] << 2) | ((b[22] & 0xc0) >> 6));
    } else if (kind === "VP8X") {
      out.width = 1 + le24(b, 24);
      out.height = 1 + le24(b, 27);
    }
  }
  return out;
}

// A file size in words, as upload.py's size_words: "42 KB" under a megabyte (a small file
// is not "0.0 MB"), else "1.5 MB" (10**3 and 10**6 bytes, as the service's limits are given).
export function sizeWords(n) {
  if (n < 999500) return `${Math.max(1, Math.round(n / 1e3))} KB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}
function g(x) { return String(Number(x)); }

// The refusal in the words of upload.py's check_upload, or null when the facts pass.
export function refusal(rules, name, { nbytes, format = undefined, width = null, height = null }) {
  const q = `"${name}"`;
  if (rules.max_bytes != null && nbytes > rules.max_bytes) {
    return `${q} is ${sizeWords(nbytes)}; the file size limit is ${g(rules.max_bytes / 1e6)} MB`;
  }
  if (format !== undefined && !rules.formats.includes(format)) {
    return `${q} is not a ${rules.format_words} image`;
  }
  if (width == null || height == null) return null;
  const pixels = width * height;
  if (rules.max_megapixels != null && pixels > rules.max_megapixels * 1e6) {
    return `${q} is ${width}x${height} (${(pixels / 1e6).toFixed(1)} megapixels); ` +
      `the limit is ${g(rules.max_megapixels)} megapixels`;
  }
  if (rules.max_side != null && Math.max(width, height) > rules.max_side) {
    return `${q} is ${width}x${height}; the limit is ${rules.max_side} pixels a side`;
  }
  if (pixels > rules.max_pixels) {
    return `${q} is ${width}x${height}; no image over ${Math.floor(rules.max_pixels / 1e6)} ` +
      "megapixels is taken";
  }
  if (rules.square && width !== height) {
    return `${q} is ${width}x${height}; only square images are taken`;
  }
  return null;
}

export function createUpload({ model, el, input, button, bar, line, setTimer = setTimeout,
                               clearTimer = clearTimeout }) {
  const nonce = Math.random().toString(36).slice(2, 8);
  let counter = 0;
  let current = null; // {id, file, sent, acked, ended, pumping, timer}

  function say(text, refused = false) {
    line.textContent = text;
    line.className = "cdw-upload-line" + (refused ? " cdw-upload-refused" : "");
  }

  function awaiting(on) {
    if (el && el.dataset) el.dataset.cdwAwaiting = on ? "1" : "0";
  }

  function finish() {
    if (current !== null && current.timer !== null) clearTimer(current.timer);
    current = null;
    bar.hidden = true;
    awaiting(false);
  }

  function refuse(name, message) {
    finish();
    say(`\u26a0 Not loaded: ${message}`, true);
    model.send({ type: "refused", name, message });
  }

  function watch(c) {
    if (c.timer !== null) clearTimer(c.timer);
    c.timer = setTimer(() => {
      if (current === c) {
        finish();
        say(`\u26a0 Not loaded: the kernel did not answer while "${c.file.name}" was ` +
          "uploading; is it busy or stopped? Choose the file again.", true);
      }
    }, ANSWER_MS);
  }

  async function pump(c) {
    if (c.pumping) return;
    c.pumping = true;
    try {
      const chunk = model.get("chunk_bytes");
      const window = chunk * model.get("window_chunks");
      while (current === c && c.sent < c.file.size && c.sent - c.acked < window) {
        const end = Math.min(c.sent + chunk, c.file.size);
        const buf = await c.file.slice(c.sent, end).arrayBuffer();
        if (current !== c) return;
        model.send({ type: "chunk", id: c.id, offset: c.sent }, undefined, [new DataView(buf)]);
        c.sent = end;
      }
      if (current === c && c.sent >= c.file.size && !c.ended) {
        c.ended = true;
        model.send({ type: "end", id: c.id });
      }
    } finally {
      c.pumping = false;
    }
  }

  function progress(c) {
    bar.max = Math.max(1, c.file.size);
    bar.value = c.acked;
    const pct = c.file.size ? Math.floor((100 * c.acked) / c.file.size) : 100;
    say(`Uploading "${c.file.name}": ${pct} % (${sizeWords(c.acked)} of ${sizeWords(c.file.size)})`);
  }

  async function choose(file) {
    awaiting(true); // from the choice on: reading the header takes a moment too
    const rules = model.get("rules");
    const early = refusal(rules, file.name, { nbytes: file.size });
    if (early !== null) { refuse(file.name, early); return; }
    const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
    const facts = sniff(head);
    const late = refusal(rules, file.name, { nbytes: file.size, ...facts });
    if (late !== null) { refuse(file.name, late); return; }
    finish();
    counter += 1;
    const c = { id: `${nonce}-${counter}`, file, sent: 0, acked: 0, ended: false,
                pumping: false, timer: null };
    current = c;
    awaiting(true); // finish() above cleared it
    bar.hidden = false;
    progress(c);
    model.send({ type: "begin", id: c.id, name: file.name, size: file.size });
    watch(c);
    pump(c);
  }

  function onMessage(msg) {
    const c = current;
    if (!msg || c === null || msg.id !== c.id) return;
    if (msg.type === "ack") {
      c.acked = msg.received;
      progress(c);
      watch(c);
      pump(c);
    } else if (msg.type === "done") {
      finish();
      say(`Loaded "${c.file.name}" (${sizeWords(c.file.size)})`);
    } else if (msg.type === "refused") {
      finish();
      say(`\u26a0 Not loaded: ${msg.message}`, true);
    }
  }

  function onChange() {
    const file = input.files && input.files[0];
    input.value = ""; // the same file can be chosen again
    if (file) choose(file).catch((err) => refuse(file.name, `could not be read (${err})`));
  }

  // Synchronously, within the press (a click, or Enter or Space on the button): a browser
  // opens a file chooser only within a press's user activation, so never after an await or
  // a kernel round trip.
  function onClick() { input.click(); }

  function restyle() {
    const rules = model.get("rules");
    button.textContent = model.get("description");
    button.disabled = model.get("disabled");
    const limits = [rules.format_words];
    if (rules.max_bytes != null) limits.push(`at most ${g(rules.max_bytes / 1e6)} MB`);
    if (rules.max_megapixels != null) limits.push(`${g(rules.max_megapixels)} megapixels`);
    if (rules.max_side != null) limits.push(`${rules.max_side} pixels a side`);
    button.title = `Choose a ${limits.join(", ")} file`;
    input.accept = rules.formats.map((f) => `image/${f}`).join(",");
  }

  // Python forgot the file ("loaded" emptied: another photo replaced it): its "Loaded" line
  // would name a photo no longer shown; an upload under way or a refusal keeps its line.
  function onLoaded() {
    if (model.get("loaded") === "" && current === null &&
        line.textContent.startsWith("Loaded ")) say("");
  }

  const events = [["msg:custom", onMessage], ["change:description", restyle],
                  ["change:disabled", restyle], ["change:rules", restyle],
                  ["change:loaded", onLoaded]];
  for (const [name, fn] of events) model.on(name, fn);
  input.addEventListener("change", onChange);
  button.addEventListener("click", onClick);
  restyle();

  return {
    choose,
    // a file from a drop or a paste: as if chosen with the button (refused in plain words)
    take(file) { choose(file).catch((err) => refuse(file.name, `could not be read (${err})`)); },
    get current() { return current; },
    destroy() {
      for (const [name, fn] of events) model.off(name, fn);
      input.removeEventListener("change", onChange);
      button.removeEventListener("click", onClick);
      finish();
    },
  };
}

// The first image file a drag or a paste carries, or null.
export function imageFile(transfer) {
  if (!transfer) return null;
  for (const file of transfer.files || []) if (String(file.type).startsWith("image/")) return file;
  for (const item of transfer.items || []) {
    if (item.kind === "file" && String(item.type).startsWith("image/")) {
      const file = item.getAsFile();
      if (file) return file;
    }
  }
  return null;
}

// Drop an image file on the app's painter (or, without one, anywhere on the app), or paste
// one (Ctrl/Cmd+V) while the focus is in the app: `choose(file)` takes it through the same checks
// and chunked transport as the button. The app is the nearest ".cdw-app" around the button
// (none: no drops, the button still works); the painter is its layer stack.
export function attachDrops({ el, choose, tries = 600 }) {
  let app = null;
  let zone = null;
  let frame = null;
  function onOver(ev) {
    if (!ev.dataTransfer || ![...ev.dataTransfer.types].includes("Files")) return;
    ev.preventDefault();
    ev.stopPropagation();
    ev.dataTransfer.dropEffect = "copy";
    zone.style.outline = "3px dashed #1a73e8";
    zone.style.outlineOffset = "-3px";
  }
  function onLeave() { zone.style.outline = ""; }
  function onDrop(ev) {
    zone.style.outline = "";
    const file = imageFile(ev.dataTransfer);
    if (ev.dataTransfer && [...ev.dataTransfer.types].includes("Files")) {
      ev.preventDefault(); // never let the browser open the file instead
      ev.stopPropagation();
    }
    if (file) choose(file);
  }
  function onPaste(ev) {
    const file = imageFile(ev.clipboardData);
    if (!file) return; // text pastes as usual (the prompt)
    ev.preventDefault();
    ev.stopPropagation();
    choose(file);
  }
  function attach() {
    frame = null;
    app = el.closest(".cdw-app");
    if (app === null) {
      if (tries-- > 0) frame = requestAnimationFrame(attach);
      return;
    }
    const ink = app.querySelector(".cdw-ink-host");
    zone = ink && ink.parentElement ? ink.parentElement : app;
    zone.addEventListener("dragenter", onOver);
    zone.addEventListener("dragover", onOver);
    zone.addEventListener("dragleave", onLeave);
    zone.addEventListener("drop", onDrop);
    app.addEventListener("paste", onPaste);
  }
  attach();
  return {
    get zone() { return zone; },
    destroy() {
      if (frame !== null) cancelAnimationFrame(frame);
      if (zone !== null) {
        zone.removeEventListener("dragenter", onOver);
        zone.removeEventListener("dragover", onOver);
        zone.removeEventListener("dragleave", onLeave);
        zone.removeEventListener("drop", onDrop);
      }
      if (app !== null) app.removeEventListener("paste", onPaste);
    },
  };
}

export default {
  render({ model, el }) {
    el.classList.add("cdw-upload");
    const row = document.createElement("div");
    const button = document.createElement("button");
    button.className = "jupyter-button widget-button cdw-upload-button";
    button.type = "button";
    const input = document.createElement("input");
    input.type = "file";
    input.hidden = true;
    const bar = document.createElement("progress");
    bar.hidden = true;
    const line = document.createElement("div");
    line.className = "cdw-upload-line";
    line.setAttribute("role", "status");
    row.append(button, input);
    el.append(row, bar, line);
    const upload = createUpload({ model, el, input, button, bar, line });
    const drops = attachDrops({ el, choose: upload.take });
    return () => { drops.destroy(); upload.destroy(); };
  },
};

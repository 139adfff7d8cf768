// The browser half of Downloader (download.py): bytes arrive from the kernel in chunks
// (custom messages, one binary buffer each, well under tornado's 10 MiB message limit);
// when the last chunk of a file is in, it is handed to the browser as a Blob through a
// temporary <a download> link, so the file lands on the user's machine, not the kernel's.
// Runs in `initialize` (once per model), so a file is saved once however many views exist.
// To Python, once per page load: {kind: "shown"} (a kernel started ahead of its page, as
// Voila's preheated ones are, learns that a visitor has arrived).

function initialize({ model }) {
  try {
    model.send({ kind: "shown" });
  } catch (err) { // no kernel to tell
    console.warn("clipdrop-widgets: could not tell the kernel the page is shown:", err);
  }
  // id -> {name, mime, count, parts, received}. Chunks are counted as they arrive: an
  // Array(count) has holes, and .some()/.every() skip holes, so testing the parts array
  // would build the file from its first chunk (and a Blob writes a hole as "undefined").
  const pending = new Map();
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.kind !== "chunk") return;
    let file = pending.get(msg.id);
    if (!file) {
      file = { name: msg.name, mime: msg.mime, count: msg.count,
               parts: Array.from({ length: msg.count }, () => null), received: 0 };
      pending.set(msg.id, file);
    }
    if (file.parts[msg.index] !== null) return; // a repeated chunk: keep the first
    file.parts[msg.index] = chunkBytes(buffers && buffers[0]);
    file.received += 1;
    if (file.received < file.count) return;
    pending.delete(msg.id);
    const url = URL.createObjectURL(new Blob(file.parts, { type: file.mime }));
    const link = document.createElement("a");
    link.href = url;
    link.download = file.name;
    link.style.display = "none";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    model.set("delivered", model.get("delivered") + 1);
    model.save_changes();
  });
}

// One buffer of a custom message as bytes of its own (a DataView, a typed array or an
// ArrayBuffer, whichever the widget manager hands over; nothing for no buffer).
function chunkBytes(buffer) {
  if (!buffer) return new Uint8Array();
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer.slice(0));
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
}

function render({ el }) {
  el.style.display = "none";
}

export default { initialize, render };

"""download.js run under Node: a file sent in several chunks is saved once, whole.

Issue 21: a 1.49 MB result arrived as three files of 524,306 / 524,306 / 445,347 bytes (the
first ending in ``undefinedundefined``) and Download all gave one broken "zip" per chunk,
because the page built the file as soon as its first chunk came in. The browser suite saves
real 1.5 MB and 20 MB downloads (tests/browser/test_browser_big_downloads.py); this checks
the joining alone, chunk by chunk, in any arrival order.
"""

from __future__ import annotations

from typing import Any

import pytest
from node_harness import NODE, run_module

from clipdrop_widgets.widgets import download as download_module

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import { createHash } from "node:crypto";
import widget from "./download.mjs";

const saved = [];      // files the page handed to the browser: {name, size, sha256}
const blobs = new Map();
globalThis.URL.createObjectURL = (blob) => {
  const u = `blob:${blobs.size}`;
  blobs.set(u, blob);
  return u;
};
globalThis.URL.revokeObjectURL = () => {};
globalThis.setTimeout = () => 0;
const clicks = [];
globalThis.document = {
  body: { appendChild() {} },
  createElement() {
    return { style: {}, remove() {}, click() { clicks.push([this.href, this.download]); } };
  },
};
const handlers = {};
const model = {
  values: { delivered: 0 },
  send() {}, on(name, fn) { handlers[name] = fn; },
  get(k) { return this.values[k]; }, set(k, v) { this.values[k] = v; }, save_changes() {},
};
widget.initialize({ model });

function bytes(n, seed) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}
const CHUNK = Number(process.argv[2]);
// a file of 1.49 MB (three chunks) sent in order, as DataViews (what ipywidgets hands over)
function sendFile(id, data, order, wrap) {
  const count = Math.max(1, Math.ceil(data.length / CHUNK));
  for (const index of order(count)) {
    const part = data.subarray(index * CHUNK, (index + 1) * CHUNK);
    handlers["msg:custom"]({ kind: "chunk", id, index, count, name: `f${id}.bin`,
                             mime: "application/octet-stream" }, [wrap(part)]);
  }
}
const inOrder = (n) => [...Array(n).keys()];
const reversed = (n) => inOrder(n).reverse();
const asView = (p) => new DataView(p.buffer.slice(0), 0, p.byteLength);
const asBuffer = (p) => p.slice().buffer;
const sent = [[1, bytes(1490000, 1), inOrder, asView], [2, bytes(1490000, 2), reversed, asView],
              [3, bytes(100, 3), inOrder, asBuffer], [4, bytes(CHUNK * 4, 4), reversed, asBuffer]];
const expected = {};
for (const [id, data, order, wrap] of sent) {
  expected[`f${id}.bin`] = createHash("sha256").update(data).digest("hex");
  sendFile(id, data, order, wrap);
}
for (const [href, name] of clicks) {
  const data = Buffer.from(await blobs.get(href).arrayBuffer());
  saved.push({ name, size: data.length, sha256: createHash("sha256").update(data).digest("hex") });
}
console.log(JSON.stringify({ saved, expected, delivered: model.values.delivered }));
"""


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_module("download", HARNESS, str(download_module.CHUNK_BYTES))


def test_each_file_is_saved_once_whatever_its_chunks(run: dict[str, Any]) -> None:
    names = [f["name"] for f in run["saved"]]
    assert sorted(names) == ["f1.bin", "f2.bin", "f3.bin", "f4.bin"]
    assert run["delivered"] == 4


def test_the_saved_bytes_are_the_file_sent(run: dict[str, Any]) -> None:
    for saved in run["saved"]:
        assert saved["sha256"] == run["expected"][saved["name"]], saved


"""Driving JupyterLab and Voila pages with Playwright's sync API, and reading their pixels.

* JupyterLab: :func:`open_notebook`, :func:`run_all`, :func:`kernel_run` (run code in the
  notebook's kernel and get its stdout, through ``window.jupyterapp``), :func:`restart_kernel`.
* Pixels: :func:`canvas_rgba` reads a ``<canvas>`` with ``getImageData`` (what the page drew,
  layer by layer), :func:`screenshot_rgba` what the user sees (all layers composited).
* Pointer: :func:`drag` presses, moves along points and releases, with Playwright's mouse (one
  acknowledged event per move: a slow, exact drag; the latency benchmark uses CDP instead).
* Waiting: :func:`wait_until` polls a condition with a deadline; nothing here asserts on time.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image
from playwright.sync_api import Locator, Page

__all__ = [
    "JS_ALL_EXECUTED",
    "JS_CELL_ERRORS",
    "JS_COLLAPSE",
    "JS_INSTALL",
    "JS_KERNEL_IDLE",
    "JS_KERNEL_RUN",
    "JS_RUN_ALL",
    "PRELUDE",
    "TABS",
    "canvas_rgba",
    "drag",
    "first_visible",
    "kernel_run",
    "kernel_value",
    "open_notebook",
    "png_from_b64",
    "restart_kernel",
    "run_all",
    "screenshot_rgba",
    "wait_until",
]

T = TypeVar("T")

#: First cell of every test notebook: helpers the tests call through :func:`kernel_run`.
PRELUDE = """\
import base64 as _b64, io as _io, json as _json
def _png64(image):
    buf = _io.BytesIO()
    image.save(buf, format="PNG")
    return _b64.b64encode(buf.getvalue()).decode()
def _say(**values):
    print(_json.dumps(values))
"""

# JavaScript run in JupyterLab pages (shared with benchmarks/bench_latency.py's async driver).
#: Defines ``window.__cdwPanel(path)``: the notebook panel of ``path`` in the main area.
JS_INSTALL = """() => {
  window.__cdwPanel = (path) => {
    for (const w of window.jupyterapp.shell.widgets('main')) {
      if (w.context && w.context.path === path) return w;
    }
    return null;
  };
}"""
#: True once the notebook ``path``'s kernel is connected and idle.
JS_KERNEL_IDLE = """(path) => {
  const p = window.__cdwPanel && window.__cdwPanel(path);
  const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""
#: Collapse the side bars: the notebook gets the page's width.
JS_COLLAPSE = """() => {
  const shell = window.jupyterapp.shell;
  if (!shell.leftCollapsed) shell.collapseLeft();
  if (!shell.rightCollapsed) shell.collapseRight();
}"""
#: Run every cell of ``path``'s notebook (resolves when the run was queued and done).
JS_RUN_ALL = """async (path) => {
  const p = window.__cdwPanel(path);
  window.jupyterapp.shell.activateById(p.id);
  await window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""
#: True when every code cell of ``path`` has run and the kernel is idle.
JS_ALL_EXECUTED = """(path) => {
  const p = window.__cdwPanel(path);
  const cells = p.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type === 'code' && !c.executionCount) return false;
  }
  return p.sessionContext.session.kernel.status === 'idle';
}"""
#: The error outputs of ``path``'s cells, as "cell i: Name: message".
JS_CELL_ERRORS = """(path) => {
  const p = window.__cdwPanel(path), out = [], cells = p.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  }
  return out;
}"""
#: Run ``code`` in ``path``'s kernel (not as a cell): ``{out: stdout, err: "Name: msg" | null}``.
JS_KERNEL_RUN = """async ([path, code, timeoutMs]) => {
  const kernel = window.__cdwPanel(path).sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let out = '', err = null;
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream' && msg.content.name === 'stdout') out += msg.content.text;
    else if (t === 'error') err = `${msg.content.ename}: ${msg.content.evalue}`;
  };
  const timer = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('kernel code timed out')), timeoutMs));
  await Promise.race([future.done, timer]);
  return {out, err};
}"""


def wait_until(condition: Callable[[], T], *, timeout: float, interval: float = 0.1,
               what: str = "condition") -> T:
    """Poll ``condition()`` until it returns something other than ``None`` or ``False``
    (returned), or ``timeout`` s pass (``TimeoutError`` naming ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# -- JupyterLab -------------------------------------------------------------------------------
def open_notebook(page: Page, url: str, path: str, *, timeout: float = 90) -> None:
    """Open ``url`` (a ``lab/tree/<path>`` address) and wait until the notebook's kernel is
    idle; the left sidebar is collapsed so the notebook gets the width."""
    page.goto(url, timeout=timeout * 1000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell",
                           timeout=timeout * 1000)
    page.evaluate(JS_INSTALL)
    page.wait_for_function(JS_KERNEL_IDLE, arg=path, timeout=timeout * 1000)
    page.evaluate(JS_COLLAPSE)


def run_all(page: Page, path: str, *, timeout: float = 120) -> None:
    """Run every cell of the notebook and wait for the last; raise if a cell failed."""
    page.evaluate(JS_RUN_ALL, path)
    page.wait_for_function(JS_ALL_EXECUTED, arg=path, timeout=timeout * 1000)
    errors = page.evaluate(JS_CELL_ERRORS, path)
    if errors:
        raise AssertionError("notebook cells failed:\n" + "\n".join(errors))


def kernel_run(page: Page, path: str, code: str, *, timeout: float = 60) -> str:
    """Run ``code`` in the notebook's kernel (not as a cell) and return what it printed.

    A Python exception is raised here as ``AssertionError`` with its name and message.
    """
    result = page.evaluate(JS_KERNEL_RUN, [path, code, timeout * 1000])
    if result["err"]:
        raise AssertionError(f"kernel code failed: {result['err']}\n--- code ---\n{code}")
    return str(result["out"])


def kernel_value(page: Page, path: str, code: str, **kwargs: Any) -> Any:
    """``code`` must end by printing one JSON document (``_say(...)`` from the prelude);
    returns it decoded."""
    out = kernel_run(page, path, code, **kwargs).strip().splitlines()
    if not out:
        raise AssertionError(f"kernel code printed nothing:\n{code}")
    return json.loads(out[-1])


def restart_kernel(page: Page, path: str, *, timeout: float = 60) -> None:
    """Restart the notebook's kernel (no dialog) and wait until it is idle again."""
    page.evaluate("async (path) => { await window.__cdwPanel(path).sessionContext"
                  ".restartKernel(); }", path)
    page.wait_for_function(JS_KERNEL_IDLE, arg=path, timeout=timeout * 1000)


# -- pixels -----------------------------------------------------------------------------------
def canvas_rgba(canvas: Locator) -> np.ndarray:
    """The canvas's own pixels, ``(H, W, 4)`` uint8, read with ``getImageData``."""
    data = canvas.evaluate(
        """(c) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let s = '';
          for (let i = 0; i < d.length; i += 0x8000)
            s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
          return [c.width, c.height, btoa(s)];
        }""")
    width, height, b64 = data
    return np.frombuffer(base64.b64decode(b64), np.uint8).reshape(height, width, 4)


def screenshot_rgba(target: Locator | Page, path: Path | None = None) -> np.ndarray:
    """A screenshot of ``target`` as ``(H, W, 3)`` uint8 (also saved to ``path`` if given)."""
    png = target.screenshot(path=str(path) if path else None)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def first_visible(locator: Locator) -> Locator:
    """The first element of ``locator`` that is visible (the Studio keeps hidden tabs)."""
    for element in locator.all():
        if element.is_visible():
            return element
    raise AssertionError(f"nothing visible matches {locator}")


def png_from_b64(text: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(text.strip())))


# -- pointer ----------------------------------------------------------------------------------
def drag(page: Page, target: Locator, points: Sequence[tuple[float, float]], *,
         steps: int = 4) -> list[tuple[float, float]]:
    """Press at ``points[0]``, move through the rest (``steps`` events per segment), release.

    Points are CSS pixels relative to ``target``'s top-left corner; returns them in page
    coordinates.
    """
    box = target.bounding_box()
    if box is None:
        raise AssertionError("drag target is not visible")
    absolute = [(box["x"] + x, box["y"] + y) for x, y in points]
    page.mouse.move(*absolute[0])
    page.mouse.down()
    for x, y in absolute[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()
    return absolute


#: Each operation's tab: its title in the bar, and in its group's inner bar (or ``None``).
TABS: dict[str, tuple[str, str | None]] = {
    "text_to_image": ("Text to image", None), "sketch_to_image": ("Sketch to image", None),
    "cleanup": ("Cleanup", None), "text_inpainting": ("Text inpainting", None),
    "replace_background": ("Replace background", None),
    "remove_background": ("Cut-out & frame", "Remove background"),
    "uncrop": ("Cut-out & frame", "Uncrop"),
    "upscale": ("Size & variations", "Upscale"),
    "reimagine": ("Size & variations", "Reimagine"),
    "portrait_depth": ("Portrait", "Portrait depth"),
    "portrait_normals": ("Portrait", "Portrait normals")}

"""Photo apps in a page, the same way in JupyterLab and Voila: open, upload, paint, probe.

Voila gives the page no way to run code in the kernel, so every test notebook shows a small
"probe" button under the app: clicking it makes the kernel write what it holds (the photo's
name, size and SHA-256, the painter's display size and operations, the mask at the photo's
native resolution, the upload's last message, the status) to files the test reads. The same
probe serves JupyterLab, so each check reads the kernel the same way in both front ends.

Big test files are made here (:func:`noise_png`): PNGs of random pixels, which do not
compress, padded with a private ancillary chunk to an exact byte size.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from labpage import wait_until
from PIL import Image

__all__ = ["PROBE", "Clip", "PhotoPage", "app_cell", "noise_png", "photo_png", "portrait_photo"]

WAIT = 60.0

PROBE = """\
import hashlib as _hashlib, json as _json, os as _os, pathlib as _pathlib
import ipywidgets as _W
from IPython.display import display as _display
_out = _pathlib.Path(OUT)
_out.mkdir(parents=True, exist_ok=True)
_seq = [0]
from clipdrop_widgets.widgets.threads import UI_LOCK as _UI_LOCK
def _probe(_button=None):
    # under the lock the apps' callbacks hold: JupyterLab sends each widget's messages to a
    # kernel subshell, so this click can be handled while Use sample is half done on another
    # thread (CI once read the new photo's name beside the old photo's painter)
    with _UI_LOCK:
        _probe_locked()
def _probe_locked():
    _seq[0] += 1
    p = getattr(app, "painter", None)
    data = app.chooser.data if hasattr(app, "chooser") else None
    state = {
        "seq": _seq[0], "status": app.status, "runs": [a._runs for a in apps],
        "name": app.chooser.name if hasattr(app, "chooser") else None,
        "size": list(app.chooser.image.size) if hasattr(app, "chooser") else None,
        "sha": _hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else None,
        "message": app.chooser._upload.message if hasattr(app, "chooser") else None,
        "note": app.chooser._note.value if hasattr(app, "chooser") else None,
        "display": list(p.display_size) if p is not None else None,
        "ops": len(p.operations) if p is not None else None,
        "brush": p.brush_size if p is not None else None,
    }
    if p is not None:
        p.mask.save(_out / "mask.png")
    (_out / "state.tmp").write_text(_json.dumps(state))
    _os.replace(_out / "state.tmp", _out / "state.json")
_probe_button = _W.Button(description="probe")
_probe_button.add_class("cdw-test-probe")
_probe_button.on_click(_probe)
"""


def app_cell(class_name: str, out: Path, *, setup: str = "") -> str:
    """A cell showing ``class_name()`` (marked ``.cdw-test-app``) and the probe button.

    The probe reads ``app`` (and ``apps``, here ``[app]``); ``setup`` runs before display."""
    return (f"from clipdrop_widgets import {class_name}\n"
            f"app = {class_name}()\napp.add_class('cdw-test-app')\n"
            f"app.compare.add_class('cdw-test-compare')\napps = [app]\n{setup}\n"
            + PROBE.replace("OUT", repr(str(out)))
            + "_display(app, _probe_button)\n")


def noise_png(path: Path, size: tuple[int, int], nbytes: int, *, mode: str = "RGB",
              seed: int = 0) -> Path:
    """A PNG of random ``mode`` pixels of ``size``, padded to exactly ``nbytes`` bytes."""
    w, h = size
    channels = len(mode)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, channels), np.uint8), mode).save(
        path, compress_level=1)
    data = path.read_bytes()
    pad = nbytes - len(data) - 12
    if pad < 0:
        raise ValueError(f"{size} {mode} noise is already {len(data)} bytes > {nbytes}")
    chunk = b"cdWp" + bytes(pad)  # private, ancillary, safe to copy: readers skip it
    blob = struct.pack(">I", pad) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path.write_bytes(data[:-12] + blob + data[-12:])  # before IEND
    return path


def photo_png(path: Path, size: tuple[int, int]) -> Path:
    """A smooth picture of ``size`` (a gradient with a grid), small as a file."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.dstack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1),
                     ((x // 50 + y // 50) % 2) * 120 + 60]).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path)
    return path


def portrait_photo(path: Path, size: tuple[int, int]) -> Path:
    """The astronaut sample cropped to a portrait and enlarged to ``size`` (a JPEG)."""
    from clipdrop_widgets.apps._photo import load_sample

    photo = load_sample("astronaut")
    w, h = size
    crop_w = round(photo.height * w / h)
    left = (photo.width - crop_w) // 2
    photo.crop((left, 0, left + crop_w, photo.height)).resize(size, Image.Resampling.LANCZOS) \
        .save(path, quality=90)
    return path


@dataclass
class Clip:
    """A region of the page that screenshots like a locator (for the ``shot`` fixture)."""

    page: Any
    box: dict[str, float]

    def screenshot(self, path: str | None = None) -> bytes:
        return self.page.screenshot(path=path, clip=self.box)


@dataclass
class PhotoPage:
    """The page showing one photo app and its probe; ``out`` is where the probe writes."""

    page: Any
    out: Path
    scope: str = ".cdw-test-app"
    _seq: int = 0

    def probe(self) -> dict[str, Any]:
        """Click the probe and return the kernel's state (waits for this click's answer)."""
        self._seq += 1
        seq = self._seq
        # a DOM click: the probe must not take the keyboard focus from what the test does
        self.page.locator(".cdw-test-probe").first.evaluate("b => b.click()")

        def answered() -> dict[str, Any] | None:
            try:
                state = json.loads((self.out / "state.json").read_text())
            except (OSError, ValueError):
                return None
            return state if state["seq"] >= seq else None

        return wait_until(answered, timeout=WAIT, what="the kernel's probe")

    def mask(self) -> np.ndarray:
        """The painter's mask as the kernel holds it (written by the last probe)."""
        return np.asarray(Image.open(self.out / "mask.png"))

    def wait_state(self, check, *, what: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        """Probe until ``check(state)`` is true; returns that state."""
        last: list[dict[str, Any]] = []

        def ok() -> dict[str, Any] | None:
            last[:] = [self.probe()]
            return last[0] if check(last[0]) else None

        try:
            return wait_until(ok, timeout=WAIT, interval=0.3, what=what)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; the kernel's last state: {last}") from None

    # -- the upload -------------------------------------------------------------------------
    def upload_button(self):  # type: ignore[no-untyped-def]
        return self.page.locator(f"{self.scope} .cdw-upload-button").first

    def upload_line(self) -> str:
        return self.page.locator(f"{self.scope} .cdw-upload-line").first.inner_text()

    def upload(self, path: Path, *, expect: str = "Loaded") -> str:
        """Choose ``path`` with the upload button's file chooser; wait for the outcome line
        to start with ``expect`` ("Loaded" or "⚠ Not loaded") and return it."""
        with self.page.expect_file_chooser() as chooser:
            self.upload_button().click()
        start = time.monotonic()
        chooser.value.set_files(str(path))
        line = wait_until(lambda: (lambda t: t if t.startswith(("Loaded", "\u26a0")) and
                                   path.name in t else None)(self.upload_line()),
                          timeout=WAIT, what=f"the upload of {path.name}")
        self.last_upload_seconds = time.monotonic() - start
        assert line.startswith(expect), line
        return line

    # -- the painter --------------------------------------------------------------------------
    def ink(self):  # type: ignore[no-untyped-def]
        return self.page.locator(f"{self.scope} canvas.cdw-ink").first

"""What an app's Run costs beyond the client call itself, and the bytes it sends to the browser.

    .venv/bin/python benchmarks/bench_apps.py

For each of the five apps on the in-process local engine: the bare client call with the
app's own inputs against ``app.run(); app.wait()`` (reading the inputs, the worker thread,
the status line, the compare view, the history card), interleaved, medians of ROUNDS; and
the bytes one run sends towards the browser, counted where ipywidgets and ipycanvas hand
messages to the comm (JSON plus binary buffers).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import ipycanvas
import ipywidgets
from ipywidgets.widgets import widget as widget_module

from clipdrop_widgets import (
    CleanupApp,
    Client,
    ReplaceBackgroundApp,
    SketchToImageApp,
    TextInpaintingApp,
    TextToImageApp,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_apps import fill_inputs  # the inputs the app tests use

PROMPT = "a lighthouse on a cliff at dusk"  # what fill_inputs types

ROUNDS = 7


def bare_call(app: Any, client: Client) -> None:
    """The same request the app makes, straight through the client."""
    if isinstance(app, TextToImageApp):
        client.text_to_image(PROMPT)
    elif isinstance(app, SketchToImageApp):
        client.sketch_to_image(app.pad.to_image(), PROMPT)
    elif isinstance(app, CleanupApp):
        client.cleanup(app.chooser.image, app.painter.mask)
    elif isinstance(app, TextInpaintingApp):
        client.text_inpainting(app.chooser.image, app.painter.mask, PROMPT)
    else:
        client.replace_background(app.chooser.image, PROMPT)


class Wire:
    """Counts bytes sent towards the browser while active."""

    def __init__(self) -> None:
        self.bytes = 0
        self._saved: list[tuple[Any, str, Any]] = []

    def _count(self, content: Any, buffers: Any) -> None:
        self.bytes += len(json.dumps(content, default=str)) + sum(len(b) for b in buffers or [])

    def __enter__(self) -> Wire:
        real_send = ipywidgets.Widget._send
        real_create = widget_module.comm.create_comm
        manager = ipycanvas.canvas._CANVAS_MANAGER
        real_custom = manager._send_custom

        def send(widget: Any, msg: dict, buffers: Any = None) -> None:
            self._count(msg, buffers)
            real_send(widget, msg, buffers)

        def create(**kwargs: Any) -> Any:
            self._count(kwargs.get("data"), kwargs.get("buffers"))
            return real_create(**kwargs)

        def custom(command: Any, buffers: Any = None) -> None:
            self._count(command, buffers)
            real_custom(command, buffers or [])

        self._saved = [(ipywidgets.Widget, "_send", real_send),
                       (widget_module.comm, "create_comm", real_create),
                       (manager, "_send_custom", real_custom)]
        ipywidgets.Widget._send = send  # type: ignore[method-assign]
        widget_module.comm.create_comm = create
        manager._send_custom = custom  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, value in self._saved:
            setattr(owner, name, value)


def main() -> None:
    warnings.simplefilter("ignore")
    client = Client()
    print("| app | client call p50 (ms) | Run to Done p50 (ms) | overhead (ms) "
          "| bytes to the browser per run |")
    print("|---|---:|---:|---:|---:|")
    for cls in (TextToImageApp, SketchToImageApp, CleanupApp, TextInpaintingApp,
                ReplaceBackgroundApp):
        app = cls(client)
        fill_inputs(app)
        app.run()
        app.wait()  # warm up: samples loaded, first images sent
        bare, runs, sent = [], [], []
        for _ in range(ROUNDS):
            t = time.perf_counter()
            bare_call(app, client)
            bare.append(time.perf_counter() - t)
            with Wire() as wire:
                t = time.perf_counter()
                app.run()
                app.wait()
                runs.append(time.perf_counter() - t)
            sent.append(wire.bytes)
        b, r = statistics.median(bare) * 1e3, statistics.median(runs) * 1e3
        print(f"| {cls.__name__} | {b:.0f} | {r:.0f} | {r - b:.0f} "
              f"| {statistics.median(sent) / 1000:.0f} kB |")
    t = time.perf_counter()
    from clipdrop_widgets import Studio

    Studio(client)
    print(f"\n`Studio(client)` builds in {(time.perf_counter() - t) * 1e3:.0f} ms.")


if __name__ == "__main__":
    main()

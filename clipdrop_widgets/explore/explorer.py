"""PromptExplorer: write a template, list the values, run the sweep, compare the pictures.

>>> PromptExplorer()                    # the local engine (offline previews)
>>> PromptExplorer(client, inputs={"image": photo}, run_dir="runs/explorer")

The sweep runs in a background thread (a [`Sweep`][clipdrop_widgets.Sweep]); the grid
fills in as each result arrives. Every widget change from that thread goes through one lock,
so the front end never sees two half-made updates interleaved. Errors, from a callback or the
sweep, are shown in the error line under the controls.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
from PIL import Image

from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError, NotFoundError, StateError
from ..widgets import CompareSlider
from ..widgets._ui import ErrorLine, Layout
from ..widgets.keyboard import APP_CLASS, CANCEL_CLASS, RUN_CLASS, KeyboardShortcuts
from ..widgets.threads import UI_LOCK
from .items import prompted_operations, template_names
from .sweep import Sweep

__all__ = ["PromptExplorer", "parse_values"]

#: Grid thumbnails are at most this many CSS pixels a side.
THUMBNAIL_PX = 160
_PLACEHOLDER_COLOR = (232, 232, 232)
_FAILED_COLOR = (251, 227, 227)


def parse_values(text: str) -> list[str]:
    """The values in a variable's text area: one per line, blank lines and edges stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _thumbnail(image: Image.Image, px: int) -> bytes:
    thumb = image.convert("RGB")
    thumb.thumbnail((px, px))
    return _png(thumb)


def _words(prompt: str | None, sweep: Sweep, i: int) -> str:
    """What a cell's tooltip names: the item's prompt, else its label (``cat · seed 2``)."""
    return prompt if prompt is not None else sweep.label(i)


class _Cell:
    """One grid cell: a thumbnail above a button labelled with the item's prompt part."""

    def __init__(self, index: int, label: str, prompt: str, px: int, placeholder: bytes) -> None:
        self.index = index
        self.label = label
        self.image = widgets.Image(value=placeholder, format="png",
                                   layout=Layout(width=f"{px}px", height=f"{px}px",
                                                         object_fit="contain"))
        self.button = widgets.Button(description=label, tooltip=prompt,
                                     layout=Layout(width=f"{px}px"))
        self.box = widgets.VBox([self.image, self.button],
                                layout=Layout(align_items="center"))


class PromptExplorer(widgets.VBox):
    """A template box, one text area per variable, Run/Stop, a grid and a compare view.

    Args:
        client: the [`Client`][clipdrop_widgets.Client]; default ``Client()`` (the local engine
            without a key, offline previews).
        inputs: the fixed pictures for operations that take them: ``image``, ``mask``,
            ``sketch`` (what the client accepts). The operation menu offers the operations
            these inputs allow; text to image is always there.
        run_dir: a folder for the run logs; each sweep gets a subfolder named by its
            fingerprint, so running the same sweep again resumes without paying twice.
            Default ``None``: results are kept in memory.
        thumbnail_px: grid thumbnail size in CSS pixels (default 160).

    Attributes:
        sweep: the last sweep run (``None`` before the first).
        errors: the error line; ``errors.message`` is the error shown (``""`` when none).
    """

    def __init__(self, client: Any = None, *, inputs: Mapping[str, Any] | None = None,
                 run_dir: str | None = None, thumbnail_px: int = THUMBNAIL_PX) -> None:
        super().__init__()
        if client is None:
            from ..api.client import Client

            client = Client()
        self.client = client
        self.inputs = dict(inputs or {})
        self.run_dir = run_dir
        self.thumbnail_px = thumbnail_px
        self.sweep: Sweep | None = None
        self._lock = UI_LOCK  # every widget change from the worker thread or the page
        self._thread: threading.Thread | None = None
        self._cells: list[_Cell] = []
        self._full: dict[int, Image.Image] = {}
        self._anchor: int | None = None
        self._typed: dict[str, str] = {}
        self._placeholder = _png(Image.new("RGB", (8, 8), _PLACEHOLDER_COLOR))
        self._failed = _png(Image.new("RGB", (8, 8), _FAILED_COLOR))

        self.errors = ErrorLine()
        guard = self.errors.guard
        self.operation = widgets.Dropdown(
            options=[(ENDPOINTS[name].title, name) for name in self._operations()],
            description="Operation", tooltip="The operation every picture of the sweep uses")
        self.template = widgets.Text(value="", placeholder="a {animal} in {style}",
                                     description="Template",
                                     tooltip="The prompt, with {names} for the values to sweep",
                                     layout=Layout(width="520px"))
        self.variable_boxes: dict[str, widgets.Textarea] = {}
        self.variables_row = widgets.HBox([])
        self.run_button = widgets.Button(description="Run sweep", button_style="primary",
                                         icon="play",
                                         tooltip="Make one picture per combination of values")
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True,
                                          tooltip="Send no more requests (the grid stays)")
        self.bar = widgets.IntProgress(value=0, min=0, max=1,
                                       layout=Layout(width="200px"))
        self.status = widgets.Label("")
        self.compare_with = widgets.ToggleButtons(options=self._compare_modes(),
                                                  description="Compare",
                                                  tooltip="What a picture chosen in the grid "
                                                          "is compared with")
        self.grid = widgets.GridBox([], layout=Layout(grid_gap="6px"))
        self.compare = CompareSlider(max_width=512, max_height=512)
        self.compare.layout.display = "none"
        self.compare_title = widgets.Label("")

        self.template.observe(guard(self._on_template), "value")
        self.operation.observe(guard(self._on_operation), "value")
        self.run_button.on_click(self._reporting(self.run))
        self.stop_button.on_click(self._reporting(self.stop))
        # Ctrl/Cmd+Enter runs the sweep, and Run sees the template and values as shown on the
        # page even when typed a moment before (a sweep is paid for: never run a stale one).
        self.add_class(APP_CLASS)
        self.run_button.add_class(RUN_CLASS)
        self.stop_button.add_class(CANCEL_CLASS)
        self._keyboard = KeyboardShortcuts()
        # A press while a sweep runs is ignored, as Run is disabled then (never an error).
        self._keyboard.on_run(lambda: None if self.running else self._reporting(self.run)(None))
        self._keyboard.keep_input(self.template)
        self._keyboard.keep_input(self.operation)
        self.children = [
            widgets.HBox([self.operation, self.template]),
            self.variables_row,
            widgets.HBox([self.run_button, self.stop_button, self.bar, self.status,
                          self._keyboard]),
            self.errors,
            widgets.HBox([self.grid,
                          widgets.VBox([self.compare_with, self.compare_title, self.compare])]),
        ]

    def _reporting(self, action: Callable[[], None]) -> Callable[[Any], None]:
        """A button handler that shows what ``action`` raises in the error line.

        Unlike ``ErrorLine.guard`` it never clears the line on success: the sweep's thread
        may have shown an error meanwhile (``run`` clears the line itself before starting).
        """
        def handler(_: Any) -> None:
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - shown to the user, never lost
                with self._lock:
                    self.errors.show(exc)

        return handler

    # -- what can be chosen --------------------------------------------------------------------
    def _operations(self) -> list[str]:
        """The operations with a prompt whose required files are all in ``inputs``."""
        usable = []
        for name in prompted_operations():
            needed = {f.keyword for f in ENDPOINTS[name].file_fields if f.required}
            if needed <= {k for k, v in self.inputs.items() if v is not None}:
                usable.append(name)
        return usable

    def _input_picture(self, operation: str | None = None) -> Any:
        """The fixed picture ``operation`` (default: the chosen one) changes, else ``None``."""
        for f in ENDPOINTS[operation or self.operation.value].file_fields:
            if f.role in ("image", "sketch"):
                return self.inputs.get(f.keyword)
        return None

    def _compare_modes(self, sweep: Sweep | None = None) -> list[tuple[str, str]]:
        """The compare choices for the chosen operation, or for ``sweep`` (its pictures)."""
        modes = [("with another cell", "cell")]
        if self._input_picture(sweep.operation if sweep is not None else None) is not None or (
                sweep is not None and sweep.input_image(0) is not None):
            modes.insert(0, ("with its input", "input"))
        return modes

    def _on_operation(self, change: dict[str, Any]) -> None:
        self.compare_with.options = self._compare_modes()

    # -- variables -----------------------------------------------------------------------------
    def _on_template(self, change: dict[str, Any]) -> None:
        for name, box in self.variable_boxes.items():
            self._typed[name] = box.value
        try:
            names = template_names(change["new"])
        except ValueError:
            return  # half-typed ("a {ani"): keep the boxes until it parses; Run says why
        boxes = {}
        for name in names:
            box = self.variable_boxes.get(name) or widgets.Textarea(
                value=self._typed.get(name, ""), description=name,
                tooltip=f"The values of {{{name}}}, one a line",
                placeholder="one value per line", layout=Layout(width="260px",
                                                                       height="110px"))
            self._keyboard.keep_input(box)
            boxes[name] = box
        self.variable_boxes = boxes
        self.variables_row.children = list(boxes.values())

    def set_variables(self, values: Mapping[str, list[str] | str]) -> None:
        """Fill the variable boxes: a list of values, or text with one value per line."""
        for name, value in values.items():
            if name not in self.variable_boxes:
                raise NotFoundError(f"{name!r} is not a field of the template "
                               f"{self.template.value!r}")
            text = value if isinstance(value, str) else "\n".join(map(str, value))
            self.variable_boxes[name].value = text

    def variables(self) -> dict[str, list[str]]:
        """The values typed in each variable's box, by variable name."""
        return {name: parse_values(box.value) for name, box in self.variable_boxes.items()}

    # -- running -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while a sweep started by Run (or `run`) is going."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """Build the sweep from the boxes and run it in the background (what Run does).

        Raises (shown in the error line when clicked) if the template or an item is refused.
        """
        if self.running:
            raise StateError("a sweep is already running; Stop it first")
        names = template_names(self.template.value)
        variables = self.variables()
        empty = [name for name in names if not variables.get(name)]
        if empty:
            raise ConfigurationError(
                f"type at least one value for {', '.join(empty)} (one per line)")
        operation = self.operation.value
        files = {f.keyword for f in ENDPOINTS[operation].file_fields}
        options = dict(template=self.template.value, variables=variables,
                       inputs={k: v for k, v in self.inputs.items() if k in files})
        sweep = Sweep(self.client, operation, **options)
        if self.run_dir is not None:
            sweep = Sweep(self.client, operation, **options,
                          run_dir=os.path.join(self.run_dir, sweep.fingerprint))
        self.errors.clear()
        self._start(sweep)

    def run_sweep(self, sweep: Sweep) -> None:
        """Run a sweep made in code in the grid, any operation: pictures, option values or
        takes (``Sweep(client, "uncrop", images=..., options={"seed": [1, 2]})``). Cells are
        labelled by their values (``seed 2``); "with its input" compares a cell with the
        picture it was made from. Items already done in its ``run_dir`` show at once."""
        if self.running:
            raise StateError("a sweep is already running; Stop it first")
        self.errors.clear()
        self._start(sweep)

    def _start(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.compare_with.options = self._compare_modes(sweep)
        layout = sweep.layout()
        px = self.thumbnail_px
        self._full = {}
        self._anchor = None
        self._cells = [_Cell(it.index, sweep.label(it.index), _words(it.prompt, sweep, it.index),
                             px, self._placeholder) for it in sweep.items]
        for cell in self._cells:
            cell.button.on_click(self.errors.guard(lambda _, i=cell.index: self.select(i)))
        slots: list[Any] = [None] * (layout.nrows * layout.ncols)
        for cell, (r, c) in zip(self._cells, layout.cells, strict=True):
            slots[r * layout.ncols + c] = cell.box
        with self._lock:
            self.grid.layout.grid_template_columns = f"repeat({layout.ncols}, {px + 8}px)"
            self.grid.children = [s if s is not None else widgets.Box() for s in slots]
            self.compare.layout.display = "none"
            self.compare_title.value = ""
            self.bar.max = len(sweep.items)
            self.run_button.disabled = True
            self.stop_button.disabled = False
        for record in sweep.records:
            if record["status"] != "pending":
                self._show(record)
        self._thread = threading.Thread(target=self._work, name="prompt-explorer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        """The background thread: run the sweep; whatever goes wrong is shown, not lost."""
        assert self.sweep is not None
        try:
            self.sweep.run(progress=False, on_record=self._on_record)
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            with self._lock:
                self.errors.show(exc)
        finally:
            reason = self.sweep.stopped_reason
            with self._lock:
                if reason and reason != "stopped by the user":
                    self.errors.show(RuntimeError(f"the sweep stopped: {reason}"))
                self.status.value = self.sweep.progress().line()
                self.run_button.disabled = False
                self.stop_button.disabled = True

    def _on_record(self, record: dict[str, Any]) -> None:
        """Called from a sweep worker thread as each item finishes."""
        self._show(record)

    def _show(self, record: dict[str, Any]) -> None:
        """Put one record in its cell: thumbnail, style, progress (decoded outside the lock)."""
        assert self.sweep is not None
        i, status = record["index"], record["status"]
        cell = self._cells[i]
        image = self.sweep.image(i) if status == "ok" else None
        thumbnail = _thumbnail(image, self.thumbnail_px) if image is not None else None
        with self._lock:
            progress = self.sweep.progress()  # taken under the lock: never shown out of order
            if image is not None and thumbnail is not None:
                self._full[i] = image
                cell.image.value = thumbnail
                cell.button.button_style = ""
            elif status == "failed":
                cell.image.value = self._failed
                cell.button.button_style = "danger"
                cell.button.tooltip = f"{_words(record['prompt'], self.sweep, i)}\nfailed: " \
                                      f"{record['error']}"
                self.errors.show(RuntimeError(f"item {i} ({cell.label}) failed: "
                                              f"{record['error']}"))
            elif status == "uncertain":  # sent when its run was killed: maybe charged
                cell.button.tooltip = f"{_words(record['prompt'], self.sweep, i)}\n" \
                                      f"{record['error']}"
            self.bar.value = progress.done + progress.failed
            self.status.value = progress.line()

    def stop(self) -> None:
        """Ask the running sweep to stop: items in flight finish, nothing new starts."""
        if self.sweep is not None:
            self.sweep.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background sweep to end (seconds; default forever); ``True`` if it did."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    # -- comparing -----------------------------------------------------------------------------
    def select(self, i: int) -> None:
        """What a click on cell ``i`` does: compare it with its input, or with another cell.

        In "with another cell" mode, the first click picks a cell and the second compares
        the two (the first on the left).
        """
        if i not in self._full:
            record = self.sweep.records[i] if self.sweep else None
            state = record["status"] if record else "not run"
            raise NotFoundError(f"item {i} ({self._cells[i].label}) has no picture yet "
                              f"({state})")
        label = self._cells[i].label
        with self._lock:
            if self.compare_with.value == "input" and self.sweep is not None:
                own = self.sweep.input_image(i)  # a sweep over pictures: the item's own
                self.compare.set_images(own if own is not None else self._input_picture(
                    self.sweep.operation), self._full[i], labels=("Input", label))
                self.compare_title.value = f"input | {label}"
            elif self._anchor is None or self._anchor == i:
                self._anchor = i
                self.compare.set_images(None, self._full[i])
                self.compare_title.value = f"{label}: click another cell to compare"
            else:
                first, self._anchor = self._anchor, None
                self.compare.set_images(self._full[first], self._full[i],
                                        labels=(self._cells[first].label, label))
                self.compare_title.value = f"{self._cells[first].label} | {label}"
            self.compare.layout.display = ""

    # -- display ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        state = "running" if self.running else ("idle" if self.sweep is None else "done")
        items = len(self.sweep.items) if self.sweep is not None else 0
        return (f"PromptExplorer(operation={self.operation.value!r}, "
                f"template={self.template.value!r}, items={items}, state={state!r})")

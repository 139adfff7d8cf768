"""What every app shares: Run and Cancel, the worker thread, the status line, compare and history.

A subclass builds its input widgets, calls ``App.__init__`` with them, and implements
`App._request`: read the inputs (on the kernel's main thread, at Run) into a
`Request` whose ``call(client, cancel)`` the worker thread runs. Everything else lives here,
once:

* Run starts one worker thread; while it is in flight Run is disabled and a second click is
  ignored, so a double click never pays twice.
* A ticker updates "Working… N s" once a second, or "Waiting N s: the service asked for a
  pause (rate limit)" while the client holds the request back (`Client.waiting`); the worker
  then shows the result (compare view, history, status) or the error in plain words
  (`_status`).
* Cancel abandons the run: a request not sent yet (waiting for a rate-limit slot or a retry)
  is never sent; one already sent cannot be recalled: its answer, if it comes, goes to the
  history, not the stage.
* The user's inputs are only read, never changed, so a failure leaves them as they were.

Widget changes from worker threads are made under one lock (`UI_LOCK`), so two apps
sharing a history never interleave half-made updates; canvas drawing is further serialised
by the widgets' own batch lock (``widgets/_canvas.py``).
"""

from __future__ import annotations

import dataclasses
import html
import io
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import ClassVar

import ipywidgets as widgets
from PIL import Image, ImageDraw, ImageFont

from ..api.client import Client
from ..api.result import Result
from ..api.session import new_session_dir
from ..contract.endpoints import CONTENT_TYPE_FORMATS, ENDPOINTS, Endpoint
from ..contract.errors import CancelledError, ConfigurationError, ConfigurationTypeError
from ..widgets import CompareSlider, HistoryStrip, PromptBox
from ..widgets._ui import Layout, fixed_layout
from ..widgets.keyboard import (
    APP_CLASS,
    CANCEL_CLASS,
    RUN_CLASS,
    KeyboardShortcuts,
    text_boxes,
)
from ..widgets.sendto import INPUT_FROM, SendTo
from ..widgets.snapshot import Snapshot
from ..widgets.theme import color
from ..widgets.threads import UI_LOCK
from ._photo import PhotoChooser
from ._stage import STAGE_CSS, Stage, on_stage
from ._status import (
    cancelled_text,
    done_kind,
    done_text,
    earlier_text,
    error_text,
    late_text,
    notices_of,
    shown_text,
    waiting_text,
    working_text,
)

#: On an app's element while any of its requests is out (a Run, or a cancelled one whose
#: answer is still awaited): the Studio's page asks before it is left (its template).
AWAITING_CLASS = "cdw-awaiting"

__all__ = ["App", "Request", "UI_LOCK", "TICK_SECONDS", "FRAME_PX", "COMPARE_PX",
           "format_dropdown", "compose_snapshot"]

#: What a Send to replaced: (photo as sent, its name, its origin, the mask as PNG or None).
_Kept = tuple["bytes | Image.Image", str, "str | None", "bytes | None"]

_log = logging.getLogger("clipdrop_widgets.apps")

#: How often the "Working… N s" line is refreshed while a request is in flight (seconds).
TICK_SECONDS = 1.0
#: The painters' display box, in canvas pixels a side (shown smaller in a narrow window).
FRAME_PX = 512
#: The compare view's largest frame, in canvas pixels a side: at most this size on a wide page,
#: scaled by CSS to fit the stage (``_stage``).
COMPARE_PX = 768

#: A finished run whose answer is not as documented ("warn") is amber with a warning sign.
_STATUS_COLORS = {"idle": color("muted"), "busy": color("busy"), "done": color("done"),
                  "warn": color("busy"), "error": color("error")}


@dataclass(frozen=True)
class Request:
    """One run, read from the inputs at Run.

    Attributes:
        call: what the worker thread runs: ``call(client, cancel) -> Result``, passing
            ``cancel`` (a `threading.Event`, set by Cancel) to the client's method.
        before: the picture the compare view shows as "before" (``None``: after only).
        prompt: the prompt sent, remembered in the prompt box's recall list on success.
        input_from: which result the input picture came from
            (`origin`), recorded in the new result's
            ``inputs["input_from"]``; ``None`` for a sample, an upload or a drawing.
    """

    call: Callable[[Client, threading.Event], Result]
    before: Image.Image | None = None
    prompt: str | None = None
    input_from: str | None = None


class _Run:
    """One started run: its client, when it started, its cancel event, when it ended, its thread.

    A run is current while it is the app's ``_active`` one; Cancel makes it stop being so and
    sets ``cancel``, which stops the client before it sends.
    """

    __slots__ = ("cancel", "client", "done", "started", "thread")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cancel = threading.Event()
        self.started = time.perf_counter()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def format_dropdown(endpoint: Endpoint) -> widgets.Dropdown | None:
    """An output format menu for an endpoint whose ``accept`` offers a choice, else ``None``.

    The options and the default (the endpoint's own output type) come from the endpoint table.
    """
    if len(endpoint.accept) < 2:
        return None
    formats = [CONTENT_TYPE_FORMATS[mime] for mime in endpoint.accept]
    return widgets.Dropdown(
        options=[(f.upper() if f != "webp" else "WebP", f) for f in formats],
        value=CONTENT_TYPE_FORMATS[endpoint.output_content_type],
        description="Format", tooltip="The image format the result comes back in",
        layout=Layout(width="200px"),
    )


class App(Snapshot, widgets.VBox):
    """Base of the five apps (not for direct use): inputs, prompt, Run, Cancel, status, compare.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key); ``app.client`` may be reassigned.
        history: a [`HistoryStrip`][clipdrop_widgets.HistoryStrip] to add results to (a
            Studio shares one); default: the app makes and shows its own.
        session_dir: the session folder the app's own history writes every result to as it
            arrives; an existing session is reopened. Default: a new folder under the user
            data folder (`sessions_dir`). Not with
            ``history``.
        inputs: the subclass's input widgets: painters (a mask painter, a sketch pad) and the
            uncrop frame go on the stage, the others into the side panel above the prompt.
        options: extra option widgets (mode, format), shown under the prompt.

    Attributes:
        endpoint: the `Endpoint` this app calls.
        prompt: the [`PromptBox`][clipdrop_widgets.PromptBox] (limit from the endpoint table),
            or ``None``.
        compare: the [`CompareSlider`][clipdrop_widgets.CompareSlider] showing input and result.
        history: the [`HistoryStrip`][clipdrop_widgets.HistoryStrip] results go to.
        result: the result shown in the compare view (``None`` before the first).
        error: the exception of the last failed run (``None`` after a success).
        send_to: the "Send to" buttons under a result, beside Keep and Discard, offering the
            result shown to the operations that take a picture (a
            [`Studio`][clipdrop_widgets.Studio] sets them; an app on its own offers none).
    """

    endpoint_name: ClassVar[str]
    #: Whether the app can work on a result as its input picture (`use_result`).
    takes_picture: ClassVar[bool] = False
    #: What the empty compare view says will appear in it.
    empty_hint: ClassVar[str] = "The result will appear here after Run"

    def __init__(
        self,
        client: Client | None = None,
        *,
        history: HistoryStrip | None = None,
        session_dir: str | os.PathLike[str] | None = None,
        inputs: Sequence[widgets.Widget] = (),
        options: Sequence[widgets.Widget] = (),
    ) -> None:
        super().__init__(layout=Layout())
        self._client = client if client is not None else Client()
        self.endpoint = ENDPOINTS[self.endpoint_name]
        if history is not None and session_dir is not None:
            raise ConfigurationError("give history= or session_dir=, not both: a shared history "
                             "writes to its own session")
        self.history = history if history is not None else HistoryStrip(
            session_dir=session_dir if session_dir is not None else new_session_dir())
        self.result: Result | None = None
        self.error: BaseException | None = None
        self._runs = 0
        self._active: _Run | None = None  # the run in flight
        self._last: _Run | None = None  # the run started last (in flight, done or cancelled)
        self._threads: list[threading.Thread] = []
        self._awaiting = 0  # requests out (AWAITING_CLASS while any)
        self._befores: weakref.WeakKeyDictionary[Result, Image.Image] = (
            weakref.WeakKeyDictionary())
        self._finish_handlers: list[Callable[[App], object]] = []
        self._credit_views: list[Callable[[], object]] = []
        self._status_text = ""

        field = self.endpoint.prompt_field
        self.prompt = (PromptBox(field.max_chars, placeholder=field.doc or "Prompt")
                       if field is not None else None)
        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary",
                                         tooltip=f"Run {self.endpoint.title} on these inputs",
                                         layout=fixed_layout())
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="Stop waiting for the answer",
                                            layout=fixed_layout())
        self._status = widgets.HTML("", layout=fixed_layout())
        self._status.add_class("cdw-status")
        self._notices = widgets.HTML("", layout=fixed_layout())
        self.compare = CompareSlider(max_width=COMPARE_PX, max_height=COMPARE_PX,
                                     hint=self.empty_hint)
        self.send_to = SendTo(shown=False)  # shown with a result
        # One stage: the painters (photo or sketch) where they are largest, the result in
        # their place with Keep, Discard and Send to; the rest in the side panel (_stage).
        self._stage = Stage([w for w in inputs if on_stage(w)], self.compare,
                            on_keep=self.keep, on_discard=self.discard,
                            extras=[self.send_to])
        self.compare.add_row(self._stage.staging)
        self.compare.on_resize(lambda _w, _h: self._stage.refresh())
        self.run_button.on_click(lambda _b: self.run())
        self.cancel_button.on_click(lambda _b: self.cancel())
        # Ctrl/Cmd+Enter anywhere in the app runs it; Tab never sticks on a canvas.
        self.run_button.add_class(RUN_CLASS)
        self.cancel_button.add_class(CANCEL_CLASS)
        self.add_class(APP_CLASS)
        self._keyboard = KeyboardShortcuts()
        self._keyboard.on_run(self.run)
        self.history.on_select(self._on_history_select)
        self._set_status(f"Ready · {self._source_words()}", "idle")

        controls = [*(w for w in inputs if not on_stage(w)),
                    *([self.prompt] if self.prompt else []), *options,
                    widgets.HBox([self.run_button, self.cancel_button, self._keyboard],
                                 layout=fixed_layout()),
                    self._status, self._notices]
        title = widgets.HTML(f"{STAGE_CSS}<b>{html.escape(self.endpoint.title)}</b> "
                             f"<small>{html.escape(self.endpoint.doc)}</small>",
                             layout=fixed_layout())
        column = widgets.VBox(controls, layout=fixed_layout())
        column.add_class("cdw-panel")
        body = widgets.HBox([self._stage, column], layout=Layout(
            flex_flow="row wrap", align_items="flex-start", width="100%"))
        body.add_class("cdw-body")
        self.children = [title, body, *([self.history] if history is None else [])]
        # A new photo: the painter's shape changed, and the stage shows it, not a result made
        # from the photo before (walk 22b: an upload under a shown result stayed unseen while
        # the mask and Run went to it; the result stays in the history).
        chooser = getattr(self, "chooser", None)
        if chooser is not None:
            chooser.on_change(lambda _image: self._stage.show_input())
            if isinstance(chooser, PhotoChooser):
                chooser.before_sample = self._keep_before_sample
                chooser.before_upload = self._keep_before_upload
        # Run reads every prompt and every option as shown on the page, even if changed a
        # moment before (not a sample picker: its photo is what Python has drawn).
        choices = [w for w in options if isinstance(w, widgets.Dropdown)]
        for widget in [*text_boxes(column), *choices]:
            self._keyboard.keep_input(widget)

    # -- what subclasses provide --------------------------------------------------------------
    def _request(self) -> Request:
        """Read the inputs into a `Request` (main thread; raise to refuse the run)."""
        raise NotImplementedError

    def _inputs_picture(self) -> Image.Image | None:
        """A picture of the inputs for the static snapshot (default: none)."""
        return None

    # -- public -------------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        """The client the next Run uses; a run in flight keeps the one it started with."""
        return self._client

    @client.setter
    def client(self, client: Client) -> None:
        with UI_LOCK:
            self._client = client
            # A failure with the client left behind says nothing about this one.
            if self._active is None and (self._status_text.startswith("Ready")
                                         or self.error is not None):
                self.error = None
                self._set_status(f"Ready · {self._source_words()}", "idle")

    @property
    def status(self) -> str:
        """The status line as plain text."""
        return self._status_text

    @property
    def notices(self) -> tuple[str, ...]:
        """What the client changed before sending, for the result shown (may be empty)."""
        return notices_of(self.result) if self.result is not None else ()

    @property
    def running(self) -> bool:
        """True while a run is in flight (Run is disabled)."""
        return self._active is not None

    def run(self) -> None:
        """Start a run in a worker thread and return at once (what the Run button does).

        Ignored while a run is in flight. Problems with the inputs, like every failure, are
        shown in the status line (and kept in `error`), never raised.
        """
        with UI_LOCK:
            if self._active is not None:
                return
            try:
                request = self._request()
            except Exception as exc:  # noqa: BLE001 - shown in the status line
                self._show_error(exc, run_failed=True)
                return
            run = self._active = self._last = _Run(self._client)
            self.run_button.disabled = True
            self.cancel_button.disabled = False
            self._notices.value = ""
            self._set_status(working_text(0), "busy")
            run.thread = threading.Thread(target=self._work, args=(run, request),
                                          name=f"{self.endpoint_name}-run", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [run.thread]
            run.thread.start()

    def cancel(self) -> None:
        """Stop waiting for the run in flight; the app is usable again at once.

        A request still waiting to be sent (for a rate-limit slot or a retry) is never sent,
        and the status line then says nothing was spent. A request already sent cannot be
        recalled, and the service may still charge a credit for it: its answer, if it comes,
        is kept in the history (not shown), and the status line says it came and was charged.
        """
        with UI_LOCK:
            run = self._active
            if run is None:
                return
            run.cancel.set()
            self._active = None
            self._set_idle_buttons()
            self._set_status(cancelled_text(run.seconds), "error")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the worker threads (cancelled ones too) to end: ``timeout`` seconds, default
        forever. Returns ``True`` when none is left running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._threads):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        return not any(t.is_alive() for t in self._threads)

    def show(self, result: Result) -> None:
        """Show ``result`` in the compare view, beside the input it was made from when known."""
        with UI_LOCK:
            self.compare.set_images(self._befores.get(result, self._input_of(result)), result)
            self.result = result
            self._notices.value = self._notices_html(notices_of(result))
            self._show_send_to()
            self._stage.show_result()

    def keep(self) -> None:
        """Keep the result shown (Keep, under it) and work on it next: an app that takes a
        picture makes it its photo (`use_result`: the mask starts empty); the others show
        their inputs again (the sketch, the prompt). The history keeps the result."""
        with UI_LOCK:
            if self.result is None:
                return
            if self.takes_picture:
                self.use_result(self.result)  # says so in the status line
            else:
                self._say_idle("Result kept in the history: change the inputs, then Run")
            self._stage.show_input()

    def discard(self) -> None:
        """Put the result shown aside (Discard, under it): the stage shows the inputs as they
        were, and ``result`` is ``None``. Nothing is lost: the history keeps the result."""
        with UI_LOCK:
            result = self.result
            if result is None:
                return
            self.result = None
            self.compare.set_images(self._befores.get(result, self._input_of(result)), None)
            self._notices.value = ""
            self._show_send_to()
            self._stage.show_input()
            self._say_idle("Result discarded: back to the inputs as they were (the history "
                           "keeps it)")

    def _say_idle(self, text: str, kind: str = "idle") -> None:
        """Say ``text`` in the status line (a live region), unless a run is on (``kind``
        ``"warn"``: amber, with a warning sign)."""
        if self._active is None:
            self.error = None
            self._set_status(text, kind)

    def _focus_stage(self) -> None:
        """Move the page's keyboard focus to this app's stage (else its Run button)."""
        self._stage.helper.focus_stage()

    def use_result(self, result: Result) -> None:
        """Work on ``result``'s picture as this app's input (its photo); the next run records
        where it came from. Apps that take no picture (text to image, sketch to image) raise
        ``TypeError``."""
        raise ConfigurationTypeError(
            f"{self.endpoint.title} takes no picture: it cannot work on a result")

    def option_control(self, name: str) -> widgets.ValueWidget | None:
        """The control of the form field ``name`` (an option: ``mode``, ``seed``), or
        ``None`` when the app has none (Restore settings sets it)."""
        control = getattr(self, name, None)
        return control if isinstance(control, widgets.ValueWidget) else None

    def restore_input(self, name: str, data: bytes) -> bool:
        """Load ``data`` (the session's copy of the input field ``name`` a record names,
        such as ``image_file``, ``sketch_file`` or ``mask_file``) as that input; ``False``
        when the app has no place for it (Restore settings). Called photo first."""
        chooser = getattr(self, "chooser", None)
        if name == "image_file" and chooser is not None:
            chooser.load(data, name="the photo it was made from")
            return True
        return False

    def options_restored(self, names: Sequence[str]) -> None:
        """Called once Restore settings has set the controls of ``names`` (an app whose
        controls depend on each other, such as a seed drawn anew each run, follows here)."""

    def _took_picture(self, words: str, next_step: str, kept: str = "") -> None:
        """Say in the status line that a result became the input (unless a run is on), and
        what was kept of the photo it replaced (``kept``: "portrait.jpg and its mask"); the
        stage shows the inputs."""
        self._stage.show_input()
        chooser = getattr(self, "chooser", None)
        problem = chooser.problem if isinstance(chooser, PhotoChooser) else None
        if problem is not None and isinstance(chooser, PhotoChooser):
            # the line a screen reader hears carries the refusal the note under the photo
            # shows, not "…, then Run" (walk 22c #7)
            label = chooser.shrink_label
            fix = (f"press {label} for a copy that fits, or upload another photo"
                   if label else "upload another photo")
            text = f"Photo {words}: Run will refuse it: {problem}. {_cap(fix)}"
        else:
            step = next_step if "Run" in next_step else f"{next_step}, then Run"
            text = f"Photo {words}: {step}"
        if kept:
            text += f". What it replaced is kept: Back to {kept} brings it back"
        self._say_idle(text, "warn" if problem is not None else "idle")

    def _take_result(self, result: Result, next_step: str) -> None:
        """`use_result` for an app with a photo chooser: the photo (and the mask painted on
        it) that the result replaces is kept, and **Back to …** under the photo puts it back
        (nothing the user uploaded or painted is lost to a Send to)."""
        chooser = self._chooser()
        kept = self._kept_inputs()
        if kept is None:
            kept = self._inputs_now()
        words = chooser.load_result(result)
        self._offer_back(kept)
        self._took_picture(words, next_step, kept=self._kept_words(kept))

    def _keep_before_sample(self) -> Callable[[], object] | None:
        """Before **Use sample** replaces a photo the user brought (an upload, a sent
        picture) or painted a mask on: keep it, and once the sample is in, offer **Back to
        …** and say so (walk 22b: an upload and its mask were lost to Use sample)."""
        chooser = self._chooser()
        painter = getattr(self, "painter", None)
        painted = painter is not None and painter.coverage > 0
        if chooser.sample is not None and not painted:
            return None  # a sample, untouched: the menu brings it back
        kept = self._inputs_now()

        def offer() -> None:
            self._offer_back(kept)
            hint = getattr(self, "mask_hint", None) or getattr(self, "next_step", None)
            self._took_picture(f"{chooser.name} (a sample)", hint or "choose what to change",
                               kept=self._kept_words(kept))

        return offer

    def _keep_before_upload(self) -> Callable[[], object]:
        """Before an upload replaces the photo: keep what it replaces (unless an untouched
        sample, which the menu brings back) and, once the upload is in, offer **Back to …**
        and say in the status line what is shown now (walk 22b #7: after Keep, the Keep's
        words stayed under an uploaded photo, and Back skipped the kept result)."""
        chooser = self._chooser()
        painter = getattr(self, "painter", None)
        painted = painter is not None and painter.coverage > 0
        kept = None if chooser.sample is not None and not painted else self._inputs_now()

        def said() -> None:
            if kept is not None:
                self._offer_back(kept)
            w, h = chooser.image.size
            hint = getattr(self, "mask_hint", None) or getattr(self, "next_step", None)
            self._took_picture(f"{chooser.name} (uploaded, {w}x{h})",
                               hint or "choose what to change",
                               kept=self._kept_words(kept) if kept is not None else "")

        return said

    def _chooser(self) -> PhotoChooser:
        chooser = getattr(self, "chooser", None)
        if not isinstance(chooser, PhotoChooser):
            raise ConfigurationTypeError(f"{self.endpoint.title} takes no photo")
        return chooser

    def _inputs_now(self) -> _Kept:
        """The photo and the mask painted on it, as they are now."""
        chooser = self._chooser()
        painter = getattr(self, "painter", None)
        mask = None
        if painter is not None and painter.coverage > 0:
            buffer = io.BytesIO()
            painter.mask.save(buffer, "PNG")
            mask = buffer.getvalue()
        return chooser.data, chooser.name, chooser.origin, mask

    def _kept_inputs(self) -> _Kept | None:
        """The photo kept by an earlier Send to, when the photo now is that send's picture
        untouched (no mask): a second Send to keeps the user's own photo, not the first
        sent picture (which the history keeps)."""
        kept = getattr(self, "_kept", None)
        chooser = self._chooser()
        painter = getattr(self, "painter", None)
        if (kept is None or chooser.back_offer is None or chooser.origin is None
                or (painter is not None and painter.coverage > 0)):
            return None
        return kept

    @staticmethod
    def _kept_words(kept: _Kept) -> str:
        return kept[1] + (" and its mask" if kept[3] is not None else "")

    def _offer_back(self, kept: _Kept) -> None:
        self._kept = kept
        self._chooser().offer_back(self._kept_words(kept), self._back_to_kept)

    def _back_to_kept(self) -> None:
        """Put back the photo (and mask) a Send to replaced (what **Back to …** under the
        photo does); the picture it replaces is kept in turn, one press away."""
        kept = getattr(self, "_kept", None)
        if kept is None:
            raise ConfigurationError("no photo was replaced by a Send to here")
        now = self._inputs_now()
        photo, name, where, mask = kept
        self._chooser().load(photo, name=name, origin=where)
        if mask is not None:
            self.restore_input("mask_file", mask)  # Restore settings' way in for a mask
        self._offer_back(now)
        self._stage.show_input()
        self._say_idle(f"Back to {self._kept_words(kept)}; {self._kept_words(now)} is kept: "
                       f"Back to {self._kept_words(now)} brings it back")

    def _show_send_to(self) -> None:
        """Offer "Send to" only while a result of this app is shown."""
        self.send_to.show(self.result is not None)

    def _input_of(self, result: Result) -> Image.Image | bytes | None:
        """The photo or sketch a result (read back from a session) was made from, if kept."""
        for name in ("image_file", "sketch_file"):
            if name in result.files:
                return result.files[name]
        return None

    def on_finish(self, callback: Callable[[App], object]) -> None:
        """Call ``callback(app)`` from the worker thread whenever a request ends (succeeded,
        failed, or answered after a Cancel): credits may have changed."""
        self._finish_handlers.append(callback)

    def on_credits(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when a request ends, under `UI_LOCK` and just before the status
        line says how it ended: a credits display (the Studio's header) is redrawn in the
        same step as the status line, from the same number (the client's
        ``remaining_credits``), so the two never disagree, not even for a moment."""
        self._credit_views.append(callback)

    # -- the worker ---------------------------------------------------------------------------
    def _work(self, run: _Run, request: Request) -> None:
        # marked in the session folder until its result is written: another page of the
        # session (this one reloaded) says a result is still to come (page22b #1)
        # ... and the app's element carries AWAITING_CLASS, also after a Cancel while a sent
        # request's answer is awaited (charged, kept in the history): the page asks before
        # it is left and keeps the kernel (page22b #2; share/voila/templates/clipdrop)
        session = getattr(self.history, "session", None)
        with UI_LOCK:
            self._awaiting += 1
            self.add_class(AWAITING_CLASS)
        try:
            with session.running(self.endpoint_name) if session is not None else nullcontext():
                self._work_marked(run, request)
        finally:
            with UI_LOCK:
                self._awaiting -= 1
                if not self._awaiting:
                    self.remove_class(AWAITING_CLASS)

    def _work_marked(self, run: _Run, request: Request) -> None:
        ticker = threading.Thread(target=self._tick, args=(run,), daemon=True,
                                  name=f"{self.endpoint_name}-ticker")
        ticker.start()
        outcome: Result | Exception
        try:
            outcome = request.call(run.client, run.cancel)
            outcome.image  # noqa: B018 - decode here, off the main thread (raises if broken)
        except Exception as exc:  # noqa: BLE001 - every failure is shown in plain words
            _log.debug("%s run failed", self.endpoint_name, exc_info=True)
            outcome = exc
        finally:
            run.done.set()
        try:
            self._finish(run, request, outcome)
        except Exception as exc:  # noqa: BLE001 - showing the result failed: say so
            _log.debug("%s: showing the outcome failed", self.endpoint_name, exc_info=True)
            with UI_LOCK:
                self._show_error(exc)
        for handler in list(self._finish_handlers):
            try:
                handler(self)
            except Exception:  # noqa: BLE001 - a display hook must not break the app
                _log.debug("finish handler %r failed", handler, exc_info=True)

    def _tick(self, run: _Run) -> None:
        wait = min(TICK_SECONDS, 0.25)  # soon at first: a held request says so at once
        while not run.done.wait(wait):
            wait = TICK_SECONDS
            with UI_LOCK:
                if self._active is not run:
                    return
                self._set_status(self._working_words(run), "busy")

    @staticmethod
    def _working_words(run: _Run) -> str:
        """"Working… N s", or what the client holds the request back for (a 429's pause)."""
        waiting = getattr(run.client, "waiting", None)
        thread = run.thread.ident if run.thread is not None else None
        wait = waiting(thread) if callable(waiting) and thread is not None else None
        return waiting_text(wait, run.seconds)

    def _finish(self, run: _Run, request: Request, outcome: Result | Exception) -> None:
        with UI_LOCK:
            for view in list(self._credit_views):  # the balance may have changed, even for
                try:                                 # an answer ignored after a Cancel
                    view()
                except Exception:  # noqa: BLE001 - a display hook must not break the app
                    _log.debug("credits view %r failed", view, exc_info=True)
            if self._active is not run:  # cancelled after the request went out
                if isinstance(outcome, Result):  # paid for: kept, never lost (walk 22c #3)
                    self.history.add(self._with_origin(outcome, request))
                    if self._last is run:  # no later run's words to keep
                        self._set_status(late_text(outcome, run.seconds), "warn")
                    return
                _log.debug("%s: ignored an answer that came after Cancel", self.endpoint_name)
                if isinstance(outcome, CancelledError) and self._last is run:
                    self._set_status(cancelled_text(run.seconds, sent=False,
                                                    refused=outcome.refused), "error")
                return
            try:
                if isinstance(outcome, Result):
                    self._show_result(outcome, request, run)
                else:
                    self._show_error(outcome, run_failed=True)
            finally:
                self._active = None
                self._set_idle_buttons()

    @staticmethod
    def _with_origin(result: Result, request: Request) -> Result:
        """``result`` with the result its input came from, when it did (`INPUT_FROM`)."""
        if request.input_from is None:
            return result
        return dataclasses.replace(
            result, inputs={**result.inputs, INPUT_FROM: request.input_from})

    def _show_result(self, result: Result, request: Request, run: _Run) -> None:
        result = self._with_origin(result, request)
        if request.before is not None:
            self._befores[result] = request.before
        # a divider left at an end would hide the new result (or its photo): back to the middle
        self.compare.reset_divider()
        self.show(result)
        # the answer is in and charged: nothing left to cancel while the history (and its
        # session folder) writes it; a big picture takes a second or two, and "Working…"
        # with a live Cancel stood beside the shown result (walk 22c #1)
        self.cancel_button.disabled = True
        self._set_status("Received: adding it to the history…", "busy")
        self.history.add(result)
        if self.prompt is not None and request.prompt:
            self.prompt.remember(request.prompt)
        self._runs += 1
        self.error = None
        self._set_status(done_text(result, run.seconds, run.client.remaining_credits,
                                   balance_unknown=run.client.balance_doubt is not None),
                         done_kind(result))

    def _show_error(self, exc: BaseException, *, run_failed: bool = False) -> None:
        """Say ``exc`` in the status line; ``run_failed``: a run made no result (refused
        before sending or failed), so a result on the stage is an earlier run's."""
        self.error = exc
        text = error_text(exc)
        if run_failed and self.result is not None and self._stage.showing == "result":
            # the stage still shows an earlier run's result, with Keep and Discard: say whose
            # it is, so it is not taken for this run's (walk 22c #6); they act on it alone
            text += f" {earlier_text(self.result)}"
        self._set_status(text, "error")

    # -- display helpers ----------------------------------------------------------------------
    def _set_idle_buttons(self) -> None:
        self.run_button.disabled = False
        self.cancel_button.disabled = True

    def _set_status(self, text: str, kind: str) -> None:
        self._status_text = text
        icon = "&#9888; " if kind in ("error", "warn") else ""
        self._status.value = (f'<span style="color:{_STATUS_COLORS[kind]}">{icon}'
                              f"{html.escape(text)}</span>")

    @staticmethod
    def _notices_html(notices: Sequence[str]) -> str:
        return "".join(f"<div><small><i>Note: {html.escape(n)}</i></small></div>"
                       for n in notices)

    def _source_words(self) -> str:
        return ("local engine (offline previews)" if self.client.is_local
                else "ClipDrop service")

    def _on_history_select(self, result: Result) -> None:
        """Show on a card of the history: that result, with its prompt and its own status
        (a run in flight keeps its "Working…" line and puts its result first when done)."""
        if result.endpoint != self.endpoint_name:
            return
        with UI_LOCK:
            self.show(result)
            field = self.endpoint.prompt_field
            prompt = result.inputs.get(field.name) if field is not None else None
            if self.prompt is not None and isinstance(prompt, str):
                self.prompt.value = prompt
            if self._active is None:
                self.error = None
                self._set_status(shown_text(result), done_kind(result))

    def snapshot(self) -> Image.Image:
        """The app as a still picture: its inputs beside the compare view, and the status line.

        Saved notebooks and pages without a widget front end show it.
        """
        return compose_snapshot([self._inputs_picture(), self.compare.snapshot()],
                                [self.prompt.value if self.prompt else "", self.status])

    def __repr__(self) -> str:
        n = self._runs
        runs = f"{n} run{'' if n == 1 else 's'}"
        return f"{type(self).__name__}(source={self.client.source!r}, {runs})"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def compose_snapshot(pictures: Sequence[Image.Image | None], lines: Sequence[str], *,
                     height: int = 360) -> Image.Image:
    """``pictures`` side by side (each scaled to ``height`` pixels, never enlarged) above
    ``lines`` of text: an app's static picture."""
    shown = []
    for picture in pictures:
        if picture is None:
            continue
        picture = picture.convert("RGB")
        if picture.height > height:
            scale = height / picture.height
            picture = picture.resize((max(1, round(picture.width * scale)), height),
                                     Image.Resampling.LANCZOS)
        shown.append(picture)
    texts = [t for t in lines if t]
    font = ImageFont.load_default(size=14)
    width = max([sum(p.width for p in shown) + 8 * max(0, len(shown) - 1), 480])
    top = max((p.height for p in shown), default=0)
    canvas = Image.new("RGB", (width, top + 8 + 20 * len(texts)), "white")
    x = 0
    for picture in shown:
        canvas.paste(picture, (x, 0))
        x += picture.width + 8
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(texts):
        line = text if len(text) <= 90 else text[:89] + "…"
        draw.text((4, top + 6 + 20 * i), line, fill="#333333", font=font)
    return canvas


"""The five apps without a browser: inputs set from code, Run clicked, results and failures shown.

Successes run on the in-process local engine (``Client()``); every failure kind goes over
real HTTP to a loopback server (the served engine, or ``fault_server.FaultServer``).
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ipycanvas
import ipywidgets
import numpy as np
import pytest
from fault_server import Action, FaultServer
from PIL import Image

import clipdrop_widgets
from clipdrop_widgets import Client
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.apps import (
    CleanupApp,
    ReplaceBackgroundApp,
    SketchToImageApp,
    TextInpaintingApp,
    TextToImageApp,
    _base,
)
from clipdrop_widgets.apps._base import App
from clipdrop_widgets.apps._photo import SAMPLES, load_sample
from clipdrop_widgets.apps._status import error_text
from clipdrop_widgets.contract.endpoints import CONTENT_TYPE_FORMATS, ENDPOINTS
from clipdrop_widgets.contract.errors import InputError
from clipdrop_widgets.widgets import HistoryStrip
from clipdrop_widgets.widgets.upload import simulate_upload

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

APP_CLASSES = (TextToImageApp, SketchToImageApp, CleanupApp, TextInpaintingApp,
               ReplaceBackgroundApp)


# -- helpers ----------------------------------------------------------------------------------

class GatedClient(Client):
    """A real client whose calls wait at a gate first: a run stays in flight until the test
    opens it (``entered`` is set once a call is waiting)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def call(self, *args: Any, **kwargs: Any) -> Result:
        self.entered.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return super().call(*args, **kwargs)


class HeldServer(FaultServer):
    """A fault server that records each request, sets ``received``, and answers only once
    the test opens ``gate``: a request that is out, with its answer late."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.received = threading.Event()

    def _next(self) -> Action:
        self.received.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return super()._next()


def wait_for(predicate: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def fill_inputs(app: App) -> None:
    """Valid inputs for ``app``, set the way a user's drawing reaches the widgets."""
    if app.prompt is not None:
        app.prompt.value = "a lighthouse on a cliff at dusk"
    if isinstance(app, SketchToImageApp):
        app.pad.add_stroke([(60, 400), (250, 120), (450, 400)], width=8)
        app.pad.add_stroke([(100, 420), (420, 420)], width=6)
    if isinstance(app, (CleanupApp, TextInpaintingApp)):
        w, h = app.chooser.image.size
        app.painter.add_stroke([(w * 0.3, h * 0.5), (w * 0.6, h * 0.5)], width=h * 0.1)


@dataclass
class Inputs:
    """Everything the user made, copied, to check a failure changed none of it."""

    prompt: str | None
    sketch: np.ndarray | None
    strokes: int | None
    mask: np.ndarray | None
    photo: Image.Image | None
    photo_pixels: np.ndarray | None


def inputs_of(app: App) -> Inputs:
    sketch = mask = photo = pixels = None
    strokes = None
    if isinstance(app, SketchToImageApp):
        sketch, strokes = np.asarray(app.pad.to_image(256)).copy(), len(app.pad.operations)
    if isinstance(app, (CleanupApp, TextInpaintingApp)):
        mask, strokes = np.asarray(app.painter.mask).copy(), len(app.painter.operations)
    if hasattr(app, "chooser"):
        photo = app.chooser.image
        pixels = np.asarray(photo).copy()
    return Inputs(app.prompt.value if app.prompt else None, sketch, strokes, mask, photo, pixels)


def assert_unchanged(app: App, before: Inputs) -> None:
    after = inputs_of(app)
    assert after.prompt == before.prompt
    assert after.strokes == before.strokes
    for name in ("sketch", "mask", "photo_pixels"):
        a, b = getattr(after, name), getattr(before, name)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    assert after.photo is before.photo


def click_run(app: App, *, timeout: float = 30) -> None:
    app.run_button.click()
    assert app.wait(timeout), "the run did not finish"


def widget_tree(root: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    """Every widget reachable from ``root`` through its synced state (children, layouts,
    styles, the images a canvas draws...), ``root`` included."""
    instances = ipywidgets.widgets.widget._instances
    seen: dict[str, ipywidgets.Widget] = {}
    todo = [root]
    while todo:
        widget = todo.pop()
        if widget.model_id in seen:
            continue
        seen[widget.model_id] = widget

        def refs(value: Any) -> Iterator[str]:
            if isinstance(value, str) and value.startswith("IPY_MODEL_"):
                yield value[len("IPY_MODEL_"):]
            elif isinstance(value, (list, tuple)):
                for v in value:
                    yield from refs(v)
            elif isinstance(value, dict):
                for v in value.values():
                    yield from refs(v)

        for model_id in refs(widget.get_state()):
            if model_id in instances:
                todo.append(instances[model_id])
    return list(seen.values())


def canvases_of(app: App) -> list[ipycanvas.Canvas]:
    found = [w for w in widget_tree(app) if isinstance(w, ipycanvas.Canvas)]
    found += list(app.compare._sources.values())  # drawn into, never displayed
    return found


# -- the package surface ----------------------------------------------------------------------

def test_apps_module_exports_the_base_the_eleven_apps_and_the_studio() -> None:
    from clipdrop_widgets import apps

    assert apps.__all__ == ["App", "TextToImageApp", "SketchToImageApp", "CleanupApp",
                            "TextInpaintingApp", "ReplaceBackgroundApp", "RemoveBackgroundApp",
                            "UncropApp", "UpscaleApp", "ReimagineApp", "PortraitDepthApp",
                            "PortraitNormalsApp", "Studio"]
    assert clipdrop_widgets.CleanupApp is CleanupApp
    assert clipdrop_widgets.Studio is apps.Studio
    assert clipdrop_widgets.App is apps.App
    assert all(issubclass(getattr(apps, n), apps.App) for n in apps.__all__[1:-1])


def test_apps_never_import_requests() -> None:
    from pathlib import Path

    folder = Path(_base.__file__).parent
    for path in folder.glob("*.py"):
        assert "import requests" not in path.read_text(), path.name


@pytest.mark.parametrize("cls", APP_CLASSES)
def test_options_are_keyword_only(cls: type[App]) -> None:
    with pytest.raises(TypeError):
        cls(Client(), HistoryStrip())  # type: ignore[misc]


@pytest.mark.parametrize("cls", APP_CLASSES)
def test_limits_and_choices_come_from_the_endpoint_table(cls: type[App]) -> None:
    app = cls(Client())
    endpoint = ENDPOINTS[cls.endpoint_name]
    field = endpoint.prompt_field
    if field is None:
        assert app.prompt is None
    else:
        assert app.prompt is not None and app.prompt.max_chars == field.max_chars
    fmt = getattr(app, "format", None)
    if endpoint.accept:
        assert [v for _, v in fmt.options] == [CONTENT_TYPE_FORMATS[m] for m in endpoint.accept]
        assert fmt.value == CONTENT_TYPE_FORMATS[endpoint.output_content_type]
    else:
        assert fmt is None
    if cls is CleanupApp:
        assert [v for _, v in app.mode.options] == ["", *endpoint.field("mode").choices]
    if cls is SketchToImageApp:
        sketch = endpoint.field("sketch_file")
        assert app.pad.size[0] == app.pad.size[1] and sketch.square


def test_reprs_are_short_and_stable() -> None:
    assert repr(CleanupApp(Client())) == "CleanupApp(source='local engine', 0 runs)"
    app = TextToImageApp(Client(base_url="http://127.0.0.1:9"))
    assert repr(app) == "TextToImageApp(source='service', 0 runs)"
    app = TextToImageApp(Client())
    fill_inputs(app)
    click_run(app)
    assert repr(app) == "TextToImageApp(source='local engine', 1 run)"


# -- each app end to end on the local engine --------------------------------------------------

@pytest.mark.parametrize("cls", APP_CLASSES)
def test_each_app_end_to_end_on_the_local_engine(cls: type[App]) -> None:
    client = Client()
    app = cls(client)
    assert app.status == "Ready · local engine (offline previews)"
    fill_inputs(app)
    before = inputs_of(app)
    click_run(app)

    result = app.result
    assert isinstance(result, Result) and result.endpoint == cls.endpoint_name
    assert app.status.startswith("Done in ") and "offline preview" in app.status
    cost = ENDPOINTS[cls.endpoint_name].credits
    assert f"· {cost:g} credit" in app.status
    assert f"{client.remaining_credits:g} left" in app.status
    assert client.credits_spent == cost
    assert app.history.results == (result,)
    assert app.history in app.children  # an app without a shared history shows its own
    assert app.compare.after is result.image
    if cls is TextToImageApp:
        assert app.compare.before is None  # after-only
    elif cls is SketchToImageApp:
        assert app.compare.before.size == (1024, 1024)  # the table's max_side
    else:
        assert app.compare.before is app.chooser.image
    assert not app.run_button.disabled and app.cancel_button.disabled
    assert app.error is None and not app.running
    assert_unchanged(app, before)  # success changes no input either
    if app.prompt is not None:
        assert app.prompt.history[0] == app.prompt.value


def test_a_sketch_reaches_the_engine_as_drawn() -> None:
    app = SketchToImageApp(Client())
    fill_inputs(app)
    click_run(app)
    sent = app.compare.before
    np.testing.assert_array_equal(np.asarray(sent), np.asarray(app.pad.to_image(1024)))
    assert app.result.inputs["sketch_file"].startswith("PNG 1024x1024")


def test_cleanup_sends_the_chosen_sample_the_painted_mask_and_the_mode() -> None:
    with FaultServer() as srv:
        app = CleanupApp(Client(base_url=srv.url))
        app.chooser.choose_sample("rocket")
        assert app.chooser.image.size == load_sample("rocket").size
        assert app.painter.image is app.chooser.image  # the painter follows the chooser
        app.painter.add_rect(100, 100, 300, 200)
        click_run(app)
        app.mode.value = "quality"
        click_run(app)
        assert app.status.startswith("Done"), app.status
        default, seen = srv.seen
    assert default.texts == {}  # the service's default: no mode field at all
    assert seen.texts == {"mode": "quality"}
    photo = Image.open(io.BytesIO(seen.files["image_file"][2]))
    mask = np.asarray(Image.open(io.BytesIO(seen.files["mask_file"][2])))
    assert photo.size == (640, 427) and mask.shape == (427, 640)
    assert set(np.unique(mask)) == {0, 255} and mask[150, 200] == 255 and mask[50, 50] == 0


def test_an_uploaded_photo_is_sent_byte_for_byte() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(load_sample("chelsea"))).save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    with FaultServer(default=Action.image(content_type="image/png")) as srv:
        app = ReplaceBackgroundApp(Client(base_url=srv.url))
        # as the browser sends it: in chunks (upload.js), reassembled by the kernel
        assert simulate_upload(app.chooser._upload, "cat.jpg", data, chunk_bytes=4096) == ""
        assert app.chooser.name == "cat.jpg" and app.chooser._upload.loaded == "cat.jpg"
        assert app.compare.before is app.chooser.image  # shown before the first run
        app.prompt.value = ""  # replace background invents a scene for an empty prompt
        app.format.value = "png"
        click_run(app)
        assert app.status.startswith("Done"), app.status
        (seen,) = srv.seen
    assert seen.files["image_file"][2] == data
    assert seen.headers["Accept"] == "image/png"


def test_notices_from_the_client_are_shown() -> None:
    buf = io.BytesIO()
    load_sample("coffee").save(buf, "WEBP", lossless=True)
    app = CleanupApp(Client())
    app.chooser.load(buf.getvalue(), name="coffee.webp")
    fill_inputs(app)
    click_run(app)
    assert app.status.startswith("Done")
    assert any("sent as PNG" in n for n in app.notices)
    assert "Note: image_file was WEBP" in app._notices.value


def test_the_status_counts_seconds_while_working(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base, "TICK_SECONDS", 0.05)
    client = GatedClient()
    app = TextToImageApp(client)
    fill_inputs(app)
    seen: list[str] = []
    app._status.observe(lambda _c: seen.append(app.status), "value")
    app.run_button.click()
    assert client.entered.wait(5)
    assert app.status.startswith("Working… ")
    threading.Timer(1.3, client.gate.set).start()
    assert app.wait(10)
    assert "Working… 1 s" in seen, seen
    done = re.fullmatch(r"Done in (\d+\.\d) s · 2 credits · \d+ left · offline preview",
                        app.status)
    assert done and float(done.group(1)) >= 1.2, app.status  # timed from Run, gate included


# -- failures: plain words, inputs kept -------------------------------------------------------

def _invalid_input(app: App) -> str:
    """Make the inputs break a rule of the table; returns words the message must contain."""
    if isinstance(app, SketchToImageApp):
        app.prompt.value = "x" * 5001
        return "at most 5000"
    big = Image.new("RGB", (4000, 3000), (90, 120, 150))  # 12 MP: over text inpainting's 10
    app.chooser.load(big, name="big.png")
    fill_inputs(app)
    assert "Run will refuse it" in app.chooser._note.value
    return "10 megapixels"


FAILURES: dict[str, tuple[Action | None, dict[str, Any], tuple[str, ...]]] = {
    "invalid input": (None, {}, ("Not sent",)),
    "402": (Action.error(402, "Not enough credits"), {}, ("402", "Buy credits for this key")),
    "429": (Action.error(429, "Too many requests"), {"max_retries": 0},
            ("429", "Too many requests", "Wait a little")),
    "500": (Action.error(500, "Internal error"), {"max_retries": 0},
            ("500", "The server failed")),
    "timeout": (Action("stall", seconds=3), {"timeout": 0.3, "max_retries": 0},
                ("did not answer within 0.3 s", "try again")),
}


@pytest.mark.parametrize("kind", list(FAILURES))
@pytest.mark.parametrize("cls", [SketchToImageApp, TextInpaintingApp])
def test_each_failure_shows_plain_words_and_keeps_the_inputs(cls: type[App], kind: str) -> None:
    action, options, words = FAILURES[kind]
    with FaultServer() as srv:
        if action is not None:
            srv.script(action)
        app = cls(Client(base_url=srv.url, **options))
        fill_inputs(app)
        if kind == "invalid input":
            words = (*words, _invalid_input(app))
        before = inputs_of(app)
        click_run(app)
        sent = len(srv.seen)
    assert sent == (0 if kind == "invalid input" else 1)
    for word in words:
        assert word in app.status, app.status
    assert "Traceback" not in app.status and "\n" not in app.status
    assert app.error is not None and app.result is None and app.history.results == ()
    assert app.compare.after is None
    assert not app.run_button.disabled and app.cancel_button.disabled
    assert_unchanged(app, before)


def test_out_of_credits_on_the_served_engine(make_served_engine: Callable[..., Any]) -> None:
    handle = make_served_engine(credits=0)
    app = TextToImageApp(Client(base_url=handle.url, api_key="k"))
    fill_inputs(app)
    prompt = app.prompt.value
    click_run(app)
    assert app.status.startswith("Failed (402)") and "Buy credits for this key" in app.status
    assert app.prompt.value == prompt


@pytest.mark.parametrize("cls", [CleanupApp, TextInpaintingApp, SketchToImageApp])
def test_an_empty_mask_or_sketch_is_refused_before_sending(cls: type[App]) -> None:
    with FaultServer() as srv:
        app = cls(Client(base_url=srv.url))
        if app.prompt is not None:
            app.prompt.value = "a boat"
        click_run(app)
        assert srv.seen == []
    assert app.status.startswith("Not sent: the ") and "empty" in app.status
    assert isinstance(app.error, InputError)


def test_while_a_result_is_saved_the_status_says_so_and_cancel_is_off() -> None:
    """walk 22c #1: a big result was shown, and charged, while the status still said
    "Working… 8 s" and Cancel was live (the session writing it took 1.5-2 s)."""
    app = TextToImageApp(Client(base_url="local://engine"))
    seen = []
    add = app.history.add

    def watching(result: Result) -> Any:
        seen.append((app.status, app.cancel_button.disabled, app.result is result))
        return add(result)

    app.history.add = watching  # type: ignore[method-assign]
    fill_inputs(app)
    click_run(app)
    assert seen == [("Received: adding it to the history…", True, True)]
    assert app.status.startswith("Done in ") and app.cancel_button.disabled


def test_a_401_tells_a_studio_user_where_a_key_goes() -> None:
    """walk 22c: the 401 advice spoke to code only ("pass api_key= to Client")."""
    with FaultServer(default=Action.error(401, "missing api key")) as srv:
        app = TextToImageApp(Client(base_url=srv.url, max_retries=0))
        fill_inputs(app)
        click_run(app)
    assert app.status.startswith("Failed (401)")
    assert "API key box" in app.status and "CLIPDROP_API_KEY" in app.status


def test_a_prompt_holding_the_key_is_refused_and_kept() -> None:
    """att23 #7: the key pasted into the prompt is refused before sending; the prompt stays
    for the user to mend; the status does not show the key."""
    key = "sk-test-0123456789abcdef0123"
    with FaultServer() as srv:
        app = TextToImageApp(Client(base_url=srv.url, api_key=key))
        app.prompt.value = f"a cat, key {key}"
        click_run(app)
        assert srv.seen == []
    assert app.status.startswith("Not sent: ") and "API key" in app.status
    assert key not in app.status and app.prompt.value == f"a cat, key {key}"
    assert isinstance(app.error, InputError)


def test_error_words_for_unexpected_failures_are_one_line() -> None:
    text = error_text(RuntimeError("first line\n  File 'x.py', line 3\nTraceback"))
    assert text == "Something went wrong (RuntimeError): first line."


def test_a_failure_while_showing_the_result_is_shown_not_lost() -> None:
    app = TextToImageApp(Client())
    fill_inputs(app)

    def broken(_result: Result) -> None:
        raise RuntimeError("the history strip is gone")

    app.history.add = broken  # type: ignore[method-assign]
    click_run(app)
    assert app.status == "Something went wrong (RuntimeError): the history strip is gone."
    assert not app.running and not app.run_button.disabled


# -- in flight: one request per click, Cancel, drawing meanwhile -----------------------------

def test_a_double_click_pays_once() -> None:
    with FaultServer() as srv:
        client = GatedClient(base_url=srv.url)
        app = SketchToImageApp(client)
        fill_inputs(app)
        app.run_button.click()
        app.run_button.click()  # faster than the front end could disable the button
        assert app.run_button.disabled and not app.cancel_button.disabled and app.running
        app.run()
        client.gate.set()
        assert app.wait(10)
        assert len(srv.seen) == 1
    assert len(app.history.results) == 1 and app.status.startswith("Done")


def test_cancel_leaves_the_app_usable_and_keeps_the_paid_late_result() -> None:
    """A request that went out cannot be recalled: its answer, charged, came after Cancel and
    was dropped, so a paid picture was lost and the session forgot its credit (walk 22c #3).
    It goes to the history, not the stage, and the status says it came and was charged."""
    with HeldServer() as srv:
        client = Client(base_url=srv.url)
        app = SketchToImageApp(client)
        fill_inputs(app)
        app.run_button.click()
        assert srv.received.wait(5)  # the request is out; the server holds its answer
        strokes = len(app.pad.strokes)
        app.pad.add_stroke([(10, 10), (500, 10)], width=4)  # drawing works while in flight
        assert len(app.pad.strokes) == strokes + 1

        app.cancel_button.click()
        assert app.status.startswith("Cancelled after ") and "may still charge" in app.status
        assert not app.run_button.disabled and app.cancel_button.disabled and not app.running
        # its answer is still awaited: the page asks before it is left (page22b #2)
        assert _base.AWAITING_CLASS in app._dom_classes

        srv.gate.set()  # the abandoned request is now answered (and paid for)
        assert app.wait(10)
        deadline = time.monotonic() + 5
        while _base.AWAITING_CLASS in app._dom_classes and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _base.AWAITING_CLASS not in app._dom_classes  # nothing out any more
        assert client.credits_spent == 1
        assert app.result is None and app.compare.after is None  # not put on the stage
        [late] = app.history.results
        assert late.credits_consumed == 1
        assert app.status.startswith("Cancelled, but the request had gone out: its answer "
                                     "came after ") and "charged 1 credit" in app.status

        click_run(app)  # usable again
        assert len(srv.seen) == 2
    assert app.status.startswith("Done") and len(app.history.results) == 2
    assert client.credits_spent == 2 and repr(app).endswith("1 run)")


@pytest.mark.parametrize(("status", "reason"), [(500, "Internal error"),
                                               (429, "Too many requests")])
def test_cancel_before_a_retry_is_sent_spends_nothing(
        monkeypatch: pytest.MonkeyPatch, status: int, reason: str) -> None:
    monkeypatch.setattr(_base, "TICK_SECONDS", 0.05)
    with FaultServer() as srv:
        srv.script(Action.error(status, reason, Retry_After="5"))
        client = Client(base_url=srv.url, max_retries=2)
        app = TextToImageApp(client)
        fill_inputs(app)
        app.run_button.click()
        wait_for(lambda: len(srv.seen) == 1)  # the first try failed; the retry waits 5 s
        # it was sent once and refused: "not sent yet" would contradict that (walk 22b #4)
        wait_for(lambda: app.status.startswith("Waiting"))
        assert re.fullmatch(r"Waiting \d s: the service asked to try again later \(it will be "
                            rf"sent again\)\. Refused with {status}, not charged; not sent "
                            r"again yet: Cancel spends nothing\.", app.status), app.status
        app.cancel_button.click()
        assert app.wait(5)  # the client stopped waiting at once
        assert len(srv.seen) == 1 and client.credits_spent == 0
    assert app.status == ("Cancelled after 0 s, before the request was sent again (it was "
                          f"refused with {status}, not charged): nothing was spent.")
    assert app.result is None and not app.running


def test_cancel_docstring_says_a_credit_may_still_be_spent() -> None:
    assert "charge a credit" in " ".join(App.cancel.__doc__.split())


def test_run_from_the_worker_finishes_even_if_a_finish_hook_fails() -> None:
    app = TextToImageApp(Client())
    calls: list[App] = []
    app.on_finish(lambda a: (_ for _ in ()).throw(RuntimeError("hook")))
    app.on_finish(calls.append)
    fill_inputs(app)
    click_run(app)
    assert calls == [app] and app.status.startswith("Done")


# -- history, snapshots, Voila ----------------------------------------------------------------

def test_choosing_a_history_item_shows_it_with_its_input() -> None:
    history = HistoryStrip()
    client = Client()
    cleanup = CleanupApp(client, history=history)
    text = TextToImageApp(client, history=history)
    assert history not in cleanup.children  # a shared history is shown by its owner
    fill_inputs(cleanup)
    click_run(cleanup)
    first_photo, first = cleanup.chooser.image, cleanup.result
    cleanup.chooser.choose_sample("astronaut")
    fill_inputs(cleanup)
    click_run(cleanup)
    fill_inputs(text)
    click_run(text)
    assert history.results[-1] is text.result and len(history.results) == 3

    history._cards[2].children[2].children[0].click()  # "Show" under the oldest thumbnail
    assert cleanup.result is first
    assert cleanup.compare.after is first.image and cleanup.compare.before is first_photo
    assert text.result is history.results[-1]  # another endpoint's app is left alone


def test_app_snapshot_is_inputs_and_compare_view() -> None:
    app = CleanupApp(Client())
    fill_inputs(app)
    click_run(app)
    bundle = app._repr_mimebundle_()
    assert bundle["text/plain"] == repr(app)
    picture = Image.open(io.BytesIO(bundle["image/png"]))
    assert picture.width > picture.height > 100


@pytest.mark.parametrize("cls", APP_CLASSES)
def test_every_canvas_redraws_when_a_page_connects(cls: type[App]) -> None:
    """Voila's default mode: draw commands sent before the page connects are lost, so each
    canvas an app shows (or draws from) must redraw on ``client_ready``."""
    app = cls(Client())
    canvases = canvases_of(app)
    assert canvases
    for canvas in canvases:
        assert canvas._client_ready_callbacks.callbacks, canvas


def test_apps_draw_only_through_their_widgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a run, a new page gets the result back by the compare view's own redraw."""
    app = TextToImageApp(Client())
    fill_inputs(app)
    click_run(app)
    sent: list[Any] = []
    manager = ipycanvas.canvas._CANVAS_MANAGER
    monkeypatch.setattr(manager, "_send_custom", lambda cmd, buffers=None: sent.append(cmd))
    app.compare._canvas._handle_frontend_event(None, {"event": "client_ready"}, [])
    assert sent  # the frame is drawn again for the new page


def test_sample_photos_load_lazily_once() -> None:
    load_sample.cache_clear()
    CleanupApp(Client())
    assert load_sample.cache_info().currsize == 1  # only the sample shown first
    assert set(SAMPLES) == {"astronaut", "coffee", "chelsea", "rocket"}
    with pytest.raises(KeyError):
        load_sample("moon-landing")


def test_an_empty_compare_view_already_takes_its_place() -> None:
    app = SketchToImageApp(Client())
    assert app.compare.frame_size == (_base.COMPARE_PX, _base.COMPARE_PX * 3 // 4)



# -- a 429's pause: named when it fails, shown while a later Run waits it out ------------------

def test_a_429s_long_pause_is_named_once_and_a_later_run_says_it_waits_for_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base, "TICK_SECONDS", 0.05)
    with FaultServer() as srv:
        srv.script(Action.error(429, "Too many requests", Retry_After="600"))
        app = CleanupApp(Client(base_url=srv.url, api_key="sk-test-pause"))
        fill_inputs(app)
        click_run(app)
        # the figure the server asked for, and the reason once (it was doubled)
        assert app.status.startswith("Failed (429): Too many requests."), app.status
        assert "pause of 600 s" in app.status and "not retried" in app.status, app.status
        assert app.status.count("Too many requests") == 1, app.status
        app.run_button.click()  # the client holds this one back for the pause (at most 60 s)
        for _ in range(100):
            if app.status.startswith("Waiting"):
                break
            time.sleep(0.05)
        waiting = re.fullmatch(r"Waiting (\d+) s: the service asked for a pause \(rate limit\)\. "
                               r"Not sent yet: Cancel spends nothing\.", app.status)
        assert waiting and 50 <= int(waiting.group(1)) <= 60, app.status
        assert not app.cancel_button.disabled and app.run_button.disabled
        app.cancel_button.click()
        assert app.wait(5)
        assert app.status.startswith("Cancelled") and "nothing was spent" in app.status
        assert len(srv.seen) == 1  # the held Run never reached the server


def test_the_status_words_for_each_wait() -> None:
    from clipdrop_widgets.api.client import Wait
    from clipdrop_widgets.apps._status import waiting_text

    assert waiting_text(None, 4.7) == "Working… 4 s"
    assert waiting_text(Wait("pace", 0.9), 4.7) == "Working… 4 s"  # a usual spacing: no news
    assert waiting_text(Wait("pace", 5.2), 1).startswith("Waiting 6 s for the rate limit's")
    assert waiting_text(Wait("retry", 2.1), 1).startswith("Waiting 3 s: the service asked to "
                                                          "try again later")
    assert waiting_text(Wait("pause", 51.5), 9).startswith(
        "Waiting 52 s: the service asked for a pause (rate limit).")


def test_a_429_after_the_retries_ran_out_names_its_pause_without_saying_not_retried() -> None:
    with FaultServer() as srv:
        srv.script(Action.error(429, "Too many requests", Retry_After="1"))
        app = TextToImageApp(Client(base_url=srv.url, api_key="sk-test-spent", max_retries=0))
        fill_inputs(app)
        click_run(app)
    assert app.status == ("Failed (429): Too many requests. The service asked for a pause of "
                          "1 s. Wait a little, or lower requests_per_minute."), app.status

"""The Studio and the apps keep their results in a session folder: reopen, add, reopen; recent
sessions offered; a key typed in the Studio never lands there; only the first tab is built."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import ipywidgets
import pytest
from test_apps import click_run, fill_inputs

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import Client, Studio
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.api.session import Session, sessions_dir
from clipdrop_widgets.apps import CleanupApp, ReimagineApp, TextToImageApp

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

SENTINEL = "sk-SENTINEL-77d0e4c1a8b2f9"


def run_text(studio: Studio, prompt: str) -> None:
    app = studio.select("text_to_image")
    app.prompt.value = prompt
    click_run(app)


def test_reopen_add_reopen(tmp_path: Path) -> None:
    folder = tmp_path / "my-session"
    first = Studio(session_dir=folder)
    assert first.session_dir == str(folder)
    run_text(first, "a red fox")
    cleanup = first.select("cleanup")
    fill_inputs(cleanup)
    click_run(cleanup)
    made = [r.data for r in first.history.results]  # in the order made
    assert len(made) == 2 and (folder / "session.jsonl").is_file()

    second = Studio(session_dir=folder)  # another kernel, the next day
    assert [r.data for r in second.history.results] == made
    assert "2 results" in second.session_text and str(folder) in second.session_text
    run_text(second, "an owl")
    assert len(second.history.results) == 3

    third = Studio(Client(), session_dir=folder)
    assert [r.data for r in third.history.results] == [r.data for r in second.history.results]
    assert [r["prompt"] for r in Session(folder).records()] == ["a red fox", None, "an owl"]
    # in the order made, the new one appended, as the users rely on
    assert [r.inputs.get("prompt") for r in third.history.results] == ["a red fox", None, "an owl"]
    # a reopened cleanup result is shown beside the photo it was made from
    third.history.select(1)
    assert third.current.endpoint_name == "cleanup"
    assert third.current.compare.before is not None


def test_default_session_is_new_and_shown_and_recent_ones_are_offered(tmp_path: Path) -> None:
    earlier = Studio()
    run_text(earlier, "a lighthouse")
    studio = Studio()
    assert Path(studio.session_dir).parent == sessions_dir()  # the user data folder
    assert studio.session_dir != earlier.session_dir
    assert studio.session_dir in studio._session_line.value  # shown in the header
    assert earlier.session_dir in [value for _label, value in studio._recent.options]
    studio._recent.value = earlier.session_dir
    studio._open.click()
    assert studio.session_dir == earlier.session_dir
    assert [r.data for r in studio.history.results] == [r.data for r in earlier.history.results]


def test_apps_alone_take_a_session_dir(tmp_path: Path) -> None:
    app = TextToImageApp(session_dir=tmp_path / "s")
    fill_inputs(app)
    click_run(app)
    again = CleanupApp(session_dir=tmp_path / "s")
    assert [r.data for r in again.history.results] == [app.result.data]
    with pytest.raises(ValueError, match="not both"):
        TextToImageApp(history=app.history, session_dir=tmp_path / "s")


def test_a_key_typed_in_the_studio_never_lands_in_the_session(
        tmp_path: Path, make_served_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = make_served_engine(api_key=SENTINEL)
    monkeypatch.setenv("CLIPDROP_API_URL", handle.url)
    studio = Studio(session_dir=tmp_path / "s")
    studio.key_box._field.set_state({"value": SENTINEL})  # as the browser sends it
    assert not studio.client.is_local
    run_text(studio, "a cat on a roof")
    cleanup = studio.select("cleanup")
    fill_inputs(cleanup)
    click_run(cleanup)
    assert len(studio.history.results) == 2
    files = [p for p in (tmp_path / "s").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path
    assert SENTINEL.encode() not in studio.history.session.zip_bytes()


def test_only_the_first_tab_is_built_until_another_is_shown(tmp_path: Path) -> None:
    studio = Studio(session_dir=tmp_path / "s")
    assert list(studio._built) == ["text_to_image"]
    assert "cleanup" in studio.apps and list(studio._built) == ["text_to_image"]
    studio.tabs.selected_index = 2  # the user clicks the Cleanup tab
    assert list(studio._built) == ["text_to_image", "cleanup"]
    assert studio.tabs.children[2].children == (studio.apps["cleanup"],)


def test_a_lazy_build_never_moves_the_selection_nor_rebuilds_the_tab_bars(tmp_path: Path) -> None:
    """Findings 22c F1: the user clicks Cleanup, then Text inpainting before Cleanup's app is
    built; when Cleanup's build completes, Text inpainting stays selected (the second click is
    not undone) and no tab bar gets new children (the page re-rendered the bar, dropping the
    keyboard focus to the page)."""
    studio = Studio(session_dir=tmp_path / "s")
    bars = [studio.tabs] + [t for t in studio.tabs.children if isinstance(t, ipywidgets.Tab)]
    children = [bar.children for bar in bars]
    studio.tabs.selected_index = 3  # the user moved on to Text inpainting
    studio._build(2)  # ... and only now does Cleanup's build complete
    assert studio.tabs.selected_index == 3
    assert studio.tabs.children[2].children == (studio.apps["cleanup"],)
    studio.tabs.selected_index = 7  # the user is on Portrait normals
    studio.tabs.children[7].selected_index = 1
    studio._build(6)  # Uncrop (another group's inner tab) completes late
    assert (studio.tabs.selected_index, studio.tabs.children[7].selected_index) == (7, 1)
    assert [bar.children for bar in bars] == children  # same tabs: no bar re-rendered


#: The widget models a new Studio makes: the page's widget manager loads the state of every
#: model in the kernel before the first view (issue 22). 215 before the hidden restore line and
#: the hidden history pager were built on first use and the tab placeholders shared a layout;
#: 184 after; 147 once the hidden result bar (Keep, Discard, Download, Send to) and the key
#: box's "Back to local engine" were built on first use and fixed inner widgets shared one
#: empty layout.
START_MODELS = 150
#: Their state as the page receives it (JSON, no binary buffers), in bytes: 158 kB with the
#: stock layouts (each lists its 40-odd CSS properties, ``None`` when unset); 95 kB once our
#: layouts send only the properties set.
START_STATE_BYTES = 100_000


def state_bytes(widget: ipywidgets.Widget) -> int:
    """The size of a widget's state as sent to the page (JSON, without binary buffers)."""
    state, _paths, _buffers = ipywidgets.widgets.widget._remove_buffers(widget.get_state())
    return len(json.dumps(state, separators=(",", ":")))


def test_a_new_studio_makes_only_the_widgets_of_what_it_shows(tmp_path: Path) -> None:
    instances = ipywidgets.widgets.widget._instances
    before = set(instances)
    studio = Studio(session_dir=tmp_path / "s")
    new = [instances[model_id] for model_id in set(instances) - before]
    made = len(new)
    assert made <= START_MODELS, f"{made} widget models at start (budget {START_MODELS})"
    size = sum(state_bytes(w) for w in new)
    assert size <= START_STATE_BYTES, f"{size} bytes of widget state at start"
    text = studio.apps["text_to_image"]
    assert text._stage.staging.children == () and text.send_to.children == ()
    assert len(studio.key_box.children) == 2  # the field and its line: no Back button yet
    groups = [tab for tab in studio.tabs.children if isinstance(tab, ipywidgets.Tab)]
    assert [g.titles for g in groups] == [("Remove background", "Uncrop"),
                                          ("Upscale", "Reimagine"),
                                          ("Portrait depth", "Portrait normals")]
    assert all(type(c) is ipywidgets.VBox and not c.children  # placeholders, no app yet
               for g in groups for c in g.children)
    assert studio.restore.children == ()  # hidden, nothing offered: no widgets yet
    assert studio.history.pager.children == ()  # hidden, no results yet
    studio.restore.offer({"operation": "cleanup", "prompt": None})
    assert studio.restore.button.description == "Restore settings"
    assert studio.restore.layout.display == ""
    run_text(studio, "a red fox")  # the first result: the pager shows where it is
    pager = studio.history.pager
    assert pager.layout.display == "" and pager.children
    assert "Results 1-1 of 1" in pager.place.value and pager.older.disabled
    bar = text._stage.staging  # the first result brought its bar, Send to included
    assert bar.layout.display == "" and text.send_to.layout.display == ""
    assert [b.description for b in bar.children[:3]] == ["Keep", "Discard", "Download"]
    assert "Send to Cleanup" in [getattr(c, "description", "") for c in text.send_to.children]


def test_a_tab_not_built_yet_says_its_app_is_loading(tmp_path: Path) -> None:
    """Finding 15 (walk 22): a first click on Cleanup showed an empty 30-pixel panel, History
    right under it, for 2 s or more. Each placeholder carries a class the Studio's page CSS
    fills, while it is empty, with "Loading <app>…"; no widget model is added for it."""
    import re

    from clipdrop_widgets.apps import studio as studio_module

    studio = Studio(session_dir=tmp_path / "s")
    styles = "".join(c.value for c in studio.children if isinstance(c, ipywidgets.HTML))
    shown = dict(re.findall(r"\.(cdw-loading-[a-z-]+):empty::before\{content:\"([^\"]*)\"",
                            styles))
    cleanup = studio.tabs.children[2]
    assert not cleanup.children  # no app yet: an empty box, its words from the CSS
    [loading] = [c for c in cleanup._dom_classes if c.startswith("cdw-loading-")]
    assert shown[loading] == "Loading Cleanup\\2026"  # "Loading Cleanup…"
    uncrop = studio.tabs.children[5].children[1]
    [loading] = [c for c in uncrop._dom_classes if c.startswith("cdw-loading-")]
    assert shown[loading] == "Loading Uncrop\\2026"
    assert len(shown) == len(studio_module.APP_CLASSES)
    assert "[class*='cdw-loading-']:empty{min-height:160px;" in styles  # not a 30 px strip
    studio.tabs.selected_index = 2
    assert cleanup.children == (studio.apps["cleanup"],)  # not empty: the words are gone


def test_a_group_tabs_app_is_built_when_first_clicked_and_works(tmp_path: Path) -> None:
    studio = Studio(session_dir=tmp_path / "s")
    group = studio.tabs.children[6]
    studio.tabs.selected_index = 6  # the user clicks "Size & variations"
    assert list(studio._built) == ["text_to_image", "upscale"]
    assert group.children[0].children == (studio.apps["upscale"],)
    group.selected_index = 1  # then its Reimagine tab
    app = studio.current
    assert isinstance(app, ReimagineApp) and group.children[1].children == (app,)
    assert studio.tabs.children[6] is group
    click_run(app)  # on its sample photo
    assert app.error is None and studio.history.results[-1].endpoint == "reimagine"


def test_the_no_key_notice_is_a_note_in_the_studio_not_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.setattr(client_module, "_local_notice_shown", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        studio = Studio(session_dir=tmp_path / "s")
    assert not [w for w in caught if issubclass(w.category, ClipdropNotice)]
    notes = studio.children[2].value
    assert "Note: No API key: using the local engine" in notes


def shown(studio: Studio) -> None:
    """What the page sends when it connects to the Studio (``download.js``)."""
    downloader = studio.history.downloader
    downloader._handle(downloader, {"kind": "shown"}, [])


def test_a_kernel_started_ahead_of_its_page_catches_up_with_the_session(tmp_path: Path) -> None:
    """Voila's preheated kernel builds the Studio before the visitor's previous page wrote
    its last results: when the page connects, the strip shows them."""
    folder = tmp_path / "s"
    previous = Studio(session_dir=folder)
    run_text(previous, "a red fox")
    ahead = Studio(session_dir=folder)  # the next visitor's kernel, started now
    run_text(previous, "an owl")  # the previous page is still open and runs once more
    assert len(ahead.history.results) == 1 and "(1 result)" in ahead._session_line.value
    shown(ahead)
    assert [r.inputs["prompt"] for r in ahead.history.results] == ["a red fox", "an owl"]
    assert "(2 results)" in ahead.session_text and "(2 results)" in ahead._session_line.value
    # and its header the session's balance and spending, as the previous page left them
    # (walk 22b #10: "1000 left" beside the whole session's spending)
    assert ahead.credits_text == previous.credits_text
    shown(ahead)  # nothing new: nothing changes
    assert len(ahead.history.results) == 2


def test_catching_up_never_replaces_what_was_made_here(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    one, two = Studio(session_dir=folder), Studio(session_dir=folder)
    run_text(one, "a red fox")
    run_text(two, "an owl")  # made here: this strip is not the session as opened any more
    mine = two.history.results
    shown(two)
    assert two.history.results == mine


def test_a_run_of_a_page_left_is_said_then_shown_on_the_next_page(tmp_path: Path,
                                                                  monkeypatch) -> None:
    """page22b #1: a page left during a Run keeps its kernel, which writes the paid result
    into the session a few seconds later; the reloaded page showed nothing of it (the user
    ran it again, paying twice). The next page now says a run of the session is still in
    flight elsewhere, then shows its result when it lands."""
    import subprocess
    import sys
    import time as clock

    import clipdrop_widgets.apps.studio as studio_module

    monkeypatch.setattr(studio_module, "WATCH_SECONDS", 0.05)
    folder = tmp_path / "s"
    left = Studio(session_dir=folder)
    run_text(left, "a red fox")
    page = Studio(session_dir=folder)  # the reloaded page's kernel
    shown(page)
    # the left page's kernel (another process) is running "an owl": its marker
    kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        marker = folder / ".running" / f"{kernel.pid}-abc"
        marker.parent.mkdir(exist_ok=True)
        marker.write_text("{}")

        def until(check, what):  # type: ignore[no-untyped-def]
            deadline = clock.monotonic() + 10
            while not check():
                assert clock.monotonic() < deadline, what
                clock.sleep(0.02)

        until(lambda: "still in flight" in page._session_line.value, "the run in flight said")
        assert "1 run from another page of this session still in flight" in page.session_text
        assert "goes to this session, no need to run it again" in page.session_text
        run_text(left, "an owl")  # its result lands in the session, the marker goes
        marker.unlink()
        until(lambda: len(page.history.results) == 2, "the left page's result shown")
        until(lambda: "in flight" not in page._session_line.value, "the line back")
        assert [r.inputs["prompt"] for r in page.history.results] == ["a red fox", "an owl"]
        assert "(2 results)" in page.session_text
    finally:
        kernel.kill()
        kernel.wait()


def test_a_run_marks_the_session_while_in_flight_and_a_dead_kernels_mark_goes(
        tmp_path: Path) -> None:
    """The markers behind it: a run's own (this process: not "elsewhere"), another live
    process's (counted), a killed kernel's (removed, not counted)."""
    import subprocess
    import sys

    folder = tmp_path / "s"
    studio = Studio(session_dir=folder)
    run_text(studio, "a red fox")  # the session exists from its first result
    session = Session(folder)
    with session.running("text_to_image"):
        mine = list((folder / ".running").iterdir())
        assert len(mine) == 1 and session.running_elsewhere() == 0
    assert list((folder / ".running").iterdir()) == []
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (folder / ".running" / f"{other.pid}-x").write_text("{}")
    assert session.running_elsewhere() == 1
    other.kill()
    other.wait()
    assert session.running_elsewhere() == 0
    assert list((folder / ".running").iterdir()) == []  # a dead kernel's marker is gone
    # and the folder is still a session's, for a Studio and for Save all's zip
    assert len(Studio(session_dir=folder).history.results) == 1
    assert not [n for _p, n in session.zip_members() if ".running" in n]


def test_a_kernel_killed_mid_run_leaves_the_session_whole_and_claims_no_run(
        tmp_path: Path) -> None:
    """SIGKILL on a kernel whose Run is out (a page's kernel killed, or the machine's OOM
    killer): the service was asked once (charged), nothing came back; the session keeps every
    earlier result and reopens; the dead kernel's marker says no run is in flight to the
    next page, which would otherwise wait for a result that never comes."""
    import signal
    import subprocess
    import sys
    import textwrap
    import time as clock

    from fault_server import UNPACED, Action, FaultServer

    folder = tmp_path / "s"
    with FaultServer(default=Action.image()) as server:
        first = Studio(Client("sk-kill-test", base_url=server.url,
                              requests_per_minute=UNPACED), session_dir=folder)
        run_text(first, "a red fox")  # a result before: the session exists
        server.default = Action("respond", 200, Action.image().headers,
                                Action.image().body, seconds=30)  # the next answer: slow
        script = textwrap.dedent(f"""
            import sys, time, warnings
            warnings.simplefilter("ignore")
            from clipdrop_widgets import Client, Studio
            studio = Studio(Client("sk-kill-test", base_url={server.url!r},
                                   requests_per_minute={UNPACED}), session_dir={str(folder)!r})
            app = studio.select("text_to_image")
            app.prompt.value = "an owl"
            app.run_button.click()
            print("pressed", flush=True)
            time.sleep(60)
        """)
        kernel = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                  text=True)
        try:
            deadline = clock.monotonic() + 60
            while len(server.seen) < 2 or not list((folder / ".running").glob("*")):
                assert kernel.poll() is None and clock.monotonic() < deadline, \
                    "the run never went out"
                clock.sleep(0.02)
            marker = next((folder / ".running").iterdir())
            assert marker.name.startswith(f"{kernel.pid}-")
            kernel.send_signal(signal.SIGKILL)  # mid-run: the request out, no answer yet
            kernel.wait(10)
        finally:
            if kernel.poll() is None:
                kernel.kill()
                kernel.wait()
        paid = len(server.seen)
    assert paid == 2  # one call each: the fox, and the owl the killed kernel paid for
    after = Studio(session_dir=folder)  # the next page
    assert [r.inputs["prompt"] for r in after.history.results] == ["a red fox"]
    assert Session(folder).records()[0]["prompt"] == "a red fox"  # the log is whole
    assert after.history.session.running_elsewhere() == 0  # dead: not a run in flight
    assert not list((folder / ".running").iterdir())  # its marker removed
    shown(after)
    assert "in flight" not in after.session_text

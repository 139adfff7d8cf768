"""Sweeps against loopback servers: the rate, stops and resumes, the run log, the contact sheet.

Every request is real HTTP to a :class:`FaultServer`, which counts what it was sent; rates are
raised and the rate window shortened to 1 s so the tests stay short. No assertion is about time.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from fault_server import UNPACED, Action, FaultServer, png_bytes
from PIL import Image

from clipdrop_widgets import (
    Client,
    ClipdropError,
    InputError,
    OutOfCreditsError,
    PromptExplorer,
    RunDirBusyError,
    RunLogError,
    Sweep,
)
from clipdrop_widgets.apps._status import error_text
from clipdrop_widgets.explore.items import expand_template
from clipdrop_widgets.explore.runlog import (
    HOLDER_NAME,
    LOG_NAME,
    MANIFEST_NAME,
    RunDirMismatchError,
)

SENTINEL = "sk-SENTINEL-sweep-4e1d"
ANIMALS = {"animal": ["fox", "owl"], "style": ["ink", "oil", "chalk"]}


def client_for(server: FaultServer, **options) -> Client:
    options.setdefault("max_retries", 0)
    # unpaced unless a test sets the pace: at the documented 60 a minute each item waited 1 s
    options.setdefault("requests_per_minute", UNPACED)
    return Client(options.pop("key", "k"), base_url=server.url, **options)


def prompts_sent(server: FaultServer) -> list[str]:
    return [s.texts.get("prompt") or s.texts.get("text_prompt") for s in server.seen]


def statuses(sweep: Sweep) -> list[str]:
    return [r["status"] for r in sweep.records]


# -- the items --------------------------------------------------------------------------------
def test_template_expands_in_a_fixed_order_and_items_keep_their_variables():
    items = expand_template("a {animal} in {style}", ANIMALS)
    assert [it.prompt for it in items] == [
        "a fox in ink", "a fox in oil", "a fox in chalk",
        "a owl in ink", "a owl in oil", "a owl in chalk"]
    assert items[4].variables == {"animal": "owl", "style": "oil"}
    assert [it.index for it in items] == list(range(6))
    numbered = expand_template("{n:02d}: {what}", {"what": ["sea"], "n": [1, 2]})
    assert [it.prompt for it in numbered] == ["01: sea", "02: sea"]


@pytest.mark.parametrize(("template", "variables", "error", "match"), [
    ("a {animal} in {style}", {"animal": ["fox"]}, ValueError, r"\{style\}"),
    ("a {animal}", {"animal": ["fox"], "style": ["ink"]}, ValueError, "style do not appear"),
    ("a {} cat", {}, ValueError, "not a variable name"),
    ("a {animal.name}", {"animal": ["fox"]}, ValueError, "not a variable name"),
    ("a {animal", {"animal": ["fox"]}, ValueError, "malformed"),
    ("a {animal}", {"animal": "fox"}, TypeError, "list of values"),
    ("a {animal}", {"animal": []}, ValueError, "empty"),
    ("a {animal}", {"animal": ["fox", "fox"]}, ValueError, "twice"),
])
def test_bad_templates_are_refused_with_the_reason(template, variables, error, match):
    with pytest.raises(error, match=match):
        expand_template(template, variables)


def test_bad_sweeps_are_refused_before_anything_is_sent(tmp_path):
    with FaultServer() as server:
        client = client_for(server)
        with pytest.raises(ValueError, match="not both"):
            Sweep(client, "text_to_image", prompts=["a"], template="b")
        with pytest.raises(ValueError, match="neither"):
            Sweep(client, "text_to_image")
        with pytest.raises(ValueError, match="unknown operation"):
            Sweep(client, "paint", prompts=["a"])
        with pytest.raises(ValueError, match="no prompt"):
            Sweep(client, "cleanup", prompts=["a"])
        with pytest.raises(TypeError, match="list of strings"):
            Sweep(client, "text_to_image", prompts="a cat")
        with pytest.raises(TypeError, match="not mask"):
            Sweep(client, "text_to_image", prompts=["a"], inputs={"mask": png_bytes()})
        with pytest.raises(TypeError, match="needs inputs= with image"):
            Sweep(client, "replace_background", prompts=["a"])
        with pytest.raises(InputError, match="format") as bad_format:
            Sweep(client, "text_to_image", prompts=["a", "b"], inputs={"format": "gif"})
        assert bad_format.value.field == "format"
        with pytest.raises(InputError, match="2 of 4 items") as too_long:
            Sweep(client, "text_to_image", prompts=["ok", "x" * 1001, "fine", "y" * 2000],
                  run_dir=tmp_path / "run")
        assert "item 1" in str(too_long.value) and "item 3" in str(too_long.value)
        assert too_long.value.rule == "max_chars"
        assert server.seen == []
    assert not (tmp_path / "run").exists()


# -- running at the rate ----------------------------------------------------------------------
def test_a_sweep_at_the_endpoints_rate_draws_no_429(tmp_path):
    """10 requests per 5 s window on both sides; a 429 would fail its item (no retries).

    The client keeps 2 % above the interval, so 11 requests span at least 5.1 s: 100 ms for
    the server's clock to see them late or early (a 1 s window left 20 ms, which a loaded
    CI machine's thread scheduling once took: one 429)."""
    with FaultServer(rate=(10, 5.0)) as server:
        client = client_for(server, requests_per_minute=120)
        sweep = Sweep(client, "text_to_image", prompts=[f"cat {i}" for i in range(14)],
                      run_dir=tmp_path)
        records = sweep.run(workers=4)
    assert server.rejected_for_rate == 0
    assert [r["status"] for r in records] == ["ok"] * 14
    assert sorted(prompts_sent(server)) == sorted(f"cat {i}" for i in range(14))
    assert sweep.stopped_reason is None


def test_the_control_the_server_really_enforces_its_rate():
    """Without the client's limit the same sweep draws 429s, so the test above can fail."""
    with FaultServer(rate=(10, 5.0)) as server:
        client = client_for(server, requests_per_minute=10**6)
        sweep = Sweep(client, "text_to_image", prompts=[f"cat {i}" for i in range(14)])
        records = sweep.run(workers=4)
    assert server.rejected_for_rate > 0
    assert any(r["error_type"] == "RateLimitError" for r in records)


# -- stopping and resuming ---------------------------------------------------------------------
def test_out_of_credits_stops_cleanly_and_the_resume_requests_only_the_missing(tmp_path):
    prompts = [f"a lighthouse, take {i}" for i in range(10)]
    with FaultServer(default=Action.error(402, "no credits left")) as server:
        server.script(*[Action.image()] * 4)
        sweep = Sweep(client_for(server), "text_to_image", prompts=prompts, run_dir=tmp_path)
        records = sweep.run(workers=3)  # raises nothing
        first_run_requests = len(server.seen)
    assert sweep.stopped_reason.startswith("out of credits")
    assert "no credits left" in sweep.stopped_reason
    done = {r["prompt"] for r in records if r["status"] == "ok"}
    assert len(done) == 4
    assert {r["status"] for r in records} <= {"ok", "stopped", "pending"}
    assert first_run_requests <= 4 + 3  # in flight when the 402 came: at most one per worker
    saved = {r["index"]: r for r in records if r["status"] == "ok"}

    with FaultServer() as server:  # credits bought: run the same sweep again
        again = Sweep(client_for(server), "text_to_image", prompts=prompts, run_dir=tmp_path)
        assert statuses(again).count("ok") == 4  # known before running
        records = again.run(workers=3)
        assert sorted(prompts_sent(server)) == sorted(set(prompts) - done)
    assert statuses(again) == ["ok"] * 10 and again.stopped_reason is None
    for i, record in saved.items():
        assert records[i] == record  # the paid results were kept, not replaced


def test_raise_on_stop_raises_the_402_after_saving(tmp_path):
    with FaultServer(default=Action.error(402, "empty")) as server:
        server.script(Action.image())
        sweep = Sweep(client_for(server), "text_to_image", prompts=["a", "b", "c"],
                      run_dir=tmp_path)
        with pytest.raises(OutOfCreditsError):
            sweep.run(workers=1, raise_on_stop=True)
    assert statuses(Sweep.open(tmp_path)) == ["ok", "stopped", "pending"]


def test_the_budget_stops_the_sweep_before_it_overspends(tmp_path):
    with FaultServer(default=Action.image(x_credits_consumed="2")) as server:
        client = client_for(server, budget=6)  # text to image: 2 credits a call
        sweep = Sweep(client, "text_to_image", prompts=[f"p{i}" for i in range(8)],
                      run_dir=tmp_path)
        records = sweep.run(workers=4)
    assert len(server.seen) == 3
    assert statuses(sweep).count("ok") == 3
    assert sweep.stopped_reason.startswith("budget reached")
    assert client.credits_spent == 6
    assert sum(r["credits"] or 0 for r in records) == 6
    assert any(r["status"] == "stopped" and r["error_type"] == "BudgetExceededError"
               for r in records)


def test_a_refused_item_is_recorded_and_the_sweep_goes_on(tmp_path):
    with FaultServer() as server:
        server.script(Action.image(), Action.error(400, "prompt refused by the filter"))
        sweep = Sweep(client_for(server), "text_to_image", prompts=["a", "b", "c", "d"],
                      run_dir=tmp_path)
        records = sweep.run(workers=1)
        assert len(server.seen) == 4
    assert statuses(sweep) == ["ok", "failed", "ok", "ok"]
    assert records[1]["error"] == "400: prompt refused by the filter"
    assert records[1]["error_type"] == "BadRequestError"
    assert records[1]["file"] is None and sweep.stopped_reason is None
    with pytest.raises(LookupError, match="prompt refused"):
        sweep.image(1)
    with FaultServer() as server:
        Sweep(client_for(server), "text_to_image", prompts=["a", "b", "c", "d"],
              run_dir=tmp_path).run()
        assert prompts_sent(server) == ["b"]  # failed items are retried, finished ones not


def test_stop_from_another_thread_lets_in_flight_items_finish(tmp_path):
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=list("abcdef"),
                      run_dir=tmp_path)
        sweep.run(workers=1, on_record=lambda record: sweep.stop())
        assert len(server.seen) == 1
    assert sweep.stopped_reason == "stopped by the user"
    assert statuses(sweep) == ["ok"] + ["pending"] * 5


def test_stop_ends_the_wait_for_a_rate_limit_slot_without_sending(tmp_path):
    """One request a minute: the second item waits for a slot; stop() ends the wait."""
    first = threading.Event()
    with FaultServer() as server:
        sweep = Sweep(client_for(server, requests_per_minute=1), "text_to_image",
                      prompts=list("abc"), run_dir=tmp_path)
        worker = threading.Thread(target=sweep.run,
                                  kwargs={"workers": 2, "on_record": lambda r: first.set()})
        worker.start()
        assert first.wait(30)
        sweep.stop()
        worker.join(30)
        assert not worker.is_alive() and len(server.seen) == 1
    assert sweep.stopped_reason == "stopped by the user"
    assert statuses(sweep).count("ok") == 1 and statuses(sweep).count("pending") == 2


def test_an_unexpected_error_is_raised_after_the_item_is_saved(tmp_path):
    def broken(record):
        raise RuntimeError("callback bug")

    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=["a", "b"],
                      run_dir=tmp_path)
        with pytest.raises(RuntimeError, match="callback bug"):
            sweep.run(workers=1, on_record=broken)
    assert statuses(Sweep.open(tmp_path)) == ["ok", "pending"]


def test_an_interrupt_stops_after_saving_and_is_raised(tmp_path, monkeypatch):
    """Ctrl-C in the kernel: the item in flight is saved, nothing new starts, then it raises.

    Ctrl-C raises KeyboardInterrupt in the main thread, which waits for the workers in
    ``wait_futures``: it is raised there once the first item is saved (an event). A real
    SIGINT (tests/explore/test_sweep_operations.py) can be lost to the test run: handled
    inside a finalizer the main thread happens to run, or by a handler left by another test;
    then the sweep ran on for two minutes of rate-limit slots and nothing was raised."""
    import clipdrop_widgets.explore.sweep as sweep_module

    saved, real_wait = threading.Event(), sweep_module.wait_futures

    def wait(futures, timeout=None):  # type: ignore[no-untyped-def]
        if timeout is not None and saved.wait(60):  # the main thread's polling wait
            raise KeyboardInterrupt
        return real_wait(futures, timeout=timeout)

    monkeypatch.setattr(sweep_module, "wait_futures", wait)
    with FaultServer() as server:
        sweep = Sweep(client_for(server, requests_per_minute=1), "text_to_image",
                      prompts=list("abc"), run_dir=tmp_path)
        with pytest.raises(KeyboardInterrupt):  # the second item waits a minute for its slot
            sweep.run(workers=2, on_record=lambda r: saved.set())
        assert len(server.seen) == 1
    assert sweep.stopped_reason == "interrupted"
    assert statuses(Sweep.open(tmp_path)) == ["ok", "pending", "pending"]


CHILD = """
import sys, warnings
from clipdrop_widgets import Client, Sweep
warnings.simplefilter("ignore")
client = Client("k", base_url=sys.argv[1], requests_per_minute=30)  # one every 2 s
Sweep(client, "text_to_image", prompts=[f"p{i}" for i in range(6)], run_dir=sys.argv[2]).run()
"""


def test_a_killed_process_resumes_without_paying_twice(tmp_path):
    with FaultServer() as server:
        child = subprocess.Popen([sys.executable, "-c", CHILD, server.url, str(tmp_path)])
        try:
            deadline = time.monotonic() + 60
            log = tmp_path / LOG_NAME
            while time.monotonic() < deadline and child.poll() is None:
                if log.exists() and log.read_bytes().count(b'"status":"ok"') >= 2:
                    break
                time.sleep(0.02)
        finally:
            child.kill()  # SIGKILL: no cleanup runs
            child.wait()
        assert len(server.seen) == 2
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=[f"p{i}" for i in range(6)],
                      run_dir=tmp_path)
        done = {r["prompt"] for r in Sweep.open(tmp_path).records if r["status"] == "ok"}
        assert len(done) == 2
        sweep.run()
        assert sorted(prompts_sent(server)) == sorted({f"p{i}" for i in range(6)} - done)
    assert statuses(sweep) == ["ok"] * 6


# -- the run log --------------------------------------------------------------------------------
def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path):
    prompts = ["a", "b", "c"]
    with FaultServer() as server:
        Sweep(client_for(server), "text_to_image", prompts=prompts, run_dir=tmp_path).run()
    log = tmp_path / LOG_NAME
    with open(log, "ab") as f:
        f.write(b'{"index": 1, "prompt": "b", "status": "fai')  # killed mid-write
    reopened = Sweep.open(tmp_path)
    assert statuses(reopened) == ["ok"] * 3
    with FaultServer(default=Action.error(400, "x")) as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=prompts, run_dir=tmp_path)
        sweep.run()
        assert server.seen == []
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])


def test_an_image_saved_whose_line_was_lost_is_adopted_not_paid_again(tmp_path):
    with FaultServer() as server:
        Sweep(client_for(server), "text_to_image", prompts=["a", "b"], run_dir=tmp_path).run()
    log = tmp_path / LOG_NAME
    lines = log.read_text().splitlines(keepends=True)
    lost = json.loads(lines[-1])
    log.write_text(lines[0])  # killed after saving the image, before writing its line
    assert statuses(Sweep.open(tmp_path))[lost["index"]] == "pending"
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=["a", "b"], run_dir=tmp_path)
        sweep.run()
        assert server.seen == []
    record = sweep.records[lost["index"]]
    assert record["status"] == "ok" and record["sha256"] == lost["sha256"]
    assert record["credits"] is None  # what the lost line said is not invented


def test_a_folder_holding_another_sweep_is_refused(tmp_path):
    with FaultServer() as server:
        client = client_for(server)
        Sweep(client, "text_to_image", template="a {animal} in {style}", variables=ANIMALS,
              run_dir=tmp_path).run()
        other = {"animal": ["fox", "cat"], "style": ["ink", "oil", "chalk"]}
        with pytest.raises(RunDirMismatchError, match=r"item 3 differs: 'a owl in ink'"):
            Sweep(client, "text_to_image", template="a {animal} in {style}", variables=other,
                  run_dir=tmp_path)
        with pytest.raises(RunDirMismatchError, match="6 items, this sweep has 1"):
            Sweep(client, "text_to_image", prompts=["x"], run_dir=tmp_path)
        with pytest.raises(RunDirMismatchError, match="its operation is 'text_to_image'"):
            Sweep(client, "replace_background", prompts=["x"], run_dir=tmp_path,
                  inputs={"image": png_bytes()})
        with pytest.raises(RunDirMismatchError, match="fixed inputs"):
            Sweep(client, "text_to_image", template="a {animal} in {style}",
                  variables=ANIMALS, run_dir=tmp_path, inputs={"format": "jpeg"})
        (tmp_path / "stray").mkdir()
        (tmp_path / "stray" / LOG_NAME).write_text("{}\n")
        with pytest.raises(RunDirMismatchError, match=r"no sweep\.json"):
            Sweep(client, "text_to_image", prompts=["x"], run_dir=tmp_path / "stray")
        assert len(server.seen) == 6


def test_the_api_key_is_never_stored(tmp_path):
    with FaultServer(default=Action.error(400, f"bad request from key {SENTINEL}")) as server:
        server.script(Action.image())
        client = client_for(server, key=SENTINEL)
        sweep = Sweep(client, "text_to_image", prompts=["a", "b"], run_dir=tmp_path)
        sweep.run(workers=1)
        assert server.seen[0].headers["x-api-key"] == SENTINEL
    assert "key ***" in sweep.records[1]["error"]
    for path in tmp_path.iterdir():
        assert SENTINEL.encode() not in path.read_bytes()
    assert SENTINEL not in repr(sweep) and SENTINEL not in str(sweep.records)


# -- inputs ---------------------------------------------------------------------------------
def test_fixed_inputs_are_encoded_once_and_sent_unchanged(tmp_path):
    photo = np.full((16, 16, 3), 90, np.uint8)
    with FaultServer(default=Action.image(content_type="image/png")) as server:
        sweep = Sweep(client_for(server), "replace_background", prompts=["a beach", "a forest"],
                      inputs={"image": photo, "format": "png"}, run_dir=tmp_path)
        sweep.run()
        sent = {s.files["image_file"][2] for s in server.seen}
    assert len(sent) == 1
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["inputs"]["image"]["size"] == [16, 16]
    assert manifest["inputs"]["format"] == "png"
    assert sorted(s.texts["prompt"] for s in server.seen) == ["a beach", "a forest"]


# -- reading a past run -------------------------------------------------------------------------
def test_open_round_trips_records_and_images(tmp_path):
    red, blue = png_bytes((6, 4), (255, 0, 0)), png_bytes((6, 4), (0, 0, 255))
    with FaultServer() as server:
        server.script(Action.image(red), Action.error(400, "no"), Action.image(blue))
        sweep = Sweep(client_for(server), "text_to_image", template="{n} apples",
                      variables={"n": [1, 2, 3]}, run_dir=tmp_path)
        sweep.run(workers=1)
    past = Sweep.open(tmp_path)
    assert past.records == sweep.records
    assert past.variables == {"n": [1, 2, 3]} and past.template == "{n} apples"
    images = past.images()
    assert images[1] is None
    assert images[0].getpixel((0, 0)) == (255, 0, 0)
    assert past.image(2).tobytes() == sweep.image(2).tobytes()
    assert repr(past) == repr(sweep)
    table = past.to_dataframe()
    assert list(table["n"]) == [1, 2, 3]
    assert list(table["status"]) == ["ok", "failed", "ok"]
    with pytest.raises(RuntimeError, match="read-only"):
        past.run()
    with pytest.raises(FileNotFoundError, match="holds no sweep"):
        Sweep.open(tmp_path / "nothing")


def test_to_dataframe_says_how_to_get_pandas(monkeypatch):
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=["a"])
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        sweep.to_dataframe()


# -- the contact sheet -----------------------------------------------------------------------
def geometry(fig) -> set[tuple[int, int]]:
    return {ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes}


def test_the_contact_sheet_is_a_grid_by_the_two_variables(tmp_path):
    with FaultServer() as server:
        server.script(Action.image(), Action.error(400, "refused"))
        sweep = Sweep(client_for(server), "text_to_image", template="a {animal} in {style}",
                      variables=ANIMALS, run_dir=tmp_path)
        sweep.run(workers=1)
    fig = sweep.contact_sheet()
    assert geometry(fig) == {(2, 3)} and len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == [
        "fox · ink", "fox · oil", "fox · chalk", "owl · ink", "owl · oil", "owl · chalk"]
    assert [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()] == ["animal: fox", "animal: owl"]
    assert [ax.get_xlabel() for ax in fig.axes[3:]] == ["style: ink", "style: oil",
                                                        "style: chalk"]
    failed = fig.axes[1]
    assert any(t.get_text().startswith("failed") and "refused" in t.get_text()
               for t in failed.texts)
    assert fig.axes[0].images and not failed.images
    flipped = sweep.contact_sheet(rows="style")
    assert geometry(flipped) == {(3, 2)}
    assert flipped.axes[0].get_subplotspec().rowspan.start == 0
    assert fig._repr_png_()[:4] == b"\x89PNG"  # shown in notebooks without pyplot
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt)
        assert buf.getvalue()[:4] in (b"\x89PNG", b"%PDF")


def test_a_list_sweep_wraps_and_labels_cells_with_their_prompts():
    prompts = ["a red door", "a blue door", "a green door", "a door in fog", "no door"]
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=prompts)
        sweep.run()
    fig = sweep.contact_sheet()
    assert geometry(fig) == {(3, 3)} or geometry(fig) == {(2, 3)}
    assert len(fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes] == prompts
    assert geometry(sweep.contact_sheet(cols=5)) == {(1, 5)}
    assert geometry(sweep.contact_sheet(rows=5)) == {(5, 1)}
    with pytest.raises(ValueError, match="not a variable"):
        sweep.contact_sheet(rows="animal")


def test_three_variables_need_two_named_axes_or_wrap():
    variables = {"a": ["1", "2"], "b": ["x", "y"], "c": ["p", "q"]}
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", template="{a}{b}{c}",
                      variables=variables)
    fig = sweep.contact_sheet()  # not run: every cell says so
    assert len(fig.axes) == 8 and geometry(fig) == {(3, 3)}
    assert fig.axes[0].get_title() == "1 · x · p"
    assert all(t.get_text() == "not run" for ax in fig.axes for t in ax.texts)
    with pytest.raises(ValueError, match="c also vary"):
        sweep.contact_sheet(rows="a", cols="b")


# -- progress -----------------------------------------------------------------------------------
def test_progress_is_silent_outside_ipython_unless_asked(capsys):
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=["a", "b"])
        sweep.run()
        assert capsys.readouterr().out == ""
        Sweep(client_for(server), "text_to_image", prompts=["a", "b"]).run(progress=True)
    out = capsys.readouterr().out
    assert "text_to_image: 2/2 done" in out and "credits" in out


# -- the local engine ----------------------------------------------------------------------------
def test_a_sweep_on_the_local_engine_end_to_end(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client()
    sweep = Sweep(client, "text_to_image", template="a {animal} at {time}",
                  variables={"animal": ["fox", "heron"], "time": ["dawn", "night"]},
                  run_dir=tmp_path)
    records = sweep.run()
    assert statuses(sweep) == ["ok"] * 4, [r["error"] for r in records]
    assert {r["source"] for r in records} == {"local engine"}
    assert all(isinstance(im, Image.Image) for im in Sweep.open(tmp_path).images())
    assert len(sweep.contact_sheet().axes) == 4


# -- one run per folder ---------------------------------------------------------------------------
HOLDER = """
import sys, warnings
from clipdrop_widgets import Client, Sweep
warnings.simplefilter("ignore")
client = Client("k", base_url=sys.argv[1], requests_per_minute=600, timeout=120)
Sweep(client, "text_to_image", prompts=[f"p{i}" for i in range(6)], run_dir=sys.argv[2]).run(
    workers=1)
"""


def wait_for(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_second_process_is_refused_and_a_killed_holder_is_taken_over(tmp_path):
    """Two processes on one folder: the second gets RunDirBusyError naming the holder; once
    the first is killed (kill -9: no cleanup), the next run takes the folder over."""
    prompts = [f"p{i}" for i in range(6)]
    with FaultServer(default=Action("stall", seconds=60)) as slow:
        slow.script(Action.image())  # the first answer comes, the second never does
        child = subprocess.Popen([sys.executable, "-c", HOLDER, slow.url, str(tmp_path)])
        try:
            assert wait_for(lambda: (tmp_path / LOG_NAME).exists() and len(slow.seen) == 2)
            with FaultServer() as server:
                second = Sweep(client_for(server), "text_to_image", prompts=prompts,
                               run_dir=tmp_path)
                with pytest.raises(RunDirBusyError) as info:
                    second.run()
                assert server.seen == []  # refused before anything was sent
            assert isinstance(info.value, ClipdropError)
            assert info.value.run_dir == str(tmp_path) and str(tmp_path) in str(info.value)
            assert f"pid {child.pid} on host" in info.value.holder
            assert info.value.holder in str(info.value)
        finally:
            child.kill()  # SIGKILL: its lock is never released by its own code
            child.wait()
    assert (tmp_path / HOLDER_NAME).exists()  # what the dead holder left
    with FaultServer() as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=prompts, run_dir=tmp_path)
        sweep.run()
        # p1 was in flight when its run was killed: maybe charged, so not sent again
        assert sorted(prompts_sent(server)) == ["p2", "p3", "p4", "p5"]
        assert statuses(sweep) == ["ok", "uncertain"] + ["ok"] * 4
        sweep.run(resend_uncertain=True)
        assert sorted(prompts_sent(server)) == ["p1", "p2", "p3", "p4", "p5"]
    assert statuses(sweep) == ["ok"] * 6
    assert not (tmp_path / HOLDER_NAME).exists()  # released at the end of the run


def test_a_second_sweep_in_the_same_process_is_refused(tmp_path):
    prompts = ["a", "b"]
    with FaultServer(default=Action("stall", seconds=2)) as slow:
        first = Sweep(client_for(slow, timeout=30), "text_to_image", prompts=prompts,
                      run_dir=tmp_path)
        worker = threading.Thread(target=first.run, kwargs={"workers": 1})
        worker.start()
        try:
            assert wait_for(lambda: len(slow.seen) == 1)
            second = Sweep(client_for(slow), "text_to_image", prompts=prompts, run_dir=tmp_path)
            with pytest.raises(RunDirBusyError, match=f"pid {os.getpid()} on host"):
                second.run()
            assert len(slow.seen) == 1
        finally:
            first.stop()
            worker.join(30)
    with FaultServer() as server:
        again = Sweep(client_for(server), "text_to_image", prompts=prompts, run_dir=tmp_path)
        again.run()
        # "a" was sent and its answer lost (maybe charged): not asked again unless told to
        assert prompts_sent(server) == ["b"]
        assert statuses(again) == ["uncertain", "ok"]
        assert "may have been charged" in again.records[0]["error"]


# -- a run log edited by hand ------------------------------------------------------------------
@pytest.mark.parametrize("tampered", ["../../etc/passwd", "/etc/passwd", "sub/../../x.png",
                                      "..", ""])
def test_a_tampered_log_cannot_make_the_sweep_read_outside_its_folder(tmp_path, tampered):
    run_dir = tmp_path / "run"
    with FaultServer() as server:
        Sweep(client_for(server), "text_to_image", prompts=["a", "b"], run_dir=run_dir).run()
    log = run_dir / LOG_NAME
    lines = log.read_text().splitlines()
    record = json.loads(lines[1])
    record["file"] = tampered
    lines[1] = json.dumps(record)
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunLogError) as info:
        Sweep.open(run_dir)
    assert f"line 2 names {tampered!r}" in str(info.value)
    assert "refused and not read" in str(info.value)
    with FaultServer() as server, pytest.raises(RunLogError):
        Sweep(client_for(server), "text_to_image", prompts=["a", "b"], run_dir=run_dir)


def test_a_link_out_of_the_folder_is_not_followed(tmp_path):
    run_dir = tmp_path / "run"
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes())
    with FaultServer() as server:
        Sweep(client_for(server), "text_to_image", prompts=["a"], run_dir=run_dir).run()
    record = json.loads((run_dir / LOG_NAME).read_text().splitlines()[-1])
    (run_dir / record["file"]).unlink()
    (run_dir / record["file"]).symlink_to(outside)
    with pytest.raises(RunLogError, match="only a file directly in the run folder"):
        Sweep.open(run_dir).image(0)


# -- the key, echoed back by a server ----------------------------------------------------------
def test_an_echoed_key_reaches_no_record_no_stop_reason_and_no_status_line(tmp_path, caplog):
    echo = f"the key {SENTINEL} is not valid"
    with FaultServer(default=Action.error(500, echo)) as server:
        server.script(Action.error(403, echo))
        sweep = Sweep(client_for(server, key=SENTINEL), "text_to_image",
                      prompts=["a", "b", "c"], run_dir=tmp_path)
        sweep.run(workers=1)
    assert sweep.stopped_reason.startswith("the API key was refused")
    assert "***" in sweep.stopped_reason
    texts = [sweep.stopped_reason, repr(sweep), (tmp_path / LOG_NAME).read_text()]
    texts += [str(r) for r in sweep.records] + [r.getMessage() for r in caplog.records]
    texts += [error_text(sweep._stop_error)]
    assert all(SENTINEL not in text for text in texts)


def test_an_echoed_key_does_not_reach_the_explorer(tmp_path):
    echo = f"quota of {SENTINEL} exceeded"
    with FaultServer(default=Action.error(400, echo)) as server:
        explorer = PromptExplorer(client_for(server, key=SENTINEL))
        explorer.template.value = "a {animal}"
        explorer.set_variables({"animal": ["fox", "owl"]})
        explorer.run_button.click()
        assert explorer.wait(60)
    buttons = [box.children[1] for box in explorer.grid.children if box.children]
    shown = [explorer.errors.message, explorer.errors.value, explorer.status.value,
             repr(explorer), str(explorer.sweep.records)] + [b.tooltip for b in buttons]
    assert "***" in explorer.errors.message and "failed" in buttons[0].tooltip
    assert all(SENTINEL not in text for text in shown)

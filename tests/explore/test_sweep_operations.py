"""Sweeps over the operations without a prompt: pictures (``images=``), option values
(``options=``) and takes (``repeat=``).

Against the local engine served over HTTP (`serve`, real answers of the documented sizes)
and loopback servers that count what they were sent; no mocks, and no assertion is about time.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import warnings

import numpy as np
import pandas as pd
import pytest
from fault_server import UNPACED, Action, FaultServer, jpeg_bytes, png_bytes
from PIL import Image

from clipdrop_widgets import (
    Client,
    InputError,
    LocalEngine,
    PromptExplorer,
    Sweep,
    read_record,
    serve,
)
from clipdrop_widgets.explore.runlog import MANIFEST_NAME


@pytest.fixture(scope="module")
def served():
    """The local engine over loopback HTTP, shared by the tests of this file."""
    with serve(port=0, background=True, engine=LocalEngine(credits=10_000)) as handle:
        yield handle


def engine_client(handle) -> Client:
    return Client("k", base_url=handle.url, max_retries=0, requests_per_minute=6000)


def fault_client(server: FaultServer, **options) -> Client:
    options.setdefault("max_retries", 0)
    options.setdefault("requests_per_minute", UNPACED)  # no 1 s turn per item
    return Client("k", base_url=server.url, **options)


@pytest.fixture
def folder(tmp_path):
    """Three small photos of different sizes and formats, as a researcher's folder holds."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "b_sea.png").write_bytes(png_bytes((60, 40), (30, 90, 200)))
    (photos / "a_field.jpg").write_bytes(jpeg_bytes((48, 64), (60, 160, 40)))
    (photos / "c_wall.webp").write_bytes(_webp((52, 52), (180, 60, 50)))
    (photos / "notes.txt").write_text("not a picture")
    return photos


def _webp(size, color) -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "WEBP")
    return buf.getvalue()


def statuses(sweep: Sweep) -> list[str]:
    return [r["status"] for r in sweep.records]


# -- through the local engine -------------------------------------------------------------------
def test_uncrop_over_a_folder_and_seeds_makes_every_size_and_resumes_for_free(served, folder,
                                                                             tmp_path):
    run_dir = tmp_path / "run"

    def make() -> Sweep:
        return Sweep(engine_client(served), "uncrop", images=folder, run_dir=run_dir,
                     options={"seed": [1, 2], "extend_right": [0, 30]})

    sweep = make()
    assert len(sweep) == 3 * 2 * 2
    assert [it.variables for it in sweep.items[:3]] == [
        {"image": "a_field.jpg", "seed": 1, "extend_right": 0},
        {"image": "a_field.jpg", "seed": 1, "extend_right": 30},
        {"image": "a_field.jpg", "seed": 2, "extend_right": 0}]
    before = len(served.engine.log)
    sweep.run(progress=False)
    assert statuses(sweep) == ["ok"] * 12 and len(served.engine.log) - before == 12
    sizes = {"a_field.jpg": (48, 64), "b_sea.png": (60, 40), "c_wall.webp": (52, 52)}
    for i, record in enumerate(sweep.records):
        w, h = sizes[record["variables"]["image"]]
        assert sweep.image(i).size == (w + record["variables"]["extend_right"], h)
    # with something to invent, another seed gives another picture
    assert sweep.records[1]["sha256"] != sweep.records[3]["sha256"]
    assert sweep.label(1) == "a_field.jpg · seed 1 · extend_right 30"
    record = read_record(run_dir / sweep.records[1]["file"])
    assert record["values"] == {"image": "a_field.jpg", "seed": 1, "extend_right": 30}
    assert record["options"]["seed"] == 1 and record["options"]["extend_right"] == 30

    again = make()  # a new kernel, the same sweep: everything is already there
    assert statuses(again) == ["ok"] * 12
    sent = len(served.engine.log)
    again.run(progress=False)
    assert len(served.engine.log) == sent
    opened = Sweep.open(run_dir)
    assert opened.records == again.records and opened.label(1) == sweep.label(1)
    assert opened.variables == {"image": ["a_field.jpg", "b_sea.png", "c_wall.webp"],
                                "seed": [1, 2], "extend_right": [0, 30]}


def test_the_parquet_rows_carry_each_items_values_options_and_own_picture(served, folder,
                                                                          tmp_path):
    sweep = Sweep(engine_client(served), "remove_background", images=folder,
                  options={"format": ["png", "webp"]})
    sweep.run(progress=False)
    assert [r["content_type"] for r in sweep.records] == ["image/png", "image/webp"] * 3
    table = pd.read_parquet(sweep.to_parquet(tmp_path / "cut.parquet"))
    assert len(table) == 6 and table["prompt"].isna().all()
    values = [json.loads(v) for v in table["values"]]
    assert values[3] == {"image": "b_sea.png", "format": "webp"}
    assert [json.loads(o)["format"] for o in table["options"]] == ["png", "webp"] * 3
    manifest_hashes = {label: d["sha256"] for label, d in sweep._inputs["images"].items()}
    for row, value in zip(table.itertuples(), values, strict=True):
        assert list(row.input_hashes) == [manifest_hashes[value["image"]]]
    assert list(zip(table["width"], table["height"], strict=True)) == \
        [(48, 64)] * 2 + [(60, 40)] * 2 + [(52, 52)] * 2
    assert {f.rsplit(".", 1)[1] for f in table["file"]} == {"png", "webp"}


def test_upscale_over_a_list_of_sizes_answers_each_size_in_a_wrapped_grid(served, tmp_path):
    sizes = [{"target_width": 120, "target_height": 80},
             {"target_width": 240, "target_height": 160},
             {"target_width": 90, "target_height": 60}]
    sweep = Sweep(engine_client(served), "upscale", inputs={"image": png_bytes((60, 40))},
                  options=sizes)
    sweep.run(progress=False)
    assert [sweep.image(i).size for i in range(3)] == [(120, 80), (240, 160), (90, 60)]
    assert sweep.label(1) == "target_width 240 · target_height 160"
    layout = sweep.layout()
    assert layout.rows_by is None and len(set(layout.cells)) == 3  # one cell each
    fig = sweep.contact_sheet()
    assert fig.axes[0].get_title().replace("\n", " ") == "target_width 120 · target_height 80"


# -- checked before sending ----------------------------------------------------------------------
def test_bad_values_are_all_listed_with_field_and_limit_before_anything_is_sent(tmp_path):
    photo = png_bytes((200, 100))
    with FaultServer() as server:
        client = fault_client(server)
        with pytest.raises(InputError) as bad:
            Sweep(client, "uncrop", inputs={"image": photo}, run_dir=tmp_path / "run",
                  options={"seed": [5, 100_001], "extend_left": [0, 2500]})
        text = str(bad.value)
        assert "3 of 4 items break a rule of uncrop; nothing was sent" in text
        assert "item 1 (seed 5, extend_left 2500): extend_left is 2500; /uncrop/v1 accepts " \
               "-2000 to 2000" in text
        assert "item 2 (seed 100001, extend_left 0): seed is 100001; /uncrop/v1 accepts 0 " \
               "to 100000" in text
        assert bad.value.field == "extend_left" and bad.value.rule == "range"
        with pytest.raises(InputError, match=r"item 2 \(wide\.png, take 1\): image_file is "
                                             r"1100x40; width and height must be at most "
                                             r"1024") as wide:
            Sweep(client, "reimagine", repeat=2,
                  images={"small.png": png_bytes((64, 64)), "wide.png": png_bytes((1100, 40))})
        assert "2 of 4 items" in str(wide.value) and wide.value.rule == "max_side"
        with pytest.raises(InputError, match="cropping must keep at least 1 pixel"):
            Sweep(client, "uncrop", images=[png_bytes((200, 100)), png_bytes((20, 20))],
                  options={"extend_left": [-30]})
        with pytest.raises(InputError, match=r"item 1 \(broken\.png\): image_file is not a "
                                             "readable image"):
            Sweep(client, "remove_background",
                  images={"fine.png": photo, "broken.png": b"not a picture"})
        assert server.seen == []
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("operation", "kwargs", "error", "match"), [
    ("remove_background", {"inputs": {"image": b"x"}}, ValueError, "no prompt to sweep"),
    ("cleanup", {"prompts": ["a"]}, ValueError, "no prompt"),
    ("remove_background", {"repeat": 3},
     ValueError, "same answer to the same call, so repeat=3 would pay 3 times"),
    ("uncrop", {"inputs": {"seed": 4}, "repeat": 2}, ValueError, "same picture for the same seed"),
    ("uncrop", {"inputs": {"seed": 4}, "options": {"seed": [1, 2]}}, ValueError,
     "both fixed"),
    ("uncrop", {"options": {"seeds": [1]}}, TypeError, "not seeds"),
    ("uncrop", {"options": {"seed": [1, 1]}}, ValueError, "lists 1 twice"),
    # values equal as the service reads them, the same picture twice: one request paid twice
    ("uncrop", {"options": {"seed": [5, "5"]}}, ValueError,
     r"items 0 and 1 would send the same uncrop request \(5 and '5' are the same seed"),
    ("uncrop", {"options": {"extend_left": [0, 7, " 0"]}}, ValueError,
     r"items 0 and 2 .*\(0 and ' 0' are the same extend_left"),
    ("remove_background", {"options": {"format": ["png", "PNG"]}}, ValueError,
     r"'png' and 'PNG' are the same format .* pay twice for one picture"),
    ("portrait_depth", {"images": [png_bytes(), png_bytes()]}, ValueError,
     r"'image 0' and 'image 1' are the same picture"),
    ("uncrop", {"options": {"seed": [True]}}, TypeError, "strings or numbers"),
    ("uncrop", {"options": [{}]}, ValueError, r"options\[0\] sets nothing"),
    ("uncrop", {"options": {"seed": [5, np.int64(5)]}}, ValueError, "lists 5 twice"),
    ("upscale", {"options": [{"target_width": 9}, {"target_height": 9}]}, ValueError,
     "every dict must set target_width"),
    ("reimagine", {"repeat": 0}, ValueError, "1 or more"),
    ("text_to_image", {"prompts": ["a"], "images": [b"x"]}, ValueError, "takes no picture"),
    ("reimagine", {"images": "no/such/folder"}, ValueError, "not a folder"),
    ("reimagine", {"images": ["x/a.png", "y/a.png"]}, ValueError, "two pictures labelled a.png"),
])
def test_impossible_sweeps_say_why(operation, kwargs, error, match):
    kwargs = dict(kwargs)
    if operation not in ("text_to_image",) and "images" not in kwargs:
        kwargs.setdefault("inputs", {}).setdefault("image", png_bytes())
    with FaultServer() as server:
        with pytest.raises(error, match=match):
            Sweep(fault_client(server), operation, **kwargs)
        assert server.seen == []


def test_numpy_integers_are_swept_as_the_client_methods_take_them(tmp_path):
    """Attack 23c F4: np.arange(...) values were refused as "not strings or numbers"."""
    with FaultServer(default=Action.image(jpeg_bytes((8, 8)), "image/jpeg")) as server:
        sweep = Sweep(fault_client(server), "upscale", inputs={"image": png_bytes((64, 64))},
                      options={"target_width": list(np.arange(1000, 3001, 1000)),
                               "target_height": [np.int32(500)]}, run_dir=tmp_path)
        sweep.run(workers=1, progress=False)
        assert [s.texts["target_width"] for s in server.seen] == ["1000", "2000", "3000"]
    assert Sweep.open(tmp_path).records[2]["variables"] == {"target_width": 3000,
                                                           "target_height": 500}


def test_a_negative_value_keeps_its_minus_sign_in_the_file_name(tmp_path):
    """Attack 23c F9: extend_left -50 and 50 were both saved as ...-extend-left-50.jpg."""
    with FaultServer(default=Action.image(jpeg_bytes((8, 8)), "image/jpeg")) as server:
        sweep = Sweep(fault_client(server), "uncrop", inputs={"image": png_bytes((200, 100))},
                      options={"extend_left": [-50, 50]}, run_dir=tmp_path)
        sweep.run(workers=1, progress=False)
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == [
        "0000_extend-left-minus-50.jpg", "0001_extend-left-50.jpg"]


def test_a_folder_skips_hidden_files_and_refuses_links_out_of_it(tmp_path):
    """Attack 23c F10: a Mac's ``._photo.png`` made a whole folder unreadable, and a link
    to a picture elsewhere would have been sent."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "photo.png").write_bytes(png_bytes((40, 30)))
    (folder / "._photo.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (folder / ".hidden.png").write_bytes(png_bytes((30, 40)))
    with FaultServer() as server:
        sweep = Sweep(fault_client(server), "portrait_depth", images=folder)
        assert [it.variables["image"] for it in sweep.items] == ["photo.png"]
        (tmp_path / "elsewhere.png").write_bytes(png_bytes((20, 20)))
        (folder / "link.png").symlink_to(tmp_path / "elsewhere.png")
        with pytest.raises(ValueError, match=r"link\.png link to files outside it"):
            Sweep(fault_client(server), "portrait_depth", images=folder)
        assert server.seen == []


# -- budget ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("budget", "sent", "stopped"), [(10, 6, None), (6, 2, "budget reached")])
def test_an_upscale_sweep_under_a_budget_waits_for_reservations_in_flight(budget, sent, stopped):
    slow = Action.image(jpeg_bytes((64, 64)), "image/jpeg")  # the server charges 1
    slow.seconds = 0.2  # items stay in flight, each having reserved the most it costs (4.19)
    sizes = [{"target_width": 2048, "target_height": 2048 - i} for i in range(6)]
    with FaultServer(default=slow) as server:
        client = fault_client(server, budget=budget, requests_per_minute=6000)
        sweep = Sweep(client, "upscale", inputs={"image": png_bytes((64, 64))}, options=sizes)
        sweep.run(workers=8, progress=False)
        assert len(server.seen) == sent == client.credits_spent
    assert statuses(sweep).count("ok") == sent
    # stops only when what is spent plus the next call's most passes the budget (2 + 4.19 > 6)
    assert (sweep.stopped_reason or "").startswith(stopped or "") and \
        (stopped is None) == (sweep.stopped_reason is None)


# -- takes, interrupts and resumes ---------------------------------------------------------------
def test_reimagine_n_times_sends_the_same_picture_n_times(tmp_path):
    photo = png_bytes((64, 48), (10, 120, 220))
    answers = [png_bytes((64, 48), (40 * i, 0, 0)) for i in range(1, 4)]
    with FaultServer() as server:
        server.script(*[Action.image(a) for a in answers])
        sweep = Sweep(fault_client(server), "reimagine", inputs={"image": photo}, repeat=3,
                      run_dir=tmp_path)
        sweep.run(workers=1, progress=False)
        assert {s.files["image_file"][2] for s in server.seen} == {photo}
    assert [r["variables"] for r in sweep.records] == [{"take": 1}, {"take": 2}, {"take": 3}]
    assert [r["sha256"] for r in sweep.records] == [hashlib.sha256(a).hexdigest()
                                                    for a in answers]
    assert [ax.get_title() for ax in sweep.contact_sheet().axes] == ["take 1", "take 2",
                                                                     "take 3"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "0000_take-1.png", "0001_take-2.png", "0002_take-3.png"]


def test_ctrl_c_saves_the_item_in_flight_and_the_resume_sends_only_the_rest(tmp_path):
    pictures = {f"p{i}.png": png_bytes((16 + i, 16), (20 * i, 50, 90)) for i in range(4)}
    with FaultServer() as server:  # one request a minute: the second waits for its slot
        sweep = Sweep(fault_client(server, requests_per_minute=1), "remove_background",
                      images=pictures, run_dir=tmp_path)
        before = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own
        try:  # a real SIGINT, as Ctrl-C sends it (test_sweep.py: the same, by an event)
            with pytest.raises(KeyboardInterrupt):
                sweep.run(workers=2, on_record=lambda r: os.kill(os.getpid(), signal.SIGINT))
        finally:
            signal.signal(signal.SIGINT, before)
        assert len(server.seen) == 1
    assert sweep.stopped_reason == "interrupted"
    assert statuses(Sweep.open(tmp_path)) == ["ok", "pending", "pending", "pending"]
    with FaultServer() as server:
        again = Sweep(fault_client(server), "remove_background", images=pictures,
                      run_dir=tmp_path)
        again.run(progress=False)
        sent = sorted(s.files["image_file"][2] for s in server.seen)
    assert sent == sorted(pictures[f"p{i}.png"] for i in (1, 2, 3))
    assert statuses(again) == ["ok"] * 4
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["swept"] == {"options": [], "image": "image", "repeat": 1}


def test_another_folder_of_pictures_is_another_sweep(tmp_path):
    with FaultServer() as server:
        client = fault_client(server)
        Sweep(client, "reimagine", images={"a": png_bytes((8, 8), (1, 2, 3))},
              run_dir=tmp_path).run(progress=False)
        with pytest.raises(ValueError, match="fixed inputs"):
            Sweep(client, "reimagine", images={"a": png_bytes((8, 8), (9, 9, 9))},
                  run_dir=tmp_path)


# -- the explorer ---------------------------------------------------------------------------------
def test_the_explorer_shows_a_sweep_over_pictures_labelled_and_compares_each_with_its_own():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client()
    red, blue = Image.new("RGB", (40, 30), (220, 20, 20)), Image.new("RGB", (40, 30), (20, 20, 220))
    sweep = Sweep(client, "uncrop", images={"red": red, "blue": blue},
                  options={"seed": [3, 4]})
    explorer = PromptExplorer(client)
    explorer.run_sweep(sweep)
    assert explorer.wait(120)
    buttons = [box.children[1].description for box in explorer.grid.children]
    assert buttons == ["red · seed 3", "red · seed 4", "blue · seed 3", "blue · seed 4"]
    assert explorer.grid.layout.grid_template_columns.startswith("repeat(2,")
    assert "input" in dict(explorer.compare_with.options).values()
    explorer.compare_with.value = "input"
    explorer.select(2)
    assert explorer.compare_title.value == "input | blue · seed 3"
    before = explorer.compare._originals["before"]  # the blue photo, not a fixed input
    assert before.convert("RGB").getpixel((0, 0)) == (20, 20, 220)


def test_a_prompt_sweep_crossed_with_pictures_sends_every_pair_once():
    photos = {"red": png_bytes((16, 16), (200, 0, 0)), "blue": png_bytes((16, 16), (0, 0, 200))}
    with FaultServer(default=Action.image(content_type="image/jpeg")) as server:
        sweep = Sweep(fault_client(server), "replace_background", template="a {place}",
                      variables={"place": ["beach", "forest"]}, images=photos)
        sweep.run(progress=False)
        sent = sorted((s.texts["prompt"], s.files["image_file"][2]) for s in server.seen)
    assert sent == sorted((f"a {p}", photos[c]) for p in ("beach", "forest")
                          for c in ("red", "blue"))
    assert [sweep.label(i) for i in range(4)] == ["beach · red", "beach · blue",
                                                  "forest · red", "forest · blue"]
    layout = sweep.contact_sheet().axes[0].get_ylabel(), sweep.layout()
    assert layout[0] == "place: beach" and (layout[1].rows_by, layout[1].cols_by) == (
        "place", "image")
    with pytest.raises(ValueError, match="template variable 'image' has the name of a swept"):
        Sweep(fault_client(server), "replace_background", template="{image}",
              variables={"image": ["x"]}, images=photos)


def test_the_html_report_of_a_sweep_shows_each_items_swept_options(tmp_path):
    from clipdrop_widgets.explore.report import report_items

    with FaultServer() as server:
        sweep = Sweep(fault_client(server), "uncrop", inputs={"image": png_bytes((20, 20))},
                      options={"seed": [7, 8]}, run_dir=tmp_path)
        sweep.run(progress=False)
    items, _ = report_items(sweep)
    assert [it["options"] for it in items] == [{"seed": 7}, {"seed": 8}]
    assert [it["values"] for it in items] == [{"seed": 7}, {"seed": 8}]

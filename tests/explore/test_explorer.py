"""PromptExplorer without a browser: type, click Run, wait for the worker, click cells."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
from fault_server import Action, FaultServer, png_bytes

from clipdrop_widgets import Client, PromptExplorer
from clipdrop_widgets.explore.explorer import parse_values


def client_for(server: FaultServer, *, client_class: type[Client] = Client, **options) -> Client:
    return client_class("k", base_url=server.url, max_retries=0, **options)


def explorer_with(client, template, values, **options) -> PromptExplorer:
    explorer = PromptExplorer(client, **options)
    explorer.template.value = template
    explorer.set_variables(values)
    return explorer


def run(explorer: PromptExplorer) -> None:
    explorer.run_button.click()
    assert explorer.wait(60), "the sweep did not finish"


def cells(explorer: PromptExplorer):
    return [box for box in explorer.grid.children if box.children]


def test_values_are_one_per_line():
    assert parse_values(" fox \n\n owl\n") == ["fox", "owl"]


def test_the_template_makes_one_box_per_variable_and_keeps_what_was_typed():
    with FaultServer() as server:
        explorer = PromptExplorer(client_for(server))
    explorer.template.value = "a {animal} in {style}"
    assert list(explorer.variable_boxes) == ["animal", "style"]
    explorer.set_variables({"animal": ["fox", "owl"], "style": "ink\noil"})
    explorer.template.value = "a {animal} in {sty"  # half typed: boxes stay
    explorer.template.value = "a {animal}"
    assert list(explorer.variable_boxes) == ["animal"]
    explorer.template.value = "a {animal} in {style}"
    assert explorer.variables() == {"animal": ["fox", "owl"], "style": ["ink", "oil"]}
    assert [c.description for c in explorer.variables_row.children] == ["animal", "style"]


def test_run_fills_the_grid_and_a_click_compares_two_cells():
    with FaultServer() as server:
        explorer = explorer_with(client_for(server), "a {animal} in {style}",
                                 {"animal": ["fox", "owl"], "style": ["ink", "oil", "chalk"]})
        assert repr(explorer) == ("PromptExplorer(operation='text_to_image', "
                                  "template='a {animal} in {style}', items=0, state='idle')")
        run(explorer)
        assert len(server.seen) == 6
    grid = cells(explorer)
    assert len(grid) == 6
    assert explorer.grid.layout.grid_template_columns.startswith("repeat(3,")
    assert [box.children[1].description for box in grid][:3] == ["fox · ink", "fox · oil",
                                                                 "fox · chalk"]
    assert all(box.children[0].value[:4] == b"\x89PNG" for box in grid)
    assert explorer.bar.value == 6 and "6/6 done" in explorer.status.value
    assert explorer.errors.message == ""
    assert explorer.compare_with.options == (("with another cell", "cell"),)
    grid[0].children[1].click()
    assert explorer.compare.layout.display == ""
    assert explorer.compare.before is None and explorer.compare.after is not None
    grid[4].children[1].click()
    assert explorer.compare.before is not None and explorer.compare.after is not None
    assert explorer.compare_title.value == "fox · ink | owl · oil"
    assert repr(explorer).endswith("items=6, state='done')")


def test_a_cell_compares_with_its_input():
    photo = np.full((16, 16, 3), 120, np.uint8)
    with FaultServer(default=Action.image(png_bytes((16, 16)), content_type="image/png")
                     ) as server:
        explorer = PromptExplorer(client_for(server), inputs={"image": photo})
        # The menu speaks the operations' titles; the value stays the endpoint name.
        assert set(explorer.operation.options) == {("Text to image", "text_to_image"),
                                                   ("Replace background", "replace_background")}
        explorer.operation.value = "replace_background"
        explorer.template.value = "on a {place}"
        explorer.set_variables({"place": ["beach", "moon"]})
        run(explorer)
        assert {s.texts["prompt"] for s in server.seen} == {"on a beach", "on a moon"}
    assert explorer.compare_with.value == "input"
    cells(explorer)[1].children[1].click()
    assert explorer.compare.before.size == (16, 16)
    assert np.asarray(explorer.compare.before)[0, 0].tolist() == [120, 120, 120]
    assert explorer.compare_title.value == "input | moon"
    assert explorer.compare.label_text == "Input | moon"  # over the frame's two halves


def test_errors_show_in_the_widget():
    with FaultServer() as server:
        server.script(Action.image(), Action.error(400, "refused by the filter"))
        explorer = explorer_with(client_for(server), "a {thing}", {"thing": ["cup", "gun"]})
        explorer.run_button.click()
        assert explorer.wait(60)
    assert "refused by the filter" in explorer.errors.message
    failed = [b for b in cells(explorer) if b.children[1].button_style == "danger"]
    assert len(failed) == 1
    failed[0].children[1].click()  # no picture: said in the error line, nothing raised
    assert "has no picture yet (failed)" in explorer.errors.message

    explorer.template.value = "a {thing} and a {other}"
    explorer.run_button.click()  # {other} has no values
    assert "type at least one value for other" in explorer.errors.message
    explorer.template.value = "a {thing}"
    explorer.set_variables({"thing": ["x" * 1001]})
    explorer.run_button.click()
    assert "at most 1000" in explorer.errors.message
    assert not explorer.running


def test_out_of_credits_is_said_in_the_error_line():
    with FaultServer(default=Action.error(402, "no credits")) as server:
        server.script(Action.image())
        explorer = explorer_with(client_for(server), "{n} boats", {"n": list("12345")})
        run(explorer)
    assert "the sweep stopped: out of credits" in explorer.errors.message
    assert explorer.run_button.disabled is False and explorer.stop_button.disabled is True


def test_stop_ends_a_sweep_waiting_for_the_rate_limit_without_sending_more():
    """One request a minute: the second item waits for a slot; Stop ends the wait."""
    with FaultServer() as server:
        explorer = explorer_with(client_for(server, requests_per_minute=1), "{n} boats",
                                 {"n": list("123")})
        explorer.run_button.click()
        assert explorer.running and not explorer.stop_button.disabled
        deadline = time.monotonic() + 30
        while explorer.bar.value < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        explorer.stop_button.click()
        assert explorer.wait(30)
        assert len(server.seen) == 1
    assert "stopped by the user" in explorer.status.value
    assert explorer.errors.message == ""


def test_run_dir_resumes_the_same_sweep_without_paying_again(tmp_path):
    values = {"n": ["1", "2", "3"]}
    with FaultServer() as server:
        first = explorer_with(client_for(server), "{n} kites", values, run_dir=str(tmp_path))
        run(first)
        again = explorer_with(client_for(server), "{n} kites", values, run_dir=str(tmp_path))
        run(again)
        assert len(server.seen) == 3
    assert again.sweep.run_dir.parent == tmp_path
    assert all(box.children[0].value[:4] == b"\x89PNG" for box in cells(again))


def test_on_the_local_engine():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explorer = explorer_with(None, "a {animal}", {"animal": ["fox", "heron"]})
    assert explorer.client.is_local
    run(explorer)
    assert explorer.errors.message == ""
    assert len(explorer._full) == 2


def test_set_variables_refuses_names_not_in_the_template():
    with FaultServer() as server:
        explorer = PromptExplorer(client_for(server))
    explorer.template.value = "a {animal}"
    with pytest.raises(KeyError, match="colour"):
        explorer.set_variables({"animal": ["fox"], "colour": ["red"]})


def test_run_takes_the_template_and_values_as_shown_on_the_page():
    """A press of Run on the page carries the boxes' text (keyboard.js): a sweep is paid
    for, so it never runs with a template or values the page had not sent yet."""
    explorer = explorer_with(Client(), "a {animal}", {"animal": "fox"})
    template, box = explorer.template, explorer.variable_boxes["animal"]
    keyboard = explorer._keyboard
    assert set(keyboard._inputs.values()) == {template, box, explorer.operation}
    inputs = {template.model_id: {"value": "a {animal} at night"},
              box.model_id: {"value": "fox\nowl"}}
    keyboard._handle(keyboard, {"type": "run", "inputs": inputs}, [])
    assert explorer.wait(60), "the sweep did not finish"
    assert explorer.errors.message == ""
    prompts = sorted(record["prompt"] for record in explorer.sweep.records)
    assert prompts == ["a fox at night", "a owl at night"]


def test_a_press_of_run_while_a_sweep_runs_is_ignored_without_an_error():
    gate = threading.Event()

    class Gated(Client):  # a real client whose calls wait until the test opens the gate
        def call(self, *args, **kwargs):
            gate.wait(30)
            return super().call(*args, **kwargs)

    with FaultServer() as server:
        explorer = explorer_with(client_for(server, client_class=Gated), "a {animal}",
                                 {"animal": "fox\nowl"})
        keyboard = explorer._keyboard
        keyboard._handle(keyboard, {"type": "run", "inputs": {}}, [])
        assert explorer.running
        first = explorer.sweep
        keyboard._handle(keyboard, {"type": "run", "inputs": {}}, [])  # a second press
        assert explorer.errors.message == "" and explorer.sweep is first
        gate.set()
        assert explorer.wait(60)
    assert explorer.errors.message == ""
    assert len(server.seen) == 2  # one sweep of two items, never two sweeps

"""Keys pressed inside a widget never reach the notebook's own shortcuts (issue 21).

In Notebook 7, Ctrl+Enter with a canvas or Run focused re-ran the Studio's cell (a new empty
session, the photo and mask gone) and B on a focused canvas inserted a cell. Here, in
JupyterLab and in Notebook 7, with the notebook in command mode on the Studio's cell (as after
a click on it), each of the notebook's shortcuts is pressed on each focusable part of the
Cleanup app (the drawing canvas, Run, the sample menu; the compare view takes the stage only
after a run, and its canvas is marked by the same code as the drawing canvas) and on the
Studio's own Reopen menu. After all of them the notebook has the same cells, of the same
kinds, run the same number of times. Escape, though, leaves the app: the focus goes to the
Studio's cell, the notebook in command mode. A tab whose app is not built yet says so.
"""

from __future__ import annotations

import pytest
from labpage import run_all

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 60.0
STUDIO_CELL = """\
from clipdrop_widgets import Studio
studio = Studio()
studio.add_class("cdw-test-studio")
_app = studio.select("cleanup")
_app.add_class("cdw-test-app")
_app.compare.add_class("cdw-test-compare")
studio
"""
#: The notebook's shortcuts a stray key could set off (run, insert, delete, cut, paste,
#: change the cell's type, undo), pressed one after another.
SHORTCUTS = ["Control+Enter", "Shift+Enter", "Alt+Enter", "b", "a", "d", "d", "x", "v",
             "m", "y", "z", "Meta+Enter"]
#: The focusable parts of the Cleanup app, and the Studio's own Reopen menu, by selector.
TARGETS = {
    "drawing canvas": ".cdw-test-app canvas.cdw-ink:visible",
    "Run": ".cdw-test-app button.cdw-run:visible",
    "sample menu": ".cdw-test-app select:visible",
    "Reopen menu": ".cdw-test-studio .widget-dropdown:has(label:text-is('Reopen')) select",
}
#: Each cell's kind and how many times it ran, with the number of cells.
JS_CELLS = """(path) => {
  const p = window.__cdwPanel(path), cells = p.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    out.push([c.type, c.type === 'code' ? c.executionCount : null]);
  }
  return out;
}"""
#: Command mode on the last cell (the Studio's), as after a click on it.
JS_COMMAND_MODE = """(path) => {
  const p = window.__cdwPanel(path);
  p.content.activeCellIndex = p.content.widgets.length - 1;
  p.content.mode = 'command';
}"""


def press_everywhere(page, path: str) -> list[tuple[str, str]]:
    """Press every shortcut on every target; returns the (target, key) pairs pressed."""
    pressed: list[tuple[str, str]] = []
    for name, selector in TARGETS.items():
        target = page.locator(selector).first
        for key in SHORTCUTS:
            page.evaluate(JS_COMMAND_MODE, path)
            try:
                target.focus(timeout=10_000)
            except Exception as exc:
                raise AssertionError(f"{name} not focusable after {pressed[-3:]}") from exc
            assert target.evaluate("(e) => document.activeElement === e"), name
            page.keyboard.press(key)
            pressed.append((name, key))
    return pressed


def check_no_cell_added_or_run(page, path: str) -> None:
    run_all(page, path)
    page.locator(".cdw-test-studio").wait_for(timeout=WAIT * 1000)
    before = page.evaluate(JS_CELLS, path)
    assert before[-1][1] is not None  # the Studio's cell has run
    pressed = press_everywhere(page, path)
    assert len(pressed) == len(TARGETS) * len(SHORTCUTS)
    page.wait_for_timeout(1500)  # a run or an insertion would show by now
    assert page.evaluate(JS_CELLS, path) == before
    assert page.locator(".cdw-test-studio").count() == 1  # the Studio was not made again
    assert not page.console_errors


#: Where the focus is and the notebook's mode and active cell: whether the focused element is
#: the Studio's cell itself.
JS_WHERE = """(path) => {
  const p = window.__cdwPanel(path), nb = p.content;
  const cell = document.querySelector('.cdw-test-studio').closest('.jp-Cell');
  return [document.activeElement === cell, nb.mode, nb.activeCellIndex === nb.widgets.length - 1];
}"""


def check_escape_leaves_for_the_cell(page, path: str) -> None:
    """Finding 17 (walk 22): Escape inside the Studio did nothing. It now gives the focus to
    the Studio's cell, the notebook in command mode (as "Esc, then navigate cells" expects),
    from a text field too (a prompt, "Save to")."""
    field = ".cdw-test-studio .widget-text:has(label:text-is('Save to')) input"  # its view
    for name, where in (("drawing canvas", TARGETS["drawing canvas"]),  # keeps every key
                        ("Run", TARGETS["Run"]), ("a text field", field)):
        target = page.locator(where).first
        target.focus(timeout=10_000)
        page.keyboard.press("Escape")
        assert page.evaluate(JS_WHERE, path) == [True, "command", True], name


def check_tabs_not_built_say_loading(page) -> None:
    """Finding 15 (walk 22): an app's tab before its app arrives said nothing (an empty strip
    for 2 s); its empty placeholder now says "Loading <app>…" (page CSS)."""
    words = page.evaluate("""() => [...document.querySelectorAll('.cdw-test-studio '
        + '[class*="cdw-loading-"]')].filter((e) => e.children.length === 0)
        .map((e) => getComputedStyle(e, '::before').content)""")
    assert '"Loading Text inpainting\u2026"' in words, words
    built = page.locator(".cdw-test-studio .cdw-loading-cleanup").first
    assert built.evaluate("(e) => getComputedStyle(e, '::before').content") == "none"


def test_widget_keys_never_reach_jupyterlab_shortcuts(notebook, page):
    nb = notebook("keys-lab", [STUDIO_CELL])
    check_no_cell_added_or_run(page, nb.path)
    check_escape_leaves_for_the_cell(page, nb.path)
    check_tabs_not_built_say_loading(page)


def test_widget_keys_never_reach_notebook_7_shortcuts(nb7, page):
    nb = nb7("keys-nb7", [STUDIO_CELL])
    check_no_cell_added_or_run(page, nb.path)
    check_escape_leaves_for_the_cell(page, nb.path)

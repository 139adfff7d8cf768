"""The notebooks: committed executed and small, and safe to run against the service with a key.

nbval (``pytest --nbval ... notebooks/``) compares the committed outputs with a fresh run on
the local engine. These tests cover the rest:

* the committed notebooks are what ``scripts/execute-notebooks`` saves: every code cell executed
  in order (so nbval's strict mode compares every cell), no error, no widget state, no timing
  metadata, small files;
* the sanitize file turns a warning's changing location into a stable line;
* every notebook runs top to bottom against "the service" (the local engine served on loopback,
  accepting only a sentinel key, reached over real HTTP through ``CLIPDROP_API_URL``), and the
  saved ``.ipynb`` (outputs, metadata, widget state) never contains the key.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import nbformat
import pytest

from clipdrop_widgets.api.notices import ClipdropNotice

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
#: Every notebook, the Studio launcher (studio.ipynb, what Voila and Binder open) included.
ALL_NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = ["00_quickstart", "01_text_to_image", "02_sketch_to_image", "03_cleanup",
            "04_text_inpainting", "05_replace_background", "06_prompt_exploration",
            "07_workshop", "08_workshop_gateway", "09_more_operations"]
SENTINEL = "sk-SENTINEL-notebooks-93c1d0b7"
#: A committed notebook larger than this means pictures were stored too big (bytes).
MAX_NOTEBOOK_BYTES = 400_000


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in _code_cells(nb) for o in c.outputs
                   if o.output_type == "stream" and o.name == "stdout")


def test_every_notebook_is_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


def test_the_gateway_notebook_shows_the_hub_path():
    """Issue 25: a teacher reading notebook 08 learns that a JupyterHub needs no seat keys."""
    nb = nbformat.read(NOTEBOOKS_DIR / "08_workshop_gateway.ipynb", as_version=4)
    text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    text = " ".join(text.split())
    for needed in ("gateway serve --db room.db --hub", "CLIPDROP_HUB_GATEWAY",
                   "JupyterHub seat: NAME, N credits left",
                   "/services/clipdrop-gateway/gateway/admin", "Running a workshop on JupyterHub"):
        assert needed in text, needed


def test_studio_launcher_is_committed_executed():
    """nbval compares only executed cells: the launcher too shows what it made, and where."""
    nb = nbformat.read(NOTEBOOKS_DIR / "studio.ipynb", as_version=4)
    cells = _code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    shown = cells[-1].outputs[-1]
    assert shown.data["text/plain"].startswith("Studio(source='local engine'")
    assert "image/png" in shown.data  # the still picture, where no widget front end runs
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_is_executed_in_order_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    assert cells, "a notebook without code"
    # nbval's strict mode compares only executed cells: every one must be, top to bottom.
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    for cell in cells:
        assert "execution" not in cell.metadata, f"timing metadata in cell {cell.id}"
        for output in cell.outputs:
            assert output.output_type != "error", f"cell {cell.id} failed: {output.get('evalue')}"
            # Views without their state read "model not found" in JupyterLab: the widget's
            # still picture (image/png, or image/jpeg once stored) is what is kept.
            assert not {"application/vnd.jupyter.widget-state+json",
                        "application/vnd.jupyter.widget-view+json"} & set(output.get("data", {}))
        names = [o.name for o in cell.outputs if o.output_type == "stream"]
        assert len(names) == len(set(names)), f"cell {cell.id}: streams not merged"
    assert "widgets" not in nb.metadata, "widget state saved: run scripts/execute-notebooks"
    assert nb.metadata.kernelspec.name == "python3"
    size = path.stat().st_size
    assert size < MAX_NOTEBOOK_BYTES, f"{path.name} is {size} bytes"
    # Committed on the local engine, and they say so.
    assert "results come from: local engine" in _stdout(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_cells_that_show_a_picture_also_print_something_checkable(path):
    """nbval never compares images: a cell that shows one must also print text it compares."""
    nb = nbformat.read(path, as_version=4)
    for cell in _code_cells(nb):
        pictures = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")
                    and {"image/png", "image/jpeg"} & set(o.get("data", {}))]
        if not pictures:
            continue
        stdout = "".join(o.get("text", "") for o in cell.outputs
                         if o.output_type == "stream" and o.name == "stdout")
        plain = [o.data.get("text/plain", "") for o in pictures]
        # Either printed facts, or a text/plain that states them (a Result's or widget's repr).
        assert stdout.strip() or all(re.search(r"\d+x\d+|\d+ / \d+|\d+ (result|run|stroke)", p)
                                     for p in plain), f"cell {cell.id} shows only a picture"


def test_sanitize_file_makes_warning_locations_stable():
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((NOTEBOOKS_DIR / "sanitize.cfg").read_text())
    assert patterns, "no pattern read from sanitize.cfg"

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    message = "No API key: using the local engine"
    seen = [
        warnings.formatwarning(message, ClipdropNotice, "/tmp/ipykernel_4242/2821689619.py", 3,
                               "client = Client()"),
        warnings.formatwarning(message, ClipdropNotice, "/tmp/ipykernel_7/99.py", 12,
                               "client = Client()  # another comment"),
        warnings.formatwarning(message, ClipdropNotice,
                               "/srv/venv/lib/python3.11/site-packages/clipdrop_widgets/client.py",
                               181, 'return self.call("sketch_to_image", ...)'),
        warnings.formatwarning(message, ClipdropNotice, "/x/client.py", 9, ""),  # no source
    ]
    assert {sanitize(s) for s in seen} == {f"ClipdropNotice: {message}\n"}
    # Two warnings in one stream stay two lines; text around them is kept.
    both = "before\n" + seen[0] + seen[2] + "after\n"
    expected = f"ClipdropNotice: {message}\n"
    assert sanitize(both) == "before\n" + expected + expected + "after\n"
    assert sanitize("<Foo at 0x7f3a2b4c5d60>") == "<Foo at 0xADDR>"
    assert sanitize("d2b5c7e1f3a44a0b8c9d1e2f3a4b5c6d") == "MODEL_ID"


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_notebook_runs_on_the_service_and_never_saves_the_key(path, tmp_path, monkeypatch,
                                                              make_served_engine):
    from nbclient import NotebookClient

    server = make_served_engine(api_key=SENTINEL, credits=10_000)
    # The kernel inherits this environment: the notebooks find "the service" as users would.
    monkeypatch.setenv("CLIPDROP_API_KEY", SENTINEL)
    monkeypatch.setenv("CLIPDROP_API_URL", server.url)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                   store_widget_state=True,  # saved too, so the check below covers it
                   resources={"metadata": {"path": str(NOTEBOOKS_DIR)}}).execute()
    saved = tmp_path / path.name
    nbformat.write(nb, saved)
    text = saved.read_text(encoding="utf-8")

    assert SENTINEL not in text
    assert SENTINEL not in json.dumps(nb.metadata.get("widgets", {}))
    if path not in NOTEBOOKS:
        return  # the Studio launcher only shows the Studio: it sends nothing
    # It really was the service: no cell fell back to the in-process engine...
    stdout = _stdout(nb)
    assert "results come from: local engine" not in stdout
    assert "results come from: service" in stdout or "a key was given" in stdout
    # ...and every request reached the server with the key (any other key gets 403).
    statuses = [status for _path, status in server.engine.log]
    assert statuses, "the notebook sent nothing to the server"
    assert set(statuses) == {200}, statuses
